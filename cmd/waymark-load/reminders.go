package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/waymark-atd/waymark/internal/loadtest"
)

// workerResult is what one reminders-worker process prints.
type workerResult struct {
	Handled int    `json:"handled"`
	Began   int64  `json:"began_unix_nano"`
	Ended   int64  `json:"ended_unix_nano"`
	Error   string `json:"error,omitempty"`
}

func remindersCmd(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("reminders", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	n := fl.Int("n", 100_000, "people, each with one reminder due")
	processes := fl.Int("processes", 1, "scheduler processes racing for the reminders (1 for the embedded store)")
	dataDir := fl.String("data-dir", "", "embedded store directory (overrides WAYMARK_DATA_DIR)")
	workers := fl.Int("workers", 16, "writes at once while seeding")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(e.stderr, "waymark-load reminders:", err)
		return 1
	}
	content, err := loadtest.ShippedContent()
	if err != nil {
		return fail(err)
	}
	st, box, cfg, err := openStore(ctx, e, *dataDir)
	if err != nil {
		return fail(err)
	}
	if cfg.RedisURL == "" && *processes != 1 {
		st.Close()
		return fail(errors.New("the embedded store serves one process: use -processes 1, or Redis"))
	}
	began := time.Now()
	ids, err := loadtest.SeedReminders(ctx, st, box, content, *n, *workers)
	if err != nil {
		st.Close()
		return fail(err)
	}
	fmt.Fprintf(e.stdout, "%d people seeded and planned in the %s store in %s\n", len(ids), storeKind(cfg), time.Since(began).Round(time.Millisecond))

	var results []workerResult
	if cfg.RedisURL == "" {
		// bolt holds its file locked: the pass runs in this process.
		b := time.Now()
		handled, _, err := loadtest.RunReminders(ctx, st, box, content)
		r := workerResult{Handled: handled, Began: b.UnixNano(), Ended: time.Now().UnixNano()}
		if err != nil {
			r.Error = err.Error()
		}
		results = append(results, r)
	} else {
		results, err = runWorkers(ctx, *processes, *dataDir)
		if err != nil {
			st.Close()
			return fail(err)
		}
	}
	first, last, handled := int64(0), int64(0), 0
	for i, r := range results {
		if r.Error != "" {
			fmt.Fprintf(e.stderr, "process %d: %s\n", i+1, r.Error)
		}
		if first == 0 || r.Began < first {
			first = r.Began
		}
		last = max(last, r.Ended)
		handled += r.Handled
		fmt.Fprintf(e.stdout, "  process %d handled %d in %s\n", i+1, r.Handled, time.Duration(r.Ended-r.Began).Round(time.Millisecond))
	}
	took := time.Duration(last - first)
	queued, err := loadtest.CountQueued(ctx, st)
	st.Close()
	if err != nil {
		return fail(err)
	}
	once, twice := 0, 0
	for _, id := range ids {
		switch c := queued[id]; {
		case c == 1:
			once++
		case c > 1:
			twice++
		}
	}
	fmt.Fprintf(e.stdout, "%d reminders claimed and queued by %d process(es) in %s: %.0f/s\n", handled, len(results), took.Round(time.Millisecond), float64(handled)/took.Seconds())
	fmt.Fprintf(e.stdout, "outbox: %d people have exactly one reminder queued, %d more than one, %d none\n", once, twice, len(ids)-once-twice)
	if once != len(ids) {
		return 1
	}
	return 0
}

// runWorkers starts the scheduler passes in processes of their own, all at
// the same moment, and collects what each reports.
func runWorkers(ctx context.Context, processes int, dataDir string) ([]workerResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	startAt := time.Now().Add(2 * time.Second).UnixNano()
	type proc struct {
		cmd *exec.Cmd
		out *bytes.Buffer
	}
	var procs []proc
	for range processes {
		args := []string{"reminders-worker", "-start-at", strconv.FormatInt(startAt, 10)}
		if dataDir != "" {
			args = append(args, "-data-dir", dataDir)
		}
		cmd := exec.CommandContext(ctx, self, args...)
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start a scheduler process: %w", err)
		}
		procs = append(procs, proc{cmd, out})
	}
	var results []workerResult
	var errs []error
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("process %d: %w", i+1, err))
		}
		var r workerResult
		sc := bufio.NewScanner(p.out)
		for sc.Scan() {
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				break
			}
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

func reminderWorkerCmd(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("reminders-worker", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	startAt := fl.Int64("start-at", 0, "Unix time in nanoseconds at which to begin")
	dataDir := fl.String("data-dir", "", "embedded store directory")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	content, err := loadtest.ShippedContent()
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	st, box, _, err := openStore(ctx, e, *dataDir)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	defer st.Close()
	time.Sleep(time.Until(time.Unix(0, *startAt)))
	b := time.Now()
	handled, _, err := loadtest.RunReminders(ctx, st, box, content)
	r := workerResult{Handled: handled, Began: b.UnixNano(), Ended: time.Now().UnixNano()}
	if err != nil {
		r.Error = err.Error()
	}
	_ = json.NewEncoder(e.stdout).Encode(r)
	return 0
}
