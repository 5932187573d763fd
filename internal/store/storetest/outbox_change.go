package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// ChangeOutbound: a read, a comparison and a write in one step, so that
// two delivery callbacks at once lose nothing.

// statusRank mirrors the dispatcher's order (internal/outbox): statuses
// only move forward; once final, only delivered may become read.
func statusRank(s store.MessageStatus) int {
	return map[store.MessageStatus]int{store.Pending: 0, store.Queued: 1, store.Sent: 2,
		store.Delivered: 3, store.Undelivered: 3, store.Failed: 3, store.Read: 4}[s]
}

func advance(to store.MessageStatus, at time.Time) func(*store.OutboundMessage) bool {
	return func(m *store.OutboundMessage) bool {
		if m.Status.Final() && !(m.Status == store.Delivered && to == store.Read) || statusRank(to) <= statusRank(m.Status) {
			return false
		}
		m.Status, m.UpdatedAt = to, at
		return true
	}
}

var outboxChangeTests = []namedTest{
	{"ChangeSavesOrKeeps", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		created(t, s, "p_1")
		m := outbound("o_1", "p_1", at(0))
		// A WhatsApp template's filled values are words of the message:
		// they go with the text at a final status.
		m.Template = &store.Template{SID: "HX1", Variables: map[string]string{"1": "Court 3, Main Street"}}
		must(t, "enqueue", s.EnqueueOutbound(ctx, m))
		changed, saved, err := s.ChangeOutbound(ctx, "o_1", advance(store.Delivered, at(time.Minute)))
		must(t, "deliver", err)
		if !saved {
			t.Fatal("delivered was not saved")
		}
		if changed.HasWords() {
			t.Fatalf("delivered, but the change hands back words: %+v", changed)
		}
		got, saved, err := s.ChangeOutbound(ctx, "o_1", advance(store.Sent, at(2*time.Minute)))
		must(t, "late sent", err)
		if saved || got.Status != store.Delivered || got.Text != "" {
			t.Fatalf("a late sent: saved %v, kept %+v", saved, got)
		}
		stored, err := s.GetOutbound(ctx, "o_1")
		must(t, "get", err)
		if stored.Status != store.Delivered || stored.HasWords() || !stored.UpdatedAt.Equal(at(time.Minute)) {
			t.Fatalf("stored %+v, want delivered at 1m with no text and no template", stored)
		}
		_, _, err = s.ChangeOutbound(ctx, "o_missing", advance(store.Sent, at(0)))
		mustBe(t, "missing", err, store.ErrNotFound)
		claimed, err := s.ClaimOutbound(ctx, "w", at(time.Hour), time.Minute, 10)
		must(t, "claim", err)
		if len(claimed) != 0 {
			t.Fatalf("a delivered message was claimable: %+v", claimed)
		}
	}},
	{"ConcurrentCallbacksLoseNothing", func(t *testing.T, s store.Store) {
		// Callbacks for each message arrive at once, in every order: the
		// highest status wins, and a final one keeps its text dropped.
		ctx := ctxOf(t)
		created(t, s, "p_1")
		statuses := []store.MessageStatus{store.Sent, store.Delivered, store.Sent, store.Queued, store.Sent}
		for i := range 20 {
			id := "o_" + string(rune('a'+i))
			m := outbound(id, "p_1", at(0))
			m.Status = store.Queued
			must(t, "enqueue", s.EnqueueOutbound(ctx, m))
			var wg sync.WaitGroup
			for j, st := range statuses {
				wg.Go(func() {
					if _, _, err := s.ChangeOutbound(ctx, id, advance(st, at(time.Duration(j+1)*time.Second))); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			got, err := s.GetOutbound(ctx, id)
			must(t, "get", err)
			if got.Status != store.Delivered || got.Text != "" {
				t.Fatalf("%s after concurrent callbacks: status %s, text %q; want delivered with no text", id, got.Status, got.Text)
			}
		}
	}},
}
