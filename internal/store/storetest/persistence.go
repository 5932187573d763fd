package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// RunPersistence checks that what a store holds survives Close and a reopen.
// open must return a store over the data in dir (a file for bolt; a backend
// whose data lives elsewhere may ignore dir but must reach the same data), and
// must not clear it; it may register cleanup. A closed store must answer Ping
// with an error.
func RunPersistence(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	far := wallNow().Add(time.Hour)

	s := open(t, dir)
	must(t, "ping", s.Ping(ctx))
	turn := fullTurn("p_a", far)
	must(t, "apply turn", s.ApplyTurn(ctx, turn))
	must(t, "link", s.PutLink(ctx, link("idx_1", "p_a")))
	code := store.EnrolmentCode{Code: "KEEP", ParticipantID: "p_a", ExpiresAt: far}
	must(t, "code", s.PutEnrolmentCode(ctx, code))
	must(t, "appointment", s.PutAppointment(ctx, appointment("ap_1", "p_a", "2026-03-10", "09:00")))
	must(t, "due", s.PutDue(ctx, due("d_1", "p_a", at(0))))
	first, err := s.FirstSeen(ctx, "dedupe", far)
	must(t, "dedupe", err)
	if !first {
		t.Fatalf("fresh key seen before")
	}
	_, err = s.Increment(ctx, "counter", far)
	must(t, "increment", err)
	_, err = s.ReserveRate(ctx, "rate", 10, 10, at(0))
	must(t, "reserve", err)
	must(t, "resolve", s.ResolveAttention(ctx, "att_p_a", "cw_1", "contacted", at(time.Hour)))
	must(t, "close", s.Close())
	if err := s.Ping(ctx); err == nil {
		t.Fatalf("closed store answers Ping")
	}

	s = open(t, dir)
	must(t, "ping after reopen", s.Ping(ctx))
	turn.Attention[0].ResolvedAt, turn.Attention[0].ResolvedBy, turn.Attention[0].Resolution = at(time.Hour), "cw_1", "contacted"
	checkTurnLanded(t, s, turn)
	l, err := s.GetLink(ctx, "idx_1")
	must(t, "link after reopen", err)
	mustSame(t, "link after reopen", l, link("idx_1", "p_a"))
	c, err := s.TakeEnrolmentCode(ctx, "KEEP")
	must(t, "code after reopen", err)
	mustSame(t, "code after reopen", c, code)
	a, err := s.GetAppointment(ctx, "ap_1")
	must(t, "appointment after reopen", err)
	mustSame(t, "appointment after reopen", a, appointment("ap_1", "p_a", "2026-03-10", "09:00"))
	ds, err := s.DueOf(ctx, "p_a")
	must(t, "due after reopen", err)
	mustIDs(t, "due after reopen", ids(ds, dueID), []string{"d_1"})
	again, err := s.FirstSeen(ctx, "dedupe", far)
	must(t, "dedupe after reopen", err)
	if again {
		t.Fatalf("dedupe key forgotten on reopen: a retried webhook would be handled twice")
	}
	n, err := s.Increment(ctx, "counter", far)
	must(t, "counter after reopen", err)
	if n != 2 {
		t.Fatalf("counter after reopen %d, want 2", n)
	}
	next, err := s.ReserveRate(ctx, "rate", 1, 10, at(0))
	must(t, "rate after reopen", err)
	if !closeTo(next, at(time.Second)) {
		t.Fatalf("rate budget forgotten on reopen: next slot %v, want 1s", next.Sub(base))
	}
	msgs, err := s.ClaimOutbound(ctx, "w", at(time.Hour), time.Minute, 10)
	must(t, "claim after reopen", err)
	mustIDs(t, "outbox after reopen", ids(msgs, outboundID), []string{"m_p_a", "m2_p_a"})
}
