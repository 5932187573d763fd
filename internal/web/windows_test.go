package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// ledgerScene is cara's caseload run through the real conversation and
// scheduler for seven weekly windows, Monday 09:00 to Tuesday 21:00 with
// a day's grace. Amal joins and agrees, then in turn checks in on time,
// checks in late after a miss, says she can't make it, misses a window
// that cara excuses, is not reached (every message fails), is paused,
// and is in her seventh window now. Nour joined but never agreed to
// messages; Sami agreed, then sent STOP.
type ledgerScene struct {
	e                *cwEnv
	amal, nour, sami store.Participant
	windows          []schedule.Window // Amal's seven
	lateItem         string            // the missed_checkin item of her late window
}

var wantAmal = []store.WindowOutcome{store.WindowOnTime, store.WindowLate, store.WindowReportedUnable, store.WindowExcused,
	store.WindowNotDelivered, store.WindowPaused, store.WindowOpen}

func newLedgerScene(t *testing.T) *ledgerScene {
	t.Helper()
	e := newCaseworkerEnv(t, envOptions{})
	sc := &ledgerScene{e: e}
	enrol := func(label string) (store.Participant, string) {
		t.Helper()
		rec := e.api(e.cara, "POST", "/api/v1/participants", map[string]any{"label": label, "language": "en", "time_zone": "Europe/London",
			"schedule": map[string]any{"weekly": []map[string]string{{"open_day": "monday", "open_time": "09:00", "close_day": "tuesday", "close_time": "21:00"}}}})
		mustStatus(t, "enrol "+label, rec, http.StatusCreated)
		created := decodeJSON[createdJSON](t, rec)
		p, err := e.st.GetParticipant(t.Context(), created.Participant.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p, created.Enrolment.Code
	}
	say := func(addr, text string) {
		t.Helper()
		if _, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: addr, Text: text}); err != nil {
			t.Fatalf("%s says %q: %v", addr, text, err)
		}
	}
	amal, amalCode := enrol("Amal")
	nour, nourCode := enrol("Nour")
	sami, samiCode := enrol("Sami")
	say("sim-amal", "JOIN "+amalCode)
	say("sim-amal", "1")
	say("sim-nour", "JOIN "+nourCode)
	say("sim-sami", "JOIN "+samiCode)
	say("sim-sami", "1")
	say("sim-sami", "STOP")

	cal, err := schedule.CalendarOf(amal)
	if err != nil {
		t.Fatal(err)
	}
	for w, ok := cal.From(e.clock.Now()); ok && len(sc.windows) < len(wantAmal); w, ok = cal.Next(w) {
		sc.windows = append(sc.windows, w)
	}
	grace := func(w schedule.Window) time.Time { return w.End.Add(24 * time.Hour) }
	// runTo runs the scheduler every six hours up to until, each message
	// it queues reported with status by the provider.
	runTo := func(until time.Time, status store.MessageStatus) {
		t.Helper()
		for now := e.clock.Now(); now.Before(until); now = e.clock.Now() {
			e.clock.Advance(min(6*time.Hour, until.Sub(now)))
			if _, err := e.sched.RunOnce(t.Context(), e.clock.Now()); err != nil {
				t.Fatalf("scheduler: %v", err)
			}
			reportAll(t, e.st, e.clock.Now(), status)
		}
	}
	ws := sc.windows
	runTo(ws[0].Start.Add(time.Hour), store.Delivered)
	say("sim-amal", "here")

	// Missed first: the scheduler decides at the end of the grace period
	// (told the next morning, out of quiet hours); then she checks in on
	// Thursday evening, days before the next window opens.
	runTo(grace(ws[1]).Add(24*time.Hour), store.Delivered)
	w1, err := e.st.GetWindow(t.Context(), amal.ID, ws[1].Ref(amal.ID))
	if err != nil || w1.Outcome != store.WindowMissed || w1.AttentionID == "" {
		t.Fatalf("the second window before her late check-in: %+v, %v; want missed with its item", w1, err)
	}
	sc.lateItem = w1.AttentionID
	say("sim-amal", "here")

	runTo(ws[2].Start.Add(2*time.Hour), store.Delivered)
	say("sim-amal", "can't")

	runTo(grace(ws[3]).Add(24*time.Hour), store.Delivered)
	w3, err := e.st.GetWindow(t.Context(), amal.ID, ws[3].Ref(amal.ID))
	if err != nil || w3.Outcome != store.WindowMissed {
		t.Fatalf("the fourth window: %+v, %v; want missed", w3, err)
	}
	mustStatus(t, "excuse", e.api(e.cara, "POST", "/api/v1/attention/"+w3.AttentionID+"/resolve", map[string]string{"resolution": "excused"}), http.StatusOK)

	runTo(ws[4].Start.Add(-time.Hour), store.Delivered)
	runTo(grace(ws[4]).Add(24*time.Hour), store.Failed)

	mustStatus(t, "pause", e.api(e.cara, "PATCH", "/api/v1/participants/"+amal.ID, map[string]any{"status": "paused"}), http.StatusOK)
	runTo(grace(ws[5]).Add(24*time.Hour), store.Delivered)
	mustStatus(t, "resume", e.api(e.cara, "PATCH", "/api/v1/participants/"+amal.ID, map[string]any{"status": "active"}), http.StatusOK)

	runTo(ws[6].Start.Add(time.Hour), store.Delivered)
	for _, p := range []*store.Participant{&amal, &nour, &sami} {
		if *p, err = e.st.GetParticipant(t.Context(), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	sc.amal, sc.nour, sc.sami = amal, nour, sami
	return sc
}

type windowsBody struct {
	Windows    []map[string]any `json:"windows"`
	NextSince  *time.Time       `json:"next_since"`
	NextCursor *string          `json:"next_cursor"`
}

func outcomesOf(ws []map[string]any) []store.WindowOutcome {
	var out []store.WindowOutcome
	for _, w := range ws {
		out = append(out, store.WindowOutcome(w["outcome"].(string)))
	}
	return out
}

// The windows call gives each window the ledger's outcome, with the facts
// behind it, to those who may see the person.
func TestAPIWindows(t *testing.T) {
	t.Parallel()
	sc := newLedgerScene(t)
	e, amal := sc.e, sc.amal
	path := "/api/v1/participants/" + amal.ID + "/windows"

	rec := e.api(e.cara, "GET", path, nil)
	mustStatus(t, "windows", rec, http.StatusOK)
	got := decodeJSON[windowsBody](t, rec)
	if !slices.Equal(outcomesOf(got.Windows), wantAmal) || got.NextSince != nil {
		t.Fatalf("outcomes = %v (next %v), want %v", outcomesOf(got.Windows), got.NextSince, wantAmal)
	}
	keys := []string{"ref", "opens_at", "closes_at", "grace_ends_at", "outcome", "decided_at", "checkin_id", "attention_id"}
	for i, w := range got.Windows {
		for _, k := range keys {
			if _, ok := w[k]; !ok {
				t.Errorf("window %d lacks %q: %v", i, k, w)
			}
		}
		if w["ref"] != sc.windows[i].Ref(amal.ID) || w["opens_at"] != sc.windows[i].Start.UTC().Format(time.RFC3339) ||
			w["grace_ends_at"] != sc.windows[i].End.Add(24*time.Hour).UTC().Format(time.RFC3339) {
			t.Errorf("window %d = %v, want %s", i, w, sc.windows[i].Ref(amal.ID))
		}
		if open := wantAmal[i] == store.WindowOpen; (w["decided_at"] == nil) != open {
			t.Errorf("window %d (%s): decided_at %v", i, wantAmal[i], w["decided_at"])
		}
		for _, k := range []string{"participant_id", "updated_at"} {
			if _, ok := w[k]; ok {
				t.Errorf("window %d shows %q", i, k)
			}
		}
	}
	onTime, late, unable, excused := got.Windows[0], got.Windows[1], got.Windows[2], got.Windows[3]
	if onTime["checkin_id"] == nil || onTime["attention_id"] != nil || late["checkin_id"] == nil || late["attention_id"] != sc.lateItem {
		t.Errorf("on time %v\nlate %v", onTime, late)
	}
	if unable["reported_unable_at"] == nil || unable["attention_id"] == nil || unable["excused_at"] != nil {
		t.Errorf("reported unable %v", unable)
	}
	if excused["excused_by"] != e.cara.ID || excused["excused_at"] == nil || excused["reported_unable_at"] != nil {
		t.Errorf("excused %v", excused)
	}

	// The late check-in moved the decided miss, closed its item, and the
	// audit log says who moved each decided outcome.
	items, _ := e.st.AttentionOf(t.Context(), amal.ID)
	for _, it := range items {
		if it.ID == sc.lateItem && (it.Open() || it.Resolution != store.ResolvedCheckedInLate || it.ResolvedBy != store.ResolvedBySystem) {
			t.Errorf("the late window's item: %+v", it)
		}
	}
	moves := map[string]string{}
	entries, _ := e.st.ListAudit(t.Context(), amal.ID, 0)
	for _, en := range entries {
		if en.Action == "window_outcome" {
			moves[en.Detail] = en.Actor
		}
	}
	for detail, actor := range map[string]string{
		sc.windows[1].Ref(amal.ID) + " missed -> late":    store.ResolvedBySystem,
		sc.windows[3].Ref(amal.ID) + " missed -> excused": e.cara.ID,
	} {
		if moves[detail] != actor {
			t.Errorf("audit: %q by %q, want by %q (all moves: %v)", detail, moves[detail], actor, moves)
		}
	}
	if !slices.ContainsFunc(entries, func(en store.AuditEntry) bool { return en.Action == "windows_viewed" && en.Actor == e.cara.ID }) {
		t.Error("the read is not in the audit log")
	}

	// Before agreeing to messages, or after STOP, no window counts.
	for _, c := range []struct {
		p    store.Participant
		want store.WindowOutcome
	}{{sc.nour, store.WindowNotConsented}, {sc.sami, store.WindowOptedOut}} {
		ws := decodeJSON[windowsBody](t, e.api(e.cara, "GET", "/api/v1/participants/"+c.p.ID+"/windows", nil)).Windows
		outcomes := outcomesOf(ws)
		if len(outcomes) != len(wantAmal) || outcomes[0] != c.want || slices.Contains(outcomes, store.WindowMissed) {
			t.Errorf("%s: outcomes %v, want %s", c.p.Label, outcomes, c.want)
		}
	}

	// since: a date or a time; a window that opened before it is left out.
	from := decodeJSON[windowsBody](t, e.api(e.cara, "GET", path+"?since="+sc.windows[3].Start.Add(time.Hour).UTC().Format(time.RFC3339), nil))
	if !slices.Equal(outcomesOf(from.Windows), wantAmal[4:]) {
		t.Errorf("since inside the fourth window: %v", outcomesOf(from.Windows))
	}
	day := decodeJSON[windowsBody](t, e.api(e.cara, "GET", path+"?since="+sc.windows[6].Start.UTC().Format(time.DateOnly), nil))
	if !slices.Equal(outcomesOf(day.Windows), wantAmal[6:]) {
		t.Errorf("since the day of the last window: %v", outcomesOf(day.Windows))
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "1773046800"} {
		apiErr(t, "since="+bad, e.api(e.cara, "GET", path+"?since="+bad, nil), http.StatusBadRequest, codeBadRequest)
	}

	// Access: another caseworker's person is not found, like a missing one;
	// an administrator sees everyone's.
	other := e.api(e.carl, "GET", path, nil)
	missing := e.api(e.carl, "GET", "/api/v1/participants/p_doesnotexist/windows", nil)
	if other.Body.String() != missing.Body.String() {
		t.Errorf("another's person (%s) answers unlike a missing one (%s)", other.Body, missing.Body)
	}
	apiErr(t, "carl reads cara's person", other, http.StatusNotFound, codeNotFound)
	if admin := decodeJSON[windowsBody](t, e.api(e.admin, "GET", path, nil)); !slices.Equal(outcomesOf(admin.Windows), wantAmal) {
		t.Errorf("admin sees %v", outcomesOf(admin.Windows))
	}

	// By default the call looks back twelve weeks: from inside the second
	// window, so from the third.
	e.clock.Set(sc.windows[1].Start.Add(12*7*24*time.Hour + time.Hour))
	later := decodeJSON[windowsBody](t, e.api(e.cara, "GET", path, nil))
	if len(later.Windows) == 0 || later.Windows[0]["ref"] != sc.windows[2].Ref(amal.ID) {
		t.Errorf("twelve weeks on, the first window listed is %v, want the third", later.Windows[:min(1, len(later.Windows))])
	}
}

// A long history comes in pages: next_since says where the next starts,
// and the pages neither overlap nor leave a window out.
func TestAPIWindowsPages(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Daily", e.cara)
	p.CreatedAt = e.clock.Now().AddDate(-1, -2, 0)
	p.ConsentedAt, p.TimeZone = p.CreatedAt, "UTC"
	p.Schedule = &store.CheckInSchedule{From: p.CreatedAt.Format(time.DateOnly), Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}
	if err := e.st.UpdateParticipant(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/participants/" + p.ID + "/windows?since="
	first := decodeJSON[windowsBody](t, e.api(e.cara, "GET", base+p.CreatedAt.UTC().Format(time.RFC3339), nil))
	if len(first.Windows) != maxWindowPage || first.NextSince == nil {
		t.Fatalf("first page: %d windows, next %v", len(first.Windows), first.NextSince)
	}
	rest := decodeJSON[windowsBody](t, e.api(e.cara, "GET", base+first.NextSince.Format(time.RFC3339), nil))
	if rest.NextSince != nil || len(rest.Windows) == 0 {
		t.Fatalf("second page: %d windows, next %v", len(rest.Windows), rest.NextSince)
	}
	all := append(first.Windows, rest.Windows...)
	for i := 1; i < len(all); i++ {
		if gap := mustTime(t, all[i]["opens_at"]).Sub(mustTime(t, all[i-1]["opens_at"])); gap != 24*time.Hour {
			t.Fatalf("windows %d and %d open %v apart, want a day: the pages overlap or leave one out", i-1, i, gap)
		}
	}
	if age := e.clock.Now().Sub(mustTime(t, all[len(all)-1]["opens_at"])); age < 0 || age >= 24*time.Hour {
		t.Errorf("the last window listed opened %v ago, want today's", age)
	}

	// Smaller pages by cursor walk the same windows.
	var walked []map[string]any
	next := base + p.CreatedAt.UTC().Format(time.RFC3339) + "&limit=50"
	for range 20 {
		page := decodeJSON[windowsBody](t, e.api(e.cara, "GET", next, nil))
		walked = append(walked, page.Windows...)
		if page.NextCursor == nil {
			break
		}
		next = base + p.CreatedAt.UTC().Format(time.RFC3339) + "&limit=50&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	if len(walked) != len(all) {
		t.Fatalf("pages of 50 walked %d windows, pages by since %d", len(walked), len(all))
	}
	for i := range all {
		if walked[i]["ref"] != all[i]["ref"] {
			t.Fatalf("window %d: %v by cursor, %v by since", i, walked[i]["ref"], all[i]["ref"])
		}
	}
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at
}

// The windows CSV has the same rows as the call, for the caller's
// caseload only, and every download is in the audit log.
func TestWindowsExport(t *testing.T) {
	t.Parallel()
	sc := newLedgerScene(t)
	e := sc.e
	theirs := e.participant("Theirs", e.carl)
	since := "?since=" + sc.windows[0].Start.Add(-time.Hour).UTC().Format(time.RFC3339)

	rec := e.api(e.cara, "GET", "/api/v1/windows.csv"+since, nil)
	mustStatus(t, "export", rec, http.StatusOK)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(rec.Header().Get("Content-Disposition"), `filename="windows-`) {
		t.Errorf("export headers %v", rec.Header())
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "participant_id,ref,opens_at,closes_at,grace_ends_at,outcome,decided_at,checkin_id,attention_id,reported_unable_at,excused_at,excused_by"
	if len(rows) == 0 || strings.Join(rows[0], ",") != header {
		t.Fatalf("header %v", rows[:min(1, len(rows))])
	}
	byPerson := map[string][]store.WindowOutcome{}
	for _, r := range rows[1:] {
		byPerson[r[0]] = append(byPerson[r[0]], store.WindowOutcome(r[5]))
		for _, cell := range r {
			if cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") {
				t.Errorf("a cell a spreadsheet would run as a formula: %q", cell)
			}
		}
		if r[0] == sc.amal.ID && r[5] == string(store.WindowExcused) && r[11] != e.cara.ID {
			t.Errorf("excused row %v", r)
		}
	}
	if len(byPerson) != 3 || !slices.Equal(byPerson[sc.amal.ID], wantAmal) || byPerson[theirs.ID] != nil {
		t.Errorf("rows by person: %v", byPerson)
	}
	for _, label := range []string{"Amal", "Nour", "Sami"} {
		if strings.Contains(rec.Body.String(), label) {
			t.Errorf("the export holds the label %q", label)
		}
	}

	apiErr(t, "another's person", e.api(e.cara, "GET", "/api/v1/windows.csv?participant="+theirs.ID, nil), http.StatusNotFound, codeNotFound)
	apiErr(t, "bad since", e.api(e.cara, "GET", "/api/v1/windows.csv?since=soon", nil), http.StatusBadRequest, codeBadRequest)
	one, _ := csv.NewReader(e.api(e.admin, "GET", "/api/v1/windows.csv"+since+"&participant="+sc.nour.ID, nil).Body).ReadAll()
	if len(one) != 1+len(wantAmal) {
		t.Errorf("admin's export of one person: %v", one)
	}

	b := e.signedIn(e.cara)
	mustStatus(t, "page export", b.get("/export/windows.csv?participant="+sc.amal.ID), http.StatusOK)
	mustStatus(t, "page export of another's", b.get("/export/windows.csv?participant="+theirs.ID), http.StatusNotFound)
	exports := map[string]int{}
	entries, _ := e.st.ListAudit(t.Context(), "", 0)
	for _, en := range entries {
		if en.Action == "windows_exported" {
			exports[en.Actor]++
		}
	}
	if exports[e.cara.ID] != 2 || exports[e.admin.ID] != 1 {
		t.Errorf("exports recorded: %v", exports)
	}
	page := b.get("/participants/" + sc.amal.ID).Body.String()
	list := b.get("/participants").Body.String()
	if !strings.Contains(page, `href="/export/windows.csv?participant=`+sc.amal.ID+`"`) || !strings.Contains(list, `href="/export/windows.csv"`) {
		t.Error("the pages do not link the windows export")
	}
}

// The participant page's strip shows the ledger's outcome of each window,
// in words, and never draws "not delivered" like a miss.
func TestStripShowsTheLedger(t *testing.T) {
	t.Parallel()
	sc := newLedgerScene(t)
	b := sc.e.signedIn(sc.e.cara)
	rec := b.get("/participants/" + sc.amal.ID)
	mustStatus(t, "participant page", rec, http.StatusOK)
	page := rec.Body.String()
	for _, want := range []string{
		"1 on time", "1 late", "1 reported they could not make it", "1 excused", "1 paused",
		"1 not delivered: our messages did not reach them (not a miss)", "1 open or in grace",
		`class="cell not_delivered"`, `<pattern id="strip-hatch"`, "Each window, newest first",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "1 missed") || strings.Contains(page, `class="cell missed"`) {
		t.Error("the page shows a miss: none of Amal's windows is one")
	}
	for _, c := range []struct {
		p    store.Participant
		want string
	}{{sc.nour, "not yet agreed to messages"}, {sc.sami, "opted out of messages"}} {
		page := b.get("/participants/" + c.p.ID).Body.String()
		if !strings.Contains(page, c.want) || strings.Contains(page, `class="cell missed"`) {
			t.Errorf("%s's strip lacks %q or shows a miss", c.p.Label, c.want)
		}
	}
}
