package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
)

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
	for _, want := range []string{"Excused an item", ">cara<", `<bdi dir="auto">Amal</bdi>`, "(missed check-in)"} {
		if !strings.Contains(row+page, want) {
			t.Errorf("the audit row lacks %q:\n%s", want, row)
		}
	}
	all := admin.get("/audit?limit=20&participant=" + p.ID).Body.String()
	if n := strings.Count(between(all, "<tbody>", "</tbody>"), "<tr>"); n != 20 {
		t.Errorf("first page has %d rows, want 20", n)
	}
	next := regexp.MustCompile(`href="(/audit\?[^"]+)" rel="next"`).FindStringSubmatch(all)
	if next == nil {
		t.Fatal("no link to older entries")
	}
	older := admin.get(strings.ReplaceAll(next[1], "&amp;", "&")).Body.String()
	if !strings.Contains(older, "Newest entries") || strings.Count(between(older, "<tbody>", "</tbody>"), "<tr>") == 0 {
		t.Error("the second page is empty")
	}
	if rec := admin.get("/audit?from=yesterday"); rec.Code < 400 || rec.Code >= 500 {
		t.Errorf("a bad date: status %d", rec.Code)
	}
}
