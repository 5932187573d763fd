package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// walkAPI follows next_cursor from path until the last page and returns
// the IDs of every record under key, in order.
func walkAPI(t *testing.T, e *cwEnv, as store.Account, path, key, idField string) []string {
	t.Helper()
	var out []string
	next := path
	for range 100 {
		rec := e.api(as, http.MethodGet, next, nil)
		mustStatus(t, "page of "+path, rec, http.StatusOK)
		body := decodeJSON[map[string]any](t, rec)
		items, _ := body[key].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)[idField].(string))
		}
		cur, ok := body["next_cursor"].(string)
		if !ok {
			if body["next_cursor"] != nil {
				t.Fatalf("next_cursor of %s is %v", path, body["next_cursor"])
			}
			return out
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		next = path + sep + "cursor=" + url.QueryEscape(cur)
	}
	t.Fatalf("paging %s did not end", path)
	return nil
}

// Every list call pages by limit and cursor, and a walk through the
// pages sees every record once.
func TestAPIPaging(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	var mine, all []string
	for i := range 5 {
		p := e.participant("Cara's "+string(rune('A'+i)), e.cara)
		mine = append(mine, p.ID)
		e.clock.Advance(time.Minute)
		e.attentionItem(p, store.AttentionMissed)
	}
	for i := range 3 {
		p := e.participant("Carl's "+string(rune('A'+i)), e.carl)
		all = append(all, p.ID)
		e.clock.Advance(time.Minute)
		e.attentionItem(p, store.AttentionCallback)
	}
	all = append(all, mine...)
	slices.Sort(mine)
	slices.Sort(all)

	if got := walkAPI(t, e, e.cara, "/api/v1/participants?limit=2", "participants", "id"); !slices.Equal(got, mine) {
		t.Errorf("cara's participants by 2: %v, want %v", got, mine)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/participants?limit=3", "participants", "id"); !slices.Equal(got, all) {
		t.Errorf("everyone by 3: %v, want %v", got, all)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/participants?limit=1&q=carl", "participants", "id"); len(got) != 3 {
		t.Errorf("a search by 1 found %v, want Carl's three", got)
	}
	queue := walkAPI(t, e, e.admin, "/api/v1/attention?limit=3", "items", "id")
	mineQueue := walkAPI(t, e, e.cara, "/api/v1/attention?limit=2", "items", "id")
	if len(queue) != 8 || len(mineQueue) != 5 || !slices.Equal(queue[:3], walkAPI(t, e, e.admin, "/api/v1/attention?limit=100", "items", "id")[:3]) {
		t.Errorf("queues by page: admin %v, cara %v", queue, mineQueue)
	}
	carls := walkAPI(t, e, e.admin, "/api/v1/attention?limit=2&caseworker="+e.carl.ID, "items", "id")
	if len(carls) != 3 {
		t.Errorf("carl's queue by 2: %v", carls)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/accounts?limit=1", "accounts", "username"); !slices.Equal(got, []string{"ada", "cara", "carl"}) {
		t.Errorf("accounts by 1: %v", got)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/tokens?limit=2", "tokens", "id"); len(got) != 3 {
		t.Errorf("tokens by 2: %v", got)
	}

	// Bad values are refused, never read as "no limit".
	for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "limit=-1", "limit=", "limit=1&limit=2"} {
		for _, path := range []string{"/api/v1/participants", "/api/v1/attention", "/api/v1/audit", "/api/v1/accounts", "/api/v1/tokens",
			"/api/v1/participants/" + mine[0] + "/checkins", "/api/v1/participants/" + mine[0] + "/appointments"} {
			rec := e.api(e.admin, http.MethodGet, path+"?"+q, nil)
			apiErr(t, path+"?"+q, rec, http.StatusBadRequest, codeBadRequest)
		}
	}
	for _, path := range []string{"/api/v1/attention", "/api/v1/audit", "/api/v1/tokens", "/api/v1/participants/" + mine[0] + "/checkins",
		"/api/v1/participants/" + mine[0] + "/windows"} {
		apiErr(t, "made-up cursor on "+path, e.api(e.admin, http.MethodGet, path+"?cursor=yesterday", nil), http.StatusBadRequest, codeBadRequest)
	}
	apiErr(t, "a cursor that is no ID", e.api(e.admin, http.MethodGet, "/api/v1/participants?cursor=p%7Cx", nil), http.StatusBadRequest, codeBadRequest)
}

// The audit log filters by participant, actor, action and time, a page
// at a time.
func TestAPIAuditFilters(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	a, b := e.participant("Amal", e.cara), e.participant("Bo", e.cara)
	start := e.clock.Now()
	for range 3 {
		mustStatus(t, "view a", e.api(e.cara, "GET", "/api/v1/participants/"+a.ID, nil), http.StatusOK)
		e.clock.Advance(time.Hour)
	}
	mustStatus(t, "view b", e.api(e.admin, "GET", "/api/v1/participants/"+b.ID, nil), http.StatusOK)
	mustStatus(t, "windows of b", e.api(e.cara, "GET", "/api/v1/participants/"+b.ID+"/windows", nil), http.StatusOK)

	count := func(q string) int {
		t.Helper()
		return len(walkAPI(t, e, e.admin, "/api/v1/audit?limit=1&"+q, "entries", "id"))
	}
	checks := map[string]int{
		"participant=" + a.ID:                       3,
		"actor=" + e.cara.ID:                        4,
		"actor=" + e.admin.ID:                       1,
		"action=participant_viewed":                 4,
		"action=windows_viewed&participant=" + b.ID: 1,
		"from=" + url.QueryEscape(start.Add(90*time.Minute).Format(time.RFC3339)):                       3,
		"actor=" + e.cara.ID + "&to=" + url.QueryEscape(start.Add(90*time.Minute).Format(time.RFC3339)): 2,
	}
	for q, want := range checks {
		if got := count(q); got != want {
			t.Errorf("audit?%s: %d entries, want %d", q, got, want)
		}
	}
	for _, q := range []string{"from=last+week", "to=2026-13-01", "from=2026-03-02&to=2026-03-01"} {
		apiErr(t, "audit?"+q, e.api(e.admin, "GET", "/api/v1/audit?"+q, nil), http.StatusBadRequest, codeBadRequest)
	}
}

// The queue filters by kind, over a caseload and over the whole
// programme, and refuses a kind it does not know.
func TestAPIAttentionByKind(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p, q := e.participant("Amal", e.cara), e.participant("Bo", e.carl)
	e.attentionItem(p, store.AttentionMissed)
	callback := e.attentionItem(p, store.AttentionCallback)
	e.attentionItem(q, store.AttentionCantReach)
	if got := walkAPI(t, e, e.cara, "/api/v1/attention?kind=callback_request", "items", "id"); !slices.Equal(got, []string{callback.ID}) {
		t.Errorf("cara's callbacks: %v", got)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/attention?kind=callback_request&kind=cant_reach&limit=1", "items", "id"); len(got) != 2 {
		t.Errorf("callbacks and can't reach, everyone's: %v", got)
	}
	if got := walkAPI(t, e, e.admin, "/api/v1/attention?kind=opted_out", "items", "id"); len(got) != 0 {
		t.Errorf("opt-outs: %v", got)
	}
	apiErr(t, "unknown kind", e.api(e.admin, http.MethodGet, "/api/v1/attention?kind=late", nil), http.StatusBadRequest, codeBadRequest)
}
