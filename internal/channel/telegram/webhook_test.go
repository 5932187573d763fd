package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// directReply is a Bot API call given in the webhook's answer.
type directReply struct {
	Method string `json:"method"`
	ChatID int64  `json:"chat_id"`
	Text   string `json:"text"`
}

func decodeReply(t *testing.T, rec *httptest.ResponseRecorder) directReply {
	t.Helper()
	var r directReply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("webhook answer is not a Bot API call: %v: %q", err, rec.Body)
	}
	return r
}

// wantNothingFor checks that a payload changed nothing about the person:
// no link, no queued message, no attention item, and its update not
// recorded as handled.
func (e *env) wantNothingFor(dedupeKey string) {
	e.t.Helper()
	if _, err := e.link(); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("a link exists (err %v); want none", err)
	}
	if q := e.queued(); len(q) > 0 {
		e.t.Errorf("queued %v; want nothing", kinds(q))
	}
	if items := e.openAttention(); len(items) > 0 {
		e.t.Errorf("attention items %v; want none", items)
	}
	if dedupeKey != "" {
		seen, err := e.store.Seen(e.ctx, dedupeKey)
		if err != nil {
			e.t.Fatal(err)
		}
		if seen {
			e.t.Errorf("update %s recorded as handled; want not", dedupeKey)
		}
	}
}

func TestWebhookRefusesWithoutTheSecret(t *testing.T) {
	for _, tc := range []struct{ name, secret string }{
		{"missing", ""},
		{"forged", "s3cr3t-Webhook_token-0123456788"},
		{"prefix", testSecret[:10]},
		{"longer", testSecret + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.enrolCode(fixedCode, "en")
			for _, file := range []string{"start_code.json", "callback.json", "my_chat_member_kicked.json", "malformed.json"} {
				rec := e.post(payload(t, file), tc.secret)
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", file, rec.Code)
				}
			}
			e.wantNothingFor("tg:500000102")
			if calls := e.api.Calls(""); len(calls) > 0 {
				t.Errorf("Bot API called %d times (first %s); want no call for an unverified update", len(calls), calls[0].Method)
			}
			// The code was not used up by the forged request.
			if _, err := e.store.TakeEnrolmentCode(e.ctx, fixedCode); err != nil {
				t.Errorf("enrolment code gone after a forged request: %v", err)
			}
		})
	}
}

func TestWebhookRefusesMalformedUpdates(t *testing.T) {
	for _, file := range []string{"malformed.json", "no_update_id.json", "wrong_type.json"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			e.known()
			rec := e.post(payload(t, file), testSecret)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
			if q := e.queued(); len(q) > 0 {
				t.Errorf("queued %v; want nothing", kinds(q))
			}
		})
	}
	t.Run("two objects", func(t *testing.T) {
		e := newEnv(t)
		body := append(payload(t, "text.json"), payload(t, "text.json")...)
		if rec := e.post(body, testSecret); rec.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", rec.Code)
		}
	})
}

func TestWebhookUnknownSender(t *testing.T) {
	for _, file := range []string{"text.json", "start_plain.json", "location.json", "photo.json", "contact.json"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			rec := e.post(payload(t, file), testSecret)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			r := decodeReply(t, rec)
			if r.Method != "sendMessage" || r.ChatID != 987654321 || !strings.HasPrefix(r.Text, e.render("en", "enrol.unknown_sender")) {
				t.Errorf("direct reply %+v; want enrol.unknown_sender to the chat, first in English", r)
			}
			if _, err := e.link(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("link exists for an unknown sender: %v", err)
			}
			if q := e.queued(); len(q) > 0 {
				t.Errorf("queued %v for an unknown sender; want nothing", kinds(q))
			}
		})
	}
}

func TestWebhookStartCodeEnrols(t *testing.T) {
	e := newEnv(t)
	pid := e.enrolCode(fixedCode, "en")
	rec := e.post(payload(t, "start_code.json"), testSecret)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("status %d, body %q; want 200 and no direct reply", rec.Code, rec.Body)
	}
	l, err := e.link()
	if err != nil {
		t.Fatalf("no link after /start CODE: %v", err)
	}
	if l.ParticipantID != pid || l.Channel != store.Telegram || l.Unreachable {
		t.Errorf("link %+v", l)
	}
	if strings.Contains(l.Masked, chatID) || strings.Contains(string(l.Sealed), chatID) {
		t.Errorf("link keeps the chat ID in clear: %+v", l)
	}
	got := kinds(e.queued())
	if joined(got) != "enrol.welcome,enrol.privacy,privacy.more,privacy.end,enrol.consent" {
		t.Errorf("queued %v; want the enrolment flow", got)
	}
	if !contains(e.audit(pid), "channel_linked") {
		t.Errorf("audit %v; want channel_linked", e.audit(pid))
	}
	// The same link again: already enrolled, nothing linked twice.
	again := strings.Replace(string(payload(t, "start_code.json")), "500000102", "500000202", 1)
	if rec := e.post([]byte(again), testSecret); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := kinds(e.queued()); joined(got) != "enrol.already" {
		t.Errorf("queued %v; want enrol.already", got)
	}
}

func TestWebhookStartCodeUnknownCode(t *testing.T) {
	e := newEnv(t)
	rec := e.post(payload(t, "start_code.json"), testSecret)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if r := decodeReply(t, rec); r.Text != e.render("en", "enrol.bad_code") {
		t.Errorf("reply %q; want enrol.bad_code", r.Text)
	}
	e.wantNothingFor("")
}

func TestWebhookKnownSender(t *testing.T) {
	cases := []struct {
		file string
		want string // the kinds queued
	}{
		{"text.json", "menu.ask"},
		{"start_plain.json", "menu.ask"},
		{"callback.json", "language.ask"}, // 1 answers the pending consent question: agree
		{"location.json", "common.media_not_needed"},
		{"venue.json", "common.media_not_needed"},
		{"contact.json", "common.media_not_needed"},
		{"photo.json", "common.media_not_needed"},
		{"document.json", "common.media_not_needed"},
		{"voice.json", "common.media_not_needed"},
		{"sticker.json", "common.media_not_needed"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			e := newEnv(t)
			e.known()
			body := payload(t, tc.file)
			rec := e.post(body, testSecret)
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("status %d, body %q; want 200 and nothing direct", rec.Code, rec.Body)
			}
			q := e.queued()
			if joined(kinds(q)) != tc.want {
				t.Fatalf("queued %v; want %s", kinds(q), tc.want)
			}
			for _, m := range q {
				if m.Channel != store.Telegram || m.LinkIndex != e.index() {
					t.Errorf("message %s goes to %s/%s; want the Telegram link", m.Kind, m.Channel, m.LinkIndex)
				}
				// Nothing of what was sent comes back out.
				for _, s := range []string{"51.50", "0.127", "Trafalgar", "+44770", "letter", "appointment-letter", "Amira", "amira_k"} {
					if strings.Contains(m.Text, s) {
						t.Errorf("reply text carries %q from the update", s)
					}
				}
			}
			if tc.want == "menu.ask" || tc.want == "language.ask" {
				for i, c := range q[0].Choices {
					if c.Number != i+1 || c.Data != "c:"+strconv.Itoa(i+1) {
						t.Errorf("choice %d: %+v", i, c)
					}
				}
			}
			// A retry of the same update changes nothing.
			if rec := e.post(body, testSecret); rec.Code != http.StatusOK {
				t.Fatalf("retry: status %d", rec.Code)
			}
			if q := e.queued(); len(q) > 0 {
				t.Errorf("retry queued %v; want nothing", kinds(q))
			}
		})
	}
}

func TestWebhookAnswersEveryButtonPress(t *testing.T) {
	t.Run("known", func(t *testing.T) {
		e := newEnv(t)
		e.known()
		e.post(payload(t, "callback.json"), testSecret)
		calls := e.api.Calls("answerCallbackQuery")
		if len(calls) != 1 || calls[0].Form.Get("callback_query_id") != "4382bfdwdsb323b2d9" {
			t.Fatalf("answerCallbackQuery calls %+v; want one for the query", calls)
		}
	})
	t.Run("no message", func(t *testing.T) {
		e := newEnv(t)
		e.known()
		rec := e.post(payload(t, "callback_no_message.json"), testSecret)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if calls := e.api.Calls("answerCallbackQuery"); len(calls) != 1 || calls[0].Form.Get("callback_query_id") != "4382bfdwdsb323b2e0" {
			t.Errorf("answerCallbackQuery calls %+v; want one", calls)
		}
		if q := e.queued(); len(q) > 0 {
			t.Errorf("queued %v; want nothing", kinds(q))
		}
	})
	t.Run("unknown data", func(t *testing.T) {
		e := newEnv(t)
		e.known()
		body := strings.Replace(string(payload(t, "callback.json")), `"data":"c:1"`, `"data":"lang:ar"`, 1)
		if rec := e.post([]byte(body), testSecret); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if n := len(e.api.Calls("answerCallbackQuery")); n != 1 {
			t.Errorf("answerCallbackQuery called %d times; want 1", n)
		}
		if q := e.queued(); len(q) > 0 {
			t.Errorf("queued %v; want nothing", kinds(q))
		}
	})
	t.Run("store down", func(t *testing.T) {
		e := newEnv(t)
		e.known()
		e.store.Close()
		rec := e.post(payload(t, "callback.json"), testSecret)
		if rec.Code < 500 {
			t.Errorf("status %d; want 5xx so that Telegram retries", rec.Code)
		}
		if n := len(e.api.Calls("answerCallbackQuery")); n != 1 {
			t.Errorf("answerCallbackQuery called %d times; want 1 even on failure", n)
		}
	})
	t.Run("bot API down", func(t *testing.T) {
		e := newEnv(t)
		e.known()
		e.api.Script("answerCallbackQuery", telegramtest.Refused(500, "Internal Server Error"))
		if rec := e.post(payload(t, "callback.json"), testSecret); rec.Code != http.StatusOK {
			t.Fatalf("status %d; a failed answer must not fail the press", rec.Code)
		}
		if got := kinds(e.queued()); joined(got) != "language.ask" {
			t.Errorf("queued %v; want the press handled", got)
		}
	})
}

func TestWebhookBlockAndUnblock(t *testing.T) {
	e := newEnv(t)
	pid := e.known()
	if rec := e.post(payload(t, "my_chat_member_kicked.json"), testSecret); rec.Code != http.StatusOK {
		t.Fatalf("kicked: status %d", rec.Code)
	}
	l, err := e.link()
	if err != nil || !l.Unreachable || l.Reason != "blocked" {
		t.Fatalf("after kicked: link %+v, %v; want unreachable, blocked", l, err)
	}
	items := e.openAttention()
	if len(items) != 1 || items[0].Kind != store.AttentionCantReach || items[0].Reason != "telegram:blocked" || items[0].ParticipantID != pid {
		t.Fatalf("attention %+v; want one can't-reach item", items)
	}
	if !contains(e.audit(pid), "link_unreachable") {
		t.Errorf("audit %v", e.audit(pid))
	}
	// Telegram resends the same update: nothing doubles.
	e.post(payload(t, "my_chat_member_kicked.json"), testSecret)
	if n := len(e.openAttention()); n != 1 {
		t.Errorf("%d open items after a repeated update; want 1", n)
	}

	if rec := e.post(payload(t, "my_chat_member_member.json"), testSecret); rec.Code != http.StatusOK {
		t.Fatalf("member: status %d", rec.Code)
	}
	l, err = e.link()
	if err != nil || l.Unreachable || l.Reason != "" {
		t.Fatalf("after member: link %+v, %v; want reachable", l, err)
	}
	if items := e.openAttention(); len(items) != 0 {
		t.Errorf("open attention %+v after unblocking; want the item resolved", items)
	}
	if !contains(e.audit(pid), "link_reachable") {
		t.Errorf("audit %v", e.audit(pid))
	}
}

func TestWebhookBlockUnknownChat(t *testing.T) {
	e := newEnv(t)
	if rec := e.post(payload(t, "my_chat_member_kicked.json"), testSecret); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	e.wantNothingFor("")
}

func TestWebhookRefusesGroups(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		body := strings.Replace(string(payload(t, "group.json")), "500000115", "5000009"+strconv.Itoa(10+i), 1)
		rec := e.post([]byte(body), testSecret)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if i <= 3 {
			r := decodeReply(t, rec)
			if r.ChatID != -1001234567890 || r.Text != e.render("en", "group.refused") {
				t.Errorf("reply %+v; want group.refused to the group", r)
			}
		} else if rec.Body.Len() != 0 {
			t.Errorf("refusal %d: %q; want silence after 3 a day", i, rec.Body)
		}
	}
	e.wantNothingFor("tg:500000115")
}

func TestWebhookIgnores(t *testing.T) {
	for _, file := range []string{"edited.json", "inline_query.json"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			e.known()
			rec := e.post(payload(t, file), testSecret)
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("status %d, body %q; want 200 and nothing", rec.Code, rec.Body)
			}
			if q := e.queued(); len(q) > 0 {
				t.Errorf("queued %v; want nothing", kinds(q))
			}
		})
	}
}

func TestWebhookTooLongText(t *testing.T) {
	e := newEnv(t)
	e.known()
	long := strings.Repeat("word ", 400) // 2000 characters
	body := strings.Replace(string(payload(t, "text.json")), `"text":"menu"`, `"text":"`+long+`"`, 1)
	if rec := e.post([]byte(body), testSecret); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := kinds(e.queued()); joined(got) != "common.too_long" {
		t.Errorf("queued %v; want common.too_long", got)
	}
}

func TestWebhookCommands(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"/help", "info.ask"},
		{"/language", "language.ask"},
		{"/menu", "menu.ask"},
		{"/menu@waymark_test_bot", "menu.ask"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			e := newEnv(t)
			e.known()
			body := strings.Replace(string(payload(t, "text.json")), `"text":"menu"`, `"text":"`+tc.text+`"`, 1)
			if rec := e.post([]byte(body), testSecret); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if got := kinds(e.queued()); joined(got) != tc.want {
				t.Errorf("queued %v; want %s", got, tc.want)
			}
		})
	}
}

func TestWebhookStoreDown(t *testing.T) {
	for _, file := range []string{"text.json", "my_chat_member_kicked.json", "group.json"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			e.known()
			e.store.Close()
			if rec := e.post(payload(t, file), testSecret); rec.Code < 500 {
				t.Errorf("status %d; want 5xx so that Telegram retries", rec.Code)
			}
		})
	}
}

// BenchmarkWebhookText is one text message from an enrolled person through
// the whole server: secret check, decoding, a conversation turn and its
// bolt write.
func BenchmarkWebhookText(b *testing.B) {
	e := newEnv(b)
	e.known()
	tmpl := string(payload(b, "text.json"))
	id := 600000000
	for b.Loop() {
		id++
		body := strings.Replace(tmpl, "500000101", strconv.Itoa(id), 1)
		if rec := e.post([]byte(body), testSecret); rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// TestWebhookRefusesOtherContentTypes: an update with the right secret but
// sent as text/plain, or with no content type, is refused before it is
// read.
func TestWebhookRefusesOtherContentTypes(t *testing.T) {
	for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded"} {
		e := newEnv(t)
		e.known()
		req := httptest.NewRequest(http.MethodPost, telegram.PublicWebhookPath, bytes.NewReader(payload(t, "text.json")))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set(telegram.SecretHeader, testSecret)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("%q: status %d, want 415", ct, rec.Code)
		}
		if q := e.queued(); len(q) > 0 {
			t.Errorf("%q: queued %v; want nothing", ct, kinds(q))
		}
	}
}

// A known person's reply leaves as soon as their turn queued it: the
// webhook rings the outbox's bell, and a dispatcher that would otherwise
// look only once an hour sends it. A retried update, and an unknown
// sender's answer given in the webhook's reply, ring nothing.
func TestWebhookWakesTheOutbox(t *testing.T) {
	e := newEnv(t)
	e.known()
	opener := func(_ context.Context, l store.Link) (string, error) { return e.box.Open(string(l.Channel), l.Sealed) }
	disp := outbox.New(e.store, map[store.Channel]outbox.Sender{store.Telegram: e.ch}, opener, e.clock, e.log,
		outbox.Options{Owner: "wake", Bell: e.bell, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); disp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	before, rung := len(e.api.Calls("sendMessage")), e.wakes.Load()
	body := payload(t, "text.json")
	if rec := e.post(body, testSecret); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if e.wakes.Load() != rung+1 {
		t.Fatalf("%d rings for one turn that queued a reply", e.wakes.Load()-rung)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.api.Calls("sendMessage")) == before {
		if time.Now().After(deadline) {
			t.Fatal("the reply did not leave: the dispatcher was not woken")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rung = e.wakes.Load()
	if rec := e.post(body, testSecret); rec.Code != http.StatusOK {
		t.Fatalf("retry: status %d", rec.Code)
	}
	if n := e.wakes.Load() - rung; n != 0 {
		t.Errorf("%d rings for a retried update", n)
	}
	stranger := newEnv(t)
	if rec := stranger.post(body, testSecret); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Fatalf("unknown sender: status %d, %q", rec.Code, rec.Body)
	}
	if n := stranger.wakes.Load(); n != 0 {
		t.Errorf("%d rings for an unknown sender's answer in the webhook's reply", n)
	}
}
