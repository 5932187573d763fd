package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// Fake credentials: letters and digits only, as twilio-go insists.
const (
	testAccount = "ACtest0123456789"
	testToken   = "authtoken0123456789"
	testFrom    = "+15005550006"
	testPhone   = "+447700900123"
)

// service is a running `waymark serve` in this process, on a real port,
// with a real store and the real twilio-go client talking to a fake Twilio.
type service struct {
	t      *testing.T
	public string
	store  store.Store
	box    *seal.Box
	clock  *offsetClock
	twilio *twiliotest.Server
	logs   *testkit.Logs
	stop   func()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startService(t *testing.T, st store.Store, fake *twiliotest.Server, key string) *service {
	t.Helper()
	return startServiceEnv(t, st, fake, key, nil)
}

// startServiceEnv is startService with more WAYMARK_* settings.
func startServiceEnv(t *testing.T, st store.Store, fake *twiliotest.Server, key string, extra map[string]string) *service {
	t.Helper()
	addr := freeAddr(t)
	public := "http://" + addr
	env := map[string]string{
		"WAYMARK_ADDR":               addr,
		"WAYMARK_DATA_DIR":           t.TempDir(),
		"WAYMARK_PUBLIC_URL":         public,
		"WAYMARK_SECRET_KEY":         key,
		"WAYMARK_TWILIO_ACCOUNT_SID": testAccount,
		"WAYMARK_TWILIO_AUTH_TOKEN":  testToken,
		"WAYMARK_TWILIO_FROM":        testFrom,
		"WAYMARK_TWILIO_API_URL":     fake.URL,
		"WAYMARK_TWILIO_MPS":         "1000",
		"WAYMARK_LOG_LEVEL":          "debug",
		"WAYMARK_SIMULATOR":          "false",
		"WAYMARK_SCHEDULER_TICK":     "1s",
	}
	maps.Copy(env, extra)
	cfg, _, err := config.Load(func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := seal.ParseKey(key)
	box, _ := seal.New(k)
	logs := &testkit.Logs{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &offsetClock{}
	s := &service{t: t, public: public, store: st, box: box, clock: clk, twilio: fake, logs: logs}
	s.stop = serveInTest(t, cfg, log, st, clk, public)
	return s
}

// serveInTest runs the service on st in this process, as `waymark serve`
// does, and waits until base answers /readyz; stop ends it and waits for
// it to return.
func serveInTest(t *testing.T, cfg config.Config, log *slog.Logger, st store.Store, clk clock.Clock, base string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, log, st, clk) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
	waitFor(t, "server ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sms posts a signed inbound SMS webhook, as Twilio would, and returns the
// status and body of the answer.
func (s *service) sms(sid, from, body string) (int, string) {
	s.t.Helper()
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testAccount}, "From": {from}, "To": {testFrom},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		"FromCity": {"LONDON"}, "FromCountry": {"GB"}, "FromZip": {"N1"}, "FromState": {"London"},
	}
	return s.inbound(form)
}

// inbound posts a signed inbound message webhook with form as its fields.
func (s *service) inbound(form url.Values) (int, string) {
	s.t.Helper()
	target := s.public + "/webhooks/twilio/sms"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// awaitSent waits until the fake has accepted n messages in all and returns
// those after the first `after`.
// awaitSettled waits until no message of the people is waiting to be
// sent: a webhook queues its replies before it answers, so once none is
// pending, every send there will be has been made and recorded, and a
// duplicate would be counted rather than missed by waiting too little.
func awaitSettled(t *testing.T, st store.Store, pids ...string) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "every queued message to be sent", func() bool {
		for _, pid := range pids {
			msgs, err := st.OutboundOf(ctx, pid)
			if err != nil {
				return false
			}
			for _, m := range msgs {
				if m.Status == store.Pending {
					return false
				}
			}
		}
		return true
	})
}

// awaitQuiet waits until the service has done all it had to do by now
// for the people: none of their scheduled items is due any more (the
// scheduler ends an item and queues what it sends in one step, and plans
// what follows in that step too), and none of their messages is waiting
// to be sent. It is what a pause of a scheduler tick and an outbox pass
// hoped for, made sure of whatever the load on the machine.
func awaitQuiet(t *testing.T, st store.Store, clk clock.Clock, pids ...string) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "every item due by now to be handled", func() bool {
		now := clk.Now()
		for _, pid := range pids {
			due, err := st.DueOf(ctx, pid)
			if err != nil {
				return false
			}
			if len(due) > 0 && !due[0].DueAt.After(now) { // ordered by DueAt
				return false
			}
		}
		return true
	})
	awaitSettled(t, st, pids...)
}

func (s *service) awaitSent(after, n int) []twiliotest.Request {
	s.t.Helper()
	waitFor(s.t, "messages at the fake Twilio", func() bool { return len(s.twilio.Accepted()) >= n })
	return s.twilio.Accepted()[after:]
}

func enrolParticipant(t *testing.T, st store.Store, lang string) (id, code string) {
	t.Helper()
	ctx := context.Background()
	id, code = store.NewID("p_"), "CODE"+strings.ToUpper(store.NewID("")[:4])
	now := time.Now()
	if err := st.CreateParticipant(ctx, store.Participant{ID: id, Label: "E2E", Language: lang, TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: id, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return id, code
}

func openBolt(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestTwilioEndToEnd(t *testing.T) {
	fake := twiliotest.New(t, testAccount, testToken)
	st := openBolt(t)
	key := seal.NewKey()
	s := startService(t, st, fake, key)
	defer s.stop()
	ctx := context.Background()
	pid, code := enrolParticipant(t, st, "es")

	// JOIN: answered with empty TwiML at once; the welcome, the privacy
	// notice (three messages) and the consent question follow through the
	// Messages API, in order and in Spanish.
	status, body := s.sms("SM00000000000000000000000000000001", testPhone, "UNIRSE "+code)
	if status != http.StatusOK || !strings.Contains(body, "<Response/>") {
		t.Fatalf("JOIN answered %d %q", status, body)
	}
	got := s.awaitSent(0, 5)
	if got[0].To != testPhone || got[0].From != testFrom {
		t.Errorf("sent to %q from %q", got[0].To, got[0].From)
	}
	if !strings.Contains(got[4].Body, "1 - Sí, acepto") {
		t.Errorf("consent question not in Spanish: %q", got[4].Body)
	}
	if !strings.Contains(got[0].StatusCallback, "/webhooks/twilio/status?id=m_") {
		t.Errorf("status callback %q does not carry our message ID", got[0].StatusCallback)
	}

	// A retried webhook (same MessageSid) changes nothing.
	s.sms("SM00000000000000000000000000000001", testPhone, "UNIRSE "+code)

	// Agree, keep Spanish, check in from the menu, ask for information.
	s.sms("SM00000000000000000000000000000002", testPhone, "sí")
	s.awaitSent(5, 6)
	s.sms("SM00000000000000000000000000000003", testPhone, "2")
	s.awaitSent(6, 7)
	s.sms("SM00000000000000000000000000000004", testPhone, "hola")
	s.awaitSent(7, 8)
	s.sms("SM00000000000000000000000000000005", testPhone, "1")
	thanks := s.awaitSent(8, 9)[0]
	s.sms("SM00000000000000000000000000000006", testPhone, "AYUDA")
	info := s.awaitSent(9, 10)[0]
	if !strings.Contains(info.Body, "1 - ") {
		t.Errorf("information menu = %q", info.Body)
	}
	checkins, _ := st.CheckInsOf(ctx, pid, time.Time{})
	if len(checkins) != 1 || checkins[0].Channel != store.SMS {
		t.Fatalf("check-ins = %+v, want one by SMS", checkins)
	}

	// Status callbacks: delivered drops the text; a late "sent" does not
	// move it back.
	if resp, err := fake.SendStatus(ctx, thanks, "delivered", ""); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status callback: %v %v", resp, err)
	}
	fake.SendStatus(ctx, thanks, "sent", "")
	id := thanks.StatusCallback[strings.Index(thanks.StatusCallback, "id=")+3:]
	m, err := st.GetOutbound(ctx, id)
	if err != nil || m.Status != store.Delivered || m.Text != "" {
		t.Errorf("after delivered: status %q text %q err %v", m.Status, m.Text, err)
	}

	// A 503 is retried and delivered once.
	fake.Script(twiliotest.Response{Status: http.StatusServiceUnavailable})
	s.sms("SM00000000000000000000000000000007", testPhone, "MENU")
	waitFor(t, "the 503 attempt", func() bool { return len(fake.Requests()) >= 11 })
	// The clock moves past the backoff only once the outbox has recorded
	// it: moved before, the retry would wait a minute from the new time.
	waitFor(t, "the retry to be planned", func() bool {
		msgs, err := st.OutboundOf(ctx, pid)
		if err != nil {
			return false
		}
		for _, m := range msgs {
			if m.Status == store.Pending && m.Attempts > 0 && m.NotBefore.After(s.clock.Now()) {
				return true
			}
		}
		return false
	})
	s.clock.Advance(time.Minute) // past the backoff
	s.awaitSent(10, 11)
	awaitSettled(t, st, pid)
	if n := len(fake.Accepted()); n != 11 {
		t.Errorf("%d messages accepted after a retried 503, want 11 (delivered once)", n)
	}

	// 21610 (the person texted STOP to the carrier): unreachable, shown to
	// the caseworker as "can't reach", never as a miss, and not retried.
	fake.Script(twiliotest.Response{Status: http.StatusBadRequest, Code: 21610})
	s.sms("SM00000000000000000000000000000008", testPhone, "MENU")
	waitFor(t, "the link to be marked unreachable", func() bool {
		l, err := st.GetLink(ctx, s.box.Index("sms", testPhone))
		return err == nil && l.Unreachable && l.Reason == "21610"
	})
	// The link is marked before the attention item is added: wait for both.
	var items []store.AttentionItem
	waitFor(t, "the can't-reach attention item", func() bool {
		items, _ = st.ListAttention(ctx, true)
		return slices.ContainsFunc(items, func(it store.AttentionItem) bool { return it.Kind == store.AttentionCantReach })
	})
	var cantReach int
	for _, it := range items {
		switch it.Kind {
		case store.AttentionCantReach:
			cantReach++
		case store.AttentionMissed:
			t.Errorf("a delivery failure was recorded as a missed check-in")
		}
	}
	if cantReach != 1 {
		t.Errorf("attention items = %+v, want one can't-reach", items)
	}

	// Nothing personal in the logs: no number, no text, no token.
	logs := s.logs.String()
	for _, leak := range []string{testPhone, "447700900", testToken, code, "UNIRSE", "hola", "AYUDA", thanks.Body, info.Body} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

func TestTwilioWebhookRefusals(t *testing.T) {
	fake := twiliotest.New(t, testAccount, testToken)
	st := openBolt(t)
	s := startService(t, st, fake, seal.NewKey())
	defer s.stop()
	target := s.public + "/webhooks/twilio/sms"
	form := url.Values{"MessageSid": {"SM1"}, "From": {testPhone}, "Body": {"hello"}}

	post := func(sig, body string, contentType ...string) int {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(contentType) > 0 {
			req.Header.Set("Content-Type", contentType[0])
		}
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tampered := url.Values{"MessageSid": {"SM1"}, "From": {testPhone}, "Body": {"hello!"}}
	for name, tc := range map[string]struct {
		sig, body string
		want      int
	}{
		"missing signature": {"", form.Encode(), http.StatusForbidden},
		"wrong signature":   {"bm90IGEgc2lnbmF0dXJl", form.Encode(), http.StatusForbidden},
		"tampered body":     {twiliotest.Sign(testToken, target, form), tampered.Encode(), http.StatusForbidden},
		"oversized body":    {"x", "Body=" + strings.Repeat("a", 100<<10), http.StatusRequestEntityTooLarge},
		"malformed":         {twiliotest.Sign(testToken, target, url.Values{"Body": {"x"}}), url.Values{"Body": {"x"}}.Encode(), http.StatusBadRequest},
	} {
		if got := post(tc.sig, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
	// A rightly signed body sent as something other than a form is not read.
	for _, ct := range []string{"text/plain", ""} {
		if got := post(twiliotest.Sign(testToken, target, form), form.Encode(), ct); got != http.StatusUnsupportedMediaType {
			t.Errorf("signed webhook as %q: status %d, want 415", ct, got)
		}
	}
	// Nothing was stored for any of them.
	if n, _ := st.Seen(context.Background(), "twilio:SM1"); n {
		t.Error("a refused webhook was recorded")
	}
	if _, err := st.GetLink(context.Background(), s.box.Index("sms", testPhone)); err == nil {
		t.Error("a refused webhook linked an address")
	}
}

// offsetClock is the real clock moved ahead by a settable amount: time passes as
// usual, and a test can jump over a backoff or an expiry. Safe for
// concurrent use.
type offsetClock struct {
	mu sync.Mutex
	by time.Duration
}

// Now returns the real time plus the offset.
func (o *offsetClock) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Now().Add(o.by)
}

// Advance moves the clock ahead by d.
func (o *offsetClock) Advance(d time.Duration) {
	o.mu.Lock()
	o.by += d
	o.mu.Unlock()
}
