package schedule_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// harness is a scheduler and a conversation service over a real bolt
// store with the shipped flows and messages, on a fake clock, with the log
// captured so that it can be checked for addresses.
type harness struct {
	t     testing.TB
	ctx   context.Context
	st    store.Store
	clock settable
	box   *seal.Box
	conv  *conversation.Service
	live  *conversation.Live
	led   *schedule.Ledger
	sched *schedule.Scheduler
	logs  *testkit.Logs

	mu      sync.Mutex
	outbox  map[string][]store.OutboundMessage // queued and not yet read, by participant
	nextNum int
	addrs   []string
}

// start is Sunday 4 January 2026, noon UTC: London is on UTC in winter.
var start = utc("2026-01-04T12:00:00Z")

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewFake(start)
	return newHarnessOn(t, testkit.Bolt(t, clk), clk)
}

// settable is a clock tests can move: clock.Fake, or shifted for tests
// that measure real time.
type settable interface {
	clock.Clock
	Set(time.Time)
}

// shifted is the system clock moved by an offset: it runs in real time
// from whatever moment it is set to.
type shifted struct{ offset atomic.Int64 }

func (s *shifted) Now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// Set makes the clock read t now.
func (s *shifted) Set(t time.Time) { s.offset.Store(int64(time.Until(t))) }

func newHarnessOn(t testing.TB, st store.Store, clk settable) *harness {
	return newHarnessLevel(t, st, clk, slog.LevelDebug)
}

// newHarnessLevel logs at level: tests of many thousand people log less.
func newHarnessLevel(t testing.TB, st store.Store, clk settable, level slog.Level) *harness {
	t.Helper()
	box := testkit.Box(t)
	logs := &testkit.Logs{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	live := conversation.NewLive(testkit.Shipped(t))
	windows := schedule.NewLedger(st, live, clk, log)
	conv := conversation.New(st, box, live, clk, log, windows)
	h := &harness{
		t: t, ctx: context.Background(), st: st, clock: clk, box: box, conv: conv, logs: logs, live: live, led: windows,
		sched:  schedule.New(conv, windows, schedule.Options{}),
		outbox: map[string][]store.OutboundMessage{},
	}
	t.Cleanup(func() {
		out := logs.String()
		for _, a := range h.addrs {
			if strings.Contains(out, a) {
				t.Errorf("the log holds an address")
			}
		}
	})
	return h
}

func mondayToWednesday() *store.CheckInSchedule {
	return &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}}}
}

// enrol creates a participant as a caseworker would, links one address per
// channel given, and plans their schedule. It returns the ID and the
// addresses, in the order of the channels.
func (h *harness) enrol(zone string, sched *store.CheckInSchedule, channels ...store.Channel) (string, []string) {
	h.t.Helper()
	now := h.clock.Now()
	pid := store.NewID("p_")
	h.must(h.st.CreateParticipant(h.ctx, store.Participant{ID: pid, Label: "Test person", Language: "en", TimeZone: zone,
		Status: store.Active, Schedule: sched, CreatedAt: now, UpdatedAt: now, ConsentedAt: now}))
	var addrs []string
	for _, ch := range channels {
		h.mu.Lock()
		h.nextNum++
		addr := fmt.Sprintf("+4477009%05d", h.nextNum)
		if ch == store.Telegram {
			addr = fmt.Sprintf("81%07d", h.nextNum)
		}
		h.addrs = append(h.addrs, addr)
		h.mu.Unlock()
		sealed, err := h.box.Seal(string(ch), addr)
		h.must(err)
		h.must(h.st.PutLink(h.ctx, store.Link{Index: h.box.Index(string(ch), addr), Channel: ch, ParticipantID: pid,
			Sealed: sealed, Masked: seal.Mask(addr), LinkedAt: now}))
		addrs = append(addrs, addr)
	}
	h.must(h.sched.Replan(h.ctx, pid))
	return pid, addrs
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// run moves the clock to ts and runs the scheduler once, returning how
// many items it dealt with.
func (h *harness) run(ts string) int {
	h.t.Helper()
	now := utc(ts)
	h.clock.Set(now)
	n, err := h.sched.RunOnce(h.ctx, now)
	if err != nil {
		h.t.Fatalf("run at %s: %v", ts, err)
	}
	h.deliver()
	return n
}

// deliver takes every queued message out of the outbox and marks it
// delivered, as the dispatcher and a provider would soon after a run: a
// prompt that never left the outbox reached no one, and the ledger says
// so ("not delivered").
func (h *harness) deliver() {
	h.t.Helper()
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	for {
		msgs, err := h.st.ClaimOutbound(h.ctx, "test-reader", far, time.Hour, 1000)
		h.must(err)
		if len(msgs) == 0 {
			return
		}
		h.mu.Lock()
		for _, m := range msgs {
			h.outbox[m.ParticipantID] = append(h.outbox[m.ParticipantID], m)
			m.Status = store.Delivered
			h.must(h.st.UpdateOutbound(h.ctx, m))
		}
		h.mu.Unlock()
	}
}

// say delivers text from an address, at the current fake time.
func (h *harness) say(ch store.Channel, addr, text string) {
	h.t.Helper()
	if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: ch, Address: addr, Text: text}); err != nil {
		h.t.Fatalf("say %q: %v", text, err)
	}
}

// checkIn checks in the way a person who has no question waiting would:
// MENU, then 1.
func (h *harness) checkIn(ch store.Channel, addr string) {
	h.t.Helper()
	h.say(ch, addr, "MENU")
	h.say(ch, addr, "1")
}

// sent returns the messages queued for pid since the last call, marking
// them delivered as a provider would.
func (h *harness) sent(pid string) []store.OutboundMessage {
	h.t.Helper()
	h.deliver()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.outbox[pid]
	delete(h.outbox, pid)
	return out
}

// sentAll returns every message queued since the last call, whoever it
// is for, leaving them claimed (nothing else reads this outbox).
func (h *harness) sentAll() []store.OutboundMessage {
	h.t.Helper()
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	var out []store.OutboundMessage
	seen := map[string]bool{}
	for {
		msgs, err := h.st.ClaimOutbound(h.ctx, "test-reader", far, time.Hour, 5000)
		h.must(err)
		fresh := 0
		for _, m := range msgs {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, m)
				fresh++
			}
		}
		if fresh == 0 { // a claim must lease what it returns; stop rather than spin if not
			return out
		}
	}
}

// kinds lists the message IDs of what was sent to pid since the last call.
func (h *harness) kinds(pid string) []string {
	h.t.Helper()
	var out []string
	for _, m := range h.sent(pid) {
		out = append(out, m.Kind)
	}
	return out
}

func (h *harness) expectKinds(pid, when string, want ...string) {
	h.t.Helper()
	if got := h.kinds(pid); !slices.Equal(got, want) {
		h.t.Errorf("%s: sent %v, want %v", when, got, want)
	}
}

func (h *harness) attention(pid string) []store.AttentionItem {
	h.t.Helper()
	all, err := h.st.ListAttention(h.ctx, false)
	h.must(err)
	var out []store.AttentionItem
	for _, a := range all {
		if a.ParticipantID == pid && a.Kind != store.AttentionOptedOut {
			out = append(out, a)
		}
	}
	return out
}

func (h *harness) checkIns(pid string) []store.CheckIn {
	h.t.Helper()
	cs, err := h.st.CheckInsOf(h.ctx, pid, time.Time{})
	h.must(err)
	return cs
}

func (h *harness) due(pid string) []string {
	h.t.Helper()
	items, err := h.st.DueOf(h.ctx, pid)
	h.must(err)
	var out []string
	for _, it := range items {
		out = append(out, it.ID+" @ "+it.DueAt.UTC().Format(time.RFC3339))
	}
	return out
}

func (h *harness) participant(pid string) store.Participant {
	h.t.Helper()
	p, err := h.st.GetParticipant(h.ctx, pid)
	h.must(err)
	return p
}

func (h *harness) update(pid string, change func(*store.Participant)) {
	h.t.Helper()
	p := h.participant(pid)
	change(&p)
	h.must(h.st.UpdateParticipant(h.ctx, p))
}

// windows returns the ledger's records of pid, oldest first.
func (h *harness) windows(pid string) []store.Window {
	h.t.Helper()
	ws, err := h.st.WindowsOf(h.ctx, pid, time.Time{})
	h.must(err)
	return ws
}
