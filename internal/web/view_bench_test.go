package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// What the Needs attention page adds on top of its store reads: grouping
// the queue into cards. Figures in docs/performance.md.
//
//	go test ./internal/web -run '^$' -bench BuildQueue -benchmem

func BenchmarkBuildQueue(b *testing.B) {
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	people := map[string]store.Participant{}
	for i := range 20000 {
		id := fmt.Sprintf("p_%05d", i)
		people[id] = store.Participant{ID: id, Label: "Person " + id, Child: i%17 == 0}
	}
	kinds := kindOrder
	items := make([]store.AttentionItem, 0, 50000)
	for i := range 50000 {
		it := store.AttentionItem{ID: fmt.Sprintf("n_%05d", i), ParticipantID: fmt.Sprintf("p_%05d", i%20000), Kind: kinds[i%len(kinds)],
			CreatedAt: now.Add(-time.Duration(i) * time.Minute)}
		if i%5 == 0 {
			it.ResolvedAt, it.ResolvedBy, it.Resolution = now, "acc_1", "contacted"
		}
		items = append(items, it)
	}
	in := queueInput{Items: items, People: people, Names: map[string]string{"acc_1": "cara"}, Now: now, Zone: time.UTC}
	b.ReportAllocs()
	for b.Loop() {
		q := buildQueue(in)
		if len(q.Cards) == 0 {
			b.Fatal("no cards")
		}
	}
}
