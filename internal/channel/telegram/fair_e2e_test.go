package telegram_test

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// The fair record on Telegram, end to end through the real client library
// and a fake Bot API: the check-in prompt's buttons still work three
// hours later, past the session timeout, and "I can't make it" pressed on
// the next day's prompt reports that window, after which nothing more is
// sent about it and it never becomes a miss.
func TestFairRecordOnTelegram(t *testing.T) {
	r := newRun(t)
	sched := schedule.New(r.conv, r.windows, schedule.Options{})
	code := "FAIRTGCODE"
	pid := r.enrolCode(code, "en")
	r.write("/start " + code)
	r.flush()
	r.press(r.render("en", "choice.agree"))
	r.flush()
	r.press(r.render("en", "language.name.en"))
	r.flush()
	r.nextCall = len(r.api.Calls("sendMessage"))

	// A window every day from 09:00 to 17:00, from tomorrow.
	opens := r.clock.Now().UTC().Truncate(24 * time.Hour).Add(33 * time.Hour)
	p := r.participant(pid)
	if !p.Consented() {
		t.Fatalf("agreed by button, but consent is not recorded: %+v", p)
	}
	p.TimeZone = "UTC"
	p.Schedule = &store.CheckInSchedule{From: opens.Format(time.DateOnly), Every: &store.EveryDays{Days: 1, OpenTime: opens.Format("15:04"), Length: "8h"}}
	if err := r.store.UpdateParticipant(r.ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := sched.Replan(r.ctx, pid); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) {
		t.Helper()
		r.clock.Set(opens.Add(d))
		if _, err := sched.RunOnce(r.ctx, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.flush()
	}
	window := []string{"choice.checkin", "choice.callback", "choice.cant"}

	at(0)
	r.expectSent(r.ask("en", "checkin.ask", window...))
	r.clock.Set(opens.Add(3 * time.Hour)) // the session timeout is two hours
	r.press(r.render("en", "choice.checkin"))
	r.flush()
	r.expectSent(r.say("en", "checkin.thanks"))

	at(24 * time.Hour)
	r.expectSent(r.ask("en", "checkin.ask", window...))
	r.press(r.render("en", "choice.cant"))
	r.flush()
	r.expectSent(r.say("en", "checkin.cant"))
	at(24*time.Hour + 2*time.Hour) // closing soon: not for a window reported
	at(48 * time.Hour)
	r.expectSent(r.ask("en", "checkin.ask", window...)) // the third day's prompt
	at(56*time.Hour + time.Minute)                      // the second window's grace has ended: nothing is said
	r.expectSent()

	ws, err := r.store.WindowsOf(r.ctx, pid, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[time.Time]store.WindowOutcome{}
	for _, w := range ws {
		got[w.OpensAt.UTC()] = w.Outcome
	}
	if got[opens] != store.WindowOnTime || got[opens.Add(24*time.Hour)] != store.WindowReportedUnable {
		t.Errorf("the ledger: %+v", ws)
	}
	items, err := r.store.AttentionOf(r.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	second := (schedule.Window{Start: opens.Add(24 * time.Hour)}).Ref(pid)
	for _, it := range items {
		if it.Kind == store.AttentionMissed {
			t.Errorf("a missed check-in after the person reported: %+v", it)
		}
		if it.Kind == store.AttentionCantMakeIt && it.Ref != second {
			t.Errorf("can't make it is not tied to its window: %+v", it)
		}
	}
}
