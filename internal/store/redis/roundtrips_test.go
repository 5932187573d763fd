package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/outbox/outboxtest"
	"github.com/waymark-atd/waymark/internal/store"
)

// roundTrips counts what a client sends to Redis: a command sent alone or
// a whole pipeline is one round trip (n). It counts the scripts run in
// them too.
type roundTrips struct{ n, scripts atomic.Int64 }

func (r *roundTrips) count(cmds ...goredis.Cmder) {
	r.n.Add(1)
	for _, c := range cmds {
		if name := c.Name(); name == "evalsha" || name == "eval" {
			r.scripts.Add(1)
		}
	}
}

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.count(cmd)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.count(cmds...)
		return next(ctx, cmds)
	}
}

// TestSendRoundTrips counts the round trips the outbox dispatcher makes to
// send queued messages: the delivery of replies is bounded by them. A
// claim of nine messages takes four (peek, claim, read the records, pass
// each person's send gate, which keeps their messages in order); each
// send four: the checks before it with the loop guard's count
// (BeginSend, one script on a single Redis), the rate budget, the mark
// that the send began (MarkSending: a crash mid-send leaves the message in
// doubt instead of sending it again blindly), and MarkSent (the record,
// the person's hold and the queue in one pipeline).
func TestSendRoundTrips(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	msgs := outboxtest.QueueSends(t, s, 3, 3)

	rt := &roundTrips{}
	s.rdb.AddHook(rt)
	outboxtest.SendQueued(t, s, msgs, 1)
	n := len(msgs)
	const claim, perSend = 4, 4
	got := rt.n.Load()
	t.Logf("%d round trips for %d sends", got, n)
	if want := int64(claim + perSend*len(msgs)); got > want {
		t.Errorf("%d round trips to send %d messages, want at most %d (%d for the claim, %d a send)", got, n, want, claim, perSend)
	}
	for _, m := range msgs {
		rec, err := s.GetOutbound(ctx, m.ID)
		mustDo(t, err)
		if rec.Status != store.Queued || rec.ProviderID != "P"+m.ID {
			t.Errorf("%s: status %s, provider ID %q", m.ID, rec.Status, rec.ProviderID)
		}
	}
}

// TestInboundRoundTrips counts the round trips of an inbound message's
// reads and writes on a single Redis: the link and the turn it starts
// from in one (linked_turn.lua), and the turn with its reply in two.
func TestInboundRoundTrips(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	now := time.Now()
	p := store.Participant{ID: "p_a", Label: "a", Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}
	mustDo(t, s.CreateParticipant(ctx, p))
	mustDo(t, s.PutLink(ctx, store.Link{Index: "ix_a", Channel: store.SMS, ParticipantID: "p_a", Sealed: []byte("x"), Masked: "x", LinkedAt: now}))

	rt := &roundTrips{}
	s.rdb.AddHook(rt)
	_, loaded, err := s.LoadLinkedTurn(ctx, "ix_a", "sms:SM1")
	mustDo(t, err)
	if got := rt.n.Swap(0); got != 1 {
		t.Errorf("the link and the turn's state read in %d round trips, want 1", got)
	}
	reply := store.OutboundMessage{ID: "m_1", ParticipantID: "p_a", LinkIndex: "ix_a", Channel: store.SMS,
		Kind: "k", Text: "reply", Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now}
	mustDo(t, s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &loaded.Participant, Outbound: []store.OutboundMessage{reply},
		DedupeKey: "sms:SM1", DedupeUntil: now.Add(time.Hour), SeenOn: "ix_a", SeenAt: now}))
	// One: on a single Redis the message's outbox hint is written by the
	// turn's own script, with the link's last-seen time beside it.
	if got := rt.n.Load(); got != 1 {
		t.Errorf("the turn applied in %d round trips, want 1", got)
	}
	if got := s.rdb.HGet(ctx, s.k.outShard(shardOf("m_1")).where, "m_1").Val(); got != "p_a" {
		t.Errorf("the reply's outbox hint names %q, want p_a", got)
	}
}

// TestDueBatchRoundTrips counts the round trips of the scheduler's batch
// on a single Redis: LoadTurns takes three (the leases; each person's
// record, session, dedupe key and hints; the records those name) and
// ApplyDueSteps two (turns; items planned and ended), however many items
// the batch holds. It counts the scripts a step runs too: its turn (which
// writes its message's outbox hint too) and its items planned and ended
// (which also lowers the person's entry in the due shard, takes the ended
// item's entry out, and gives the step's lease up).
func TestDueBatchRoundTrips(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	now := time.Now().Round(0)
	for _, n := range []int{1, 50} {
		var asks []store.TurnAsk
		var ids []string
		for i := range n {
			pid := fmt.Sprintf("p_%d_%d", n, i)
			mustDo(t, s.CreateParticipant(ctx, store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}))
			mustDo(t, s.PutLink(ctx, store.Link{Index: "ix_" + pid, Channel: store.SMS, ParticipantID: pid, Sealed: []byte("x"), Masked: "x", LinkedAt: now}))
			mustDo(t, s.PutDue(ctx, store.DueItem{ID: "open:" + pid, ParticipantID: pid, Kind: "k", DueAt: now}))
			ask := store.TurnAsk{ParticipantID: pid, DedupeKey: "once:" + pid, Lease: "plan:" + pid, Owner: "batch", LeaseTTL: time.Minute}
			if i%2 == 1 {
				ask.HistorySince = now.Add(-time.Hour) // a window's facts: read in the same round trips
			}
			asks = append(asks, ask)
			ids = append(ids, "open:"+pid)
		}
		claimed, err := s.ClaimDue(ctx, "batch", now, time.Minute, n)
		mustDo(t, err)
		if len(claimed) != n {
			t.Fatalf("claimed %d of %d", len(claimed), n)
		}

		rt := &roundTrips{}
		s.rdb.AddHook(rt)
		in, err := s.LoadTurns(ctx, asks)
		mustDo(t, err)
		loaded := rt.n.Swap(0)
		rt.scripts.Store(0)
		steps := make([]store.DueStep, n)
		for i, a := range asks {
			mustDo(t, in[i].Err)
			p := in[i].Participant
			m := store.OutboundMessage{ID: "m_" + a.ParticipantID, ParticipantID: p.ID, LinkIndex: "ix_" + p.ID, Channel: store.SMS,
				Kind: "k", Text: "text", Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now}
			steps[i] = store.DueStep{
				ParticipantID: p.ID,
				Turn:          &store.Turn{ParticipantID: p.ID, Participant: &p, Outbound: []store.OutboundMessage{m}, DedupeKey: a.DedupeKey, DedupeUntil: now.Add(time.Hour)},
				Put:           []store.DueItem{{ID: "next:" + p.ID, ParticipantID: p.ID, Kind: "k", DueAt: now.Add(time.Hour)}},
				Complete:      ids[i], Owner: "batch", Lease: a.Lease,
			}
		}
		for i, err := range s.ApplyDueSteps(ctx, steps) {
			if err != nil {
				t.Fatalf("step %d of %d: %v", i, n, err)
			}
		}
		applied, scripts := rt.n.Load(), rt.scripts.Load()
		if loaded != 3 || applied != 2 {
			t.Errorf("a batch of %d: LoadTurns in %d round trips, ApplyDueSteps in %d; want 3 and 2", n, loaded, applied)
		}
		if scripts != int64(2*n) {
			t.Errorf("a batch of %d: ApplyDueSteps ran %d scripts; want 2 a step", n, scripts)
		}
		for i, id := range ids {
			if _, err := s.rdb.Get(ctx, s.k.lease(asks[i].Lease)).Result(); !errors.Is(err, goredis.Nil) {
				t.Errorf("a batch of %d: lease %s still held after its step (%v)", n, asks[i].Lease, err)
			}
			pid := asks[i].ParticipantID
			if got := storedDueIDs(t, s, pid); !slices.Equal(got, []string{"next:" + pid}) {
				t.Errorf("a batch of %d: after %s, the person's due items are %q; want only the next item", n, id, got)
			}
			// The person's entry is at the next item at the latest, and the
			// ended item's own entry is gone.
			index := s.k.dueIndex(shardOf(pid))
			if score, err := s.rdb.ZScore(ctx, index, personEntry(pid)).Result(); err != nil || int64(score) > now.Add(time.Hour).UnixMilli() {
				t.Errorf("a batch of %d: %s's entry at %v (%v); want at or before the next item", n, pid, score, err)
			}
			if _, err := s.rdb.ZScore(ctx, index, itemEntry(pid, id)).Result(); !errors.Is(err, goredis.Nil) {
				t.Errorf("a batch of %d: the ended item %s keeps its entry (%v)", n, id, err)
			}
		}
	}
}
