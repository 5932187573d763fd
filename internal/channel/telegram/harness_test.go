package telegram_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/schedule/scheduletest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/internal/web"
)

const (
	testToken  = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	testSecret = "s3cr3t-Webhook_token-0123456789"
	// chatID is the private chat of every captured payload in testdata.
	chatID = "987654321"
	// fixedCode is the enrolment code in testdata/start_code.json.
	fixedCode = "K7Q2M9XD"
)

// start is a Monday morning in winter, UTC.
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// env is the Telegram channel mounted in the real web server, over a real
// conversation service with the shipped flows and a bolt store, and a
// fake Bot API behind the real client library.
type env struct {
	t       testing.TB
	ctx     context.Context
	store   *bolt.Store
	box     *seal.Box
	clock   *clock.Fake
	conv    *conversation.Service
	windows *schedule.Ledger // the conversation's; a test's scheduler sends by it
	content *conversation.Content
	ch      *telegram.Channel
	api     *telegramtest.Server
	srv     *web.Server
	log     *slog.Logger
	logs    *testkit.Logs
	// bell is the outbox's, rung by the webhook when a turn queued
	// replies; wakes counts the rings.
	bell  *outbox.Bell
	wakes *atomic.Int32
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := clock.NewFake(start)
	st := testkit.Bolt(t, clk)
	box := testkit.Box(t)
	made := scheduletest.New(t, st, box, clk)
	logs, log, content, windows, conv := made.Logs, made.Log, made.Content, made.Ledger, made.Service
	api := telegramtest.New(t, testToken)
	api.Now = clk.Now
	bell, wakes := outbox.NewBell(), &atomic.Int32{}
	ch, err := telegram.New(telegram.Options{
		Token: testToken, APIURL: api.URL, WebhookSecret: testSecret,
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
		Conversation: conv, Store: st, Box: box, Clock: clk, Log: log,
		Wake: func() { wakes.Add(1); bell.Ring() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.NewServer(web.Deps{
		Store: st, Conversation: conv, Log: log, PublicURL: "https://waymark.example.org",
		Webhooks: []web.Webhook{{Path: telegram.WebhookPath, Handler: ch.HandleWebhook}},
	})
	return &env{t: t, ctx: context.Background(), store: st, box: box, clock: clk, conv: conv, windows: windows,
		content: content, ch: ch, api: api, srv: srv, log: log, logs: logs, bell: bell, wakes: wakes}
}

// payload reads a captured update from testdata.
func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends an update to the webhook as Telegram would, with secret in
// the header (none when empty).
func (e *env) post(body []byte, secret string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, telegram.PublicWebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(telegram.SecretHeader, secret)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// enrolCode creates a participant the way a caseworker would, with a
// given enrolment code, and returns its ID.
func (e *env) enrolCode(code, lang string) string {
	e.t.Helper()
	id := store.NewID("p_")
	now := e.clock.Now()
	if err := e.store.CreateParticipant(e.ctx, store.Participant{ID: id, Label: "Test person", Language: lang,
		TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.PutEnrolmentCode(e.ctx, store.EnrolmentCode{Code: code, ParticipantID: id,
		ExpiresAt: now.Add(14 * 24 * time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// known enrols the sender of the captured payloads with /start CODE and
// clears the replies that enrolment queued.
func (e *env) known() string {
	e.t.Helper()
	pid := e.enrolCode(fixedCode, "en")
	if rec := e.post(payload(e.t, "start_code.json"), testSecret); rec.Code != http.StatusOK {
		e.t.Fatalf("enrol: status %d: %s", rec.Code, rec.Body)
	}
	e.queued()
	return pid
}

// queued returns the messages waiting in the outbox and marks them
// delivered, so that the next call sees only new ones.
func (e *env) queued() []store.OutboundMessage {
	e.t.Helper()
	return testkit.Delivered(e.t, e.store, e.clock.Now())
}

func kinds(msgs []store.OutboundMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Kind)
	}
	return out
}

// render is a message as the shipped locale words it.
func (e *env) render(lang, id string) string {
	return e.content.Locale.Render(lang, id, conversation.TemplateData(e.content, lang, nil))
}

func (e *env) index() string { return e.box.Index(string(store.Telegram), chatID) }

func (e *env) link() (store.Link, error) { return e.store.GetLink(e.ctx, e.index()) }

func (e *env) openAttention() []store.AttentionItem {
	e.t.Helper()
	items, err := e.store.ListAttention(e.ctx, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

func (e *env) audit(pid string) []string {
	e.t.Helper()
	entries, err := e.store.ListAudit(e.ctx, pid, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range entries {
		out = append(out, a.Action)
	}
	return out
}

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}

func joined(list []string) string { return strings.Join(list, ",") }
