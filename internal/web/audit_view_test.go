package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The audit log page speaks in words: names and labels beside IDs,
// actions as sentences, and its filters and pages work.
func TestAuditPageInWords(t *testing.T) {
	t.Parallel()
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

// The audit log's dates are whole days on the caseworker's own clock; the
// API's are UTC days, as docs/api.md says.
func TestAuditDatesAreTheCaseworkersDays(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	admin := e.admin
	admin.TimeZone = "Asia/Tokyo"
	if err := e.st.UpdateAccount(t.Context(), admin); err != nil {
		t.Fatal(err)
	}
	// 20:00 UTC on 2 March is 05:00 on 3 March in Tokyo.
	at := time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC)
	if err := e.st.AppendAudit(t.Context(), store.AuditEntry{ID: "a_tokyo", At: at, Actor: "system", Action: "checkin_missed", Detail: "tokyo-entry"}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(admin)
	if page := b.get("/audit?from=2026-03-03&to=2026-03-03").Body.String(); !strings.Contains(page, "tokyo-entry") {
		t.Error("3 March in Tokyo does not hold the entry")
	}
	if page := b.get("/audit?from=2026-03-02&to=2026-03-02").Body.String(); strings.Contains(page, "tokyo-entry") {
		t.Error("2 March in Tokyo holds an entry made on the 3rd there")
	}
}
