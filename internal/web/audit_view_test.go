package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func TestFilterAuditAndPages(t *testing.T) {
	day := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	var entries []store.AuditEntry
	for i := range 120 { // newest first, one an hour
		e := store.AuditEntry{ID: "a_" + strconv.Itoa(i), At: day.Add(-time.Duration(i) * time.Hour), Actor: "acc_cara", Action: "participant_viewed", ParticipantID: "p_1"}
		if i%3 == 0 {
			e.Actor, e.Action, e.ParticipantID = "acc_ada", "attention_excused", "p_2"
		}
		entries = append(entries, e)
	}
	got := filterAudit(entries, auditFilter{Action: "attention_excused"}, time.UTC)
	if len(got) != 40 {
		t.Errorf("by action: %d", len(got))
	}
	if got := filterAudit(entries, auditFilter{Actor: "acc_cara", Participant: "p_1"}, time.UTC); len(got) != 80 {
		t.Errorf("by actor and person: %d", len(got))
	}
	// One whole day, in the zone given: 5 March in UTC is entries 0..12.
	if got := filterAudit(entries, auditFilter{From: "2026-03-05", To: "2026-03-05"}, time.UTC); len(got) != 13 {
		t.Errorf("one day: %d", len(got))
	}
	first, next := pageAfter(entries, "", 50)
	if len(first) != 50 || next != "a_49" {
		t.Fatalf("first page: %d, next %q", len(first), next)
	}
	// An entry added since does not shift the next page.
	newer := append([]store.AuditEntry{{ID: "a_new", At: day.Add(time.Hour)}}, entries...)
	second, next := pageAfter(newer, "a_49", 50)
	if second[0].ID != "a_50" || next != "a_99" {
		t.Errorf("second page starts %s, next %q", second[0].ID, next)
	}
	if last, next := pageAfter(entries, "a_99", 50); len(last) != 20 || next != "" {
		t.Errorf("last page: %d, next %q", len(last), next)
	}
	if msg := (auditFilter{From: "2026-03-05", To: "2026-03-01"}).check(); msg == "" {
		t.Error("a range that ends before it starts is accepted")
	}
}

// The audit log page speaks in words: names and labels beside IDs,
// actions as sentences, and its filters and pages work.
func TestAuditPageInWords(t *testing.T) {
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	it := e.attentionItem(p, store.AttentionMissed)
	b := e.signedIn(e.cara)
	mustStatus(t, "excuse", b.post("/attention/"+it.ID, map[string][]string{"action": {"excused"}}), http.StatusSeeOther)
	for range 60 {
		b.get("/participants/" + p.ID)
	}
	admin := e.signedIn(e.admin)
	page := admin.get("/audit?participant=" + p.ID + "&action=attention_excused").Body.String()
	row := between(page, "<tbody>", "</tbody>")
	for _, want := range []string{"Excused an item", ">cara<", `<bdi dir="auto">Amal</bdi>`, "(missed check-in)", "1 entry matches"} {
		if !strings.Contains(row+page, want) {
			t.Errorf("the audit row lacks %q:\n%s", want, row)
		}
	}
	all := admin.get("/audit?participant=" + p.ID).Body.String()
	if n := strings.Count(between(all, "<tbody>", "</tbody>"), "<tr>"); n != auditPageSize {
		t.Errorf("first page has %d rows", n)
	}
	next := regexp.MustCompile(`href="(/audit\?[^"]+)" rel="next"`).FindStringSubmatch(all)
	if next == nil {
		t.Fatal("no link to older entries")
	}
	older := admin.get(strings.ReplaceAll(next[1], "&amp;", "&")).Body.String()
	if !strings.Contains(older, "Newest entries") || strings.Count(between(older, "<tbody>", "</tbody>"), "<tr>") == 0 {
		t.Error("the second page is empty")
	}
	mustStatus(t, "a bad date", admin.get("/audit?from=yesterday"), http.StatusUnprocessableEntity)
}
