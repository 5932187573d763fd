package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/waymark-atd/waymark/internal/loadtest"
	"github.com/waymark-atd/waymark/internal/store"
)

func runCmd(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	peopleFile := fl.String("people", "", "people file written by seed")
	from := fl.Int("from", 0, "use people from this line of the file (0-based), so that several runs can share one seeded set")
	count := fl.Int("count", 0, "use this many people (0: the rest of the file)")
	link := fl.Bool("link", false, "enrol the people first, by JOIN and their code")
	rate := fl.Float64("rate", 0, "messages a second; 0 as fast as the connections allow")
	duration := fl.Duration("duration", 30*time.Second, "how long to send; 0 with -link only links")
	conns := fl.Int("conns", 64, "messages in flight at once")
	drain := fl.Duration("drain", 30*time.Second, "how long to wait for replies after the last message")
	target := fl.String("target", "http://127.0.0.1:8080", "the server's address")
	twilioListen := fl.String("twilio-listen", "127.0.0.1:9101", "where the fake Twilio API listens (the server's WAYMARK_TWILIO_API_URL)")
	telegramListen := fl.String("telegram-listen", "127.0.0.1:9102", "where the fake Telegram API listens (the server's WAYMARK_TELEGRAM_API_URL)")
	pid := fl.Int("pid", 0, "the server's process ID: report its resident memory before and during the run")
	ceiling := fl.Bool("ceiling", false, "run the same traffic against the ok handler, in a process of its own")
	synthetic := fl.Int("n", 20000, "with -ceiling: how many made-up people send")
	asJSON := fl.Bool("json", false, "print the report as JSON")
	progress := fl.Bool("progress", false, "print webhooks answered and replies received every second")
	latency := fl.Duration("provider-latency", 0, "how long the fake providers take to accept a message (the real APIs: 100-300ms)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(e.stderr, "waymark-load run:", err)
		return 1
	}

	t := loadtest.Target{
		BaseURL: *target, PublicURL: e.getenv("WAYMARK_PUBLIC_URL"),
		TwilioAccountSID: e.getenv("WAYMARK_TWILIO_ACCOUNT_SID"), TwilioAuthToken: e.getenv("WAYMARK_TWILIO_AUTH_TOKEN"),
		TwilioTo: e.getenv("WAYMARK_TWILIO_FROM"), TelegramSecret: e.getenv("WAYMARK_TELEGRAM_WEBHOOK_SECRET"),
	}
	var people []loadtest.Person
	var replies *loadtest.Replies
	var fakes *fakeProviders
	if *ceiling {
		addr, stop, err := startCeiling(ctx)
		if err != nil {
			return fail(err)
		}
		defer stop()
		t.BaseURL, t.PublicURL = "http://"+addr, ""
		for i := range *synthetic {
			people = append(people, loadtest.Person{ID: fmt.Sprint("p_", i), Channel: store.SMS,
				Address: fmt.Sprintf("+447999%06d", i), Code: "X"})
		}
		*link = false
	} else {
		if *peopleFile == "" {
			return fail(errors.New("give -people (from waymark-load seed), or -ceiling"))
		}
		f, err := os.Open(*peopleFile)
		if err != nil {
			return fail(err)
		}
		people, err = loadtest.ReadPeople(f)
		f.Close()
		if err != nil {
			return fail(err)
		}
		if *from < 0 || *from >= len(people) {
			return fail(fmt.Errorf("-from %d is outside the %d people of the file", *from, len(people)))
		}
		people = people[*from:]
		if *count > 0 && *count < len(people) {
			people = people[:*count]
		}
		replies = loadtest.NewReplies()
		fakes, err = startFakes(e, replies, *twilioListen, *telegramListen)
		if err != nil {
			return fail(err)
		}
		fakes.twilio.Latency, fakes.telegram.Latency = *latency, *latency
		defer fakes.stop()
	}
	d := loadtest.NewDriver(t, replies, *conns)
	rep := report{Target: t.BaseURL, Ceiling: *ceiling, People: len(people), Rate: *rate, Duration: duration.String(), Conns: *conns}
	if *pid > 0 {
		rss, _, err := loadtest.ResidentKB(*pid)
		if err != nil {
			return fail(err)
		}
		rep.RSSBeforeKB = rss
	}

	if *link {
		lr := d.Link(ctx, people, *conns, *drain)
		rep.Link = &linkReport{Linked: len(lr.Linked), Errors: lr.Errors.String(), Seconds: lr.Took.Seconds(),
			RepliesMissing: lr.Open, Answered: summarize(lr.Answered.Summary())}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "linked %d of %d people in %s (errors: %s; replies missing: %d)\n",
				len(lr.Linked), len(people), lr.Took.Round(time.Millisecond), lr.Errors.String(), lr.Open)
		}
		people = lr.Linked
		if len(people) == 0 {
			return fail(errors.New("nobody could be linked: is the server configured with the same Twilio and Telegram credentials and public URL?"))
		}
		if *duration == 0 {
			if *asJSON {
				_ = json.NewEncoder(e.stdout).Encode(rep)
			}
			return 0
		}
	}

	if *progress {
		stop := reportProgress(e, d, replies)
		defer stop()
	}
	var watch *loadtest.RSSWatch
	if *pid > 0 {
		watch = loadtest.WatchRSS(*pid, 100*time.Millisecond)
	}
	res, err := d.Run(ctx, people, loadtest.RunOptions{Rate: *rate, Duration: *duration, Conns: *conns, Drain: *drain})
	if watch != nil {
		rep.RSSMaxKB = watch.Stop()
	}
	if err != nil {
		return fail(err)
	}
	rep.fill(res, replies, fakes)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(e)
	}
	if res.OK == 0 {
		return 1
	}
	return 0
}

// fakeProviders are the fake Twilio and Telegram APIs, each on its own
// listener.
type fakeProviders struct {
	twilio   *loadtest.FakeTwilio
	telegram *loadtest.FakeTelegram
	servers  []*http.Server
}

func startFakes(e env, replies *loadtest.Replies, twilioAddr, telegramAddr string) (*fakeProviders, error) {
	f := &fakeProviders{
		twilio:   &loadtest.FakeTwilio{AccountSID: e.getenv("WAYMARK_TWILIO_ACCOUNT_SID"), AuthToken: e.getenv("WAYMARK_TWILIO_AUTH_TOKEN"), Replies: replies},
		telegram: &loadtest.FakeTelegram{Token: e.getenv("WAYMARK_TELEGRAM_TOKEN"), Replies: replies},
	}
	for _, s := range []struct {
		addr string
		h    http.Handler
	}{{twilioAddr, f.twilio}, {telegramAddr, f.telegram}} {
		if s.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("fake provider on %s: %w", s.addr, err)
		}
		srv := loadtest.NewHTTPServer(s.addr, s.h)
		f.servers = append(f.servers, srv)
		go func() { _ = srv.Serve(l) }()
	}
	return f, nil
}

func (f *fakeProviders) stop() {
	for _, s := range f.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
}

// startCeiling runs `waymark-load ceiling` as a process of its own on a
// free port, so that it competes for the machine as a server would.
func startCeiling(ctx context.Context) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "ceiling", "-addr", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start the ceiling server: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, errors.New("the ceiling server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ceilingCmd(ctx context.Context, e env, args []string) int {
	fl := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	fl.SetOutput(e.stderr)
	addr := fl.String("addr", "127.0.0.1:8099", "listen address")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	srv := loadtest.NewHTTPServer(*addr, loadtest.Ceiling())
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		fmt.Fprintln(e.stderr, "waymark-load ceiling:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return 0
}

// report is what a run prints.
type report struct {
	Target      string      `json:"target"`
	Ceiling     bool        `json:"ceiling"`
	People      int         `json:"people"`
	Rate        float64     `json:"rate"`
	Duration    string      `json:"duration"`
	Conns       int         `json:"conns"`
	Link        *linkReport `json:"link,omitempty"`
	Sent        int         `json:"sent"`
	OK          int         `json:"ok"`
	CheckIns    int         `json:"checkins"`
	Errors      string      `json:"errors"`
	Exhausted   int         `json:"not_sent_people_exhausted"`
	Seconds     float64     `json:"seconds"`
	PerSecond   float64     `json:"answered_per_second"`
	Answered    summaryJSON `json:"answered"`
	StartLag    summaryJSON `json:"start_lag"`
	Delivered   summaryJSON `json:"delivered"`
	DeliveredSM summaryJSON `json:"delivered_sms"`
	DeliveredTG summaryJSON `json:"delivered_telegram"`
	Missing     int         `json:"replies_missing"`
	Unexpected  int         `json:"replies_unexpected"`
	Refused     int64       `json:"refused_by_fakes"`
	RSSBeforeKB int64       `json:"rss_before_kb,omitempty"`
	RSSMaxKB    int64       `json:"rss_max_kb,omitempty"`
}

type linkReport struct {
	Linked         int         `json:"linked"`
	Errors         string      `json:"errors"`
	Seconds        float64     `json:"seconds"`
	RepliesMissing int         `json:"replies_missing"`
	Answered       summaryJSON `json:"answered"`
}

type summaryJSON struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(s loadtest.Summary) summaryJSON {
	m := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return summaryJSON{Count: s.Count, P50: m(s.P50), P90: m(s.P90), P99: m(s.P99), Max: m(s.Max)}
}

func (r *report) fill(res *loadtest.Result, replies *loadtest.Replies, f *fakeProviders) {
	r.Sent, r.OK, r.CheckIns, r.Errors, r.Exhausted = res.Sent, res.OK, res.CheckIns, res.Errors.String(), res.Exhausted
	r.Seconds, r.PerSecond = res.Elapsed.Seconds(), res.Throughput()
	r.Answered, r.StartLag = summarize(res.Answered.Summary()), summarize(res.StartLag.Summary())
	r.Missing, r.Unexpected = res.Open, res.Unexpected
	if replies != nil {
		r.Delivered = summarize(replies.Delivered.Summary())
		r.DeliveredSM = summarize(replies.DeliveredSMS.Summary())
		r.DeliveredTG = summarize(replies.DeliveredTelegram.Summary())
	}
	if f != nil {
		r.Refused = f.twilio.Refused() + f.telegram.Refused()
	}
}

func (r *report) print(e env) {
	w := e.stdout
	what := "server"
	if r.Ceiling {
		what = "ok ceiling"
	}
	pace := "as fast as possible"
	if r.Rate > 0 {
		pace = strconv.FormatFloat(r.Rate, 'f', -1, 64) + "/s"
	}
	fmt.Fprintf(w, "%s at %s: %d people, %s for %s, %d connections\n", what, r.Target, r.People, pace, r.Duration, r.Conns)
	fmt.Fprintf(w, "webhooks: %d sent, %d answered 200 (%.0f/s over %.1fs), errors: %s\n", r.Sent, r.OK, r.PerSecond, r.Seconds, r.Errors)
	fmt.Fprintf(w, "  answered    %s\n", line(r.Answered))
	if r.Rate > 0 {
		fmt.Fprintf(w, "  start lag   %s\n", line(r.StartLag))
	}
	if r.Exhausted > 0 {
		fmt.Fprintf(w, "  %d messages not sent: no person was free to send them (seed more people)\n", r.Exhausted)
	}
	if !r.Ceiling {
		fmt.Fprintf(w, "replies: %d delivered, %d missing after the drain, %d unexpected, %d refused by the fakes; %d check-ins answered\n",
			r.Delivered.Count, r.Missing, r.Unexpected, r.Refused, r.CheckIns)
		fmt.Fprintf(w, "  delivered   %s\n", line(r.Delivered))
		if r.DeliveredTG.Count > 0 {
			fmt.Fprintf(w, "    sms       %s\n", line(r.DeliveredSM))
			fmt.Fprintf(w, "    telegram  %s\n", line(r.DeliveredTG))
		}
	}
	if r.RSSBeforeKB > 0 {
		fmt.Fprintf(w, "server memory: VmRSS %.1f MB before, %.1f MB at most during the run\n", float64(r.RSSBeforeKB)/1024, float64(r.RSSMaxKB)/1024)
	}
}

func line(s summaryJSON) string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  (n=%d)", s.P50, s.P90, s.P99, s.Max, s.Count)
}

// reportProgress prints, every second until stopped, how many webhooks
// were answered and replies received in that second.
func reportProgress(e env, d *loadtest.Driver, replies *loadtest.Replies) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastOK, lastIn int64
		for s := 1; ; s++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ok, in := d.Answered(), int64(0)
			if replies != nil {
				in = replies.Received("twilio") + replies.Received("telegram")
			}
			fmt.Fprintf(e.stderr, "%4ds  answered %6d/s  replies %6d/s\n", s, ok-lastOK, in-lastIn)
			lastOK, lastIn = ok, in
		}
	}()
	return func() { close(done) }
}
