package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/store"
)

func TestAccountsPageDisablesEnablesAndDeletes(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("P-17", e.cara)
	e.attentionItem(p, store.AttentionMissed)
	cara := e.signedIn(e.cara)
	admin := e.signedIn(e.admin)

	mustStatus(t, "disable", admin.post("/accounts/"+e.cara.ID+"/disable", nil), http.StatusSeeOther)
	// Her session and her token stop at once.
	mustStatus(t, "cara's page after disabling", cara.get("/attention"), http.StatusSeeOther)
	mustStatus(t, "cara's token after disabling", e.api(e.cara, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)
	rec := e.browser().login("cara", testPassword)
	mustStatus(t, "cara signs in while disabled", rec, http.StatusForbidden)
	// Her people are in the administrator's view as having no active caseworker.
	page := admin.get("/attention").Body.String()
	if !strings.Contains(page, "1 person has") || !strings.Contains(page, "no active caseworker") {
		t.Errorf("the queue does not point at the person without a caseworker:\n%s", page)
	}
	if page := admin.get("/attention?caseworker=none").Body.String(); !strings.Contains(page, "P-17") {
		t.Error("the filter for people without an active caseworker does not list P-17")
	}
	mustStatus(t, "enable", admin.post("/accounts/"+e.cara.ID+"/enable", nil), http.StatusSeeOther)
	mustStatus(t, "cara signs in again", e.browser().login("cara", testPassword), http.StatusSeeOther)

	mustStatus(t, "delete without confirming", admin.post("/accounts/"+e.carl.ID+"/delete", nil), http.StatusUnprocessableEntity)
	mustStatus(t, "delete", admin.post("/accounts/"+e.carl.ID+"/delete", url.Values{"confirm": {"on"}}), http.StatusSeeOther)
	if _, err := e.st.GetAccount(t.Context(), e.carl.ID); err == nil {
		t.Error("carl is still there")
	}
	mustStatus(t, "an administrator disabling themself", admin.post("/accounts/"+e.admin.ID+"/disable", nil), http.StatusConflict)
	mustStatus(t, "a caseworker disabling someone", e.signedIn(e.cara).post("/accounts/"+e.admin.ID+"/disable", nil), http.StatusForbidden)
	entries, _ := e.st.ListAudit(t.Context(), "", 200)
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
	}
	for _, a := range []string{"account_disabled", "account_enabled", "account_deleted"} {
		if !seen[a] {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

func TestTokensShownAndRevokedOnPages(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	id := auth.HashToken(e.tokens[e.cara.ID])[:auth.TokenIDLen]
	mustStatus(t, "the token works", e.api(e.cara, http.MethodGet, "/api/v1/participants", nil), http.StatusOK)
	cara := e.signedIn(e.cara)
	page := cara.get("/account").Body.String()
	if !strings.Contains(page, id) || !strings.Contains(page, "Last used") {
		t.Fatalf("the account page does not list the token %s with its last use", id)
	}
	// A caseworker cannot revoke another's token.
	other := auth.HashToken(e.tokens[e.carl.ID])[:auth.TokenIDLen]
	mustStatus(t, "revoke another's", cara.post("/tokens/"+other+"/revoke", nil), http.StatusNotFound)
	mustStatus(t, "revoke own", cara.post("/tokens/"+id+"/revoke", nil), http.StatusSeeOther)
	mustStatus(t, "the revoked token", e.api(e.cara, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)
	admin := e.signedIn(e.admin)
	if page := admin.get("/accounts").Body.String(); !strings.Contains(page, other) {
		t.Error("the accounts page does not list carl's token")
	}
	mustStatus(t, "an administrator revokes any", admin.post("/tokens/"+other+"/revoke", url.Values{"from": {"accounts"}}), http.StatusSeeOther)
	mustStatus(t, "carl's token", e.api(e.carl, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)
}

func TestRoleChangeEndsSessionsAndTokens(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	other := e.account("ola", store.RoleAdmin, true)
	ola := e.signedIn(other)
	admin := e.signedIn(e.admin)
	mustStatus(t, "demote", admin.post("/accounts/"+other.ID, url.Values{"role": {"caseworker"}, "trained": {"on"}}), http.StatusSeeOther)
	mustStatus(t, "the demoted account's token", e.api(other, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)
	mustStatus(t, "the demoted account's session", ola.get("/attention"), http.StatusSeeOther)
}

func TestAPIAccountsAndTokens(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	mustStatus(t, "accounts as a caseworker", e.api(e.cara, http.MethodGet, "/api/v1/accounts", nil), http.StatusForbidden)
	rec := e.api(e.admin, http.MethodGet, "/api/v1/accounts", nil)
	mustStatus(t, "accounts", rec, http.StatusOK)
	var list struct {
		Accounts []struct {
			ID       string `json:"id"`
			Disabled bool   `json:"disabled"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Accounts) != 3 {
		t.Fatalf("accounts = %s (%v)", rec.Body.String(), err)
	}
	mustStatus(t, "disable with a broken body", e.api(e.admin, http.MethodPost, "/api/v1/accounts/"+e.carl.ID+"/disable", `{"x"`), http.StatusBadRequest)
	rec = e.api(e.admin, http.MethodPost, "/api/v1/accounts/"+e.carl.ID+"/disable", nil)
	mustStatus(t, "disable", rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"disabled":true`) {
		t.Errorf("disable answered %s", rec.Body.String())
	}
	mustStatus(t, "carl's token", e.api(e.carl, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)
	mustStatus(t, "enable", e.api(e.admin, http.MethodPost, "/api/v1/accounts/"+e.carl.ID+"/enable", nil), http.StatusOK)
	mustStatus(t, "delete a missing account", e.api(e.admin, http.MethodDelete, "/api/v1/accounts/acct_missing", nil), http.StatusNotFound)
	mustStatus(t, "delete", e.api(e.admin, http.MethodDelete, "/api/v1/accounts/"+e.carl.ID, nil), http.StatusNoContent)
	mustStatus(t, "the last administrator", e.api(e.admin, http.MethodPost, "/api/v1/accounts/"+e.admin.ID+"/disable", nil), http.StatusConflict)

	rec = e.api(e.cara, http.MethodGet, "/api/v1/tokens", nil)
	mustStatus(t, "own tokens", rec, http.StatusOK)
	if strings.Count(rec.Body.String(), `"id"`) != 1 || !strings.Contains(rec.Body.String(), `"last_used_at":"`) {
		t.Errorf("a caseworker's tokens = %s", rec.Body.String())
	}
	id := auth.HashToken(e.tokens[e.admin.ID])[:auth.TokenIDLen]
	mustStatus(t, "revoke another's as a caseworker", e.api(e.cara, http.MethodDelete, "/api/v1/tokens/"+id, nil), http.StatusNotFound)
	mustStatus(t, "revoke as an administrator", e.api(e.admin, http.MethodDelete, "/api/v1/tokens/"+auth.HashToken(e.tokens[e.cara.ID])[:auth.TokenIDLen], nil), http.StatusNoContent)
	mustStatus(t, "cara's revoked token", e.api(e.cara, http.MethodGet, "/api/v1/tokens", nil), http.StatusUnauthorized)
}

func TestMalformedInputIsRefused(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	admin := e.signedIn(e.admin)
	before, _ := e.st.ListAccounts(t.Context())
	// A form whose body has a broken %-escape is refused whole.
	form := "csrf=" + url.QueryEscape(admin.csrf("/accounts")) + "&username=mallory&role=caseworker&password=a+long+enough+passphrase&x=hel%2"
	req := httptest.NewRequest(http.MethodPost, "/accounts", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = admin.addr
	for _, c := range admin.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	mustStatus(t, "broken escape", rec, http.StatusBadRequest)
	// So is a form sent as something else.
	req = httptest.NewRequest(http.MethodPost, "/accounts", strings.NewReader("csrf=x"))
	req.Header.Set("Content-Type", "text/plain")
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	mustStatus(t, "text/plain form", rec, http.StatusUnsupportedMediaType)
	after, _ := e.st.ListAccounts(t.Context())
	if len(after) != len(before) {
		t.Error("a malformed form made an account")
	}

	p := e.participant("P-1", e.cara)
	mustStatus(t, "since=%ZZ", e.api(e.cara, http.MethodGet, "/api/v1/participants/"+p.ID+"/checkins?since=%ZZ", nil), http.StatusBadRequest)
	mustStatus(t, "enrolment code with a truncated body", e.api(e.cara, http.MethodPost, "/api/v1/participants/"+p.ID+"/enrolment-codes", `{"x`), http.StatusBadRequest)
	mustStatus(t, "enrolment code with no body", e.api(e.cara, http.MethodPost, "/api/v1/participants/"+p.ID+"/enrolment-codes", nil), http.StatusCreated)

	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/", nil))
	mustStatus(t, "static directory", rec, http.StatusNotFound)
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/caseworker.css", nil))
	mustStatus(t, "a static file", rec, http.StatusOK)
}

func TestSignInNeverRedirectsOffSite(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"/\t/evil.example", "/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example", "/ /evil.example", "/\x00/x"} {
		n, _ := url.QueryUnescape(next)
		if got := safeNext(n); got != "/attention" {
			t.Errorf("safeNext(%q) = %q", n, got)
		}
	}
	if got := safeNext("/participants?q=a"); got != "/participants?q=a" {
		t.Errorf("a good next became %q", got)
	}
}

func TestAnUntrustedProxyIsWarnedAboutOnce(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	b := e.browser()
	b.addr, b.xff = "127.0.0.1:40000", "203.0.113.5"
	b.login("ada", "wrong password!")
	b.login("ada", "wrong password!")
	if n := strings.Count(e.logs.String(), "WAYMARK_TRUSTED_PROXIES is empty"); n != 1 {
		t.Errorf("%d warnings about the untrusted proxy, want 1:\n%s", n, e.logs.String())
	}
}

// An administrator makes a token on the Accounts page: shown once, in
// the answer only, then listed by its ID and revocable like any other.
func TestTokenMadeOnTheAccountsPage(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	admin := e.signedIn(e.admin)
	csrf := admin.csrf("/accounts")
	rec := admin.post("/accounts/"+e.carl.ID+"/tokens", url.Values{"csrf": {csrf}, "ttl": {"30d"}})
	mustStatus(t, "make a token", rec, http.StatusCreated)
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("the token page may be cached: %q", rec.Header().Get("Cache-Control"))
	}
	m := regexp.MustCompile(`value="(wm_[A-Za-z0-9_-]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no token on the page:\n%s", rec.Body.String())
	}
	token := m[1]
	e.tokens[e.carl.ID] = token
	mustStatus(t, "the new token works", e.api(e.carl, http.MethodGet, "/api/v1/participants", nil), http.StatusOK)
	id := auth.HashToken(token)[:auth.TokenIDLen]
	page := admin.get("/accounts").Body.String()
	if !strings.Contains(page, id) || strings.Contains(page, token) {
		t.Fatal("the accounts page should list the token's ID and never the token")
	}
	if strings.Contains(e.logs.String(), token) {
		t.Fatal("the token is in the log")
	}
	toks, err := e.st.APITokensOf(t.Context(), e.carl.ID)
	i := slices.IndexFunc(toks, func(t store.APIToken) bool { return t.TokenHash == auth.HashToken(token) })
	if err != nil || len(toks) != 2 || i < 0 || toks[i].ExpiresAt.Sub(e.clock.Now()) != 30*24*time.Hour {
		t.Fatalf("carl's tokens: %+v (%v)", toks, err)
	}
	mustStatus(t, "revoke it", admin.post("/tokens/"+id+"/revoke", url.Values{"from": {"accounts"}}), http.StatusSeeOther)
	mustStatus(t, "the revoked token", e.api(e.carl, http.MethodGet, "/api/v1/participants", nil), http.StatusUnauthorized)

	mustStatus(t, "a lifetime not offered", admin.post("/accounts/"+e.carl.ID+"/tokens", url.Values{"ttl": {"10y"}}), http.StatusUnprocessableEntity)
	mustStatus(t, "no such account", admin.post("/accounts/acct_missing/tokens", url.Values{"ttl": {""}}), http.StatusNotFound)
	cara := e.signedIn(e.cara)
	if rec := cara.post("/accounts/"+e.cara.ID+"/tokens", url.Values{"ttl": {""}}); rec.Code == http.StatusCreated {
		t.Fatal("a caseworker made a token on the Accounts page")
	}
}
