package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// apiErr reads the API's error body and checks its shape.
func apiErr(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	mustStatus(t, what, rec, status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("%s: error body is not {\"error\":{...}}: %v", what, err)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("%s: error = %+v, want code %q and a message", what, body.Error, code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: content type %q", what, ct)
	}
}

func decodeJSON[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

type createdJSON struct {
	Participant apiParticipantJSON `json:"participant"`
	Enrolment   enrolmentJSON      `json:"enrolment"`
}

var newParticipant = map[string]any{
	"label": "A-17", "language": "es", "time_zone": "Europe/Madrid",
	"schedule": map[string]any{"weekly": []map[string]string{{"open_day": "monday", "open_time": "09:00", "close_day": "tuesday", "close_time": "21:00"}}},
}

// Every call, without a token or with a bad one, is 401 with a JSON error.
func TestAPIUnauthorized(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	calls := [][2]string{
		{"GET", "/api/v1/participants"}, {"POST", "/api/v1/participants"}, {"GET", "/api/v1/participants/p_x"},
		{"PATCH", "/api/v1/participants/p_x"}, {"DELETE", "/api/v1/participants/p_x"}, {"POST", "/api/v1/participants/p_x/enrolment-codes"},
		{"GET", "/api/v1/participants/p_x/appointments"}, {"POST", "/api/v1/participants/p_x/appointments"},
		{"PATCH", "/api/v1/participants/p_x/appointments/ap_x"}, {"POST", "/api/v1/participants/p_x/appointments/ap_x/cancel"},
		{"GET", "/api/v1/participants/p_x/checkins"}, {"GET", "/api/v1/attention"}, {"POST", "/api/v1/attention/n_x/resolve"},
		{"GET", "/api/v1/checkins.csv"}, {"GET", "/api/v1/audit"}, {"GET", "/api/v1/nothing-here"},
		{"GET", "/api/v1/participants/p_x/windows"}, {"GET", "/api/v1/windows.csv"},
	}
	for _, c := range calls {
		apiErr(t, "no token "+c[0]+" "+c[1], e.api(store.Account{}, c[0], c[1], `{}`), http.StatusUnauthorized, codeUnauthorized)
		for _, h := range []string{"Bearer wm_madeup", "Basic " + e.tokens[e.cara.ID], e.tokens[e.cara.ID], "Bearer "} {
			req := httptest.NewRequest(c[0], c[1], strings.NewReader(`{}`))
			req.Header.Set("Authorization", h)
			rec := e.serveAPI(req, []byte(`{}`))
			apiErr(t, "bad authorization "+c[1], rec, http.StatusUnauthorized, codeUnauthorized)
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate")
			}
		}
	}
	// A browser session is not an API token.
	b := e.signedIn(e.cara)
	apiErr(t, "session cookie on the API", b.get("/api/v1/participants"), http.StatusUnauthorized, codeUnauthorized)
}

func TestAPIParticipantsCRUD(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	rec := e.api(e.cara, "POST", "/api/v1/participants", newParticipant)
	mustStatus(t, "create", rec, http.StatusCreated)
	created := decodeJSON[createdJSON](t, rec)
	p := created.Participant
	if p.CaseworkerID != e.cara.ID || p.Status != "active" || p.Schedule == nil || created.Enrolment.SMS != "JOIN "+created.Enrolment.Code ||
		created.Enrolment.TelegramLink != "https://t.me/ExampleCheckInBot?start="+created.Enrolment.Code || rec.Header().Get("Location") != "/api/v1/participants/"+p.ID {
		t.Fatalf("created = %+v", created)
	}
	got := decodeJSON[apiParticipantJSON](t, e.api(e.cara, "GET", "/api/v1/participants/"+p.ID, nil))
	if got.ID != p.ID || got.Label != "A-17" || got.Language != "es" {
		t.Fatalf("got = %+v", got)
	}
	list := decodeJSON[map[string][]apiParticipantJSON](t, e.api(e.cara, "GET", "/api/v1/participants?q=a-1", nil))
	if len(list["participants"]) != 1 {
		t.Fatalf("search = %+v", list)
	}
	empty := decodeJSON[map[string][]apiParticipantJSON](t, e.api(e.carl, "GET", "/api/v1/participants", nil))
	if empty["participants"] == nil || len(empty["participants"]) != 0 {
		t.Fatalf("carl's list = %s", e.api(e.carl, "GET", "/api/v1/participants", nil).Body.String())
	}

	rec = e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, map[string]any{"label": "A-18", "schedule": nil, "status": "paused"})
	mustStatus(t, "patch", rec, http.StatusOK)
	upd := decodeJSON[apiParticipantJSON](t, rec)
	if upd.Label != "A-18" || upd.Schedule != nil || upd.Status != "paused" || upd.Language != "es" {
		t.Fatalf("patched = %+v", upd)
	}
	apiErr(t, "bad status", e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, map[string]any{"status": "gone"}), http.StatusUnprocessableEntity, codeInvalid)
	apiErr(t, "bad zone", e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, map[string]any{"time_zone": "Mars/Olympus"}), http.StatusUnprocessableEntity, codeInvalid)
	apiErr(t, "bad schedule", e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, map[string]any{"schedule": map[string]any{"every": map[string]any{"days": 0, "open_time": "25:00", "length": "x"}}}), http.StatusUnprocessableEntity, codeInvalid)
	apiErr(t, "unknown field in schedule", e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, `{"schedule":{"weekly":[],"hourly":true}}`), http.StatusBadRequest, codeUnknownField)
	apiErr(t, "status on create", e.api(e.cara, "POST", "/api/v1/participants", map[string]any{"label": "x", "time_zone": "UTC", "status": "paused"}), http.StatusBadRequest, codeUnknownField)

	code := decodeJSON[enrolmentJSON](t, e.api(e.cara, "POST", "/api/v1/participants/"+p.ID+"/enrolment-codes", nil))
	if len(code.Code) != 8 || code.Code == created.Enrolment.Code {
		t.Fatalf("new code = %+v", code)
	}

	// Delete erases everything; the audit log keeps only that it happened.
	e.attentionItem(store.Participant{ID: p.ID}, store.AttentionMissed)
	rec = e.api(e.cara, "DELETE", "/api/v1/participants/"+p.ID, nil)
	mustStatus(t, "delete", rec, http.StatusNoContent)
	apiErr(t, "get erased", e.api(e.cara, "GET", "/api/v1/participants/"+p.ID, nil), http.StatusNotFound, codeNotFound)
	apiErr(t, "delete again", e.api(e.cara, "DELETE", "/api/v1/participants/"+p.ID, nil), http.StatusNotFound, codeNotFound)
	if items, _ := e.st.ListAttention(t.Context(), false); len(items) != 0 {
		t.Errorf("attention items outlived the erasure: %+v", items)
	}
	if _, err := e.st.TakeEnrolmentCode(t.Context(), code.Code); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an enrolment code outlived the erasure: %v", err)
	}
	entries, _ := e.st.ListAudit(t.Context(), p.ID, 0)
	if len(entries) == 0 || entries[0].Action != "participant_erased" || entries[0].Actor != e.cara.ID || entries[0].Detail != "" {
		t.Fatalf("newest audit entry = %+v", entries)
	}
	for _, en := range entries {
		if strings.Contains(en.Detail, "A-17") || strings.Contains(en.Detail, "A-18") {
			t.Errorf("the audit log holds the person's label: %+v", en)
		}
	}
}

func TestAPIStrictBodies(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	it := e.attentionItem(p, store.AttentionMissed)
	bodies := []struct {
		method, path, wrongType string
	}{
		{"POST", "/api/v1/participants", `{"label": 5}`}, {"PATCH", "/api/v1/participants/" + p.ID, `{"child": "yes"}`},
		{"POST", "/api/v1/participants/" + p.ID + "/appointments", `{"kind": ["hearing"]}`}, {"POST", "/api/v1/attention/" + it.ID + "/resolve", `{"resolution": 5}`},
	}
	big := `{"label":"` + strings.Repeat("x", 70*1024) + `"}`
	for _, b := range bodies {
		apiErr(t, "bad JSON "+b.path, e.api(e.cara, b.method, b.path, `{"label": `), http.StatusBadRequest, codeInvalidJSON)
		apiErr(t, "two values "+b.path, e.api(e.cara, b.method, b.path, `{} {}`), http.StatusBadRequest, codeInvalidJSON)
		apiErr(t, "wrong type "+b.path, e.api(e.cara, b.method, b.path, b.wrongType), http.StatusBadRequest, codeInvalidJSON)
		apiErr(t, "unknown field "+b.path, e.api(e.cara, b.method, b.path, `{"surname":"x"}`), http.StatusBadRequest, codeUnknownField)
		apiErr(t, "invalid UTF-8 "+b.path, e.api(e.cara, b.method, b.path, "{\"label\":\"\xff\"}"), http.StatusBadRequest, codeInvalidJSON)
		apiErr(t, "oversized "+b.path, e.api(e.cara, b.method, b.path, big), http.StatusRequestEntityTooLarge, codeTooLarge)
		req := httptest.NewRequest(b.method, b.path, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+e.tokens[e.cara.ID])
		req.Header.Set("Content-Type", "text/plain")
		rec := e.serveAPI(req, []byte(`{}`))
		apiErr(t, "not JSON "+b.path, rec, http.StatusUnsupportedMediaType, codeMediaType)
	}
	// Oversized without a Content-Length (chunked) is caught while reading.
	req := httptest.NewRequest("POST", "/api/v1/participants", strings.NewReader(big))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+e.tokens[e.cara.ID])
	req.Header.Set("Content-Type", "application/json")
	rec := e.serveAPI(req, []byte(big))
	apiErr(t, "oversized, chunked", rec, http.StatusRequestEntityTooLarge, codeTooLarge)
	if ps, _ := e.st.ListParticipants(t.Context()); len(ps) != 1 {
		t.Errorf("refused bodies created participants: %d", len(ps))
	}
	apiErr(t, "unknown route", e.api(e.cara, "GET", "/api/v1/nothing-here", nil), http.StatusNotFound, codeNotFound)
}

func TestAPIValidationAndChildRule(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	bad := []map[string]any{
		{"time_zone": "Europe/London"},
		{"label": "", "time_zone": "Europe/London"},
		{"label": "Call 07700 900123", "time_zone": "Europe/London"},
		{"label": "x", "time_zone": "Europe/London", "language": "xx"},
		{"label": "x"},
	}
	for _, b := range bad {
		apiErr(t, "invalid participant", e.api(e.cara, "POST", "/api/v1/participants", b), http.StatusUnprocessableEntity, codeInvalid)
	}
	child := map[string]any{"label": "Y", "time_zone": "Europe/London", "child": true}
	apiErr(t, "child by untrained", e.api(e.carl, "POST", "/api/v1/participants", child), http.StatusUnprocessableEntity, "child_protection")
	mustStatus(t, "child by trained", e.api(e.cara, "POST", "/api/v1/participants", child), http.StatusCreated)
	withCW := map[string]any{"label": "Z", "time_zone": "Europe/London", "caseworker_id": e.cara.ID}
	apiErr(t, "caseworker assigns to another", e.api(e.carl, "POST", "/api/v1/participants", withCW), http.StatusForbidden, codeForbidden)
	mustStatus(t, "admin assigns", e.api(e.admin, "POST", "/api/v1/participants", withCW), http.StatusCreated)
	withCW["caseworker_id"] = "acct_nobody"
	apiErr(t, "assign to nobody", e.api(e.admin, "POST", "/api/v1/participants", withCW), http.StatusUnprocessableEntity, codeInvalid)
	if ps, _ := e.st.ListParticipants(t.Context()); len(ps) != 2 {
		t.Errorf("participants = %d, want the two accepted", len(ps))
	}
}

func TestAPIAppointments(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	base := "/api/v1/participants/" + p.ID + "/appointments"
	rec := e.api(e.cara, "POST", base, map[string]any{"kind": "hearing", "place": "Court 3", "date": "2031-05-06", "time": "10:30"})
	mustStatus(t, "add", rec, http.StatusCreated)
	a := decodeJSON[store.Appointment](t, rec)
	if a.Status != store.AppointmentScheduled || a.ParticipantID != p.ID {
		t.Fatalf("added = %+v", a)
	}
	if due, _ := e.st.DueOf(t.Context(), p.ID); !hasDueFor(due, a.ID) {
		t.Error("no reminders planned")
	}
	for _, body := range []map[string]any{
		{"kind": "hearing", "place": "Court", "date": "06/05/2031", "time": "10:30"},
		{"kind": "Hearing!", "place": "Court", "date": "2031-05-06", "time": "10:30"},
		{"kind": "hearing", "place": "", "date": "2031-05-06", "time": "10:30"},
		{"kind": "hearing", "place": "Court", "date": "2031-05-06", "time": "25:00"},
		{"kind": "hearing", "place": "Court"},
	} {
		apiErr(t, "invalid appointment", e.api(e.cara, "POST", base, body), http.StatusUnprocessableEntity, codeInvalid)
	}
	rec = e.api(e.cara, "PATCH", base+"/"+a.ID, map[string]any{"time": "11:00", "status": "confirmed"})
	mustStatus(t, "change", rec, http.StatusOK)
	if ch := decodeJSON[store.Appointment](t, rec); ch.Time != "11:00" || ch.Status != store.AppointmentConfirmed || ch.Place != "Court 3" {
		t.Fatalf("changed = %+v", ch)
	}
	apiErr(t, "cancel by PATCH", e.api(e.cara, "PATCH", base+"/"+a.ID, map[string]any{"status": "cancelled"}), http.StatusUnprocessableEntity, codeInvalid)
	list := decodeJSON[map[string][]store.Appointment](t, e.api(e.cara, "GET", base, nil))
	if len(list["appointments"]) != 1 {
		t.Fatalf("list = %+v", list)
	}
	rec = e.api(e.cara, "POST", base+"/"+a.ID+"/cancel", nil)
	mustStatus(t, "cancel", rec, http.StatusOK)
	if due, _ := e.st.DueOf(t.Context(), p.ID); hasDueFor(due, a.ID) {
		t.Error("a cancelled appointment keeps its reminders")
	}
	apiErr(t, "change a cancelled one", e.api(e.cara, "PATCH", base+"/"+a.ID, map[string]any{"time": "12:00"}), http.StatusConflict, codeConflict)
	apiErr(t, "missing appointment", e.api(e.cara, "POST", base+"/ap_missing/cancel", nil), http.StatusNotFound, codeNotFound)
}

func TestAPICheckInsAndExport(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	mine, theirs := e.participant("Mine", e.cara), e.participant("Theirs", e.carl)
	now := e.clock.Now()
	for i, p := range []store.Participant{mine, mine, theirs} {
		c := store.CheckIn{ID: store.NewID("c_"), ParticipantID: p.ID, At: now.Add(-time.Duration(i+1) * time.Hour), Channel: store.SMS, Outcome: store.OnTime}
		if err := e.st.RecordCheckIn(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	got := decodeJSON[map[string][]store.CheckIn](t, e.api(e.cara, "GET", "/api/v1/participants/"+mine.ID+"/checkins", nil))
	if len(got["checkins"]) != 2 {
		t.Fatalf("check-ins = %+v", got)
	}
	recent := decodeJSON[map[string][]store.CheckIn](t, e.api(e.cara, "GET", "/api/v1/participants/"+mine.ID+"/checkins?since="+now.Add(-90*time.Minute).Format(time.RFC3339), nil))
	if len(recent["checkins"]) != 1 {
		t.Fatalf("since filter = %+v", recent)
	}
	apiErr(t, "bad since", e.api(e.cara, "GET", "/api/v1/participants/"+mine.ID+"/checkins?since=yesterday", nil), http.StatusBadRequest, codeBadRequest)

	rec := e.api(e.cara, "GET", "/api/v1/checkins.csv", nil)
	mustStatus(t, "export", rec, http.StatusOK)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("export headers %v", rec.Header())
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "participant_id,at,channel,outcome" {
		t.Fatalf("csv = %v, %v", rows, err)
	}
	for _, r := range rows[1:] {
		if r[0] != mine.ID {
			t.Errorf("export holds another caseload's row %v", r)
		}
	}
	admin, _ := csv.NewReader(e.api(e.admin, "GET", "/api/v1/checkins.csv?participant="+theirs.ID, nil).Body).ReadAll()
	if len(admin) != 2 {
		t.Errorf("admin export of one participant = %v", admin)
	}
	entries, _ := e.st.ListAudit(t.Context(), "", 0)
	exports := 0
	for _, en := range entries {
		if en.Action == "checkins_exported" {
			exports++
		}
	}
	if exports != 2 {
		t.Errorf("%d exports recorded, want 2", exports)
	}
	// And the page's download is recorded as well.
	b := e.signedIn(e.cara)
	e.clock.Advance(time.Second)
	mustStatus(t, "page export", b.get("/export/checkins.csv"), http.StatusOK)
	entries, _ = e.st.ListAudit(t.Context(), "", 1)
	if entries[0].Action != "checkins_exported" || entries[0].Actor != e.cara.ID {
		t.Errorf("page export not recorded: %+v", entries[0])
	}
}

func TestAPIAttention(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	mine, theirs := e.participant("Mine", e.cara), e.participant("Theirs", e.carl)
	if err := e.st.UpdateParticipant(t.Context(), func() store.Participant { mine.Child = true; return mine }()); err != nil {
		t.Fatal(err)
	}
	a := e.attentionItem(mine, store.AttentionMissed)
	b := e.attentionItem(theirs, store.AttentionCallback)
	type listJSON struct {
		Items []attentionJSON `json:"items"`
	}
	got := decodeJSON[listJSON](t, e.api(e.cara, "GET", "/api/v1/attention", nil))
	if len(got.Items) != 1 || got.Items[0].ID != a.ID || !got.Items[0].Child {
		t.Fatalf("cara's queue = %+v", got)
	}
	all := decodeJSON[listJSON](t, e.api(e.admin, "GET", "/api/v1/attention", nil))
	carls := decodeJSON[listJSON](t, e.api(e.admin, "GET", "/api/v1/attention?caseworker="+e.carl.ID, nil))
	if len(all.Items) != 2 || len(carls.Items) != 1 || carls.Items[0].ID != b.ID {
		t.Fatalf("admin queues = %+v / %+v", all, carls)
	}
	apiErr(t, "another's queue", e.api(e.cara, "GET", "/api/v1/attention?caseworker="+e.carl.ID, nil), http.StatusForbidden, codeForbidden)
	apiErr(t, "bad open", e.api(e.cara, "GET", "/api/v1/attention?open=maybe", nil), http.StatusBadRequest, codeBadRequest)

	apiErr(t, "bad resolution", e.api(e.cara, "POST", "/api/v1/attention/"+a.ID+"/resolve", map[string]string{"resolution": "deleted"}), http.StatusUnprocessableEntity, codeInvalid)
	rec := e.api(e.cara, "POST", "/api/v1/attention/"+a.ID+"/resolve", map[string]string{"resolution": "excused"})
	mustStatus(t, "resolve", rec, http.StatusOK)
	if it := decodeJSON[store.AttentionItem](t, rec); it.Resolution != "excused" || it.ResolvedBy != e.cara.ID || it.Open() {
		t.Fatalf("resolved = %+v", it)
	}
	apiErr(t, "resolve twice", e.api(e.cara, "POST", "/api/v1/attention/"+a.ID+"/resolve", map[string]string{"resolution": "resolved"}), http.StatusConflict, codeConflict)
	apiErr(t, "resolve another's", e.api(e.cara, "POST", "/api/v1/attention/"+b.ID+"/resolve", map[string]string{"resolution": "resolved"}), http.StatusNotFound, codeNotFound)
	apiErr(t, "resolve missing", e.api(e.cara, "POST", "/api/v1/attention/n_missing/resolve", map[string]string{"resolution": "resolved"}), http.StatusNotFound, codeNotFound)
	closed := decodeJSON[listJSON](t, e.api(e.cara, "GET", "/api/v1/attention?open=false", nil))
	if len(closed.Items) != 1 {
		t.Errorf("all items = %+v", closed)
	}
}

// The audit log is read-only through the API: admins read it, nobody
// changes it.
func TestAPIAuditReadOnly(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	mustStatus(t, "view", e.api(e.cara, "GET", "/api/v1/participants/"+p.ID, nil), http.StatusOK)
	apiErr(t, "caseworker reads audit", e.api(e.cara, "GET", "/api/v1/audit", nil), http.StatusForbidden, codeForbidden)
	rec := e.api(e.admin, "GET", "/api/v1/audit?participant="+p.ID, nil)
	mustStatus(t, "admin reads audit", rec, http.StatusOK)
	got := decodeJSON[map[string][]store.AuditEntry](t, rec)
	if len(got["entries"]) != 1 || got["entries"][0].Action != "participant_viewed" || got["entries"][0].Actor != e.cara.ID {
		t.Fatalf("entries = %+v", got)
	}
	id := got["entries"][0].ID
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, path := range []string{"/api/v1/audit", "/api/v1/audit/" + id} {
			rec := e.api(e.admin, m, path, `{}`)
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d", m, path, rec.Code)
			}
		}
	}
	apiErr(t, "bad limit", e.api(e.admin, "GET", "/api/v1/audit?limit=0", nil), http.StatusBadRequest, codeBadRequest)
	after, _ := e.st.ListAudit(t.Context(), p.ID, 0)
	if len(after) != 1 || after[0].ID != id {
		t.Errorf("audit changed: %+v", after)
	}
}

// The caseload boundary through the API: every call on another
// caseworker's participant is 404, as for an ID that does not exist.
func TestAPICaseloadBoundary(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	theirs := e.participant("Theirs", e.carl)
	appt := store.Appointment{ID: "ap_t", ParticipantID: theirs.ID, Kind: "hearing", Place: "Court", Date: "2031-01-02", Time: "10:00", Status: store.AppointmentScheduled}
	if err := e.st.PutAppointment(t.Context(), appt); err != nil {
		t.Fatal(err)
	}
	mine := e.participant("Mine", e.cara)
	base := "/api/v1/participants/" + theirs.ID
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"PATCH", base, map[string]any{"label": "x"}},
		{"DELETE", base, nil},
		{"POST", base + "/enrolment-codes", nil},
		{"GET", base + "/appointments", nil},
		{"POST", base + "/appointments", map[string]any{"kind": "hearing", "place": "x", "date": "2031-01-01", "time": "09:00"}},
		{"PATCH", base + "/appointments/ap_t", map[string]any{"time": "11:00"}},
		{"POST", base + "/appointments/ap_t/cancel", nil},
		{"GET", base + "/checkins", nil},
		{"PATCH", "/api/v1/participants/" + mine.ID + "/appointments/ap_t", map[string]any{"time": "11:00"}}, // another's appointment under my participant
		{"GET", "/api/v1/checkins.csv?participant=" + theirs.ID, nil},
		{"GET", base + "/windows", nil},
		{"GET", "/api/v1/windows.csv?participant=" + theirs.ID, nil},
	}
	for _, c := range calls {
		rec := e.api(e.cara, c.method, c.path, c.body)
		body := rec.Body.String()
		apiErr(t, c.method+" "+c.path, rec, http.StatusNotFound, codeNotFound)
		missing := strings.Replace(c.path, theirs.ID, "p_doesnotexist", 1)
		if missing != c.path {
			other := e.api(e.cara, c.method, missing, c.body)
			if other.Code != rec.Code || other.Body.String() != body {
				t.Errorf("%s: another's participant (%d %s) answers unlike a missing one (%d %s)", c.path, rec.Code, body, other.Code, other.Body)
			}
		}
		// The admin may do the same.
		if c.method == "GET" && !strings.Contains(c.path, mine.ID) {
			mustStatus(t, "admin "+c.path, e.api(e.admin, c.method, c.path, c.body), http.StatusOK)
		}
	}
	p, err := e.st.GetParticipant(t.Context(), theirs.ID)
	a, _ := e.st.GetAppointment(t.Context(), "ap_t")
	if err != nil || p.Label != "Theirs" || a.Time != "10:00" || a.Status != store.AppointmentScheduled {
		t.Fatalf("another caseload changed: %+v %v %+v", p, err, a)
	}
}

// A caseworker pauses a person at the moment the person's STOP lands: the
// server read the record before the STOP and saves after it. The store
// refuses the stale save, the server redoes the change on a fresh read,
// and both hold: the pause, and the opt-out.
func TestAPIUpdateRedoneWhenTheRecordChangedMeanwhile(t *testing.T) {
	t.Parallel()
	var racing *stopBeforeFirstUpdate
	e := newCaseworkerEnv(t, envOptions{wrap: func(st store.Store) store.Store {
		racing = &stopBeforeFirstUpdate{Store: st}
		return racing
	}})
	p := e.participant("Racing", e.cara)
	rec := e.api(e.cara, "PATCH", "/api/v1/participants/"+p.ID, map[string]any{"status": "paused"})
	if rec.Code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
	}
	got, err := e.st.GetParticipant(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.Paused || !got.OptedOut {
		t.Errorf("status %s, opted out %v: want the pause and the STOP both kept", got.Status, got.OptedOut)
	}
	if racing.updates.Load() < 2 {
		t.Errorf("%d saves: the stale save was not refused and redone", racing.updates.Load())
	}
}

// stopBeforeFirstUpdate opts the person out, as their STOP would, just
// before the server's first save of their record.
type stopBeforeFirstUpdate struct {
	store.Store
	updates atomic.Int32
}

func (s *stopBeforeFirstUpdate) UpdateParticipant(ctx context.Context, p store.Participant) error {
	if s.updates.Add(1) == 1 {
		cur, err := s.Store.GetParticipant(ctx, p.ID)
		if err != nil {
			return err
		}
		cur.OptedOut = true
		if err := s.Store.UpdateParticipant(ctx, cur); err != nil {
			return err
		}
	}
	return s.Store.UpdateParticipant(ctx, p)
}
