package web

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/schedule/scheduletest"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/locales"
)

// cwEnv is the whole caseworker side on a real bolt store: auth, the
// conversation service with the shipped flows, the scheduler's replanning
// and the Echo server, driven through ServeHTTP.
//
// Every test of the package runs in parallel with the others
// (t.Parallel): each makes its own store, clock, server and browser, and
// none changes anything the package shares, so one core waits for
// nothing while the other works.
type cwEnv struct {
	t     *testing.T
	srv   *Server
	st    *bolt.Store
	auth  *auth.Service
	conv  *conversation.Service
	sched *schedule.Scheduler
	clock *clock.Fake
	logs  *testkit.Logs

	admin, cara, carl store.Account // carl is not trained in child protection
	tokens            map[string]string
}

type envOptions struct {
	auth      auth.Options
	publicURL string
	proxies   string
	noAccount bool
	// wrap, when set, wraps the store the server uses (not e.st), so that
	// a test can change what the server sees between its reads and writes.
	wrap func(store.Store) store.Store
	// deps, when set, completes the server's dependencies (the editor's
	// tests add the programme versions and the simulator).
	deps func(*Deps, *cwEnv)
}

const testPassword = "a long enough passphrase"

func newCaseworkerEnv(t *testing.T, o envOptions) *cwEnv {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Round(time.Second))
	st := testkit.Bolt(t, clk)
	box := testkit.Box(t)
	made := scheduletest.New(t, st, box, clk)
	logs, log, windows, conv := made.Logs, made.Log, made.Ledger, made.Service
	sched := schedule.New(conv, windows, schedule.Options{})
	if o.auth.Params == (auth.Params{}) {
		o.auth.Params = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	}
	au := auth.New(st, clk, o.auth)
	deps := Deps{
		Store: st, Conversation: conv, Log: log, PublicURL: o.publicURL,
		Auth: au, Clock: clk, Replan: sched.Replan, Excuse: sched.Excuse, Windows: sched.History, TelegramBot: "ExampleCheckInBot", TextNumber: "+44 7700 900000",
		CheckReport: func() check.Report {
			return check.Run(check.Input{Flows: flows.FS, FlowsDir: "flows", Locales: locales.FS, LocalesDir: "locales",
				LoadLocales: func(fsys fs.FS) (check.Catalog, []diag.Problem) {
					b, problems := locale.Load(fsys)
					if b == nil {
						return nil, problems
					}
					return b, problems
				}})
		},
	}
	if o.wrap != nil {
		deps.Store = o.wrap(st)
	}
	if o.proxies != "" {
		for cidr := range strings.SplitSeq(o.proxies, ",") {
			_, n, err := net.ParseCIDR(cidr)
			if err != nil {
				t.Fatal(err)
			}
			deps.TrustedProxies = append(deps.TrustedProxies, n)
		}
	}
	e := &cwEnv{t: t, st: st, auth: au, conv: conv, sched: sched, clock: clk, logs: logs, tokens: map[string]string{}}
	if o.deps != nil {
		o.deps(&deps, e)
	}
	e.srv = NewServer(deps)
	if !o.noAccount {
		e.admin = e.account("ada", store.RoleAdmin, true)
		e.cara = e.account("cara", store.RoleCaseworker, true)
		e.carl = e.account("carl", store.RoleCaseworker, false)
	}
	return e
}

func (e *cwEnv) account(name string, role store.Role, trained bool) store.Account {
	e.t.Helper()
	a, err := e.auth.CreateAccount(e.t.Context(), "test", auth.NewAccount{Username: name, Role: role, Password: testPassword, ChildProtectionTrained: trained})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.auth.CreateAPIToken(e.t.Context(), "test", a.ID, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[a.ID] = tok
	return a
}

// participant enrols a participant straight in the store for a caseworker,
// as if they had joined and agreed to get messages.
func (e *cwEnv) participant(label string, cw store.Account) store.Participant {
	e.t.Helper()
	now := e.clock.Now()
	p := store.Participant{ID: store.NewID("p_"), Label: label, Language: "en", TimeZone: "Europe/London", CaseworkerID: cw.ID,
		Status: store.Active, CreatedAt: now, UpdatedAt: now, Schedule: defaultSchedule(), ConsentedAt: now, ConsentVersion: "en:test"}
	if err := e.st.CreateParticipant(e.t.Context(), p); err != nil {
		e.t.Fatal(err)
	}
	p, err := e.st.GetParticipant(e.t.Context(), p.ID) // as stored, at its first revision
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *cwEnv) attentionItem(p store.Participant, kind store.AttentionKind) store.AttentionItem {
	e.t.Helper()
	it := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: kind, Reason: "no_reply", CreatedAt: e.clock.Now()}
	if err := e.st.AddAttention(e.t.Context(), it); err != nil {
		e.t.Fatal(err)
	}
	return it
}

// api calls the JSON API as an account ("" sends no token).
func (e *cwEnv) api(as store.Account, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if as.ID != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[as.ID])
	}
	return e.serveAPI(req, raw)
}

// serveAPI serves an API request whose body is body, and checks the
// request and the answer against the API's contract (openapi_test.go).
func (e *cwEnv) serveAPI(req *http.Request, body []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req.Clone(req.Context()))
	checkContract(e.t, req, body, rec)
	return rec
}

// browser is a cookie-keeping client of the pages, driven in process.
type browser struct {
	e       *cwEnv
	cookies map[string]*http.Cookie
	addr    string
	xff     string
}

func (e *cwEnv) browser() *browser {
	return &browser{e: e, cookies: map[string]*http.Cookie{}, addr: "198.51.100.20:5555"}
}

func (b *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = b.addr
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.e.srv.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

func (b *browser) get(path string) *httptest.ResponseRecorder { return b.do(http.MethodGet, path, nil) }

var (
	csrfRe       = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	loginTokenRe = regexp.MustCompile(`name="login_token" value="([^"]+)"`)
)

// csrf reads the form token from a page.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	rec := b.get(path)
	m := csrfRe.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s (status %d)", path, rec.Code)
	}
	return m[1]
}

// post submits a form with the page's CSRF token.
func (b *browser) post(path string, form url.Values) *httptest.ResponseRecorder {
	b.e.t.Helper()
	form = cloneForm(form)
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf("/account"))
	}
	return b.do(http.MethodPost, path, form)
}

func (b *browser) login(username, password string) *httptest.ResponseRecorder {
	b.e.t.Helper()
	page := b.get("/login")
	m := loginTokenRe.FindStringSubmatch(page.Body.String())
	if m == nil {
		b.e.t.Fatalf("login page has no login token: %s", page.Body.String())
	}
	return b.do(http.MethodPost, "/login", url.Values{"login_token": {m[1]}, "username": {username}, "password": {password}, "next": {"/attention"}})
}

func (e *cwEnv) signedIn(a store.Account) *browser {
	e.t.Helper()
	b := e.browser()
	if rec := b.login(a.Username, testPassword); rec.Code != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d: %s", a.Username, rec.Code, rec.Body.String())
	}
	return b
}

func mustStatus(t *testing.T, what string, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("%s: status %d, want %d; body: %.600s", what, rec.Code, want, rec.Body.String())
	}
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}
