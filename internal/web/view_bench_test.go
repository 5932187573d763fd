package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// What the caseworker pages add on top of their store reads: grouping the
// queue into cards, and filtering and paging the audit log. Figures in
// docs/performance.md.
//
//	go test ./internal/web -run '^$' -bench 'BuildQueue|FilterAudit' -benchmem

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

func BenchmarkFilterAudit(b *testing.B) {
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	entries := make([]store.AuditEntry, 0, auditScanLimit)
	for i := range auditScanLimit {
		entries = append(entries, store.AuditEntry{ID: fmt.Sprintf("a_%05d", i), At: now.Add(-time.Duration(i) * time.Minute),
			Actor: fmt.Sprintf("acc_%d", i%7), Action: "participant_viewed", ParticipantID: fmt.Sprintf("p_%04d", i%3000)})
	}
	f := auditFilter{Actor: "acc_3", From: "2026-02-20", To: "2026-03-04"}
	b.ReportAllocs()
	for b.Loop() {
		page, _ := pageAfter(filterAudit(entries, f, time.UTC), "", auditPageSize)
		if len(page) == 0 {
			b.Fatal("nothing matched")
		}
	}
}
