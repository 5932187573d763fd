package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Benchmark bodies shared by every backend, so that their numbers compare.
// newStore returns a fresh, empty store and registers its own cleanup.

// BenchLoadSession measures GetSession of a saved session: the first read of
// every inbound message.
func BenchLoadSession(b *testing.B, newStore func(b *testing.B) store.Store) {
	s := newStore(b)
	ctx := b.Context()
	if err := s.SaveSession(ctx, session("p_a", wallNow().Add(24*time.Hour))); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetSession(ctx, "p_a"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchSaveSessionAndEnqueue measures ApplyTurn of a typical reply: save the
// session and queue one message.
func BenchSaveSessionAndEnqueue(b *testing.B, newStore func(b *testing.B) store.Store) {
	s := newStore(b)
	ctx := b.Context()
	ss := session("p_a", wallNow().Add(24*time.Hour))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		err := s.ApplyTurn(ctx, store.Turn{
			ParticipantID: "p_a",
			Session:       &ss,
			Outbound:      []store.OutboundMessage{outbound(fmt.Sprint("m_", i), "p_a", at(0))},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchClaimDue measures claiming a backlog of 1,000 due items, 100 at a
// time, as a scheduler does after a pause.
func BenchClaimDue(b *testing.B, newStore func(b *testing.B) store.Store) {
	const backlog, batch = 1000, 100
	s := newStore(b)
	ctx := b.Context()
	items := make([]store.DueItem, backlog)
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		round++
		idList := make([]string, backlog)
		for i := range items {
			idList[i] = fmt.Sprintf("d_%d_%04d", round, i)
			items[i] = due(idList[i], fmt.Sprint("p_", i%50), at(time.Duration(i)*time.Second))
		}
		if err := s.PutDue(ctx, items...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		claimed := 0
		for claimed < backlog {
			got, err := s.ClaimDue(ctx, "bench", at(time.Hour), time.Hour, batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				b.Fatalf("claimed %d of %d", claimed, backlog)
			}
			claimed += len(got)
		}
		b.StopTimer()
		for _, d := range items {
			if err := s.DeleteDue(ctx, d.ParticipantID, d.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
}
