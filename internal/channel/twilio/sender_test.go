package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

const (
	testSID    = "AC0123456789abcdef0123456789abcdef"
	testToken  = "authtoken0123456789abcdef01234567"
	testFrom   = "+15005550006"
	testPerson = "+447700900123"
	testPublic = "https://public.example.org"
)

func newSender(t *testing.T, fake *twiliotest.Server, mutate ...func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		AccountSID: testSID, AuthToken: testToken, From: testFrom,
		APIURL: fake.URL, PublicURL: testPublic, Timeout: 2 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := twilio.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msg(id string, ch store.Channel, text string) store.OutboundMessage {
	return store.OutboundMessage{ID: id, ParticipantID: "p_1", LinkIndex: "idx", Channel: ch, Kind: "checkin.ask", Text: text, Status: store.Pending}
}

func TestSendSMS(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake)
	sid, err := s.Send(context.Background(), testPerson, msg("m_abc", store.SMS, "Hello, it is time to check in. Reply 1"))
	if err != nil {
		t.Fatal(err)
	}
	got := fake.Accepted()
	if len(got) != 1 || got[0].SID != sid {
		t.Fatalf("fake accepted %+v, sender returned %q", got, sid)
	}
	r := got[0]
	if r.To != testPerson || r.From != testFrom || r.MessagingServiceSid != "" || r.Body != "Hello, it is time to check in. Reply 1" {
		t.Errorf("request %+v", r)
	}
	if want := testPublic + "/webhooks/twilio/status?id=m_abc"; r.StatusCallback != want {
		t.Errorf("StatusCallback %q, want %q", r.StatusCallback, want)
	}
	if s.StatusCallback("m_a&b") != testPublic+"/webhooks/twilio/status?id=m_a%26b" {
		t.Errorf("callback ID not escaped: %s", s.StatusCallback("m_a&b"))
	}
}

func TestSendWhatsAppAndMessagingService(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake, func(c *twilio.Config) { c.From = "whatsapp:" + testFrom })
	if _, err := s.Send(context.Background(), testPerson, msg("m_1", store.WhatsApp, "Hola")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), testPerson, msg("m_2", store.SMS, "Hola")); err != nil {
		t.Fatal(err)
	}
	svc := newSender(t, fake, func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef" })
	if _, err := svc.Send(context.Background(), testPerson, msg("m_3", store.SMS, "Hola")); err != nil {
		t.Fatal(err)
	}
	got := fake.Accepted()
	if len(got) != 3 {
		t.Fatalf("%d accepted", len(got))
	}
	if got[0].To != "whatsapp:"+testPerson || got[0].From != "whatsapp:"+testFrom {
		t.Errorf("WhatsApp addresses %q from %q", got[0].To, got[0].From)
	}
	if got[1].To != testPerson || got[1].From != testFrom {
		t.Errorf("SMS from a WhatsApp-configured number: %q from %q", got[1].To, got[1].From)
	}
	if got[2].From != "" || got[2].MessagingServiceSid != "MG0123456789abcdef0123456789abcdef" {
		t.Errorf("messaging service request %+v", got[2])
	}
}

func TestSendErrors(t *testing.T) {
	cases := []struct {
		name        string
		resp        twiliotest.Response
		permanent   bool
		unreachable bool
		code        string
		after       time.Duration
	}{
		{"unsubscribed", twiliotest.Response{Status: 400, Code: 21610}, true, true, "21610", 0},
		{"invalid number", twiliotest.Response{Status: 400, Code: 21211}, true, true, "21211", 0},
		{"not mobile", twiliotest.Response{Status: 400, Code: 21614}, true, true, "21614", 0},
		{"landline", twiliotest.Response{Status: 400, Code: 21635}, true, true, "21635", 0},
		{"no route", twiliotest.Response{Status: 400, Code: 21612}, true, true, "21612", 0},
		{"region not enabled", twiliotest.Response{Status: 400, Code: 21408}, true, true, "21408", 0},
		{"from cannot reach", twiliotest.Response{Status: 400, Code: 21606}, true, true, "21606", 0},
		{"unknown number", twiliotest.Response{Status: 400, Code: 30005}, true, true, "30005", 0},
		{"landline carrier", twiliotest.Response{Status: 400, Code: 30006}, true, true, "30006", 0},
		{"blocked", twiliotest.Response{Status: 400, Code: 30004}, true, true, "30004", 0},
		{"body too long", twiliotest.Response{Status: 400, Code: 21617}, true, false, "21617", 0},
		{"other refusal", twiliotest.Response{Status: 400, Code: 21999}, true, false, "21999", 0},
		{"too many requests", twiliotest.Response{Status: 429, Code: 20429, RetryAfter: "7"}, false, false, "20429", 7 * time.Second},
		{"queue full", twiliotest.Response{Status: 400, Code: 21611}, false, false, "21611", time.Minute},
		{"service unavailable", twiliotest.Response{Status: 503, Code: 20503}, false, false, "503", 0},
		{"proxy error page", twiliotest.Response{Status: 502, RawBody: "<html>Bad Gateway</html>"}, false, false, "502", 0},
		{"proxy 404 page", twiliotest.Response{Status: 404, RawBody: "<html>Not Found</html>"}, true, false, "http_404", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := twiliotest.New(t, testSID, testToken)
			fake.Script(c.resp)
			s := newSender(t, fake)
			_, err := s.Send(context.Background(), testPerson, msg("m_1", store.SMS, "Reminder"))
			if err == nil {
				t.Fatal("no error")
			}
			assertNoSecrets(t, err)
			var pe *outbox.PermanentError
			if errors.As(err, &pe) != c.permanent {
				t.Fatalf("%v: permanent=%v, want %v", err, !c.permanent, c.permanent)
			}
			if c.permanent {
				if pe.Code != c.code || pe.Unreachable != c.unreachable {
					t.Errorf("got %+v, want code %s unreachable %v", pe, c.code, c.unreachable)
				}
				return
			}
			var ra *outbox.RetryAfterError
			var te *outbox.TemporaryError
			switch {
			case errors.As(err, &ra):
				if ra.Code != c.code || ra.After != c.after {
					t.Errorf("got %+v, want code %s after %s", ra, c.code, c.after)
				}
			case errors.As(err, &te):
				if te.Code != c.code || c.after != 0 {
					t.Errorf("got %+v, want code %s after %s", te, c.code, c.after)
				}
			default:
				t.Errorf("unclassified error %T %v", err, err)
			}
		})
	}
}

func TestSendWrongCredentials(t *testing.T) {
	fake := twiliotest.New(t, testSID, "someothertoken")
	_, err := newSender(t, fake).Send(context.Background(), testPerson, msg("m_1", store.SMS, "Hi"))
	var pe *outbox.PermanentError
	if !errors.As(err, &pe) || pe.Code != "20003" || pe.Unreachable {
		t.Fatalf("got %v, want permanent 20003 not about the person", err)
	}
	assertNoSecrets(t, err)
}

func TestSendTransportErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		fake := twiliotest.New(t, testSID, testToken)
		s := newSender(t, fake)
		fake.Close()
		_, err := s.Send(context.Background(), testPerson, msg("m_1", store.SMS, "Hi"))
		var te *outbox.TemporaryError
		if !errors.As(err, &te) || te.Code != "network" {
			t.Fatalf("got %T %v, want temporary network error", err, err)
		}
		if te.MaybeSent {
			t.Error("no connection was made, yet the message may have gone")
		}
		assertNoSecrets(t, err)
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := twiliotest.New(t, testSID, testToken)
		inner := slow.Config.Handler
		slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
			inner.ServeHTTP(w, r)
		})
		defer close(release)
		s := newSender(t, slow, func(c *twilio.Config) { c.Timeout = 50 * time.Millisecond })
		_, err := s.Send(context.Background(), testPerson, msg("m_1", store.SMS, "Hi"))
		var te *outbox.TemporaryError
		if !errors.As(err, &te) || te.Code != "timeout" {
			t.Fatalf("got %T %v, want temporary timeout", err, err)
		}
		if !te.MaybeSent {
			t.Error("the request reached Twilio and no answer came: the message may have gone")
		}
	})
	t.Run("caller gives up", func(t *testing.T) {
		release := make(chan struct{})
		slow := twiliotest.New(t, testSID, testToken)
		inner := slow.Config.Handler
		slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
			inner.ServeHTTP(w, r)
		})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := newSender(t, slow).Send(ctx, testPerson, msg("m_1", store.SMS, "Hi"))
		if _, ok := errors.AsType[*outbox.TemporaryError](err); !ok {
			t.Fatalf("got %T %v, want temporary error", err, err)
		}
	})
}

// TestSendMaybeSent: which failures leave the message perhaps with
// Twilio (no answer from Twilio itself), and which are Twilio's own
// refusal or never reached it.
func TestSendMaybeSent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resp  twiliotest.Response
		maybe bool
	}{
		{"Twilio's own server error", twiliotest.Response{Status: 500, Code: 20500}, false},
		{"Twilio busy", twiliotest.Response{Status: 503, Code: 20503}, false},
		{"a gateway's bad gateway page", twiliotest.Response{Status: 502, RawBody: "<html>Bad Gateway</html>"}, true},
		{"a gateway's timeout page", twiliotest.Response{Status: 504, RawBody: "<html>Gateway Timeout</html>"}, true},
		{"a proxy's service unavailable page", twiliotest.Response{Status: 503, RawBody: "<html>Unavailable</html>"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliotest.New(t, testSID, testToken)
			fake.Script(tc.resp)
			_, err := newSender(t, fake).Send(context.Background(), testPerson, msg("m_1", store.SMS, "Hi"))
			var te *outbox.TemporaryError
			if !errors.As(err, &te) {
				t.Fatalf("got %T %v, want a temporary error", err, err)
			}
			if te.MaybeSent != tc.maybe {
				t.Errorf("MaybeSent = %v, want %v", te.MaybeSent, tc.maybe)
			}
		})
	}
}

func TestSendRefusesLocally(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake)
	for text, code := range map[string]string{"": "21619", "  ": "21619", strings.Repeat("x", 1601): "21617"} {
		_, err := s.Send(context.Background(), testPerson, msg("m_1", store.SMS, text))
		var pe *outbox.PermanentError
		if !errors.As(err, &pe) || pe.Code != code || pe.Unreachable {
			t.Errorf("%d chars: %v, want permanent %s", len(text), err, code)
		}
	}
	if _, err := s.Send(context.Background(), testPerson, msg("m_1", store.Telegram, "Hi")); err == nil {
		t.Error("sent a Telegram message through Twilio")
	}
	if n := fake.Attempts(); n != 0 {
		t.Errorf("%d requests reached Twilio", n)
	}
}

func TestThrottles(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake, func(c *twilio.Config) { c.MPS = 3 })
	one := s.Throttles(msg("m_1", store.SMS, strings.Repeat("a", 160)))
	two := s.Throttles(msg("m_2", store.SMS, strings.Repeat("a", 161)))
	wa := s.Throttles(msg("m_3", store.WhatsApp, strings.Repeat("a", 500)))
	if len(one) != 1 || one[0].Units != 1 || one[0].PerSecond != 3 {
		t.Errorf("160 GSM chars: %+v", one)
	}
	if two[0].Units != 2 || two[0].Key != one[0].Key {
		t.Errorf("161 GSM chars: %+v (key of one: %s)", two, one[0].Key)
	}
	if wa[0].Units != 1 || wa[0].Key == one[0].Key {
		t.Errorf("WhatsApp: %+v", wa)
	}
	if strings.Contains(one[0].Key, testFrom) || strings.Contains(one[0].Key, "5550006") {
		t.Errorf("throttle key holds the number: %s", one[0].Key)
	}
	other := newSender(t, fake, func(c *twilio.Config) { c.From = "+15005550007" })
	if other.Throttles(msg("m_1", store.SMS, "a"))[0].Key == one[0].Key {
		t.Error("two sending numbers share a budget")
	}
	if !s.UnreachableCode("30006") || !s.UnreachableCode("21610") || s.UnreachableCode("30003") || s.UnreachableCode("") {
		t.Error("UnreachableCode misclassifies")
	}
}

func TestNewSenderChecksConfig(t *testing.T) {
	good := twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, PublicURL: testPublic}
	bad := map[string]func(*twilio.Config){
		"no account":           func(c *twilio.Config) { c.AccountSID = "" },
		"token with a dash":    func(c *twilio.Config) { c.AuthToken = "abc-def" },
		"no sender":            func(c *twilio.Config) { c.From = "" },
		"both senders":         func(c *twilio.Config) { c.MessagingServiceSID = "MG1" },
		"no public URL":        func(c *twilio.Config) { c.PublicURL = "" },
		"API URL not absolute": func(c *twilio.Config) { c.APIURL = "api.twilio.com" },
	}
	for name, mutate := range bad {
		cfg := good
		mutate(&cfg)
		_, err := twilio.NewSender(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error holds the token", name)
		}
	}
	if _, err := twilio.NewSender(good); err != nil {
		t.Fatal(err)
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{testPerson, "447700900123", testToken, testSID, "Reminder"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text %q holds %q", err.Error(), s)
		}
	}
}
