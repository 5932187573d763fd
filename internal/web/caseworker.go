package web

import (
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
)

// The caseworker pages: plain server-rendered forms, one stylesheet, no
// script. Each page is the layout plus its own file, so that every page
// can define "content".

//go:embed templates/caseworker/*.html
var caseworkerTemplateFS embed.FS

var caseworkerPages = parseCaseworkerPages()

func parseCaseworkerPages() map[string]*template.Template {
	names, err := fs.Glob(caseworkerTemplateFS, "templates/caseworker/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" || strings.HasSuffix(base, ".part.html") {
			continue
		}
		t := template.New(base).Funcs(templateFuncs)
		// A page's own parts: programme.html and programme.*.part.html.
		files := []string{"templates/caseworker/layout.html", "templates/caseworker/partials.html", n}
		parts, _ := fs.Glob(caseworkerTemplateFS, "templates/caseworker/"+strings.TrimSuffix(base, ".html")+".*.part.html")
		out[strings.TrimSuffix(base, ".html")] = template.Must(t.ParseFS(caseworkerTemplateFS, append(files, parts...)...))
	}
	return out
}

// Limits on what a form or an API call may send.
const (
	formBodyLimit = "64K"
	apiBodyLimit  = "64K"
)

// Cookie names. With an https public URL the session cookie takes the
// __Host- prefix, which browsers accept only when Secure, host-only and
// for path /, so no other site or path can set or shadow it.
const (
	sessionCookie     = "waymark_session"
	hostSessionCookie = "__Host-waymark_session"
	loginCookie       = "waymark_login" // the login and setup forms' CSRF token (double submit)
)

const sessionKey = "waymark.session"

func (s *Server) now() time.Time {
	if s.deps.Clock != nil {
		return s.deps.Clock.Now()
	}
	return clock.System{}.Now()
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.deps.PublicURL, "https://") }

func (s *Server) sessionCookieName() string {
	if s.secureCookies() {
		return hostSessionCookie
	}
	return sessionCookie
}

// trustedProxyIPs believes X-Forwarded-For only from the configured
// networks; loopback and private networks are not trusted unless listed.
func trustedProxyIPs(nets []*net.IPNet) echo.IPExtractor {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range nets {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// home sends a signed-in caseworker to their queue, and anyone else to
// the simulator when there are no caseworker pages.
func (s *Server) home(c echo.Context) error {
	if s.deps.Auth != nil {
		return c.Redirect(http.StatusSeeOther, "/attention")
	}
	return c.Redirect(http.StatusSeeOther, "/simulator")
}

// session returns the signed-in caseworker's session (set by
// requireSession).
func session(c echo.Context) auth.Session {
	sess, _ := c.Get(sessionKey).(auth.Session)
	return sess
}

func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var token string
		if ck, err := c.Cookie(s.sessionCookieName()); err == nil {
			token = ck.Value
		}
		sess, err := s.deps.Auth.Authenticate(c.Request().Context(), token)
		if errors.Is(err, auth.ErrNoSession) {
			if token != "" {
				s.clearSessionCookie(c)
			}
			target := "/login"
			if c.Request().Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
		if err != nil {
			return err
		}
		c.Set(sessionKey, sess)
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// requireCSRF checks the session's token on every request that changes
// something. SameSite cookies already stop most cross-site posts; the
// token also stops them from a sibling subdomain or an old browser.
func (s *Server) requireCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		// The body only: a token in a URL would leak into history and logs.
		if !auth.CSRFValid(session(c), c.Request().PostFormValue("csrf")) {
			return s.renderMessage(c, http.StatusForbidden, "This form has expired",
				"The page was open too long, or it came from somewhere else. Go back, reload the page and try again.")
		}
		return next(c)
	}
}

func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if session(c).Account.Role != store.RoleAdmin {
			return s.renderMessage(c, http.StatusForbidden, "Administrators only", "This page is for administrators.")
		}
		return next(c)
	}
}

func (s *Server) setSessionCookie(c echo.Context, sess auth.Session) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookieName(), Value: sess.Token, Path: "/",
		MaxAge:   int(s.deps.Auth.SessionTTL() / time.Second),
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// Pages.

// page is what the layout needs; every page's data embeds it.
type page struct {
	Title   string
	Nav     string // the active section
	Account store.Account
	CSRF    string
	Notice  string // one of a fixed set of confirmations, never user text
	Error   string
	// NoticeInPage: the page shows the notice itself, beside what it is
	// about, rather than the layout at the top.
	NoticeInPage bool
	Now          time.Time
	// Zone is the time zone the caseworker reads times in.
	Zone string
	// SimulatorOn says whether /simulator is served.
	SimulatorOn bool
}

func (s *Server) page(c echo.Context, title, nav string) page {
	sess := session(c)
	return page{
		Title: title, Nav: nav, Account: sess.Account, CSRF: sess.CSRFToken,
		Notice: notices[c.QueryParam("done")], Now: s.now(), SimulatorOn: s.deps.Simulator != nil, Zone: s.caseworkerZoneName(sess.Account),
	}
}

// notices are the confirmations a redirect may ask for with ?done=.
var notices = map[string]string{
	"contacted":       "Marked as contacted.",
	"excused":         "Excused. It will not count as a missed check-in.",
	"rescheduled":     "Marked as rescheduled. Change the appointment here, or the schedule under Details and schedule.",
	"paused":          "Paused: no reminders and no missed check-ins until resumed.",
	"resolved":        "Resolved.",
	"undone":          "Undone: the item is back in the queue. A pause made with it is lifted; an excused window stays excused.",
	"saved":           "Saved.",
	"resumed":         "Resumed: reminders start again with the next window.",
	"exited":          "Marked as having left the programme.",
	"appt_added":      "Appointment added; reminders planned.",
	"appt_changed":    "Appointment changed; reminders planned again.",
	"appt_cancel":     "Appointment cancelled; its reminders will not be sent.",
	"erased":          "Everything about the person was erased. The audit log keeps only that it happened.",
	"password":        "Password changed. Every other session of your account has been signed out.",
	"welcome":         "Welcome. Your administrator account is ready.",
	"account":         "Account saved.",
	"account_disable": "Account disabled: its sessions have ended and its API tokens are revoked.",
	"account_enable":  "Account enabled. It needs new API tokens.",
	"account_delete":  "Account deleted with its sessions and API tokens. The audit log keeps what it did.",
	"token_revoked":   "API token revoked.",
	"zone":            "Saved: times are shown in your time zone.",
}

func (s *Server) render(c echo.Context, status int, name string, data any) error {
	t, ok := caseworkerPages[name]
	if !ok {
		return fmt.Errorf("web: no page %s", name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, []byte(b.String()))
}

type messageView struct {
	page
	Heading, Text string
}

func (s *Server) renderMessage(c echo.Context, status int, heading, text string) error {
	return s.render(c, status, "message", messageView{page: s.page(c, heading, ""), Heading: heading, Text: text})
}

// Sign in, sign out, first setup.

type loginView struct {
	page
	Next       string
	Username   string
	LoginToken string
	NoAccounts bool
}

// loginToken sets (or reuses) the double-submit cookie that stands in for
// a session's CSRF token before there is a session.
func (s *Server) loginToken(c echo.Context) string {
	if ck, err := c.Cookie(loginCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	tok := auth.NewToken()
	c.SetCookie(&http.Cookie{Name: loginCookie, Value: tok, Path: "/", MaxAge: 3600, HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode})
	return tok
}

func loginTokenValid(c echo.Context) bool {
	ck, err := c.Cookie(loginCookie)
	return err == nil && ck.Value != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.Request().PostFormValue("login_token"))) == 1
}

// safeNext keeps a post-login redirect on this site: a path that starts
// with one slash, with no backslash, space or control character anywhere
// (browsers drop a TAB, so "/\t/evil.example" would become "//evil.example").
func safeNext(next string) string {
	bad := strings.ContainsFunc(next, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r)
	})
	if bad || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/attention"
	}
	return next
}

func (s *Server) loginPage(c echo.Context) error {
	return s.renderLogin(c, http.StatusOK, "", "")
}

func (s *Server) renderLogin(c echo.Context, status int, username, errMsg string) error {
	v := loginView{page: s.page(c, "Sign in", ""), Next: safeNext(c.FormValue("next")), Username: username, LoginToken: s.loginToken(c)}
	v.Error = errMsg
	if accts, err := s.deps.Store.ListAccounts(c.Request().Context()); err == nil && len(accts) == 0 {
		v.NoAccounts = true
	}
	return s.render(c, status, "login", v)
}

func (s *Server) login(c echo.Context) error {
	if !loginTokenValid(c) {
		return s.renderLogin(c, http.StatusForbidden, "", "The sign-in form had expired. Please try again.")
	}
	s.warnUntrustedProxy(c)
	username := c.FormValue("username")
	sess, err := s.deps.Auth.Login(c.Request().Context(), username, c.FormValue("password"), c.RealIP())
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return s.renderLogin(c, http.StatusUnauthorized, username, "Wrong username or password.")
	case errors.Is(err, auth.ErrLimited):
		return s.renderLogin(c, http.StatusTooManyRequests, username, "Too many sign-in attempts. Wait a quarter of an hour and try again.")
	case errors.Is(err, auth.ErrPaced):
		return s.renderLogin(c, http.StatusTooManyRequests, username, "Many sign-in attempts at this account. Wait a few seconds and try again.")
	case errors.Is(err, auth.ErrDisabled):
		return s.renderLogin(c, http.StatusForbidden, username, "This account is disabled. Ask an administrator.")
	case err != nil:
		return err
	}
	s.setSessionCookie(c, sess)
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

// warnUntrustedProxy logs, once, that sign-ins arrive through a proxy
// Waymark does not trust: then every client counts as the proxy's
// address, and one flood of wrong passwords locks every caseworker out.
func (s *Server) warnUntrustedProxy(c echo.Context) {
	if len(s.deps.TrustedProxies) > 0 || c.Request().Header.Get(echo.HeaderXForwardedFor) == "" {
		return
	}
	s.proxyWarning.Do(func() {
		if s.deps.Log != nil {
			s.deps.Log.Warn("sign-ins come through a proxy (they carry X-Forwarded-For) but WAYMARK_TRUSTED_PROXIES is empty: every client counts as the proxy's address, so one flood of wrong passwords refuses everyone's sign-in; set WAYMARK_TRUSTED_PROXIES to the proxy's address (127.0.0.1/32 behind a proxy on the same machine)",
				"proxy", c.Request().RemoteAddr)
		}
	})
}

func (s *Server) logout(c echo.Context) error {
	if err := s.deps.Auth.Logout(c.Request().Context(), session(c).Token); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

type setupView struct {
	page
	Token, Username, LoginToken string
}

func (s *Server) setupPage(c echo.Context) error {
	if accts, err := s.deps.Store.ListAccounts(c.Request().Context()); err != nil {
		return err
	} else if len(accts) > 0 {
		return s.renderMessage(c, http.StatusConflict, "Setup is done", "An account exists already. Sign in, or ask an administrator for an account.")
	}
	return s.renderSetup(c, http.StatusOK, "", "")
}

func (s *Server) renderSetup(c echo.Context, status int, username, errMsg string) error {
	v := setupView{page: s.page(c, "Set up Waymark", ""), Token: c.FormValue("token"), Username: username, LoginToken: s.loginToken(c)}
	v.Error = errMsg
	return s.render(c, status, "setup", v)
}

func (s *Server) setup(c echo.Context) error {
	if !loginTokenValid(c) {
		return s.renderSetup(c, http.StatusForbidden, "", "The form had expired. Please try again.")
	}
	ctx := c.Request().Context()
	username, pw := c.FormValue("username"), c.FormValue("password")
	if pw != c.FormValue("password2") {
		return s.renderSetup(c, http.StatusUnprocessableEntity, username, "The two passwords differ.")
	}
	a, err := s.deps.Auth.CompleteSetup(ctx, c.FormValue("token"), auth.NewAccount{
		Username: username, Password: pw, ChildProtectionTrained: c.FormValue("trained") == "on",
	})
	switch {
	case errors.Is(err, auth.ErrSetupDone):
		return s.renderMessage(c, http.StatusConflict, "Setup is done", "An account exists already. Sign in, or ask an administrator for an account.")
	case errors.Is(err, auth.ErrBadSetupToken):
		return s.renderSetup(c, http.StatusForbidden, username, "This setup link has been used or has expired. Restart waymark to get a new one in its log.")
	case errors.Is(err, auth.ErrWeakPassword), errors.Is(err, auth.ErrBadUsername):
		return s.renderSetup(c, http.StatusUnprocessableEntity, username, userMessage(err))
	case err != nil:
		return err
	}
	sess, err := s.deps.Auth.StartSession(ctx, a)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sess)
	return c.Redirect(http.StatusSeeOther, "/accounts?done=welcome")
}

// userMessage is a refusal (a password too short, a draft that clashes)
// as a sentence for the page. Anything else is the service's own trouble,
// whose words are for the log, never a page.
func userMessage(err error) string {
	if msg, ok := refusal.Message(err); ok {
		return sentence(msg)
	}
	return "Something went wrong and nothing was changed. Try again, and tell an administrator if it happens again."
}

// Own account.

type accountView struct {
	page
	Tokens []auth.TokenInfo
	Zones  []zoneGroup
}

func (s *Server) accountPage(c echo.Context) error {
	v := accountView{page: s.page(c, "Your account", "account")}
	v.Zones = zoneOptions(s.programme().TimeZone, v.Zone, v.Now)
	toks, err := s.deps.Auth.ListTokens(c.Request().Context(), v.Account.ID)
	if err != nil {
		return err
	}
	v.Tokens = toks
	return s.render(c, http.StatusOK, "account", v)
}

func (s *Server) changePassword(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	next := c.FormValue("new_password")
	fail := func(status int, msg string) error {
		v := accountView{page: s.page(c, "Your account", "account")}
		v.Error = msg
		return s.render(c, status, "account", v)
	}
	if next != c.FormValue("new_password2") {
		return fail(http.StatusUnprocessableEntity, "The two new passwords differ.")
	}
	a, err := s.deps.Auth.ChangePassword(ctx, me.ID, c.FormValue("current_password"), next)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return fail(http.StatusUnauthorized, "Your current password is not right.")
	case errors.Is(err, auth.ErrLimited):
		return fail(http.StatusTooManyRequests, "Too many wrong current passwords. Wait a quarter of an hour and try again.")
	case errors.Is(err, auth.ErrWeakPassword):
		return fail(http.StatusUnprocessableEntity, userMessage(err))
	case err != nil:
		return err
	}
	// Every session ended; this browser gets a fresh one.
	sess, err := s.deps.Auth.StartSession(ctx, a)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sess)
	return c.Redirect(http.StatusSeeOther, "/account?done=password")
}

// changeZone sets the time zone the caseworker reads times in; the
// programme's zone clears their own.
func (s *Server) changeZone(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	zone := c.FormValue("time_zone")
	if !validZone(zone) {
		return s.renderMessage(c, http.StatusUnprocessableEntity, "Please check the form", "Choose a time zone from the list.")
	}
	if zone == s.programme().TimeZone {
		zone = ""
	}
	a, err := s.deps.Store.GetAccount(ctx, me.ID)
	if err != nil {
		return err
	}
	if a.TimeZone != zone {
		a.TimeZone = zone
		if err := s.deps.Store.UpdateAccount(ctx, a); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=zone")
}
