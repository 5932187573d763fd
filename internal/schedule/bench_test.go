package schedule_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// benchReminders is how many reminders BenchmarkClaimAndEnqueue100k makes
// due at once; lower it for a quick look (-reminders 2000).
var benchReminders = flag.Int("reminders", 100_000, "due reminders in BenchmarkClaimAndEnqueue100k")

// monday9 is Monday 4 January 2027, 09:00 UTC: every test window opens then.
var monday9 = utc("2027-01-04T09:00:00Z")

func openingAt9() *store.CheckInSchedule {
	return &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}}}
}

// population creates n linked participants whose windows all open at
// monday9, and plans them, with workers goroutines at once. It returns
// their IDs.
func population(tb testing.TB, h *harness, n, workers int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p_%06d", i)
	}
	created := monday9.Add(-24 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := make(chan string)
	for range workers {
		wg.Go(func() {
			for pid := range next {
				if err := enrolOne(h, pid, created); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, pid := range ids {
		next <- pid
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
	return ids
}

// enrolOne stores a participant with one SMS link and their planned items.
func enrolOne(h *harness, pid string, created time.Time) error {
	ctx := context.Background()
	p := store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "UTC", Status: store.Active,
		Schedule: openingAt9(), CreatedAt: created, UpdatedAt: created, ConsentedAt: created}
	if err := h.st.CreateParticipant(ctx, p); err != nil {
		return err
	}
	addr := "+44770" + pid[2:]
	sealed, err := h.box.Seal(string(store.SMS), addr)
	if err != nil {
		return err
	}
	if err := h.st.PutLink(ctx, store.Link{Index: h.box.Index(string(store.SMS), addr), Channel: store.SMS,
		ParticipantID: pid, Sealed: sealed, Masked: "+44 770*** ***", LinkedAt: created}); err != nil {
		return err
	}
	return h.sched.Replan(ctx, pid)
}

// BenchmarkClaimAndEnqueue100k measures one scheduler claiming 100,000
// window-opening reminders that fell due at the same moment and starting
// the check-in flow for each (message rendered and queued in the outbox,
// next items planned, item completed). Run it once per backend:
//
//	go test -run '^$' -bench ClaimAndEnqueue -benchtime 1x ./internal/schedule/
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench ClaimAndEnqueue -benchtime 1x ./internal/schedule/
func BenchmarkClaimAndEnqueue100k(b *testing.B) {
	onBothStores(b, func(b *testing.B, open opener) { benchDue(b, open, nil, monday9) })
}

// BenchmarkClosingReminders measures one scheduler handling as many
// closing-soon reminders (-reminders) due at the same moment, each of
// which reads its window's facts (has the person checked in, or said
// they cannot make it?) before it sends. The openings before are not
// timed.
func BenchmarkClosingReminders(b *testing.B) {
	closing := monday9.Add(2*24*time.Hour + 6*time.Hour) // Wednesday 15:00, six hours before the close
	onBothStores(b, func(b *testing.B, open opener) { benchDue(b, open, []time.Time{monday9}, closing) })
}

type opener func(*testing.B, *clock.Fake) store.Store

func onBothStores(b *testing.B, bench func(*testing.B, opener)) {
	b.Run("bolt", func(b *testing.B) {
		bench(b, func(b *testing.B, clk *clock.Fake) store.Store {
			st, err := bolt.Open(filepath.Join(b.TempDir(), "w.db"), bolt.WithClock(clk))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		})
	})
	b.Run("redis", func(b *testing.B) {
		bench(b, func(b *testing.B, _ *clock.Fake) store.Store { return testkit.RedisStores(b, 1)[0] })
	})
}

// benchDue times one RunOnce at at over the population, after untimed
// runs at each of before, and checks that it queued one message a person.
// Besides the rate it reports the process's write system calls per item:
// on Redis, about the store round trips an item costs.
func benchDue(b *testing.B, open opener, before []time.Time, at time.Time) {
	n := *benchReminders
	var total time.Duration
	var writes int64
	for b.Loop() {
		b.StopTimer()
		clk := clock.NewFake(monday9.Add(-time.Hour))
		h := newHarnessLevel(b, open(b, clk), clk, slog.LevelWarn)
		population(b, h, n, 8)
		for _, t := range before {
			clk.Set(t)
			if _, err := h.sched.RunOnce(context.Background(), t); err != nil {
				b.Fatal(err)
			}
			h.deliver() // delivered, as a provider would: the next message waits behind one still out
		}
		clk.Set(at)
		w0 := writeCalls()
		rs := startRedisStats(b)
		b.StartTimer()
		began := time.Now()
		handled, err := h.sched.RunOnce(context.Background(), at)
		took := time.Since(began)
		b.StopTimer()
		rs.report(b, n)
		total += took
		writes += writeCalls() - w0
		if err != nil {
			b.Fatal(err)
		}
		if handled != n {
			b.Fatalf("handled %d of %d", handled, n)
		}
		if got := len(h.sentAll()); got != n {
			b.Fatalf("%d messages queued for %d reminders", got, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "reminders/s")
	b.ReportMetric(float64(writes)/float64(n*b.N), "writes/item")
}

// benchRedisStats asks the Redis runs for what Redis itself did in the
// timed pass (docs/performance.md, "Ninth sitting").
var benchRedisStats = flag.Bool("redisstats", false, "report Redis's processor time, commands and scripts an item (Redis runs; resets the server's command statistics)")

// redisStats reads the test Redis's own figures around a timed pass.
type redisStats struct {
	c    *goredis.Client
	cpu0 float64
}

// startRedisStats resets the command statistics of the test Redis and
// notes its processor time, when -redisstats asks and b runs on Redis.
func startRedisStats(b *testing.B) *redisStats {
	if !*benchRedisStats || !strings.HasSuffix(b.Name(), "/redis") {
		return nil
	}
	opts, err := goredis.ParseURL(os.Getenv("WAYMARK_TEST_REDIS_URL"))
	if err != nil {
		b.Fatal(err)
	}
	r := &redisStats{c: goredis.NewClient(opts)}
	if err := r.c.ConfigResetStat(b.Context()).Err(); err != nil {
		b.Fatal(err)
	}
	r.cpu0 = r.cpu(b)
	return r
}

// report reports Redis's processor time, its commands (those scripts run
// included) and its scripts, each an item of n.
func (r *redisStats) report(b *testing.B, n int) {
	if r == nil {
		return
	}
	defer r.c.Close()
	cpu := r.cpu(b) - r.cpu0
	var commands, scripts int64
	for line := range strings.Lines(r.c.Info(b.Context(), "commandstats").Val()) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		calls, _, _ := strings.Cut(rest, ",")
		k, _ := strconv.ParseInt(calls, 10, 64)
		switch {
		case !ok:
		case name == "cmdstat_evalsha" || name == "cmdstat_eval":
			scripts += k
		case name != "cmdstat_info" && name != "cmdstat_config|resetstat":
			commands += k
		}
	}
	b.ReportMetric(cpu*1e6/float64(n), "redis-us/item")
	b.ReportMetric(float64(commands)/float64(n), "redis-commands/item")
	b.ReportMetric(float64(scripts)/float64(n), "scripts/item")
}

// cpu is Redis's processor time so far, in seconds.
func (r *redisStats) cpu(b *testing.B) float64 {
	var sum float64
	for line := range strings.Lines(r.c.Info(b.Context(), "cpu").Val()) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_user" || name == "used_cpu_sys" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			sum += f
		}
	}
	return sum
}

// writeCalls is how many write system calls the process has made
// (/proc/self/io); 0 where that is not to be read.
func writeCalls() int64 {
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(io)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "syscw: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
