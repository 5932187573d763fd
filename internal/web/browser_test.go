package web

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// The browser test drives Debian's Chromium through the caseworker pages
// as a person would. CI installs Chromium (.ci/run); without it the test
// fails and says how to install it, unless WAYMARK_SKIP_BROWSER=1.
//
// go test ./internal/web -run TestBrowser -screenshots
// rewrites docs/screenshots/*.png.

var screenshots = flag.Bool("screenshots", false, "write the browser test's screenshots to docs/screenshots")

const chromiumPath = "/usr/bin/chromium"

func chromium(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("WAYMARK_SKIP_BROWSER") == "1" {
		t.Skip("WAYMARK_SKIP_BROWSER=1: browser test skipped")
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: install it with `apt-get install -y chromium` (or set WAYMARK_SKIP_BROWSER=1 to skip this test)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancelTimeout := context.WithTimeout(t.Context(), 3*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	return bctx
}

func TestBrowserCaseworkerDay(t *testing.T) {
	ctx := chromium(t)
	e := newCaseworkerEnv(t, envOptions{auth: auth.Options{SessionTTL: 60 * 24 * time.Hour}})
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	shotDir := t.TempDir()
	if *screenshots {
		shotDir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(shotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string, width, height int64) {
		t.Helper()
		do("viewport for "+name, chromedp.EmulateViewport(width, height))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shotDir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		do("viewport back", chromedp.EmulateViewport(1280, 900))
	}
	do("open", chromedp.EmulateViewport(1280, 900))

	// Sign in.
	do("sign-in page", chromedp.Navigate(ts.URL+"/attention"), chromedp.WaitVisible(chromedp.ID("username")))
	shot("login", 1280, 640)
	do("sign in",
		chromedp.SendKeys(chromedp.ID("username"), "cara"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.lead")))
	if h := text("h1"); h != "Needs attention" {
		t.Fatalf("after sign-in the page is %q", h)
	}

	// Enrol a participant whose label is written right to left.
	label := "أمينة ك."
	do("enrol form", chromedp.Navigate(ts.URL+"/participants/new"), chromedp.WaitVisible(chromedp.ID("label")))
	do("fill the form",
		chromedp.SendKeys(chromedp.ID("label"), label),
		chromedp.SetValue(chromedp.ID("language"), "ar"),
		chromedp.SendKeys(chromedp.ID("time_zone"), "Europe/London"))
	shot("enrol", 1280, 900)
	do("enrol", chromedp.Click(chromedp.CSS(`form[action="/participants"] button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("enrolment-code")))
	code := text("#enrolment-code")
	if len(code) != 8 {
		t.Fatalf("enrolment code %q", code)
	}
	if got := text("#sms-instruction"); got != "JOIN "+code {
		t.Errorf("SMS instruction %q", got)
	}
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("telegram-link"), "href"))
	if err != nil || link.Value != "https://t.me/ExampleCheckInBot?start="+code {
		t.Fatalf("Telegram link %+v, %v", link, err)
	}
	do("QR code", chromedp.WaitVisible(chromedp.CSS("figure.qr svg")))
	shot("enrolment-code", 1280, 900)

	ps, err := e.st.ListParticipants(t.Context())
	if err != nil || len(ps) != 1 || ps[0].Label != label {
		t.Fatalf("participants = %+v, %v", ps, err)
	}
	p := ps[0]

	// The person links their phone with the code, checks in on time twice
	// and late once, then misses a window: the scheduler, moved on in
	// time, finds the miss.
	if out, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: "sim-amina", Text: "JOIN " + code}); err != nil || out.ParticipantID != p.ID {
		t.Fatalf("JOIN: %+v, %v", out, err)
	}
	// They agree to get messages: before that no window would count.
	if _, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: "sim-amina", Text: "1"}); err != nil {
		t.Fatalf("agree: %v", err)
	}
	if p, err = e.st.GetParticipant(t.Context(), p.ID); err != nil || !p.Consented() {
		t.Fatalf("after agreeing: %+v, %v", p, err)
	}
	cal, err := schedule.CalendarOf(p)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := cal.From(e.clock.Now())
	var windows []schedule.Window
	for range 4 {
		windows = append(windows, w)
		w, _ = cal.Next(w)
	}
	for i, at := range []time.Time{windows[0].Start.Add(time.Hour), windows[1].End.Add(2 * time.Hour), windows[2].Start.Add(3 * time.Hour)} {
		outcome := store.OnTime
		if i == 1 {
			outcome = store.Late
		}
		if err := e.st.RecordCheckIn(t.Context(), store.CheckIn{ID: store.NewID("c_"), ParticipantID: p.ID, At: at, Channel: store.SMS, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	// Run the scheduler day by day, as it would have run, up to two days
	// after the fourth window closed.
	for e.clock.Now().Before(windows[3].End.Add(48 * time.Hour)) {
		e.clock.Advance(6 * time.Hour)
		if _, err := e.sched.RunOnce(t.Context(), e.clock.Now()); err != nil {
			t.Fatalf("scheduler: %v", err)
		}
		deliverAll(t, e.st, e.clock.Now())
	}
	items, err := e.st.ListAttention(t.Context(), true)
	if err != nil || len(items) != 1 || items[0].Kind != store.AttentionMissed || items[0].Ref != windows[3].Ref(p.ID) {
		t.Fatalf("attention after the scheduler ran = %+v, %v; want one miss of the fourth window", items, err)
	}
	missed := items[0]

	// The miss is in the queue; excuse it.
	do("queue", chromedp.Navigate(ts.URL+"/attention"), chromedp.WaitVisible(chromedp.ID("item-"+missed.ID)))
	item := text("#item-" + missed.ID)
	for _, want := range []string{label, "Missed check-in"} {
		if !strings.Contains(item, want) {
			t.Errorf("queue item lacks %q: %q", want, item)
		}
	}
	shot("needs-attention", 1280, 800)
	shot("needs-attention-phone", 390, 844)
	do("excuse", chromedp.Click(chromedp.CSS(`#item-`+missed.ID+` button[value="excused"]`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if n := text("p.notice"); !strings.Contains(n, "Excused") {
		t.Errorf("notice after excusing: %q", n)
	}
	if open, _ := e.st.ListAttention(t.Context(), true); len(open) != 0 {
		t.Fatalf("still open after excusing: %+v", open)
	}
	if w, err := e.st.GetWindow(t.Context(), p.ID, missed.Ref); err != nil || w.Outcome != store.WindowExcused || w.ExcusedBy != e.cara.ID {
		t.Fatalf("the ledger after excusing: %+v, %v", w, err)
	}

	// The participant's page shows the ledger's outcome of each window in
	// the strip, counted in its legend: two on time, one late, and the
	// miss now excused; no miss is left.
	do("participant", chromedp.Navigate(ts.URL+"/participants/"+p.ID), chromedp.WaitVisible(chromedp.CSS("svg.strip")))
	legend := text("ul.legend")
	for _, want := range []string{"2 on time", "1 late", "1 excused"} {
		if !strings.Contains(legend, want) {
			t.Errorf("strip legend lacks %q: %q", want, legend)
		}
	}
	if strings.Contains(legend, "missed") {
		t.Errorf("strip legend counts a miss: %q", legend)
	}
	// The same in words, one row a window, for those who cannot see the
	// strip.
	do("each window", chromedp.Click(chromedp.CSS("details.windows summary")), chromedp.WaitVisible(chromedp.CSS("details.windows table")))
	if rows := text("details.windows tbody"); !strings.Contains(rows, "excused") || strings.Count(rows, "on time") != 2 {
		t.Errorf("the windows in words: %q", rows)
	}
	do("add an appointment",
		chromedp.SetValue(chromedp.ID("new-date"), e.clock.Now().AddDate(0, 0, 10).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.ID("new-time"), "10:30"),
		chromedp.SendKeys(chromedp.ID("new-place"), "Office, 2nd floor"),
		chromedp.Click(chromedp.CSS(`form[action$="/appointments"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("ul.appointments")))
	shot("participant", 1280, 900)
	do("programme", chromedp.Navigate(ts.URL+"/programme"), chromedp.WaitVisible(chromedp.CSS("svg.flow")))
	shot("programme", 1280, 900)

	// An administrator finds the excuse in the audit log.
	do("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("username")))
	do("sign in as admin",
		chromedp.SendKeys(chromedp.ID("username"), "ada"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.lead")))
	do("audit", chromedp.Navigate(ts.URL+"/audit?participant="+p.ID), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	audit := text("table.audit tbody")
	found := false
	for _, row := range strings.Split(audit, "\n") {
		if strings.Contains(row, "attention_excused") && strings.Contains(row, "cara") && strings.Contains(row, missed.ID) {
			found = true
		}
	}
	if !found {
		t.Errorf("the audit log does not show cara excusing %s:\n%s", missed.ID, audit)
	}
	shot("audit-log", 1280, 800)
}

// deliverAll marks every queued message delivered, as the outbox and the
// provider would soon after the scheduler queued it: a prompt that never
// left the outbox reached no one, and its window would be "not delivered".
func deliverAll(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	reportAll(t, st, now, store.Delivered)
}

// reportAll takes every queued message out of the outbox and gives it the
// status the provider reported: delivered, or failed.
func reportAll(t *testing.T, st store.Store, now time.Time, status store.MessageStatus) {
	t.Helper()
	for {
		msgs, err := st.ClaimOutbound(t.Context(), "test-deliver", now.Add(time.Hour), time.Hour, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			m.Status = status
			if err := st.UpdateOutbound(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
	}
}
