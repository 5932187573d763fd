package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/waymark-atd/waymark/internal/loadtest"
)

func seedCmd(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("seed", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	n := fl.Int("n", 20000, "participants to create")
	tg := fl.Float64("telegram", 0, "fraction of them on Telegram (0 to 1); the rest on SMS")
	out := fl.String("out", "people.jsonl", "file to write the people to (made-up numbers and their codes)")
	dataDir := fl.String("data-dir", "", "embedded store directory (overrides WAYMARK_DATA_DIR)")
	workers := fl.Int("workers", 16, "writes at once")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	st, _, cfg, err := openStore(ctx, e, *dataDir)
	if err != nil {
		fmt.Fprintln(e.stderr, "waymark-load seed:", err)
		return 1
	}
	defer st.Close()
	began := time.Now()
	people, err := loadtest.Seed(ctx, st, loadtest.SeedOptions{N: *n, TelegramShare: *tg, Workers: *workers, Now: time.Now()})
	if err != nil {
		fmt.Fprintln(e.stderr, "waymark-load seed:", err)
		return 1
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = loadtest.WritePeople(f, people)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "waymark-load seed: write people:", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "seeded %d participants with enrolment codes in the %s store in %s; people in %s\n",
		len(people), storeKind(cfg), time.Since(began).Round(time.Millisecond), *out)
	return 0
}
