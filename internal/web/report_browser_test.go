package web

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestBrowserProgrammeReport opens the report as an administrator would
// before a board meeting: twelve weeks of 48 people in two caseloads, the charts, the
// tables with a hidden figure, and the printed page.
//
// go test ./internal/web -run TestBrowserProgrammeReport -screenshots
// rewrites docs/screenshots/report.png.
func TestBrowserProgrammeReport(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	e := newCaseworkerEnv(t, envOptions{})
	now := e.clock.Now()
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC).AddDate(0, 0, -84)
	outcomes := []store.WindowOutcome{store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime,
		store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime,
		store.WindowLate, store.WindowLate, store.WindowReportedUnable, store.WindowNotDelivered, store.WindowExcused,
		store.WindowOnTime, store.WindowOnTime, store.WindowMissed, store.WindowOnTime}
	channels := []store.Channel{store.SMS, store.WhatsApp, store.Telegram, store.MissedCall, store.SMS}
	for i := range 48 {
		cw := e.cara
		if i%2 == 0 {
			cw = e.carl
		}
		p := e.participant(fmt.Sprintf("Person %02d", i), cw)
		turn := store.Turn{ParticipantID: p.ID}
		for d := range 84 {
			if (d+i)%7 > 1 { // three windows a week: Monday, Wednesday, Friday-like
				continue
			}
			opens := day0.AddDate(0, 0, d)
			o := outcomes[(i*7+d*13)%len(outcomes)]
			if d < 14 && o == store.WindowMissed {
				o = store.WindowOnTime // the first fortnight went better
			}
			w := store.Window{Ref: fmt.Sprintf("win:%s:%d", p.ID, opens.Unix()), ParticipantID: p.ID, OpensAt: opens, ClosesAt: opens.Add(12 * time.Hour),
				GraceEndsAt: opens.Add(36 * time.Hour), Outcome: o, DecidedAt: opens.Add(36 * time.Hour), UpdatedAt: opens.Add(36 * time.Hour)}
			if o == store.WindowOnTime || o == store.WindowLate {
				c := store.CheckIn{ID: fmt.Sprintf("c_%s_%d", p.ID, d), ParticipantID: p.ID, At: opens.Add(time.Hour),
					Channel: channels[(i+d)%len(channels)], Outcome: store.OnTime}
				w.CheckInID = c.ID
				turn.CheckIns = append(turn.CheckIns, c)
			}
			turn.Windows = append(turn.Windows, w)
			{ // the programme keeps sent messages' records for the whole period
				st := store.Delivered
				if o == store.WindowNotDelivered {
					st = store.Failed
				}
				turn.Outbound = append(turn.Outbound, store.OutboundMessage{ID: fmt.Sprintf("m_%s_%d", p.ID, d), ParticipantID: p.ID, LinkIndex: "l",
					Channel: store.SMS, Kind: "checkin.window_open", Ref: w.Ref, Status: st, ErrorCode: map[bool]string{true: "30003"}[st == store.Failed],
					ProviderID: "SM" + p.ID, Segments: 1, CreatedAt: opens, NotBefore: opens, UpdatedAt: opens})
			}
		}
		if err := e.st.ApplyTurn(t.Context(), turn); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(ts.URL+"/report"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "ada"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("svg.report-chart")))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Programme report", "Is reporting working?", "Reporting", "Follow-through", "Burden on the person", "Reach and cost", "On time", "fewer than 10"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report page lacks %q", want)
		}
	}
	if strings.Contains(page, "Person ") {
		t.Errorf("the report page names a person")
	}
	chart, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("figure.chart")))
	if n := strings.Count(chart, `class="cell on_time"`); err != nil || n < 10 {
		t.Errorf("%d on-time bars drawn, %v", n, err)
	}
	if *screenshots {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Printed, the page loses the navigation and the form and keeps the
	// figures.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatalf("print media: %v", err)
	}
	run("printed: no navigation, no form", chromedp.WaitNotVisible(chromedp.CSS("header.top")), chromedp.WaitNotVisible(chromedp.CSS("form.noprint")))
	run("printed: the figures stay", chromedp.WaitVisible(chromedp.CSS("table.figures")), chromedp.WaitVisible(chromedp.CSS("p.print-only")))
}
