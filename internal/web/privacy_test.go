package web

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/store"
)

// Leaving the programme records when, so that retention can erase the
// person retention.exited_participants later; coming back clears it.
func TestExitRecordsWhenForRetention(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Exit test", e.cara)
	e.clock.Advance(time.Hour)
	exitAt := e.clock.Now()
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"status": "exited"}); rec.Code != http.StatusOK {
		t.Fatalf("exit: %d %s", rec.Code, rec.Body)
	}
	got, err := e.st.GetParticipant(t.Context(), p.ID)
	if err != nil || got.Status != store.Exited || !got.ExitedAt.Equal(exitAt) {
		t.Fatalf("after exit: status %q exited_at %v (want %v), err %v", got.Status, got.ExitedAt, exitAt, err)
	}
	e.clock.Advance(time.Hour)
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"status": "active"}); rec.Code != http.StatusOK {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	got, _ = e.st.GetParticipant(t.Context(), p.ID)
	if got.Status != store.Active || !got.ExitedAt.IsZero() {
		t.Fatalf("after resume: status %q exited_at %v", got.Status, got.ExitedAt)
	}
}

// A caseworker's erasure takes everything about the person; the audit log
// keeps one entry: that the erasure happened, by whom and when.
func TestErasureKeepsOnlyWhoAndWhen(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	ctx := t.Context()
	p := e.participant("Erase test", e.cara)
	other := e.participant("Stays", e.cara)
	e.attentionItem(p, store.AttentionMissed)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.st.RecordCheckIn(ctx, store.CheckIn{ID: "c_1", ParticipantID: p.ID, At: e.clock.Now(), Channel: store.SMS, Outcome: store.OnTime}))
	must(e.st.PutLink(ctx, store.Link{Index: "ix_erase", Channel: store.SMS, ParticipantID: p.ID, Sealed: []byte{1}, Masked: "+44 7*** ***123", LinkedAt: e.clock.Now()}))
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"label": "Renamed"}); rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	before, _ := e.st.ListAudit(ctx, p.ID, 0)
	if len(before) == 0 {
		t.Fatal("the update was not audited; the test needs an entry to see go")
	}

	e.clock.Advance(time.Minute)
	if rec := e.api(e.cara, http.MethodDelete, "/api/v1/participants/"+p.ID, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if _, err := e.st.GetParticipant(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("participant still there: %v", err)
	}
	if _, err := e.st.GetLink(ctx, "ix_erase"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link still there: %v", err)
	}
	if cis, _ := e.st.CheckInsOf(ctx, p.ID, time.Time{}); len(cis) != 0 {
		t.Errorf("check-ins left: %+v", cis)
	}
	entries, err := e.st.ListAudit(ctx, p.ID, 0)
	must(err)
	if len(entries) != 1 {
		t.Fatalf("audit of the erased person: %+v, want the erasure alone", entries)
	}
	got := entries[0]
	if got.Action != "participant_erased" || got.Actor != e.cara.ID || !got.At.Equal(e.clock.Now()) || got.Detail != "" {
		t.Errorf("erasure entry %+v: want participant_erased by %s at %v with no detail", got, e.cara.ID, e.clock.Now())
	}
	if _, err := e.st.GetParticipant(ctx, other.ID); err != nil {
		t.Errorf("the other participant went too: %v", err)
	}
}

// Every answer, whatever the route or status, carries the security
// headers; HSTS only when the public URL is https; nothing but static files
// may be cached.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"https://waymark.example.org", "http://localhost:8080"} {
		e := newCaseworkerEnv(t, envOptions{publicURL: public})
		for _, r := range []struct{ method, path string }{
			{"GET", "/healthz"}, {"GET", "/login"}, {"GET", "/attention"}, {"GET", "/api/v1/participants"},
			{"POST", "/webhooks/nothing"}, {"GET", "/no/such/page"}, {"GET", "/static/style.css"}, {"POST", "/login"},
		} {
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, nil))
			h := rec.Header()
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s %s (%d): CSP %q", r.method, r.path, rec.Code, csp)
			}
			for name, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
				if got := h.Get(name); got != want {
					t.Errorf("%s %s: %s = %q, want %q", r.method, r.path, name, got, want)
				}
			}
			if !strings.Contains(h.Get("Permissions-Policy"), "geolocation=()") {
				t.Errorf("%s %s: Permissions-Policy %q", r.method, r.path, h.Get("Permissions-Policy"))
			}
			hsts := h.Get("Strict-Transport-Security")
			if https := strings.HasPrefix(public, "https://"); https != (hsts != "") {
				t.Errorf("%s %s with %s: HSTS %q", r.method, r.path, public, hsts)
			}
			if static := strings.HasPrefix(r.path, "/static/"); static == (h.Get("Cache-Control") == "no-store") {
				t.Errorf("%s %s: Cache-Control %q", r.method, r.path, h.Get("Cache-Control"))
			}
		}
	}
}

// No page carries an inline script or style the CSP would have to allow.
func TestTemplatesHaveNoInlineScript(t *testing.T) {
	t.Parallel()
	var files []string
	err := filepath.WalkDir("templates", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has inline script or style: %q", f, m)
		}
	}
}

// Every route refuses a body over its limit, GET routes and unknown ones
// included, before any handler reads it.
func TestBodyLimitOnEveryRoute(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	huge := strings.Repeat("a", 600<<10)
	big := strings.Repeat("a", 100<<10)
	for _, r := range []struct {
		method, path, body string
	}{
		{"GET", "/healthz", huge}, {"GET", "/no/such/page", huge}, {"POST", "/webhooks/anything", huge},
		{"POST", "/login", big}, {"POST", "/setup", big}, {"POST", "/api/v1/participants", big}, {"POST", "/simulator/send", huge},
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+e.tokens[e.admin.ID])
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s %s with %d bytes: %d, want 413", r.method, r.path, len(r.body), rec.Code)
		}
	}
}

// A panic or an internal error answers "internal error" and nothing more:
// no stack, no error text, no data from the request. The panic is logged
// through the server's logger, with the stack.
func TestPanicsAndInternalErrorsStayInside(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	srv := NewServer(Deps{
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Webhooks: []Webhook{
			{Path: "/panic", Handler: func(c echo.Context) error { panic("boom at /srv/waymark/internal/x.go for p_secretid") }},
			{Path: "/fail", Handler: func(c echo.Context) error {
				return fmt.Errorf("redis: dial tcp 10.0.0.5:6379: connection refused for p_secretid")
			}},
		},
	})
	for _, path := range []string{"/webhooks/panic", "/webhooks/fail"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader("x=1")))
		body := rec.Body.String()
		if rec.Code != http.StatusInternalServerError || strings.TrimSpace(body) != `{"error":"internal error"}` {
			t.Errorf("%s: %d %q", path, rec.Code, body)
		}
	}
	if !strings.Contains(logs.String(), "panic while handling a request") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic was not logged with its stack through the server's logger:\n%s", logs.String())
	}
}

func TestServerTimeoutsAreSet(t *testing.T) {
	t.Parallel()
	srv := NewServer(Deps{Log: slog.New(slog.DiscardHandler)})
	hs := srv.httpServer(":0")
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 || hs.ErrorLog == nil {
		t.Errorf("server %+v: every timeout, a header limit and an error log must be set", hs)
	}
	if requestTimeout >= hs.WriteTimeout {
		t.Errorf("a handler's deadline (%s) must end before the write timeout (%s), so the client gets an answer", requestTimeout, hs.WriteTimeout)
	}
}
