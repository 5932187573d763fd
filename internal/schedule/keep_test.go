package schedule_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// TestNextOfEachKindActsAsEveryItem: a person's running state keeps only
// the next item of each kind, and each item handled plans the one after.
// Over twelve days of a daily window and an appointment, with a check-in,
// a "can't make it", a late check-in, days with no answer and a day the
// scheduler was stopped, the person is sent the same messages at the same
// moments, and the ledger, the caseworker's items and the audit end the
// same, as when every planned item is stored. Four items are stored at
// most, where every item is ten.
func TestNextOfEachKindActsAsEveryItem(t *testing.T) {
	t.Parallel()
	daily := &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}
	type person struct {
		h    *harness
		pid  string
		addr string
	}
	people := make([]person, 2)
	for i := range people {
		h := newHarness(t)
		if i == 1 {
			schedule.StoreEveryItem(h.led)
		}
		pid, addrs := h.enrol("Europe/London", daily, store.SMS)
		h.appointment(pid, "a1", "2026-01-14", "10:30", store.AppointmentScheduled)
		h.must(h.sched.Replan(h.ctx, pid))
		people[i] = person{h, pid, addrs[0]}
	}
	says := map[string]string{
		"2026-01-05T10:00:00Z": "1", // checked in
		"2026-01-07T10:00:00Z": "3", // can't make it
		"2026-01-09T08:00:00Z": "1", // the 8th's window, in its grace
	}
	stopped := func(at time.Time) bool { // the 11th from 10:00 to 20:30
		return at.After(utc("2026-01-11T10:00:00Z")) && at.Before(utc("2026-01-11T20:30:00Z"))
	}
	traces := make([]strings.Builder, len(people))
	most := make([]int, len(people))
	for at := utc("2026-01-05T00:00:00Z"); at.Before(utc("2026-01-17T00:00:00Z")); at = at.Add(30 * time.Minute) {
		for i, p := range people {
			h := p.h
			if text, ok := says[at.Format(time.RFC3339)]; ok {
				h.clock.Set(at)
				h.say(store.SMS, p.addr, text)
			}
			if !stopped(at) {
				h.run(at.Format(time.RFC3339))
			}
			for _, m := range h.sent(p.pid) {
				fmt.Fprintf(&traces[i], "%s %s\n", m.CreatedAt.UTC().Format(time.RFC3339), m.Kind)
			}
			most[i] = max(most[i], len(h.due(p.pid)))
		}
	}
	for i, p := range people {
		h := p.h
		story := h.story(p.pid)
		story = story[:strings.LastIndex(story, "due ")] // the plans differ, by design
		fmt.Fprintf(&traces[i], "%s", strings.ReplaceAll(story, p.pid, "<p>"))
	}
	if kept, every := traces[0].String(), traces[1].String(); kept != every {
		t.Errorf("next of each kind:\n%s\nevery item:\n%s", kept, every)
	}
	if most[0] > 4 || most[1] < 9 {
		t.Errorf("stored at most %d items (every item: %d), want 4 at most", most[0], most[1])
	}
	t.Logf("items stored at most: %d of each kind's next, %d of every item", most[0], most[1])
}

// TestEveryWindowDecidedAfterALongStop: a scheduler stopped for a week
// decides each of the week's windows when it starts again, one plan's
// reach after another, however long the stop; the person is told nothing
// about windows long gone, and the caseworker sees each one nobody was
// asked about.
func TestEveryWindowDecidedAfterALongStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	daily := &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}
	pid, _ := h.enrol("Europe/London", daily, store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.expectKinds(pid, "the first window opens", "checkin.ask")
	h.run("2026-01-13T12:00:00Z") // stopped from the 5th to the 13th
	decided := map[string]store.WindowOutcome{}
	for _, w := range h.windows(pid) {
		if w.Outcome != "" {
			decided[w.OpensAt.UTC().Format(time.DateOnly)] = w.Outcome
		}
	}
	// The 5th was asked and not answered; the 6th to the 11th nobody asked
	// about; the 12th is in its grace until the 13th at 21:00.
	want := map[string]store.WindowOutcome{"2026-01-05": store.WindowMissed}
	for d := 6; d <= 11; d++ {
		want[fmt.Sprintf("2026-01-%02d", d)] = store.WindowNotDelivered
	}
	if fmt.Sprint(decided) != fmt.Sprint(want) {
		t.Errorf("windows decided after the stop:\n got %v\nwant %v", decided, want)
	}
	if n := len(h.attention(pid)); n != 7 {
		t.Errorf("%d caseworker's items, want 7: a miss and six windows nobody was asked about", n)
	}
	for _, k := range h.kinds(pid) {
		if k != "checkin.ask" {
			t.Errorf("sent %s after the stop, want only today's question", k)
		}
	}
}
