package schedule_test

import (
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestHistoryStartsWithAWindowThatOpensFromSince: asked from a moment
// inside a window, History leaves that window out rather than judging it
// afresh without its record, which would show an excused window as missed.
func TestHistoryStartsWithAWindowThatOpensFromSince(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	for _, at := range []string{"2026-01-05T09:00:00Z", "2026-01-07T15:00:00Z", "2026-01-09T08:00:00Z"} {
		h.run(at)
	}
	h.must(h.sched.Excuse(h.ctx, pid, ref(pid), "acct_cw"))
	now := h.clock.Now()
	p := h.participant(pid)

	from, err := h.sched.History(h.ctx, p, utc("2026-01-05T00:00:00Z"), now)
	h.must(err)
	if len(from) != 1 || from[0].Ref != ref(pid) || from[0].Outcome != store.WindowExcused {
		t.Fatalf("history from before the window = %+v, want it excused", from)
	}
	inside, err := h.sched.History(h.ctx, p, utc("2026-01-06T12:00:00Z"), now)
	h.must(err)
	if len(inside) != 0 {
		t.Fatalf("history from inside the window = %+v, want nothing: it opened before since", inside)
	}
}
