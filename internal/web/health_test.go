package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/metrics"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/web"
	"github.com/waymark-atd/waymark/locales"
)

const (
	opsAccount = "ACops0123456789"
	opsToken   = "opstoken0123456789"
	opsFrom    = "+15005550006"
	opsPhone   = "+447700900456"
)

// opsServer is the whole web server as serve builds it: metrics over an
// instrumented bolt store, the Twilio webhooks with the outbox sending to
// a fake Twilio, and the simulator.
type opsServer struct {
	t          *testing.T
	url        string
	srv        *web.Server
	raw        *bolt.Store
	store      store.Store
	dispatcher *outbox.Dispatcher
	twilio     *twiliotest.Server
	metrics    *metrics.Metrics
}

func newOpsServer(t *testing.T) *opsServer {
	t.Helper()
	set, problems := flow.Load(flows.FS)
	bundle, lp := locale.Load(locales.FS)
	if len(problems)+len(lp) > 0 {
		t.Fatalf("shipped content: %v %v", problems, lp)
	}
	bundle.SetDefault(set.Programme.DefaultLanguage)
	content := &conversation.Content{Flows: set, Locale: bundle}
	dir := t.TempDir()
	raw, err := bolt.Open(filepath.Join(dir, "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	scratch, err := bolt.Open(filepath.Join(dir, "sim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scratch.Close() })

	// The public URL must be known before the server is built: status
	// callbacks come back to it.
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)

	m := metrics.New("test")
	st := metrics.InstrumentStore(raw, m)
	box, _ := seal.New(bytes.Repeat([]byte{2}, seal.KeySize))
	log := slog.New(slog.DiscardHandler)
	conv := conversation.New(st, box, conversation.NewLive(content), clock.System{}, log, nil)
	sim, err := simulator.New(scratch, conv.Content, log)
	if err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.New(t, opsAccount, opsToken)
	sms, err := twilio.NewSender(twilio.Config{AccountSID: opsAccount, AuthToken: opsToken, From: opsFrom, APIURL: fake.URL, PublicURL: ts.URL, MPS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	opener := func(_ context.Context, l store.Link) (string, error) { return box.Open(string(l.Channel), l.Sealed) }
	d := outbox.New(st, map[store.Channel]outbox.Sender{store.SMS: sms, store.WhatsApp: sms}, opener, clock.System{}, log,
		outbox.Options{Observer: m.Outbox(), OptOutKinds: set.OptOutConfirmations()})
	hooks := &twilio.Webhooks{AuthToken: opsToken, PublicURL: ts.URL, Conversation: conv, Statuses: d, Log: log}
	srv := web.NewServer(web.Deps{
		Store: st, Conversation: conv, Simulator: sim, Log: log, PublicURL: ts.URL, Metrics: m,
		Webhooks: []web.Webhook{
			{Path: twilio.InboundRoute, Handler: hooks.HandleInbound},
			{Path: twilio.StatusRoute, Handler: hooks.HandleStatus},
		},
	})
	handler = srv
	return &opsServer{t: t, url: ts.URL, srv: srv, raw: raw, store: st, dispatcher: d, twilio: fake, metrics: m}
}

func (s *opsServer) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sms posts an inbound SMS webhook signed as Twilio would (or with a
// wrong signature) and returns the status.
func (s *opsServer) sms(sid, body string, signed bool) int {
	s.t.Helper()
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {opsAccount}, "From": {opsPhone}, "To": {opsFrom},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
	target := s.url + "/webhooks/twilio/sms"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sig := twiliotest.Sign(opsToken, target, form)
	if !signed {
		sig = twiliotest.Sign("not-the-token", target, form)
	}
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// enrol makes a participant with a label and an enrolment code.
func (s *opsServer) enrol(label string) (id, code string) {
	s.t.Helper()
	ctx := context.Background()
	id, code = store.NewID("p_"), "OPS"+strings.ToUpper(store.NewID("")[:5])
	now := time.Now()
	if err := s.store.CreateParticipant(ctx, store.Participant{ID: id, Label: label, Language: "en", TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		s.t.Fatal(err)
	}
	if err := s.store.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: id, ExpiresAt: now.Add(time.Hour)}); err != nil {
		s.t.Fatal(err)
	}
	return id, code
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	s := newOpsServer(t)
	if code, body := s.get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	// Alive does not depend on the store: a Redis outage must not make an
	// orchestrator restart every replica.
	s.raw.Close()
	if code, _ := s.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with the store down = %d, want 200", code)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	t.Run("ready", func(t *testing.T) {
		s := newOpsServer(t)
		if code, body := s.get("/readyz"); code != http.StatusOK || body != "ready\n" {
			t.Errorf("/readyz = %d %q", code, body)
		}
	})
	t.Run("store down", func(t *testing.T) {
		s := newOpsServer(t)
		s.raw.Close()
		if code, body := s.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
			t.Errorf("/readyz with the store closed = %d %q, want 503 naming the store", code, body)
		}
		// The failed ping is counted as a store error.
		_, text := s.get("/metrics")
		if !regexp.MustCompile(`waymark_store_errors_total\{kind="(unavailable|other)",op="Ping"\} [1-9]`).MatchString(text) {
			t.Errorf("the failed ping is not counted:\n%s", grepLines(text, "waymark_store_errors"))
		}
	})
	t.Run("draining", func(t *testing.T) {
		s := newOpsServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if code, body := s.get("/readyz"); code != http.StatusServiceUnavailable || body != "draining\n" {
			t.Errorf("/readyz while draining = %d %q, want 503 draining", code, body)
		}
		// A webhook is refused so that Twilio retries it elsewhere, and the
		// refusal is counted as draining, not as an outage.
		if code := s.sms("SM0000000000000000000000000000dr01", "HELLO", true); code != http.StatusServiceUnavailable {
			t.Errorf("webhook while draining = %d, want 503", code)
		}
		_, text := s.get("/metrics")
		if !strings.Contains(text, `waymark_webhooks_rejected_total{channel="twilio",reason="draining",route="/twilio/sms"} 1`) {
			t.Errorf("draining refusal not counted:\n%s", grepLines(text, "waymark_webhooks"))
		}
	})
}

// After real traffic (the simulator's API, signed and forged Twilio
// webhooks, sends to a fake Twilio and a status callback), /metrics has
// every Waymark metric with the counts that traffic makes, and no label
// value that could identify a person.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newOpsServer(t)
	ctx := context.Background()
	const label = "Amina Q"
	pid, code := s.enrol(label)

	// Simulator traffic: a whole conversation through the JSON API.
	a := &simAPI{t: t, url: s.url}
	status, out := a.post("/simulator/api/sessions", map[string]string{"language": "es"})
	if status != http.StatusCreated {
		t.Fatalf("simulator start: %d %v", status, out)
	}
	a.id = out["id"].(string)
	a.say("JOIN " + out["code"].(string))
	a.say("1")

	// Twilio traffic: enrol by SMS, consent, check in; one forged webhook.
	for i, text := range []string{"JOIN " + code, "1", "1", "hello", "1"} {
		if got := s.sms("SM00000000000000000000000000ops0"+string(rune('a'+i)), text, true); got != http.StatusOK {
			t.Fatalf("webhook %q = %d", text, got)
		}
		for {
			n, err := s.dispatcher.DispatchOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	if got := s.sms("SM00000000000000000000000000forged", "1", false); got != http.StatusForbidden {
		t.Fatalf("forged webhook = %d, want 403", got)
	}
	sent := s.twilio.Accepted()
	if len(sent) == 0 {
		t.Fatal("nothing reached the fake Twilio")
	}
	if resp, err := s.twilio.SendStatus(ctx, sent[0], "delivered", ""); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status callback: %v %v", resp, err)
	}
	checkins, err := s.store.CheckInsOf(ctx, pid, time.Time{})
	if err != nil || len(checkins) != 1 {
		t.Fatalf("check-ins = %v %v, want one", checkins, err)
	}

	status, text := s.get("/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, name := range []string{
		metrics.NameWebhooksReceived, metrics.NameWebhooksRejected, metrics.NameOutboxQueued, metrics.NameOutboxSent,
		metrics.NameOutboxStatus, metrics.NameSendSeconds, metrics.NameCheckIns, metrics.NameBuildInfo,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, want := range []string{
		`waymark_webhooks_received_total{channel="twilio",class="2xx",route="/twilio/sms"} 5`,
		`waymark_webhooks_received_total{channel="twilio",class="2xx",route="/twilio/status"} 1`,
		`waymark_webhooks_rejected_total{channel="twilio",reason="bad_signature",route="/twilio/sms"} 1`,
		`waymark_outbox_sent_total{channel="sms"} ` + itoa(len(sent)),
		`waymark_outbox_status_total{channel="sms",status="delivered"} 1`,
		`waymark_outbox_send_seconds_count{channel="sms"} ` + itoa(len(sent)),
		`waymark_build_info{version="test"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %q; it has:\n%s", want, grepLines(text, strings.SplitN(want, "{", 2)[0]))
		}
	}
	queued := regexp.MustCompile(`waymark_outbox_queued_total\{channel="sms"\} (\d+)`).FindStringSubmatch(text)
	if queued == nil || queued[1] != itoa(len(sent)) {
		t.Errorf("queued %v, want %d (every message queued was sent)", queued, len(sent))
	}
	if !regexp.MustCompile(`waymark_checkins_total\{outcome="(on_time|unscheduled|late)"\} 1`).MatchString(text) {
		t.Errorf("the check-in is not counted:\n%s", grepLines(text, "waymark_checkins"))
	}

	// Nothing personal: not the phone number, the participant's ID or
	// label, the enrolment code, the session, or anything shaped like them.
	for _, secret := range []string{opsPhone, strings.TrimPrefix(opsPhone, "+"), pid, label, code, a.id} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}
	labelValue := regexp.MustCompile(`([a-z_]+)="([^"]*)"`)
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "waymark_") {
			continue
		}
		for _, m := range labelValue.FindAllStringSubmatch(line, -1) {
			v := m[2]
			switch {
			case m[1] == "le": // a histogram bucket's bound
			case regexp.MustCompile(`\d{5,}`).MatchString(v):
				t.Errorf("label value %q looks like a phone number or chat ID: %s", v, line)
			case regexp.MustCompile(`^(p|m|c|n|a|s)_[a-z2-7]{8,}$`).MatchString(v):
				t.Errorf("label value %q looks like an ID: %s", v, line)
			case regexp.MustCompile(`[A-Z ]`).MatchString(v):
				t.Errorf("label value %q looks like a name or free text: %s", v, line)
			}
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func grepLines(text, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
