// Command waymark-load measures a Waymark server under load: it seeds
// simulated participants into the store, links them by JOIN and their
// code, drives the server with signed Twilio webhooks and secret-token
// Telegram updates, receives the replies on fake Twilio and Telegram APIs
// of its own, and reports throughput and latency of both. It also serves
// the "ok" ceiling and measures the scheduler on 100,000 due reminders.
// docs/performance.md shows how each figure there was taken with it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `waymark-load: load and measure a Waymark server (never one real people use).

Usage:
  waymark-load seed -n 20000 [-telegram 0.1] [-out people.jsonl] [-data-dir DIR]
      create participants with enrolment codes in the store the server uses
      (WAYMARK_REDIS_URL and WAYMARK_REDIS_PREFIX, or the bolt file in
      WAYMARK_DATA_DIR, which must be done before the server starts)
  waymark-load run -people people.jsonl [-link] [-rate 2000] [-duration 30s] [-conns 64]
      [-target http://127.0.0.1:8080] [-twilio-listen 127.0.0.1:9101] [-telegram-listen 127.0.0.1:9102]
      [-pid PID] [-json]
      drive a running server; the server's WAYMARK_TWILIO_API_URL and
      WAYMARK_TELEGRAM_API_URL point at the fakes this command serves
  waymark-load run -ceiling -n 20000 [-rate ...] [-duration ...]
      the same traffic against an Echo handler that only answers "ok"
  waymark-load ceiling -addr 127.0.0.1:8099
      serve that handler
  waymark-load reminders -n 100000 [-processes 3] [-data-dir DIR]
      seed people whose check-in windows all open at once, then time
      schedulers in that many processes claiming and queueing the reminders

Credentials come from the server's own variables: WAYMARK_PUBLIC_URL,
WAYMARK_TWILIO_ACCOUNT_SID, WAYMARK_TWILIO_AUTH_TOKEN, WAYMARK_TWILIO_FROM,
WAYMARK_TELEGRAM_TOKEN, WAYMARK_TELEGRAM_WEBHOOK_SECRET, WAYMARK_SECRET_KEY.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr))
}

type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	switch args[1] {
	case "seed":
		return seedCmd(ctx, e, args[2:])
	case "run":
		return runCmd(ctx, e, args[2:])
	case "ceiling":
		return ceilingCmd(ctx, e, args[2:])
	case "reminders":
		return remindersCmd(ctx, e, args[2:])
	case "reminders-worker":
		return reminderWorkerCmd(ctx, e, args[2:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "waymark-load: unknown command %q\n\n%s", args[1], usage)
	return 2
}
