package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// MarkSending: the mark that a send began, written before the provider is
// called, so that a message found Pending with it is known to be in doubt.

// sending is m as the dispatcher hands it to its provider: attempt n,
// begun at began.
func sending(m store.OutboundMessage, n int, began time.Time) store.OutboundMessage {
	m.Attempts, m.SendBegan = n, began
	return m
}

var outboxDoubtTests = []namedTest{
	{"MarkSendingKeepsTheClaimAndComesBackInDoubt", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		m := outbound("m_0", "p_a", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, m))
		claimed := claimOut(t, s, "a", at(0), time.Minute, 10)
		mustIDs(t, "a claims", ids(claimed, outboundID), []string{"m_0"})
		must(t, "mark sending", s.MarkSending(ctx, sending(claimed[0], 1, at(time.Second))))

		// The mark is saved, and nothing else changes: the text, the
		// status and the claim stay.
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		mustSame(t, "marked message", got, sending(m, 1, at(time.Second)))
		mustIDs(t, "b during a's lease", ids(claimOut(t, s, "b", at(59*time.Second), time.Minute, 10), outboundID), nil)

		// a crashed mid-send: b finds the message in doubt, with the
		// attempt that began counted.
		again := claimOut(t, s, "b", at(time.Minute+time.Millisecond), time.Minute, 10)
		mustIDs(t, "b after a's lease", ids(again, outboundID), []string{"m_0"})
		mustSame(t, "reclaimed message in doubt", again[0], sending(m, 1, at(time.Second)))
	}},
	{"MarkSendingRefusedOnceTheProviderReported", func(t *testing.T, s store.Store) {
		// A status callback for an earlier send in doubt moved the message
		// on after it was claimed: it must not go again.
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0))))
		m := claimOut(t, s, "a", at(0), time.Minute, 10)[0]
		_, saved, err := s.ChangeOutbound(ctx, "m_0", func(m *store.OutboundMessage) bool {
			m.Status, m.ProviderID, m.SendBegan = store.Sent, "SM1", time.Time{}
			return true
		})
		must(t, "status callback", err)
		if !saved {
			t.Fatal("status callback not saved")
		}
		mustBe(t, "mark sending after a status", s.MarkSending(ctx, sending(m, 2, at(time.Second))), store.ErrConflict)
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		if got.Status != store.Sent || got.Attempts != 0 || !got.SendBegan.IsZero() {
			t.Fatalf("refused mark changed the message: %+v", got)
		}
	}},
	{"MarkSendingOfNoSuchMessage", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0))))
		mustBe(t, "missing message", s.MarkSending(ctx, sending(outbound("m_missing", "p_a", at(0)), 1, at(0))), store.ErrNotFound)
		mustBe(t, "another participant's ID", s.MarkSending(ctx, sending(outbound("m_0", "p_b", at(0)), 1, at(0))), store.ErrNotFound)
		mustFail(t, "no send time", s.MarkSending(ctx, outbound("m_0", "p_a", at(0))))
	}},
	{"AnAnswerRecordedEndsTheDoubt", func(t *testing.T, s store.Store) {
		// The provider's acceptance, or a failure recorded for a retry,
		// clears the mark: the message is no longer in doubt.
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_ok", "p_a", at(0)), outbound("m_retry", "p_a", at(0))))
		claimed := claimOut(t, s, "a", at(0), time.Minute, 10)
		for _, m := range claimed {
			must(t, "mark sending "+m.ID, s.MarkSending(ctx, sending(m, 1, at(time.Second))))
		}
		ok := sending(claimed[0], 1, time.Time{})
		ok.ProviderID, ok.UpdatedAt = "SM1", at(2*time.Second)
		must(t, "mark sent", s.MarkSent(ctx, ok))
		got, err := s.GetOutbound(ctx, "m_ok")
		must(t, "get sent", err)
		if got.Status != store.Queued || !got.SendBegan.IsZero() || got.ProviderID != "SM1" {
			t.Fatalf("accepted message: %+v", got)
		}
		retry := sending(claimed[1], 1, time.Time{})
		retry.ErrorCode, retry.NotBefore = "503", at(time.Minute)
		must(t, "update for a retry", s.UpdateOutbound(ctx, retry))
		again := claimOut(t, s, "b", at(time.Minute), time.Minute, 10)
		mustIDs(t, "retried", ids(again, outboundID), []string{"m_retry"})
		mustSame(t, "retried message, not in doubt", again[0], retry)
	}},
}
