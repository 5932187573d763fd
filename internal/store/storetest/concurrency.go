package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

var concurrencyTests = []namedTest{
	{"MixedOperations", testMixedOperations},
}

// testMixedOperations has many goroutines use the store at once, as webhook
// handlers, the scheduler and the outbox do, and checks afterwards that every
// write landed once. Run with -race it also catches unsynchronised state in
// the backend.
func testMixedOperations(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const workers, rounds = 8, 15
	far := wallNow().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range workers {
		pid := fmt.Sprint("p_w", w)
		wg.Go(func() {
			fail := func(what string, err error) bool {
				if err != nil {
					t.Errorf("worker %s: %s: %v", pid, what, err)
					return true
				}
				return false
			}
			if fail("create", s.CreateParticipant(ctx, participant(pid))) {
				return
			}
			for r := range rounds {
				id := fmt.Sprintf("%s_%02d", pid, r)
				ss := session(pid, far)
				ss.Vars = map[string]string{"round": fmt.Sprint(r)}
				turn := store.Turn{
					ParticipantID: pid,
					Session:       &ss,
					CheckIns:      []store.CheckIn{checkIn("c_"+id, pid, at(time.Duration(r)*time.Minute))},
					Audit:         []store.AuditEntry{audit("au_"+id, pid, at(time.Duration(r)*time.Minute))},
					Outbound:      []store.OutboundMessage{outbound("m_"+id, pid, at(0))},
				}
				if fail("apply turn", s.ApplyTurn(ctx, turn)) {
					return
				}
				_, err := s.GetSession(ctx, pid)
				fail("get session", err)
				fail("put link", s.PutLink(ctx, link("idx_"+id, pid)))
				fail("put due", s.PutDue(ctx, due("d_"+id, pid, at(0))))
				_, err = s.ClaimOutbound(ctx, pid, at(time.Minute), time.Hour, 3)
				fail("claim outbound", err)
				claimed, err := s.ClaimDue(ctx, pid, at(time.Minute), time.Hour, 3)
				fail("claim due", err)
				for _, d := range claimed {
					fail("complete due", s.CompleteDue(ctx, d.ParticipantID, d.ID, pid))
				}
				_, err = s.FirstSeen(ctx, "shared-dedupe", far)
				fail("dedupe", err)
				_, err = s.Increment(ctx, "shared-counter", far)
				fail("increment", err)
				_, err = s.ReserveRate(ctx, "shared-rate", 1, 1000, at(0))
				fail("reserve", err)
				if ok, err := s.AcquireLease(ctx, "shared-lease", pid, time.Minute); !fail("acquire", err) && ok {
					fail("release", s.ReleaseLease(ctx, "shared-lease", pid))
				}
				_, err = s.ListParticipants(ctx)
				fail("list participants", err)
				_, err = s.ListAttention(ctx, true)
				fail("list attention", err)
				_, err = s.ListAudit(ctx, "", 5)
				fail("list audit", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for w := range workers {
		pid := fmt.Sprint("p_w", w)
		cis, err := s.CheckInsOf(ctx, pid, time.Time{})
		must(t, "check-ins", err)
		if len(cis) != rounds {
			t.Fatalf("%s: %d check-ins, want %d", pid, len(cis), rounds)
		}
		links, err := s.LinksOf(ctx, pid)
		must(t, "links", err)
		if len(links) != rounds {
			t.Fatalf("%s: %d links, want %d", pid, len(links), rounds)
		}
		ss, err := s.GetSession(ctx, pid)
		must(t, "session", err)
		if ss.Vars["round"] != fmt.Sprint(rounds-1) {
			t.Fatalf("%s: session from round %s, want the last", pid, ss.Vars["round"])
		}
		entries, err := s.ListAudit(ctx, pid, 0)
		must(t, "audit", err)
		if len(entries) != rounds {
			t.Fatalf("%s: %d audit entries, want %d", pid, len(entries), rounds)
		}
	}
	n, err := s.Increment(ctx, "shared-counter", far)
	must(t, "increment", err)
	if n != workers*rounds+1 {
		t.Fatalf("shared counter %d, want %d", n, workers*rounds+1)
	}
	if first, err := s.FirstSeen(ctx, "shared-dedupe", far); err != nil || first {
		t.Fatalf("shared dedupe key: first %v, err %v", first, err)
	}
	next, err := s.ReserveRate(ctx, "shared-rate", 1, 1000, at(0))
	must(t, "reserve", err)
	if want := at(time.Duration(workers*rounds) * time.Millisecond); !closeTo(next, want) {
		t.Fatalf("shared rate: next slot %v, want %v", next.Sub(base), want.Sub(base))
	}
}
