package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// Every page renders for an admin and a caseworker, with the security
// headers and no caching.
func TestPagesRender(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal H.", e.cara)
	e.attentionItem(p, store.AttentionMissed)
	for _, who := range []store.Account{e.admin, e.cara} {
		b := e.signedIn(who)
		for _, path := range []string{"/attention", "/participants", "/participants/new", "/participants/" + p.ID, "/programme", "/account"} {
			rec := b.get(path)
			mustStatus(t, who.Username+" "+path, rec, http.StatusOK)
			h := rec.Header()
			if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: headers %v", path, h)
			}
			if strings.Contains(rec.Body.String(), "<script") || strings.Contains(rec.Body.String(), " style=") {
				t.Errorf("%s has inline script or style, which the CSP forbids", path)
			}
		}
	}
	admin := e.signedIn(e.admin)
	for _, path := range []string{"/audit", "/accounts"} {
		mustStatus(t, "admin "+path, admin.get(path), http.StatusOK)
		mustStatus(t, "caseworker "+path, e.signedIn(e.cara).get(path), http.StatusForbidden)
	}
	body := admin.get("/programme").Body.String()
	for _, want := range []string{`<svg class="flow"`, "checkin", "No errors", "WhatsApp templates:", "<code>consent.reask</code>", `id="translations-h"`, `<span lang="ti">ትግርኛ</span> (ti)`} {
		if !strings.Contains(body, want) {
			t.Errorf("programme page lacks %q", want)
		}
	}
}

func TestSignInRedirectsAndCookie(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	b := e.browser()
	rec := b.get("/participants?q=x")
	mustStatus(t, "anonymous", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "/login?next="+url.QueryEscape("/participants?q=x") {
		t.Errorf("redirect to %q", loc)
	}
	rec = b.login("cara", testPassword)
	mustStatus(t, "login", rec, http.StatusSeeOther)
	ck := b.cookies[sessionCookie]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("session cookie = %+v", ck)
	}
	mustStatus(t, "signed in", b.get("/participants"), http.StatusOK)

	// A public https URL makes the cookie Secure and __Host- prefixed.
	es := newCaseworkerEnv(t, envOptions{publicURL: "https://waymark.example.org"})
	bs := es.browser()
	mustStatus(t, "login https", bs.login("cara", testPassword), http.StatusSeeOther)
	if ck := bs.cookies[hostSessionCookie]; ck == nil || !ck.Secure || !ck.HttpOnly || ck.Domain != "" {
		t.Fatalf("https session cookie = %+v", ck)
	}

	// Only local paths are followed after sign-in.
	for next, want := range map[string]string{"/participants": "/participants", "//evil.example": "/attention", "https://evil.example": "/attention", "/\\evil": "/attention"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	b := e.browser()
	b.get("/login")
	rec := b.do(http.MethodPost, "/login", url.Values{"username": {"cara"}, "password": {testPassword}})
	mustStatus(t, "login without token", rec, http.StatusForbidden)
	rec = b.do(http.MethodPost, "/login", url.Values{"login_token": {"forged"}, "username": {"cara"}, "password": {testPassword}})
	mustStatus(t, "login with a forged token", rec, http.StatusForbidden)
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Fatal("a session was started without the form's token")
	}
}

func TestCSRFRejected(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	it := e.attentionItem(p, store.AttentionMissed)
	b := e.signedIn(e.cara)
	other := e.signedIn(e.cara) // the same person in another browser: another session, another token
	for name, form := range map[string]url.Values{
		"no token":                {"action": {"excused"}},
		"wrong token":             {"action": {"excused"}, "csrf": {"x" + b.csrf("/attention")}},
		"another session's token": {"action": {"excused"}, "csrf": {other.csrf("/attention")}},
	} {
		rec := b.do(http.MethodPost, "/attention/"+it.ID, form)
		mustStatus(t, name, rec, http.StatusForbidden)
		if !strings.Contains(rec.Body.String(), "This form has expired") {
			t.Errorf("%s: no explanation on the page", name)
		}
	}
	// A token in the URL would leak into history and logs: only the body counts.
	rec := b.do(http.MethodPost, "/attention/"+it.ID+"?csrf="+url.QueryEscape(b.csrf("/attention")), url.Values{"action": {"excused"}})
	mustStatus(t, "token in the query", rec, http.StatusForbidden)
	if items, _ := e.st.ListAttention(t.Context(), true); len(items) != 1 {
		t.Fatalf("a refused post changed the queue: %+v", items)
	}
	rec = b.post("/attention/"+it.ID, url.Values{"action": {"excused"}})
	mustStatus(t, "with the token", rec, http.StatusSeeOther)
	items, _ := e.st.ListAttention(t.Context(), true)
	if len(items) != 0 {
		t.Errorf("item still open after a valid post: %+v", items)
	}
	// Every form that changes something needs the token, logout too.
	for _, path := range []string{"/logout", "/participants", "/participants/" + p.ID, "/participants/" + p.ID + "/status",
		"/participants/" + p.ID + "/code", "/participants/" + p.ID + "/erase", "/participants/" + p.ID + "/appointments", "/account/password"} {
		mustStatus(t, "no token: "+path, b.do(http.MethodPost, path, url.Values{"status": {"paused"}, "confirm": {"erase"}}), http.StatusForbidden)
	}
	if _, err := e.st.GetParticipant(t.Context(), p.ID); err != nil {
		t.Fatalf("participant touched by refused posts: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{auth: auth.Options{SessionTTL: time.Hour}})
	b := e.signedIn(e.cara)
	e.clock.Advance(59 * time.Minute)
	mustStatus(t, "before expiry", b.get("/attention"), http.StatusOK)
	e.clock.Advance(time.Minute)
	rec := b.get("/attention")
	mustStatus(t, "after expiry", rec, http.StatusSeeOther)
	if !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("expired session sent to %q", rec.Header().Get("Location"))
	}
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Error("the expired cookie was not cleared")
	}
}

func TestLoginLimiting(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{auth: auth.Options{PairAttempts: 3, AddressAttempts: 6}})
	b := e.browser()
	for i := range 3 {
		mustStatus(t, "wrong password "+string(rune('1'+i)), b.login("cara", "not the password"), http.StatusUnauthorized)
	}
	rec := b.login("cara", testPassword)
	mustStatus(t, "right password over the account limit from this address", rec, http.StatusTooManyRequests)
	if !strings.Contains(rec.Body.String(), "Too many sign-in attempts") {
		t.Error("no explanation of the limit")
	}
	// Per address: the four tries so far and two more of other names from
	// the same address fill its budget of six, and a spoofed X-Forwarded-For does not escape it,
	// since no proxy is trusted.
	b.xff = "203.0.113.1"
	mustStatus(t, "5th from address", b.login("nobody1", testPassword), http.StatusUnauthorized)
	b.xff = "203.0.113.2"
	mustStatus(t, "6th from address", b.login("nobody2", testPassword), http.StatusUnauthorized)
	b.xff = "203.0.113.3"
	mustStatus(t, "7th from address", b.login("ada", testPassword), http.StatusTooManyRequests)
	other := e.browser()
	other.addr = "198.51.100.99:1"
	mustStatus(t, "another address", other.login("ada", testPassword), http.StatusSeeOther)
}

func TestTrustedProxyAddresses(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{auth: auth.Options{AddressAttempts: 2, AccountAttempts: 100}, proxies: "10.0.0.0/8"})
	// Through the trusted proxy, each client is counted by its own address.
	b := e.browser()
	b.addr = "10.1.2.3:4000"
	b.xff = "203.0.113.50"
	mustStatus(t, "client A 1", b.login("x1", testPassword), http.StatusUnauthorized)
	mustStatus(t, "client A 2", b.login("x2", testPassword), http.StatusUnauthorized)
	mustStatus(t, "client A 3", b.login("cara", testPassword), http.StatusTooManyRequests)
	b.xff = "203.0.113.51"
	mustStatus(t, "client B", b.login("cara", testPassword), http.StatusSeeOther)
	// From outside the trusted network the header is ignored.
	c := e.browser()
	c.addr = "198.51.100.7:1"
	for i, xff := range []string{"203.0.113.60", "203.0.113.61"} {
		c.xff = xff
		mustStatus(t, "untrusted "+string(rune('1'+i)), c.login("y", testPassword), http.StatusUnauthorized)
	}
	c.xff = "203.0.113.62"
	mustStatus(t, "untrusted over the limit", c.login("cara", testPassword), http.StatusTooManyRequests)
}

func TestPasswordChangeSignsOutOtherSessions(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	phone, laptop := e.signedIn(e.cara), e.signedIn(e.cara)
	e.clock.Advance(time.Second)
	rec := laptop.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"an even longer passphrase"}, "new_password2": {"an even longer passphrase"}})
	mustStatus(t, "change", rec, http.StatusSeeOther)
	mustStatus(t, "this browser, signed in afresh", laptop.get("/attention"), http.StatusOK)
	mustStatus(t, "the other browser", phone.get("/attention"), http.StatusSeeOther)
}

func TestSetupMakesTheFirstAdminOnce(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{noAccount: true})
	token, needed, err := e.auth.SetupLink(t.Context())
	if err != nil || !needed {
		t.Fatal(needed, err)
	}
	b := e.browser()
	page := b.get("/setup?token=" + url.QueryEscape(token))
	mustStatus(t, "setup page", page, http.StatusOK)
	lt := loginTokenRe.FindStringSubmatch(page.Body.String())[1]
	form := url.Values{"login_token": {lt}, "token": {token}, "username": {"Root"}, "password": {testPassword}, "password2": {testPassword}, "trained": {"on"}}
	rec := b.do(http.MethodPost, "/setup", form)
	mustStatus(t, "setup", rec, http.StatusSeeOther)
	mustStatus(t, "admin pages", b.get("/accounts"), http.StatusOK)
	a, err := e.st.AccountByUsername(t.Context(), "root")
	if err != nil || a.Role != store.RoleAdmin || !a.ChildProtectionTrained {
		t.Fatalf("first account = %+v, %v", a, err)
	}
	again := e.browser()
	mustStatus(t, "setup page after setup", again.get("/setup?token="+url.QueryEscape(token)), http.StatusConflict)
	again.get("/login")
	form.Set("login_token", again.cookies[loginCookie].Value)
	form.Set("username", "second")
	mustStatus(t, "second setup", again.do(http.MethodPost, "/setup", form), http.StatusConflict)
}

// The caseload boundary on pages: another caseworker's participant is
// "not found" however it is reached.
func TestCaseloadBoundaryPages(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	mine := e.participant("Mine", e.cara)
	theirs := e.participant("Theirs", e.carl)
	myItem := e.attentionItem(mine, store.AttentionMissed)
	theirItem := e.attentionItem(theirs, store.AttentionCallback)
	appt := store.Appointment{ID: "ap_theirs", ParticipantID: theirs.ID, Kind: "hearing", Place: "Court", Date: "2030-01-02", Time: "10:00", Status: store.AppointmentScheduled}
	if err := e.st.PutAppointment(t.Context(), appt); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.cara)

	list := b.get("/participants").Body.String()
	queue := b.get("/attention").Body.String()
	if !strings.Contains(list, "Mine") || strings.Contains(list, "Theirs") || strings.Contains(queue, theirs.ID) || !strings.Contains(queue, myItem.ID) {
		t.Fatal("lists show another caseload, or not one's own")
	}
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/participants/" + theirs.ID, nil},
		{"GET", "/participants/p_doesnotexist", nil},
		{"POST", "/participants/" + theirs.ID, url.Values{"label": {"x"}, "language": {"en"}, "time_zone": {"Europe/London"}, "schedule": {"none"}}},
		{"POST", "/participants/" + theirs.ID + "/status", url.Values{"status": {"paused"}}},
		{"POST", "/participants/" + theirs.ID + "/code", url.Values{}},
		{"POST", "/participants/" + theirs.ID + "/erase", url.Values{"confirm": {"erase"}}},
		{"POST", "/participants/" + theirs.ID + "/appointments", url.Values{"kind": {"hearing"}, "place": {"x"}, "date": {"2030-01-01"}, "time": {"09:00"}}},
		{"POST", "/participants/" + theirs.ID + "/appointments/ap_theirs/cancel", url.Values{}},
		{"POST", "/participants/" + mine.ID + "/appointments/ap_theirs/cancel", url.Values{}}, // someone else's appointment under my participant
		{"POST", "/attention/" + theirItem.ID, url.Values{"action": {"excused"}}},
		{"GET", "/export/checkins.csv?participant=" + theirs.ID, nil},
		{"GET", "/export/windows.csv?participant=" + theirs.ID, nil},
	} {
		var rec = b.get(tc.path)
		if tc.method == "POST" {
			rec = b.post(tc.path, tc.form)
		}
		mustStatus(t, tc.method+" "+tc.path, rec, http.StatusNotFound)
		if strings.Contains(rec.Body.String(), "Theirs") {
			t.Errorf("%s %s leaks the label", tc.method, tc.path)
		}
	}
	p, _ := e.st.GetParticipant(t.Context(), theirs.ID)
	a, _ := e.st.GetAppointment(t.Context(), "ap_theirs")
	items, _ := e.st.ListAttention(t.Context(), true)
	if p.Label != "Theirs" || p.Status != store.Active || a.Status != store.AppointmentScheduled || len(items) != 2 {
		t.Fatalf("another caseload changed: %+v %+v %d open", p, a, len(items))
	}

	// The admin sees both and can narrow to one caseworker.
	admin := e.signedIn(e.admin)
	all := admin.get("/attention").Body.String()
	carls := admin.get("/attention?caseworker=" + e.carl.ID).Body.String()
	if !strings.Contains(all, myItem.ID) || !strings.Contains(all, theirItem.ID) || strings.Contains(carls, myItem.ID) || !strings.Contains(carls, theirItem.ID) {
		t.Error("admin queue or its caseworker filter is wrong")
	}
	// A caseworker cannot use the filter to see another queue.
	if strings.Contains(b.get("/attention?caseworker="+e.carl.ID).Body.String(), theirItem.ID) {
		t.Error("the filter showed a caseworker another caseload")
	}
}

func TestEnrolShowsCodeLinkAndQR(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	b := e.signedIn(e.cara)
	form := url.Values{"label": {"  سارة  "}, "language": {"ar"}, "time_zone": {"Asia/Beirut"}, "schedule": {"weekly"},
		"w0_open_day": {"monday"}, "w0_open_time": {"09:00"}, "w0_close_day": {"tuesday"}, "w0_close_time": {"21:00"}}
	rec := b.post("/participants", form)
	// The answer is a redirect to the code page's own address.
	mustStatus(t, "enrol", rec, http.StatusSeeOther)
	codePage := rec.Header().Get("Location")
	if !strings.HasPrefix(codePage, "/participants/p_") || !strings.Contains(codePage, "/code/") {
		t.Fatalf("enrol redirects to %q", codePage)
	}
	rec = b.get(codePage)
	mustStatus(t, "code page", rec, http.StatusOK)
	body := rec.Body.String()
	code := regexp.MustCompile(`id="enrolment-code">([A-Z2-7]{8})<`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no code on the page: %s", body)
	}
	if strings.Contains(codePage, code[1]) {
		t.Error("the code is in the page's address in clear")
	}
	for _, want := range []string{"JOIN " + code[1], "https://t.me/ExampleCheckInBot?start=" + code[1], `<svg class="qr"`, `<bdi dir="auto">سارة</bdi>`,
		`id="text-number"><bdi dir="ltr">&#43;44 7700 900000</bdi>`} {
		if !strings.Contains(body, want) {
			t.Errorf("code page lacks %q", want)
		}
	}
	// A reload shows the same code and enrols no one.
	if again := b.get(codePage); again.Code != http.StatusOK || !strings.Contains(again.Body.String(), code[1]) {
		t.Errorf("reload: %d", again.Code)
	}
	// Another session cannot open it, not even the same caseworker's.
	mustStatus(t, "code page in another session", e.signedIn(e.cara).get(codePage), http.StatusNotFound)
	ps, _ := e.st.ListParticipants(t.Context())
	if len(ps) != 1 || ps[0].Label != "سارة" || ps[0].CaseworkerID != e.cara.ID || ps[0].Schedule == nil {
		t.Fatalf("participants = %+v", ps)
	}
	// The code works: the person sends JOIN CODE and is linked.
	out, err := e.conv.Handle(t.Context(), conversation.Inbound{Channel: store.Simulator, Address: "sim-person-1", Text: "JOIN " + code[1]})
	if err != nil || out.ParticipantID != ps[0].ID {
		t.Fatalf("JOIN with the code: %+v, %v", out, err)
	}
	// Reminders were planned for the new person.
	due, _ := e.st.DueOf(t.Context(), ps[0].ID)
	if len(due) == 0 {
		t.Error("enrolment planned no reminders")
	}
	if ps, _ := e.st.ListParticipants(t.Context()); len(ps) != 1 {
		t.Errorf("%d participants after the code page was reloaded", len(ps))
	}
	// Bad input shows the form again with every problem beside its field,
	// keeping what was typed, and enrols no one.
	form.Set("label", "+44 7700 900123")
	form.Set("time_zone", "Mars/Olympus")
	form.Set("schedule", "every")
	form.Set("every_days", "often")
	form.Set("every_time", "09:00")
	form.Set("every_length", "12h")
	rec = b.post("/participants", form)
	mustStatus(t, "three mistakes", rec, http.StatusUnprocessableEntity)
	body = rec.Body.String()
	for _, field := range []string{"label", "time_zone", "every_days", "from"} {
		if !regexp.MustCompile(`id="` + field + `"[^>]*aria-invalid="true" aria-describedby="` + field + `-error`).MatchString(body) {
			t.Errorf("%s is not marked invalid and described by its error", field)
		}
	}
	for _, want := range []string{"looks like a phone number", `id="time_zone-error">Choose the time zone`, `id="every_days-error">Give a whole number of days from 1 to 60.`,
		`id="from-error">Give the first day`, "4 things to check", `href="#label"`, `href="#time_zone"`, `href="#every_days"`, `href="#from"`, `value="often"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form with its problems lacks %q\n%s", want, between(body, "error-summary", "</fieldset>"))
		}
	}
	for _, leak := range []string{"Time_zone", "time_zone:", "label:", "Schedule:"} {
		if strings.Contains(body, leak) {
			t.Errorf("a field's name shows: %q", leak)
		}
	}
	if ps, _ := e.st.ListParticipants(t.Context()); len(ps) != 1 {
		t.Errorf("%d participants after a refused form", len(ps))
	}
}

// The enrol form offers the programme's time zone first, chosen.
func TestEnrolFormDefaults(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	body := e.signedIn(e.cara).get("/participants/new").Body.String()
	if !regexp.MustCompile(`<select id="time_zone"[^>]*>\s*<optgroup label="The programme&#39;s"><option value="Europe/London" selected>`).MatchString(body) {
		t.Errorf("the programme's zone is not first and chosen:\n%s", between(body, `<select id="time_zone"`, `</optgroup>`))
	}
}

func TestChildNeedsTrainedCaseworker(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	form := url.Values{"label": {"Y"}, "language": {"en"}, "time_zone": {"Europe/London"}, "schedule": {"none"}, "child": {"on"}}
	mustStatus(t, "untrained enrols a child", e.signedIn(e.carl).post("/participants", form), http.StatusUnprocessableEntity)
	mustStatus(t, "trained enrols a child", e.signedIn(e.cara).post("/participants", form), http.StatusSeeOther)
	// An admin cannot hand that child to the untrained caseworker either.
	ps, _ := e.st.ListParticipants(t.Context())
	admin := e.signedIn(e.admin)
	form.Set("caseworker", e.carl.ID)
	mustStatus(t, "reassign to untrained", admin.post("/participants/"+ps[0].ID, form), http.StatusUnprocessableEntity)
	// Nor take away the training of the caseworker who has the child.
	rec := admin.post("/accounts/"+e.cara.ID, url.Values{"role": {"caseworker"}})
	mustStatus(t, "untrain cara", rec, http.StatusConflict)
	// The child's item is labelled in the queue.
	e.attentionItem(ps[0], store.AttentionMissed)
	if !strings.Contains(e.signedIn(e.cara).get("/attention").Body.String(), `child-badge">Child<`) {
		t.Error("a child's item is not labelled")
	}
}

func TestAttentionActionsAreAudited(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	b := e.signedIn(e.cara)
	for _, action := range resolutions {
		it := e.attentionItem(p, store.AttentionCantMakeIt)
		rec := b.post("/attention/"+it.ID, url.Values{"action": {action}, "confirm": {"yes"}})
		mustStatus(t, action, rec, http.StatusSeeOther)
		rec = b.post("/attention/"+it.ID, url.Values{"action": {action}, "confirm": {"yes"}})
		mustStatus(t, action+" twice", rec, http.StatusConflict)
	}
	got, _ := e.st.GetParticipant(t.Context(), p.ID)
	if got.Status != store.Paused {
		t.Errorf("pause from the queue left status %s", got.Status)
	}
	entries, _ := e.st.ListAudit(t.Context(), p.ID, 0)
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
		if en.Action != "participant_viewed" && en.Actor != e.cara.ID {
			t.Errorf("entry %+v not by cara", en)
		}
	}
	for _, want := range []string{"attention_contacted", "attention_excused", "attention_rescheduled", "attention_paused", "attention_resolved", "participant_paused"} {
		if !seen[want] {
			t.Errorf("audit lacks %s: %v", want, seen)
		}
	}
}

func TestParticipantPageChangesAndAppointments(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	b := e.signedIn(e.cara)
	rec := b.post("/participants/"+p.ID+"/appointments", url.Values{"kind": {"hearing"}, "place": {"Court 3"}, "date": {"2031-05-06"}, "time": {"10:30"}})
	mustStatus(t, "add", rec, http.StatusSeeOther)
	as, _ := e.st.AppointmentsOf(t.Context(), p.ID)
	if len(as) != 1 {
		t.Fatalf("appointments = %+v", as)
	}
	due, _ := e.st.DueOf(t.Context(), p.ID)
	if !hasDueFor(due, as[0].ID) {
		t.Error("no reminders planned for the new appointment")
	}
	mustStatus(t, "change", b.post("/participants/"+p.ID+"/appointments/"+as[0].ID, url.Values{"date": {"2031-05-07"}, "time": {"11:00"}, "place": {"Court 3"}, "status": {"confirmed"}}), http.StatusSeeOther)
	mustStatus(t, "bad date", b.post("/participants/"+p.ID+"/appointments/"+as[0].ID, url.Values{"date": {"7 May"}}), http.StatusUnprocessableEntity)
	mustStatus(t, "cancel", b.post("/participants/"+p.ID+"/appointments/"+as[0].ID+"/cancel", nil), http.StatusSeeOther)
	a, _ := e.st.GetAppointment(t.Context(), as[0].ID)
	if a.Status != store.AppointmentCancelled || a.Date != "2031-05-07" {
		t.Errorf("appointment = %+v", a)
	}
	due, _ = e.st.DueOf(t.Context(), p.ID)
	if hasDueFor(due, a.ID) {
		t.Error("a cancelled appointment still has reminders")
	}
	mustStatus(t, "pause", b.post("/participants/"+p.ID+"/status", url.Values{"status": {"paused"}}), http.StatusSeeOther)
	due, _ = e.st.DueOf(t.Context(), p.ID)
	for _, d := range due {
		if d.Kind != "checkin_miss" {
			t.Errorf("a paused person still has a reminder due: %+v", d)
		}
	}
	mustStatus(t, "resume", b.post("/participants/"+p.ID+"/status", url.Values{"status": {"active"}}), http.StatusSeeOther)
	page := b.get("/participants/" + p.ID).Body.String()
	if !strings.Contains(page, `<svg class="strip"`) || !strings.Contains(page, "Next windows") {
		t.Error("participant page lacks the check-in strip or next windows")
	}
	mustStatus(t, "erase unconfirmed", b.post("/participants/"+p.ID+"/erase", nil), http.StatusUnprocessableEntity)
	mustStatus(t, "erase", b.post("/participants/"+p.ID+"/erase", url.Values{"confirm": {"erase"}}), http.StatusSeeOther)
	if _, err := e.st.GetParticipant(t.Context(), p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after erasure: %v", err)
	}
}

func hasDueFor(items []store.DueItem, ref string) bool {
	for _, it := range items {
		if it.Ref == ref {
			return true
		}
	}
	return false
}

func TestReasonLabels(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"sms:21610":        "SMS: they sent STOP to the number (provider code 21610)",
		"telegram:blocked": "Telegram: they blocked the bot",
		"no_channel":       "has not linked a phone or Telegram yet",
		"unconfirmed_after_stop": "they sent DELETE after STOP, so could not be asked to confirm; " +
			"their number is kept: check with them, then erase their record unless you must keep it",
		"whatsapp:63016": "WhatsApp: no approved template for a message sent more than 24 hours after their last one (see docs/whatsapp.md)",
		"not_delivered":  "no prompt for the window reached them",
		"not_sent":       "no prompt was sent for the window (the service was stopped)",
		"30006":          "phone unreachable or number not in service (provider code 30006)",
		"":               "",
	} {
		if got := reasonLabel(code); got != want {
			t.Errorf("reasonLabel(%q) = %q, want %q", code, got, want)
		}
	}
}

// The participant page says which channel each check-in came through,
// including a missed call and the phone keypad.
func TestParticipantPageShowsCheckInChannels(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amina K.", e.cara)
	for i, ch := range []store.Channel{store.SMS, store.MissedCall, store.Keypad, store.Telegram} {
		c := store.CheckIn{ID: store.NewID("c_"), ParticipantID: p.ID, At: e.clock.Now().Add(-time.Duration(i) * time.Hour), Channel: ch, Outcome: store.OnTime}
		if err := e.st.RecordCheckIn(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	rec := e.signedIn(e.cara).get("/participants/" + p.ID)
	mustStatus(t, "participant page", rec, http.StatusOK)
	for _, want := range []string{"Latest check-ins", "SMS", "Missed call", "Phone keypad", "Telegram"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("participant page lacks %q", want)
		}
	}
}

// Items the system closed because the fact behind them changed show under
// "recently dealt with", in words a caseworker reads at a glance.
func TestSystemClosedItemsShowInWords(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	for kind, resolution := range map[store.AttentionKind]string{
		store.AttentionMissed:       store.ResolvedCheckedInLate,
		store.AttentionOptedOut:     store.ResolvedOptedIn,
		store.AttentionCantReach:    store.ResolvedDelivered,
		store.AttentionNotConsented: store.ResolvedConsented,
	} {
		it := e.attentionItem(p, kind)
		if err := e.st.ResolveAttention(t.Context(), it.ID, store.ResolvedBySystem, resolution, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rec := e.signedIn(e.cara).get("/attention")
	mustStatus(t, "attention", rec, http.StatusOK)
	body := rec.Body.String()
	for _, want := range []string{"Checked in late (closed by itself)", "Sent START (closed by itself)",
		"A message reached them (closed by itself)", "Agreed to messages (closed by itself)", "Has not agreed to messages"} {
		if !strings.Contains(body, want) {
			t.Errorf("the queue lacks %q", want)
		}
	}
	if strings.Contains(body, "checked_in_late") {
		t.Error("a resolution code is shown raw")
	}
}
