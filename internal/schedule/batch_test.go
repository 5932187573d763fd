package schedule_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// TestBatchDecidesAsOneAtATime: a closing reminder, a late opening and a
// window's decision at the end of its grace, handled in a batch
// (RunOnce), come to what handling the person's items one at a time
// (RunParticipant) comes to, for each way a window can end: the same
// ledger, caseworker's items, audit, messages and plan. Every one but a
// miss (recorded, then told to the person: two turns) is the batch's own,
// applied without a turn of its own (ApplyTurn).
func TestBatchDecidesAsOneAtATime(t *testing.T) {
	const (
		opening = "2026-01-05T09:00:00Z"
		closing = "2026-01-07T15:00:00Z"
		miss    = "2026-01-09T08:00:00Z"
	)
	type story struct {
		name    string
		offline bool // enrolled with no channel
		before  func(h *harness, pid string, addrs []string)
		at      string // the item, or items, handled both ways
		alone   bool   // the batch leaves it to be handled one at a time
	}
	runTo := func(ts ...string) func(h *harness, pid string, addrs []string) {
		return func(h *harness, pid string, addrs []string) {
			for _, at := range ts {
				h.run(at)
			}
		}
	}
	// answered: the person answers the opening's question with text
	// ("1": checked in; "3": can't make it), and the items at then follow.
	answered := func(text string, then ...string) func(h *harness, pid string, addrs []string) {
		return func(h *harness, pid string, addrs []string) {
			h.run(opening)
			h.clock.Set(utc("2026-01-05T10:00:00Z"))
			h.say(store.SMS, addrs[0], text)
			runTo(then...)(h, pid, addrs)
		}
	}
	stories := []story{
		{name: "late opening", at: "2026-01-05T09:05:00Z"},
		{name: "late opening after a check-in", at: "2026-01-05T09:05:00Z", before: func(h *harness, pid string, addrs []string) {
			h.clock.Set(utc("2026-01-05T09:02:00Z"))
			h.checkIn(store.SMS, addrs[0])
		}},
		{name: "closing reminder", at: closing, before: runTo(opening)},
		{name: "closing reminder after a check-in", at: closing, before: answered("1")},
		{name: "closing reminder after can't make it", at: closing, before: answered("3")},
		{name: "on time", at: miss, before: answered("1", closing)},
		{name: "late", at: miss, before: func(h *harness, pid string, addrs []string) {
			runTo(opening, closing)(h, pid, addrs)
			h.clock.Set(utc("2026-01-08T10:00:00Z"))
			h.checkIn(store.SMS, addrs[0])
		}},
		{name: "reported can't make it", at: miss, before: answered("3", closing)},
		{name: "not delivered", at: miss, before: func(h *harness, pid string, addrs []string) {
			runTo(opening, closing)(h, pid, addrs)
			msgs, err := h.st.OutboundOf(h.ctx, pid)
			h.must(err)
			for _, m := range msgs {
				m.Status, m.ErrorCode = store.Undelivered, "30003"
				h.must(h.st.UpdateOutbound(h.ctx, m))
			}
		}},
		{name: "no channel", offline: true, at: miss, before: runTo(opening, closing)},
		{name: "paused", at: miss, before: func(h *harness, pid string, addrs []string) {
			h.run(opening)
			h.update(pid, func(p *store.Participant) { p.Status = store.Paused })
			h.must(h.sched.Replan(h.ctx, pid))
		}},
		{name: "not consented", at: miss, before: func(h *harness, pid string, addrs []string) {
			h.update(pid, func(p *store.Participant) { p.ConsentedAt = time.Time{} })
			h.must(h.sched.Replan(h.ctx, pid))
		}},
		{name: "missed", at: miss, before: runTo(opening, closing), alone: true},
	}
	backends := map[string]func(*testing.T, *clock.Fake) store.Store{
		"bolt":  func(t *testing.T, clk *clock.Fake) store.Store { return testkit.Bolt(t, clk) },
		"redis": func(t *testing.T, _ *clock.Fake) store.Store { return testkit.RedisStores(t, 1)[0] },
	}
	for backend, open := range backends {
		for _, s := range stories {
			t.Run(backend+"/"+s.name, func(t *testing.T) {
				t.Parallel() // each on stores and clocks of its own
				batchAndOneByOne(t, open, s.offline, s.before, s.at, s.alone)
			})
		}
	}
}

// batchAndOneByOne sets a person up with before, handles their items due
// at ts in a batch and, on a store of its own set up alike, one at a
// time, and compares what each left.
func batchAndOneByOne(t *testing.T, open func(*testing.T, *clock.Fake) store.Store, offline bool, before func(*harness, string, []string), ts string, alone bool) {
	var got [2]string
	for i, batch := range []bool{true, false} {
		clk := clock.NewFake(start)
		st := &countTurns{Store: open(t, clk)}
		h := newHarnessOn(t, st, clk)
		var channels []store.Channel
		if !offline {
			channels = append(channels, store.SMS)
		}
		pid, addrs := h.enrol("Europe/London", mondayToWednesday(), channels...)
		if before != nil {
			before(h, pid, addrs)
		}
		h.sent(pid)
		now := utc(ts)
		h.clock.Set(now)
		turns := st.turns.Load()
		if batch {
			if _, err := h.sched.RunOnce(h.ctx, now); err != nil {
				t.Fatal(err)
			}
			if handledAlone := st.turns.Load() > turns; handledAlone != alone {
				t.Errorf("handled on its own: %v, want %v", handledAlone, alone)
			}
		} else if _, err := h.sched.RunParticipant(h.ctx, pid, now); err != nil {
			t.Fatal(err)
		}
		got[i] = strings.ReplaceAll(h.story(pid), pid, "<p>")
	}
	if got[0] != got[1] {
		t.Errorf("in a batch:\n%s\none at a time:\n%s", got[0], got[1])
	}
}

// story writes down what the scheduler left of pid: the ledger, the
// caseworker's items, the audit, the messages queued since the last
// call, and the plan.
func (h *harness) story(pid string) string {
	h.t.Helper()
	var b strings.Builder
	for _, w := range h.windows(pid) {
		fmt.Fprintf(&b, "window %s %s item:%v\n", w.Ref, w.Outcome, w.AttentionID != "")
	}
	for _, a := range h.attention(pid) {
		fmt.Fprintf(&b, "attention %s %s %s open:%v %s\n", a.Kind, a.Reason, a.Ref, a.Open(), a.Resolution)
	}
	audit, err := h.st.ListAudit(h.ctx, pid, 100)
	h.must(err)
	for _, a := range audit {
		fmt.Fprintf(&b, "audit %s %s %s\n", a.Actor, a.Action, a.Detail)
	}
	fmt.Fprintf(&b, "sent %v\n", h.kinds(pid))
	fmt.Fprintf(&b, "due %v\n", h.due(pid))
	return b.String()
}

// countTurns counts the turns applied one at a time.
type countTurns struct {
	store.Store
	turns atomic.Int64
}

func (c *countTurns) ApplyTurn(ctx context.Context, t store.Turn) error {
	c.turns.Add(1)
	return c.Store.ApplyTurn(ctx, t)
}
