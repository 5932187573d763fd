package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// Monday 5 January 2026 09:00 in London (UTC in winter).
const monRef = "win:%s:1767603600"

func ref(pid string) string { return strings.Replace(monRef, "%s", pid, 1) }

// TestMissedWindow: a window opens, a reminder comes before it closes, and
// when the grace period has passed without a check-in the caseworker sees
// a miss and the person gets one kind message. The next window is planned.
func TestMissedWindow(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)

	if n := h.run("2026-01-05T08:59:00Z"); n != 0 {
		t.Errorf("handled %d items before the window opened", n)
	}
	h.expectKinds(pid, "before opening")
	h.run("2026-01-05T09:00:00Z")
	h.expectKinds(pid, "at opening", "checkin.ask")
	h.run("2026-01-07T15:00:00Z")
	h.expectKinds(pid, "six hours before the close", "checkin.closing_soon")
	h.run("2026-01-08T20:59:00Z")
	h.expectKinds(pid, "in grace")
	if len(h.attention(pid)) != 0 {
		t.Error("a miss was recorded during the grace period")
	}
	// Close Wednesday 21:00 + 1 day of grace = Thursday 21:00, in quiet
	// hours: the miss is recorded and told on Friday at 08:00.
	h.run("2026-01-08T21:00:00Z")
	if len(h.attention(pid)) != 0 {
		t.Error("a miss was recorded in quiet hours")
	}
	h.run("2026-01-09T08:00:00Z")
	h.expectKinds(pid, "miss", "checkin.missed")
	att := h.attention(pid)
	if len(att) != 1 || att[0].Kind != store.AttentionMissed || att[0].Ref != ref(pid) || !att[0].Open() {
		t.Fatalf("attention = %+v, want one open missed_checkin for %s", att, ref(pid))
	}
	audit, err := h.st.ListAudit(h.ctx, pid, 10)
	h.must(err)
	if len(audit) == 0 || audit[0].Action != "checkin_missed" || audit[0].Actor != "system" {
		t.Errorf("audit = %+v, want checkin_missed by system", audit)
	}
	// The next window is planned; nothing of the old one is left.
	want := []string{
		"win:" + pid + ":1768208400:open @ 2026-01-12T09:00:00Z",
		"win:" + pid + ":1768208400:close:6h @ 2026-01-14T15:00:00Z",
		"win:" + pid + ":1768208400:miss @ 2026-01-16T08:00:00Z",
	}
	if got := h.due(pid); !slices.Equal(got, want) {
		t.Errorf("due after the miss:\n got %v\nwant %v", got, want)
	}
	p := h.participant(pid)
	if p.Status != store.Active {
		t.Errorf("a miss changed the person's status to %s: no sanction may follow a miss", p.Status)
	}
}

// TestOnTimeCheckIn: a check-in inside the window is on time, and the
// closing reminder and the miss check it made stale send nothing.
func TestOnTimeCheckIn(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.expectKinds(pid, "at opening", "checkin.ask")
	h.clock.Set(utc("2026-01-05T10:00:00Z"))
	h.say(store.SMS, addrs[0], "1") // answers the check-in question
	h.expectKinds(pid, "reply", "checkin.thanks")

	if n := h.run("2026-01-07T15:00:00Z"); n != 1 {
		t.Errorf("handled %d items at the closing reminder, want 1", n)
	}
	h.expectKinds(pid, "closing reminder after a check-in")
	h.run("2026-01-09T08:00:00Z")
	h.expectKinds(pid, "miss check after a check-in")
	if att := h.attention(pid); len(att) != 0 {
		t.Errorf("attention after an on-time check-in: %+v", att)
	}
	cs := h.checkIns(pid)
	if len(cs) != 1 || cs[0].Outcome != store.OnTime {
		t.Errorf("check-ins = %+v, want one on time", cs)
	}
}

// TestLateCheckIn: after the close and within the grace period a check-in
// is late but recorded and welcomed, and no miss follows. After a miss a
// check-in is still welcome, and late.
func TestLateCheckIn(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	other, otherAddrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	h.clock.Set(utc("2026-01-08T10:00:00Z"))
	h.checkIn(store.SMS, addrs[0])
	h.run("2026-01-09T08:00:00Z")
	if att := h.attention(pid); len(att) != 0 {
		t.Errorf("a late check-in in grace was recorded as a miss: %+v", att)
	}
	if att := h.attention(other); len(att) != 1 || att[0].Kind != store.AttentionMissed {
		t.Fatalf("the other person's miss: %+v", att)
	}
	h.clock.Set(utc("2026-01-09T12:00:00Z"))
	h.checkIn(store.SMS, otherAddrs[0])
	h.sent(pid)
	for who, id := range map[string]string{"in grace": pid, "after the miss": other} {
		cs := h.checkIns(id)
		if len(cs) != 1 || cs[0].Outcome != store.Late {
			t.Errorf("%s: check-ins = %+v, want one late", who, cs)
		}
	}
	if kinds := h.kinds(other); !slices.Contains(kinds, "checkin.thanks") {
		t.Errorf("a late check-in was not thanked: %v", kinds)
	}
}

// TestTwoChannelsOneWindow: a person on SMS and Telegram who checks in on
// both in one window has both contacts recorded, the second as a repeat:
// the window counts once.
func TestTwoChannelsOneWindow(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS, store.Telegram)
	h.clock.Set(utc("2026-01-05T10:00:00Z"))
	h.checkIn(store.SMS, addrs[0])
	h.clock.Set(utc("2026-01-05T10:05:00Z"))
	h.checkIn(store.Telegram, addrs[1])
	cs := h.checkIns(pid)
	if len(cs) != 2 || cs[0].Outcome != store.OnTime || cs[1].Outcome != store.Repeat || cs[1].Channel != store.Telegram {
		t.Fatalf("check-ins = %+v, want on time by SMS then a repeat by Telegram", cs)
	}
	h.run("2026-01-09T08:00:00Z")
	if att := h.attention(pid); len(att) != 0 {
		t.Errorf("attention: %+v", att)
	}
	// The next window is a new one: on time again.
	h.clock.Set(utc("2026-01-12T09:30:00Z"))
	h.checkIn(store.Telegram, addrs[1])
	if cs := h.checkIns(pid); cs[len(cs)-1].Outcome != store.OnTime {
		t.Errorf("first check-in of the next window: %s", cs[len(cs)-1].Outcome)
	}
}

// TestPaused: a paused person gets no reminders and no misses, whether the
// pause came before or after the plan: the window is recorded "paused".
// Resuming plans again.
func TestPaused(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.update(pid, func(p *store.Participant) { p.Status = store.Paused }) // no replan: the plan is now stale
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	h.run("2026-01-09T08:00:00Z")
	h.expectKinds(pid, "while paused")
	if att := h.attention(pid); len(att) != 0 {
		t.Errorf("a paused person got a miss: %+v", att)
	}
	for _, d := range h.due(pid) {
		if !strings.Contains(d, ":miss @") {
			t.Errorf("a reminder planned for a paused person: %v", d)
		}
	}
	if ws := h.windows(pid); len(ws) != 1 || ws[0].Outcome != store.WindowPaused {
		t.Errorf("the ledger while paused: %+v", ws)
	}
	h.update(pid, func(p *store.Participant) { p.Status = store.Active })
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-12T09:00:00Z")
	h.expectKinds(pid, "after resuming", "checkin.ask")
}

// TestOptedOut: a person who sent STOP gets nothing and no miss is held
// against them; after START the schedule carries on by itself.
func TestOptedOut(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.say(store.SMS, addrs[0], "STOP")
	h.expectKinds(pid, "stop", "optout.confirm")
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	h.run("2026-01-09T08:00:00Z")
	h.expectKinds(pid, "while opted out")
	if att := h.attention(pid); len(att) != 0 {
		t.Errorf("an opted-out person got a miss: %+v", att)
	}
	h.clock.Set(utc("2026-01-10T10:00:00Z"))
	h.say(store.SMS, addrs[0], "START")
	h.expectKinds(pid, "start", "optin.confirm")
	h.run("2026-01-12T09:00:00Z")
	h.expectKinds(pid, "next window after START", "checkin.ask")
}

// TestUnreachable: when the person's channel failed, the passed window is
// put to the caseworker as "can't reach", never as a miss, and nothing is
// sent to the broken channel. Someone never linked is "no channel".
func TestUnreachable(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	unlinked, _ := h.enrol("Europe/London", mondayToWednesday())
	link, err := h.st.GetLink(h.ctx, h.box.Index(string(store.SMS), addrs[0]))
	h.must(err)
	link.Unreachable, link.Reason = true, "30006"
	h.must(h.st.PutLink(h.ctx, link))

	h.run("2026-01-09T08:00:00Z")
	for _, tc := range []struct{ pid, reason string }{{pid, "30006"}, {unlinked, schedule.ReasonNoChannel}} {
		att := h.attention(tc.pid)
		if len(att) != 1 || att[0].Kind != store.AttentionCantReach || att[0].Reason != tc.reason {
			t.Errorf("attention = %+v, want one cant_reach with reason %s", att, tc.reason)
		}
		for _, k := range h.kinds(tc.pid) {
			if k == "checkin.missed" {
				t.Error("a missed message went to a channel that cannot be reached")
			}
		}
	}
}

// TestQuietHours: a window opening at 06:00 is announced at 08:00, when the
// quiet hours end, and not before.
func TestQuietHours(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "06:00", CloseDay: "monday", CloseTime: "18:00"}}}, store.SMS)
	h.run("2026-01-05T06:00:00Z")
	h.expectKinds(pid, "at 06:00")
	h.run("2026-01-05T08:00:00Z")
	msgs := h.sent(pid)
	if len(msgs) != 1 || msgs[0].Kind != "checkin.ask" || !msgs[0].CreatedAt.Equal(utc("2026-01-05T08:00:00Z")) {
		t.Errorf("at 08:00: %+v", msgs)
	}
	// A check-in at 07:00 is on time: quiet hours hold back messages, not
	// the window.
	other, addrs := h.enrol("Europe/London", &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "tuesday", OpenTime: "06:00", CloseDay: "tuesday", CloseTime: "18:00"}}}, store.SMS)
	h.clock.Set(utc("2026-01-06T07:00:00Z"))
	h.checkIn(store.SMS, addrs[0])
	if cs := h.checkIns(other); len(cs) != 1 || cs[0].Outcome != store.OnTime {
		t.Errorf("check-in at 07:00: %+v", cs)
	}
}

// TestScheduleChanged: items planned under an old schedule are stale once
// the schedule changes, even before anyone replans.
func TestScheduleChanged(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.update(pid, func(p *store.Participant) {
		p.Schedule = &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "tuesday", OpenTime: "10:00", CloseDay: "thursday", CloseTime: "18:00"}}}
	})
	h.run("2026-01-05T09:00:00Z")
	h.expectKinds(pid, "Monday under the old schedule")
	h.run("2026-01-06T10:00:00Z")
	h.expectKinds(pid, "Tuesday under the new schedule", "checkin.ask")
}

// TestTimeZoneFarFromUTC: a window opening Monday 09:00 in Kiritimati
// (UTC+14) opens on Sunday in UTC, and its reminder goes then.
func TestTimeZoneFarFromUTC(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Pacific/Kiritimati", mondayToWednesday(), store.SMS)
	h.run("2026-01-04T18:59:00Z")
	h.expectKinds(pid, "Sunday 18:59 UTC")
	h.run("2026-01-04T19:00:00Z")
	h.expectKinds(pid, "Sunday 19:00 UTC = Monday 09:00 in Kiritimati", "checkin.ask")
}

// TestLeaseTakeover: an item claimed by a process that died is handled by
// another once the lease has run out, and only then.
func TestLeaseTakeover(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	now := utc("2026-01-05T09:00:00Z")
	h.clock.Set(now)
	claimed, err := h.st.ClaimDue(h.ctx, "dead-process", now, time.Minute, 10)
	h.must(err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	if n := h.run("2026-01-05T09:00:30Z"); n != 0 {
		t.Errorf("took over a live lease: %d", n)
	}
	h.expectKinds(pid, "while the lease holds")
	if n := h.run("2026-01-05T09:01:00Z"); n != 1 {
		t.Errorf("handled %d after the lease, want 1", n)
	}
	h.expectKinds(pid, "after the lease", "checkin.ask")
}

// TestActedOnOnce: an item handled a second time (say its lease ran out
// while a slow process was still sending) sends nothing again.
func TestActedOnOnce(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	items, err := h.st.DueOf(h.ctx, pid)
	h.must(err)
	open := items[0]
	h.run("2026-01-05T09:00:00Z")
	h.expectKinds(pid, "first time", "checkin.ask")
	h.must(h.st.PutDue(h.ctx, open))
	if n := h.run("2026-01-05T09:01:00Z"); n != 1 {
		t.Errorf("handled %d, want the repeated item dealt with", n)
	}
	h.expectKinds(pid, "second time")
}

// TestErased: due items of a participant who was erased are dropped.
func TestErased(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.must(h.st.PutDue(h.ctx, store.DueItem{ID: "win:p_gone:1:open", ParticipantID: "p_gone", Kind: schedule.KindWindowOpen, DueAt: start}))
	h.must(h.st.DeleteParticipant(h.ctx, pid))
	if n := h.run("2026-01-05T09:00:00Z"); n != 1 {
		t.Errorf("handled %d, want the orphan dropped", n)
	}
	if due := h.due("p_gone"); len(due) != 0 {
		t.Errorf("orphan left: %v", due)
	}
}

// TestRunParticipant: the simulator's way, one person's items in order
// without claims.
func TestRunParticipant(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	at, ok, err := h.sched.NextDue(h.ctx, pid)
	h.must(err)
	if !ok || !at.Equal(utc("2026-01-05T09:00:00Z")) {
		t.Fatalf("next due %s %v", at, ok)
	}
	var kinds []string
	for range 3 {
		at, _, _ := h.sched.NextDue(h.ctx, pid)
		h.clock.Set(at)
		n, err := h.sched.RunParticipant(h.ctx, pid, at)
		h.must(err)
		if n != 1 {
			t.Errorf("handled %d at %s", n, at)
		}
		kinds = append(kinds, h.kinds(pid)...)
	}
	if want := []string{"checkin.ask", "checkin.closing_soon", "checkin.missed"}; !slices.Equal(kinds, want) {
		t.Errorf("sent %v, want %v", kinds, want)
	}
}

// TestCheckInOutcome judges check-ins directly against a schedule.
func TestCheckInOutcome(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	p := h.participant(pid)
	tests := []struct {
		at   string
		want store.CheckInOutcome
	}{
		{"2026-01-05T08:59:00Z", store.Unscheduled}, // before the first window
		{"2026-01-05T09:00:00Z", store.OnTime},
		{"2026-01-07T20:59:59Z", store.OnTime},
		{"2026-01-07T21:00:00Z", store.Late},
		{"2026-01-11T23:00:00Z", store.Late}, // until the next window opens
		{"2026-01-12T09:00:00Z", store.OnTime},
	}
	outcome := func(p store.Participant, at time.Time) store.CheckInOutcome {
		t.Helper()
		o, _, err := h.sched.CheckIn(h.ctx, p, store.CheckIn{ID: "c_new", ParticipantID: p.ID, At: at, Channel: store.SMS})
		h.must(err)
		return o
	}
	for _, tt := range tests {
		if got := outcome(p, utc(tt.at)); got != tt.want {
			t.Errorf("at %s: %s, want %s", tt.at, got, tt.want)
		}
	}
	h.must(h.st.RecordCheckIn(h.ctx, store.CheckIn{ID: "c_1", ParticipantID: pid, At: utc("2026-01-08T10:00:00Z"), Channel: store.SMS, Outcome: store.Late}))
	if got := outcome(p, utc("2026-01-09T10:00:00Z")); got != store.Repeat {
		t.Errorf("second late check-in: %s, want repeat", got)
	}
	p.Schedule = nil
	if got := outcome(p, utc("2026-01-05T10:00:00Z")); got != store.Unscheduled {
		t.Errorf("no schedule: %s", got)
	}
}

// TestFailedSendIsRetried: a reminder that could not be sent (here the
// store refused the conversation's turn, as when Redis goes away
// mid-request) is not marked done: it comes back after its lease and goes
// out once.
func TestFailedSendIsRetried(t *testing.T) {
	clk := clock.NewFake(start)
	st := testkit.Bolt(t, clk)
	flaky := &refusingTurns{Store: st}
	h := newHarnessOn(t, flaky, clk)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.clock.Set(utc("2026-01-05T09:00:00Z"))
	flaky.refuse.Store(true)
	if _, err := h.sched.RunOnce(h.ctx, h.clock.Now()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a send that failed was reported as %v, want ErrUnavailable", err)
	}
	h.expectKinds(pid, "while the store refuses turns")
	flaky.refuse.Store(false)
	if n := h.run("2026-01-05T09:02:00Z"); n != 1 {
		t.Errorf("handled %d after the lease, want the reminder again", n)
	}
	h.expectKinds(pid, "retried", "checkin.ask")
	if n := h.run("2026-01-05T09:05:00Z"); n != 0 {
		t.Errorf("handled %d more, want none", n)
	}
	h.expectKinds(pid, "after it went out")
}

// TestBatchWithAStaleItemLandsTheRestAndRetriesIt: the reminders of three
// people are handled in one batch, and one person's record changes
// between the batch's read and its write (a caseworker's edit). Their
// step is refused, the two others land, and the refused one is handled
// again on its own at once, from the record as it is now: each person
// gets one reminder, and the edit stays.
func TestBatchWithAStaleItemLandsTheRestAndRetriesIt(t *testing.T) {
	for name, open := range map[string]func(*testing.T, *clock.Fake) store.Store{
		"bolt":  func(t *testing.T, clk *clock.Fake) store.Store { return testkit.Bolt(t, clk) },
		"redis": func(t *testing.T, _ *clock.Fake) store.Store { return testkit.Redis(t) },
	} {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(start)
			editing := &editBeforeSteps{Store: open(t, clk)}
			h := newHarnessOn(t, editing, clk)
			var people []string
			for range 3 {
				pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
				people = append(people, pid)
			}
			editing.edit = people[1]
			if n := h.run("2026-01-05T09:00:00Z"); n != 3 {
				t.Fatalf("handled %d of 3", n)
			}
			h.must(editing.err)
			if editing.refused != 1 {
				t.Fatalf("%d steps refused as stale, want the edited person's", editing.refused)
			}
			for _, pid := range people {
				h.expectKinds(pid, "after the batch", "checkin.ask")
			}
			p, err := editing.GetParticipant(h.ctx, people[1])
			h.must(err)
			if p.Label != "edited" {
				t.Fatalf("the edit was lost: label %q", p.Label)
			}
			if n := h.run("2026-01-05T09:05:00Z"); n != 0 {
				t.Fatalf("handled %d more, want none", n)
			}
		})
	}
}

// editBeforeSteps changes the record of person edit just before the
// first ApplyDueSteps, as a caseworker's edit landing between a batch's
// read and its write, and counts the steps the store refused as stale.
type editBeforeSteps struct {
	store.Store
	edit    string
	once    sync.Once
	err     error // of the edit
	refused int
}

func (e *editBeforeSteps) ApplyDueSteps(ctx context.Context, steps []store.DueStep) []error {
	e.once.Do(func() {
		p, err := e.GetParticipant(ctx, e.edit)
		if err == nil {
			p.Label = "edited"
			err = e.UpdateParticipant(ctx, p)
		}
		e.err = err
	})
	errs := e.Store.ApplyDueSteps(ctx, steps)
	for _, err := range errs {
		if errors.Is(err, store.ErrStale) {
			e.refused++
		}
	}
	return errs
}

// refusingTurns is a store whose ApplyTurn fails while refuse is set, and
// so does every step of ApplyDueSteps with a turn (its lease is given up).
type refusingTurns struct {
	store.Store
	refuse atomic.Bool
}

func (r *refusingTurns) ApplyTurn(ctx context.Context, t store.Turn) error {
	if r.refuse.Load() {
		return fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return r.Store.ApplyTurn(ctx, t)
}

func (r *refusingTurns) ApplyDueSteps(ctx context.Context, steps []store.DueStep) []error {
	if !r.refuse.Load() {
		return r.Store.ApplyDueSteps(ctx, steps)
	}
	leasesOnly := make([]store.DueStep, len(steps))
	for i, st := range steps {
		leasesOnly[i] = store.DueStep{ParticipantID: st.ParticipantID, Owner: st.Owner, Lease: st.Lease}
	}
	errs := r.Store.ApplyDueSteps(ctx, leasesOnly)
	for i, st := range steps {
		if st.Turn != nil {
			errs[i] = fmt.Errorf("test: %w", store.ErrUnavailable)
		}
	}
	return errs
}

// TestShutdownHandsBackItemsNotBegun: a process told to stop while it
// handles items one at a time finishes the item it has begun and hands
// back the rest, which another process handles at once, not after the
// lease. The items are the miss checks of windows nobody checked in for,
// which a batch leaves to be handled one at a time (the miss is recorded,
// then told to the person: two turns, where a batch's step is one).
func TestShutdownHandsBackItemsNotBegun(t *testing.T) {
	clk := clock.NewFake(start)
	st := testkit.Bolt(t, clk)
	stopping := &stopAtFirstTurn{Store: st}
	h := newHarnessOn(t, stopping, clk)
	var people []string
	for range 3 {
		pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
		people = append(people, pid)
	}
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	for _, pid := range people {
		h.expectKinds(pid, "before the miss", "checkin.ask", "checkin.closing_soon")
	}
	h.clock.Set(utc("2026-01-09T08:00:00Z"))
	ctx, stop := context.WithCancel(h.ctx)
	stopping.stop = stop
	first := schedule.New(h.conv, schedule.NewLedger(stopping, h.live, clk, slog.New(slog.DiscardHandler)), schedule.Options{Workers: 1, Owner: "first"})
	n, _ := first.RunOnce(ctx, h.clock.Now())
	if n != 1 {
		t.Fatalf("the stopping process handled %d, want the one it had begun", n)
	}
	other := schedule.New(h.conv, schedule.NewLedger(st, h.live, clk, slog.New(slog.DiscardHandler)), schedule.Options{Owner: "other"})
	n, err := other.RunOnce(h.ctx, h.clock.Now()) // the same minute: well inside the lease
	if err != nil || n != 2 {
		t.Fatalf("another process handled %d (%v), want the two handed back", n, err)
	}
	for _, pid := range people {
		h.expectKinds(pid, "after the hand-back", "checkin.missed")
	}
}

// stopAtFirstTurn cancels the run (stop) as the first turn is applied, as a
// shutdown arriving mid-batch.
type stopAtFirstTurn struct {
	store.Store
	stop func()
	once sync.Once
}

func (s *stopAtFirstTurn) ApplyTurn(ctx context.Context, t store.Turn) error {
	if s.stop != nil {
		s.once.Do(s.stop)
	}
	return s.Store.ApplyTurn(ctx, t)
}

// A person who said "I can't make it" and then checks in after all: the
// window is on time, and the can't-make-it item closes itself, so the
// caseworker does not go looking for another way for someone who came.
func TestCheckInAfterCantMakeItClosesTheItem(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.clock.Set(utc("2026-01-05T10:00:00Z"))
	h.say(store.SMS, addrs[0], "3")
	if att := h.attention(pid); len(att) != 1 || att[0].Kind != store.AttentionCantMakeIt || !att[0].Open() {
		t.Fatalf("after can't make it: %+v", att)
	}
	h.clock.Set(utc("2026-01-06T10:00:00Z"))
	h.checkIn(store.SMS, addrs[0])
	att := h.attention(pid)
	if len(att) != 1 || att[0].Open() || att[0].ResolvedBy != store.ResolvedBySystem || att[0].Resolution != store.ResolvedCheckedIn {
		t.Errorf("after checking in: %+v", att)
	}
	if ws := h.windows(pid); len(ws) != 1 || ws[0].Outcome != store.WindowOnTime {
		t.Errorf("the ledger: %+v", ws)
	}
}

// TestTextsPerCheckIn: a window checked in by text keeps how many texts
// the person sent for it, from its opening up to the check-in; texts
// before it opened count for the window before, and a second check-in
// changes nothing.
func TestTextsPerCheckIn(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS, store.Telegram)
	h.run("2026-01-05T09:00:00Z")
	h.clock.Set(utc("2026-01-05T10:00:00Z"))
	h.say(store.SMS, addrs[0], "1") // answers the prompt: one text
	h.clock.Set(utc("2026-01-05T10:05:00Z"))
	h.checkIn(store.Telegram, addrs[1]) // a repeat: the window keeps its count

	h.clock.Set(utc("2026-01-11T20:00:00Z"))
	h.say(store.SMS, addrs[0], "hello") // before the next window opens
	h.run("2026-01-12T09:00:00Z")
	h.clock.Set(utc("2026-01-12T11:00:00Z"))
	h.say(store.SMS, addrs[0], "what is this")
	h.checkIn(store.SMS, addrs[0]) // MENU, then 1

	got := map[string]int{}
	for _, w := range h.windows(pid) {
		got[w.OpensAt.Format(time.DateOnly)+" "+string(w.Outcome)] = w.Texts
	}
	want := map[string]int{"2026-01-05 on_time": 1, "2026-01-12 on_time": 3}
	if !maps.Equal(got, want) {
		t.Errorf("texts per window = %v, want %v", got, want)
	}
	if p := h.participant(pid); p.TextsInWindow != 3 {
		t.Errorf("the person's running count = %d, want 3 (nothing sent since)", p.TextsInWindow)
	}
}

// TestLateFailureMovesAMissToNotDelivered: the prompts' failure reported
// after the window was decided missed (a carrier's late word) moves it to
// "not delivered": the missed item closes itself and a "can't reach" item
// with the failure's code takes its place. An undecided window is left to
// its decision.
func TestLateFailureMovesAMissToNotDelivered(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	if err := h.sched.PromptFailed(h.ctx, pid, ref(pid)); err != nil {
		t.Fatal(err)
	}
	if ws := h.windows(pid); len(ws) != 0 && ws[0].Outcome != store.WindowOpen {
		t.Fatalf("an open window was decided by a failure: %+v", ws)
	}
	h.run("2026-01-09T08:00:00Z")
	missed := h.attention(pid)
	if len(missed) != 1 || missed[0].Kind != store.AttentionMissed {
		t.Fatalf("attention = %+v, want the miss", missed)
	}

	msgs, err := h.st.OutboundOf(h.ctx, pid)
	h.must(err)
	for _, m := range msgs {
		if m.Ref == ref(pid) {
			m.Status, m.ErrorCode = store.Undelivered, "30003"
			h.must(h.st.UpdateOutbound(h.ctx, m))
		}
	}
	h.clock.Set(utc("2026-01-09T11:00:00Z"))
	h.must(h.sched.PromptFailed(h.ctx, pid, ref(pid)))

	ws := h.windows(pid)
	if len(ws) != 1 || ws[0].Outcome != store.WindowNotDelivered {
		t.Fatalf("windows = %+v, want one not delivered", ws)
	}
	items := h.attention(pid)
	var closed, open []store.AttentionItem
	for _, a := range items {
		if a.Open() {
			open = append(open, a)
		} else {
			closed = append(closed, a)
		}
	}
	if len(closed) != 1 || closed[0].ID != missed[0].ID || closed[0].Resolution != store.ResolvedNotDelivered {
		t.Errorf("closed items = %+v, want the miss closed as not delivered", closed)
	}
	if len(open) != 1 || open[0].Kind != store.AttentionCantReach || open[0].Reason != "30003" || ws[0].AttentionID != open[0].ID {
		t.Errorf("open items = %+v, want a can't-reach item for the window, reason 30003", open)
	}
	audit, err := h.st.ListAudit(h.ctx, pid, 10)
	h.must(err)
	if len(audit) == 0 || audit[0].Action != "window_outcome" || !strings.HasSuffix(audit[0].Detail, "missed -> not_delivered") {
		t.Errorf("audit = %+v, want the move recorded", audit)
	}
	// Told again, nothing changes.
	h.must(h.sched.PromptFailed(h.ctx, pid, ref(pid)))
	if n := len(h.attention(pid)); n != 2 {
		t.Errorf("a second failure report made %d items, want 2", n)
	}
}

// TestItemRaisedAgainClosesWithItsWindow: a caseworker's undo raises a
// window's missed item again as a new item with the window's ref; a late
// check-in then closes it too, as it closes the first.
func TestItemRaisedAgainClosesWithItsWindow(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.run("2026-01-05T09:00:00Z")
	h.run("2026-01-07T15:00:00Z")
	h.run("2026-01-09T08:00:00Z")
	missed := h.attention(pid)
	if len(missed) != 1 || missed[0].Kind != store.AttentionMissed {
		t.Fatalf("attention = %+v, want the miss", missed)
	}
	// Dealt with by a caseworker, then undone: a new item, same window.
	h.must(h.st.ResolveAttention(h.ctx, missed[0].ID, "acct_cara", "contacted", utc("2026-01-09T09:00:00Z")))
	again := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: pid, Kind: store.AttentionMissed, Ref: missed[0].Ref, CreatedAt: missed[0].CreatedAt}
	h.must(h.st.AddAttention(h.ctx, again))

	h.clock.Set(utc("2026-01-09T12:00:00Z"))
	h.checkIn(store.SMS, addrs[0])
	for _, a := range h.attention(pid) {
		if a.Open() {
			t.Errorf("item %s still open after the late check-in: %+v", a.ID, a)
		}
		if a.ID == again.ID && a.Resolution != store.ResolvedCheckedInLate {
			t.Errorf("the item raised again closed as %q, want %s", a.Resolution, store.ResolvedCheckedInLate)
		}
	}
}
