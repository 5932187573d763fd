package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func TestCaseworkerTime(t *testing.T) {
	t.Parallel()
	london, _ := time.LoadLocation("Europe/London")
	now := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC) // Thursday
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 5, 9, 10, 0, 0, time.UTC), "today 09:10"},
		{time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC), "yesterday 23:59"},
		{time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC), "Tue 3 Mar"},
		{time.Date(2025, 12, 30, 8, 0, 0, 0, time.UTC), "Tue 30 Dec 2025"},
		{time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC), "tomorrow 08:00"},
	} {
		if got := caseworkerTime(tc.at, now, london).Text; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.at, got, tc.want)
		}
	}
	// In summer London is an hour ahead of UTC: 23:30 UTC is tomorrow.
	summer := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	if got := caseworkerTime(time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC), summer, london).Text; got != "tomorrow 00:30" {
		t.Errorf("across midnight in the caseworker's zone: %q", got)
	}
}

func TestBuildQueueGroupsCountsAndFilters(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	amal := store.Participant{ID: "p_amal", Label: "Amal"}
	bo := store.Participant{ID: "p_bo", Label: "Bo", Child: true}
	cy := store.Participant{ID: "p_cy", Label: "Cy"}
	people := map[string]store.Participant{amal.ID: amal, bo.ID: bo, cy.ID: cy}
	item := func(id string, p store.Participant, k store.AttentionKind, hoursAgo int) store.AttentionItem {
		return store.AttentionItem{ID: id, ParticipantID: p.ID, Kind: k, CreatedAt: now.Add(-time.Duration(hoursAgo) * time.Hour)}
	}
	closed := item("n_old", cy, store.AttentionCallback, 50)
	closed.ResolvedAt, closed.ResolvedBy, closed.Resolution = now.Add(-time.Hour), "acc_cara", "contacted"
	items := []store.AttentionItem{
		item("n_1", amal, store.AttentionCantReach, 1),
		item("n_2", cy, store.AttentionMissed, 30),
		item("n_3", amal, store.AttentionMissed, 2), // a second item for Amal: one card
		item("n_4", amal, store.AttentionCantReach, 3),
		item("n_5", bo, store.AttentionCallback, 4),
		closed,
	}
	in := queueInput{Items: items, People: people, Names: map[string]string{"acc_cara": "cara"}, Now: now, Zone: time.UTC}
	q := buildQueue(in)
	var order []string
	for _, c := range q.Cards {
		order = append(order, c.P.ID)
	}
	// The child first, then whoever has waited longest.
	if strings.Join(order, ",") != "p_bo,p_cy,p_amal" {
		t.Fatalf("cards %v", order)
	}
	if q.People != 3 || q.Children != 1 || q.Items != 5 {
		t.Errorf("people %d, children %d, items %d", q.People, q.Children, q.Items)
	}
	amalCard := q.Cards[2]
	if len(amalCard.Items) != 3 || amalCard.Items[0].Item.ID != "n_4" {
		t.Errorf("Amal's card: %+v", amalCard.Items)
	}
	if len(amalCard.Kinds) != 2 || amalCard.Kinds[0] != store.AttentionMissed || amalCard.Kinds[1] != store.AttentionCantReach {
		t.Errorf("Amal's kinds %v: each once, the miss first", amalCard.Kinds)
	}
	if q.Cards[0].Next != "p_cy" || q.Cards[1].Next != "p_amal" || q.Cards[2].Next != "" {
		t.Errorf("next cards: %q %q %q", q.Cards[0].Next, q.Cards[1].Next, q.Cards[2].Next)
	}
	counts := map[store.AttentionKind]int{}
	for _, c := range q.Counts {
		counts[c.Kind] = c.People
	}
	if counts[store.AttentionMissed] != 2 || counts[store.AttentionCantReach] != 1 || counts[store.AttentionCallback] != 1 || len(counts) != 3 {
		t.Errorf("counts of people by kind: %v", counts)
	}
	if len(q.Recent) != 1 || q.Recent[0].By != "cara" || q.Recent[0].When.Text != "today 14:00" || !q.Recent[0].CanReopen {
		t.Errorf("recent: %+v", q.Recent)
	}
	for _, it := range amalCard.Items {
		if it.Item.Kind == store.AttentionCantReach && (actionFits(it.Item.Kind, "excused") || actionFits(it.Item.Kind, "rescheduled")) {
			t.Errorf("can't reach offers %v", it.Actions)
		}
	}

	in.Filter = queueFilter{Kind: store.AttentionMissed}
	q = buildQueue(in)
	if len(q.Cards) != 2 || q.People != 3 {
		t.Errorf("missed only: %d cards of %d people", len(q.Cards), q.People)
	}
	in.Filter = queueFilter{Child: true}
	if q = buildQueue(in); len(q.Cards) != 1 || q.Cards[0].P.ID != "p_bo" {
		t.Errorf("children only: %+v", q.Cards)
	}
}

// The queue shows a page of cards at a time; the next page starts after
// the last card shown, and a card to focus that is further on starts its
// page.
func TestBuildQueuePages(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	people := map[string]store.Participant{}
	var items []store.AttentionItem
	for i := range 120 {
		id := fmt.Sprintf("p_%03d", i)
		people[id] = store.Participant{ID: id}
		items = append(items, store.AttentionItem{ID: "n_" + id, ParticipantID: id, Kind: store.AttentionMissed, CreatedAt: now.Add(time.Duration(i) * time.Minute)})
	}
	in := queueInput{Items: items, People: people, Now: now, Zone: time.UTC}
	q := buildQueue(in)
	if len(q.Cards) != cardsPerPage || q.Matching != 120 || q.Later != "p_099" || q.Earlier || q.Cards[99].Next != "p_100" {
		t.Fatalf("first page: %d cards of %d, later %q, earlier %t", len(q.Cards), q.Matching, q.Later, q.Earlier)
	}
	in.After = q.Later
	q = buildQueue(in)
	if q.Cards[0].P.ID != "p_100" || !q.Earlier || q.Later != "" || len(q.Cards) != 20 {
		t.Errorf("second page starts %s, later %q", q.Cards[0].P.ID, q.Later)
	}
	in.After, in.Focus = "", "p_110"
	if q = buildQueue(in); q.Cards[0].P.ID != "p_110" || len(q.Cards) != 10 || q.Later != "" {
		t.Errorf("focus page starts %s with %d cards", q.Cards[0].P.ID, len(q.Cards))
	}
}

var cardRe = regexp.MustCompile(`<li class="card[^"]*" id="person-([^"]+)"`)

// TestQueueWorkflow works through the queue as a caseworker: only the
// actions that fit, pause only when confirmed, focus on the next card
// after each action, undo of each.
func TestQueueWorkflow(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	amal := e.participant("Amal", e.cara)
	bo := e.participant("Bo", e.cara)
	reach := e.attentionItem(amal, store.AttentionCantReach)
	e.clock.Advance(time.Minute)
	miss := e.attentionItem(amal, store.AttentionMissed)
	e.clock.Advance(time.Minute)
	call := e.attentionItem(bo, store.AttentionCallback)
	b := e.signedIn(e.cara)

	page := b.get("/attention").Body.String()
	if cards := cardRe.FindAllStringSubmatch(page, -1); len(cards) != 2 || cards[0][1] != amal.ID || cards[1][1] != bo.ID {
		t.Fatalf("cards: %v", cards)
	}
	if n := strings.Count(page, `id="person-`+amal.ID+`"`); n != 1 {
		t.Errorf("Amal has %d cards", n)
	}
	// Can't reach has its own class, shape and word, and none of a miss's.
	reachHTML := between(page, `id="item-`+reach.ID+`"`, `</li>`)
	if !strings.Contains(reachHTML, "kind-cant_reach") || !strings.Contains(reachHTML, "icon-kind-cant_reach") || !strings.Contains(reachHTML, "Can&#39;t reach") ||
		strings.Contains(reachHTML, "missed") || strings.Contains(reachHTML, `value="excused"`) || strings.Contains(reachHTML, `value="rescheduled"`) {
		t.Errorf("can't reach item:\n%s", reachHTML)
	}
	if strings.Contains(between(page, `id="item-`+call.ID+`"`, `</li>`), `value="paused"`) {
		t.Error("a call request offers Pause")
	}

	// An action that does not fit the kind is refused, and nothing changes.
	mustStatus(t, "excuse can't reach", b.post("/attention/"+reach.ID, url.Values{"action": {"excused"}}), http.StatusUnprocessableEntity)

	// Pause without confirming asks first, and pauses no one.
	rec := b.post("/attention/"+miss.ID, url.Values{"action": {"paused"}, "next": {bo.ID}})
	mustStatus(t, "pause unconfirmed", rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "Yes, pause") {
		t.Errorf("no confirmation: %.400s", rec.Body.String())
	}
	if p, _ := e.st.GetParticipant(t.Context(), amal.ID); p.Status != store.Active {
		t.Fatalf("paused without confirming: %s", p.Status)
	}
	rec = b.post("/attention/"+miss.ID, url.Values{"action": {"paused"}, "confirm": {"yes"}, "next": {bo.ID}})
	mustStatus(t, "pause", rec, http.StatusSeeOther)
	// Amal still has an item: focus stays on her card.
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "focus="+amal.ID) || !strings.Contains(loc, "undo="+miss.ID) {
		t.Errorf("after pausing: %s", loc)
	}
	if p, _ := e.st.GetParticipant(t.Context(), amal.ID); p.Status != store.Paused {
		t.Fatalf("not paused: %s", p.Status)
	}
	after := b.get(withoutFragment(rec.Header().Get("Location"))).Body.String()
	if !strings.Contains(between(after, `id="head-`+amal.ID+`"`, `>`), "autofocus") {
		t.Error("Amal's card does not take focus")
	}
	if !strings.Contains(after, `action="/attention/`+miss.ID+`/reopen"`) {
		t.Error("no undo beside the card")
	}

	// Undo: the miss is open again and the pause lifted.
	rec = b.post("/attention/"+miss.ID+"/reopen", nil)
	mustStatus(t, "undo", rec, http.StatusSeeOther)
	if p, _ := e.st.GetParticipant(t.Context(), amal.ID); p.Status != store.Active {
		t.Errorf("the pause stands after undo: %s", p.Status)
	}
	open, _ := e.st.AttentionOf(t.Context(), amal.ID)
	reopened := 0
	for _, it := range open {
		if it.Open() && it.Kind == store.AttentionMissed && it.CreatedAt.Equal(miss.CreatedAt) {
			reopened++
		}
	}
	if reopened != 1 {
		t.Errorf("reopened misses: %d in %+v", reopened, open)
	}
	mustStatus(t, "undo twice", b.post("/attention/"+miss.ID+"/reopen", nil), http.StatusConflict)

	// Dealing with Amal's last item sends focus to the next card, Bo's.
	for _, it := range open {
		if it.Open() {
			rec = b.post("/attention/"+it.ID, url.Values{"action": {"contacted"}, "next": {bo.ID}})
			mustStatus(t, "contacted", rec, http.StatusSeeOther)
		}
	}
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "focus="+bo.ID) {
		t.Errorf("after Amal's last item: %s", loc)
	}
	// The resolution says who and when.
	if recent := between(b.get("/attention").Body.String(), `id="recent"`, `</details>`); !strings.Contains(recent, "Contacted by cara") {
		t.Errorf("recently dealt with:\n%s", recent)
	}
	entries, _ := e.st.ListAudit(t.Context(), amal.ID, 0)
	if !hasAction(entries, "attention_reopened") {
		t.Error("the undo is not in the audit log")
	}
	// A filter is kept through an action.
	rec = b.post("/attention/"+call.ID, url.Values{"action": {"contacted"}, "kind": {"callback_request"}})
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "kind=callback_request") {
		t.Errorf("filter lost: %s", loc)
	}
}

func hasAction(entries []store.AuditEntry, action string) bool {
	for _, e := range entries {
		if e.Action == action {
			return true
		}
	}
	return false
}

// between is the text of s from the first from up to the next to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s[len(from):], to); j >= 0 {
		return s[:len(from)+j]
	}
	return s
}

// A caseworker reads times in their own zone once they choose one; the
// office's until then.
func TestCaseworkerChoosesTheirZone(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	it := e.attentionItem(p, store.AttentionMissed)
	b := e.signedIn(e.cara)
	if page := b.get("/attention").Body.String(); !strings.Contains(page, "Times are in Europe/London") {
		t.Error("the office's zone is not the default")
	}
	mustStatus(t, "choose a zone", b.post("/account/zone", url.Values{"time_zone": {"Asia/Kolkata"}}), http.StatusSeeOther)
	page := b.get("/attention").Body.String()
	want := it.CreatedAt.In(zoneOf("Asia/Kolkata")).Format("15:04")
	if !strings.Contains(page, "Times are in Asia/Kolkata") || !strings.Contains(between(page, `id="item-`+it.ID+`"`, `</time>`), want) {
		t.Errorf("the queue is not in the caseworker's zone (want %s)", want)
	}
	mustStatus(t, "a zone not in the list", b.post("/account/zone", url.Values{"time_zone": {"Mars/Olympus"}}), http.StatusUnprocessableEntity)
	if a, _ := e.st.GetAccount(t.Context(), e.cara.ID); a.TimeZone != "Asia/Kolkata" {
		t.Errorf("stored zone %q", a.TimeZone)
	}
	// Choosing the office's zone again clears their own.
	mustStatus(t, "back to the office's", b.post("/account/zone", url.Values{"time_zone": {"Europe/London"}}), http.StatusSeeOther)
	if a, _ := e.st.GetAccount(t.Context(), e.cara.ID); a.TimeZone != "" {
		t.Errorf("stored zone %q after choosing the office's", a.TimeZone)
	}
}

// An administrator's whole queue, read a page at a time, counts every
// person in it by kind on every page, children apart, from the counts the
// store keeps: the call-back request raised first, on the last page of
// cards, and the child in another caseload are in the counts of the first
// page. "Children only" shows the child on its first page, though their
// item is older than a page of everyone's. One person's items (the
// Participants list's link) show whatever page their items would fall on.
func TestWholeQueueCountsTheWholeProgramme(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	early := e.participant("Early", e.carl)
	e.attentionItem(early, store.AttentionCallback)
	child := e.participant("Child", e.cara)
	child.Child = true
	if err := e.st.UpdateParticipant(t.Context(), child); err != nil {
		t.Fatal(err)
	}
	e.attentionItem(child, store.AttentionMissed)
	e.clock.Advance(time.Minute)
	for i := range queuePageSize + 5 {
		e.attentionItem(e.participant(fmt.Sprintf("Person %03d", i), e.cara), store.AttentionMissed)
	}
	admin := e.signedIn(e.admin)
	page := admin.get("/attention").Body.String()
	counts := between(page, `class="kind-counts"`, `</nav>`)
	mustContain(t, "counts", counts, `<span class="count">1</span>`, fmt.Sprintf(`<span class="count">%d</span>`, queuePageSize+6))
	mustContain(t, "lead", page, fmt.Sprintf("%d people need a human, 1 of them a child", queuePageSize+7), `rel="next"`, "items on this page")
	if strings.Contains(page, "On this page") || strings.Contains(page, "more follow on the next pages") {
		t.Error("the whole queue's counts say they are one page's")
	}
	callbacks := admin.get("/attention?kind=" + string(store.AttentionCallback)).Body.String()
	mustContain(t, "one kind", callbacks, fmt.Sprintf("1 of %d people match", queuePageSize+7), `id="person-`+early.ID+`"`)
	children := admin.get("/attention?child=1").Body.String()
	mustContain(t, "children", children, fmt.Sprintf("1 of %d people match", queuePageSize+7), `id="person-`+child.ID+`"`)
	mine := admin.get("/attention?person=" + early.ID).Body.String()
	mustContain(t, "one person's", mine, `id="person-`+early.ID+`"`)
	if strings.Contains(mine, `rel="next"`) {
		t.Error("one person's items run to a next page")
	}
	// A caseworker who may not see a person gets none of their items.
	if p := e.signedIn(e.carl).get("/attention?person=" + child.ID).Body.String(); strings.Contains(p, `id="person-`+child.ID+`"`) {
		t.Error("a caseworker sees the items of someone else's caseload")
	}
}

// A caseworker's queue counts their whole caseload by kind, on every page:
// the call-back request raised first, on the last page of cards, is in the
// counts of the first.
func TestCaseloadQueueCountsTheWholeCaseload(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	e.attentionItem(e.participant("Early", e.cara), store.AttentionCallback)
	e.clock.Advance(time.Minute)
	for i := range queuePageSize + 5 {
		e.attentionItem(e.participant(fmt.Sprintf("Person %03d", i), e.cara), store.AttentionMissed)
	}
	page := e.signedIn(e.cara).get("/attention").Body.String()
	counts := between(page, `class="kind-counts"`, `</nav>`)
	mustContain(t, "counts", counts, `<span class="count">1</span>`, fmt.Sprintf(`<span class="count">%d</span>`, queuePageSize+5))
	mustContain(t, "lead", page, fmt.Sprintf("%d people need a human", queuePageSize+6), `rel="next"`)
	if strings.Contains(page, "On this page") {
		t.Error("a caseload's counts say they are one page's")
	}
}
