package twilio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

const testTemplate = "HX0123456789abcdef0123456789abcdef"

func templated(id string) store.OutboundMessage {
	m := msg(id, store.WhatsApp, "Su cita es hoy a las 10:30, Calle Mayor 1. ¿Estará allí?")
	m.Template = &store.Template{SID: testTemplate, Variables: map[string]string{"1": "10:30", "2": "Calle Mayor 1"}}
	return m
}

// A message routed as its template goes with ContentSid and
// ContentVariables and no Body, through the real twilio-go client.
func TestSendTemplate(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake, func(c *twilio.Config) { c.ContentRetention = "discard" })
	m := templated("m_t")
	m.Route = store.RouteTemplate
	if _, err := s.Send(context.Background(), testPerson, m); err != nil {
		t.Fatal(err)
	}
	r := fake.Accepted()[0]
	if r.To != "whatsapp:"+testPerson || r.Body != "" || r.ContentSid != testTemplate ||
		r.ContentVariables["1"] != "10:30" || r.ContentVariables["2"] != "Calle Mayor 1" {
		t.Errorf("request %+v", r)
	}
	if got := r.Form.Get("ContentRetention"); got != "discard" {
		t.Errorf("ContentRetention %q, want discard", got)
	}
	if r.Form.Has("SmartEncoded") {
		t.Error("SmartEncoded sent on WhatsApp")
	}

	// A template without variables goes without ContentVariables: Twilio
	// refuses "null" and "{}" alike.
	m = templated("m_novars")
	m.Route, m.Template.Variables = store.RouteTemplate, nil
	if _, err := s.Send(context.Background(), testPerson, m); err != nil {
		t.Fatal(err)
	}
	if r := fake.Accepted()[1]; r.Form.Has("ContentVariables") || r.ContentSid != testTemplate {
		t.Errorf("request %+v", r)
	}

	// Routed as a template with none: refused here, with Waymark's code.
	m = msg("m_none", store.WhatsApp, "hello")
	m.Route = store.RouteTemplate
	_, err := s.Send(context.Background(), testPerson, m)
	var pe *outbox.PermanentError
	if !errors.As(err, &pe) || pe.Code != twilio.CodeNoTemplate || pe.Unreachable {
		t.Fatalf("error %v, want permanent %s", err, twilio.CodeNoTemplate)
	}
}

// A WhatsApp message routed to SMS goes to the same number without the
// whatsapp: prefix, smart-encoded when configured, and draws on the SMS
// budget in segments.
func TestSendFallbackSMS(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake, func(c *twilio.Config) { c.SmartEncoded = true })
	m := msg("m_s", store.WhatsApp, "Su cita es mañana – ¿estará allí?")
	m.Route = store.RouteSMS
	if _, err := s.Send(context.Background(), testPerson, m); err != nil {
		t.Fatal(err)
	}
	r := fake.Accepted()[0]
	if r.To != testPerson || r.From != testFrom || r.Body != m.Text || r.Form.Get("SmartEncoded") != "true" {
		t.Errorf("request %+v", r)
	}
	if r.Form.Has("ContentRetention") {
		t.Error("ContentRetention sent though not configured")
	}
	th := s.Throttles(m)
	if len(th) != 1 || th[0].Units != 1 || th[0].Key == s.Throttles(msg("x", store.WhatsApp, "x"))[0].Key {
		t.Errorf("throttles %+v: want one SMS segment on the SMS budget", th)
	}
}

func TestNewSenderRefusesUnknownRetention(t *testing.T) {
	_, err := twilio.NewSender(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		PublicURL: testPublic, ContentRetention: "forget"})
	if err == nil {
		t.Fatal("content retention \"forget\" accepted")
	}
}

// The 24-hour window, from the link's last inbound message: free text
// inside it; outside, the template, else SMS where the person agreed,
// else nothing.
func TestRoute(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	wrote := func(ago time.Duration) store.Link {
		return store.Link{Index: "idx", Channel: store.WhatsApp, LastSeenAt: now.Add(-ago)}
	}
	fallback := msg("m_f", store.WhatsApp, "hi")
	fallback.FallbackSMS = true
	for _, tc := range []struct {
		name  string
		m     store.OutboundMessage
		link  store.Link
		route store.Route
		code  string
	}{
		{"wrote an hour ago", templated("m"), wrote(time.Hour), "", ""},
		{"quiet 25 hours, template", templated("m"), wrote(25 * time.Hour), store.RouteTemplate, ""},
		{"never wrote on the link", templated("m"), store.Link{Index: "idx"}, store.RouteTemplate, ""},
		{"just inside the margin", templated("m"), wrote(24*time.Hour - time.Minute), store.RouteTemplate, ""},
		{"quiet, no template, agreed to SMS", fallback, wrote(25 * time.Hour), store.RouteSMS, ""},
		{"quiet, no template, no SMS", msg("m", store.WhatsApp, "hi"), wrote(25 * time.Hour), "", twilio.CodeNoTemplate},
		{"SMS is never routed", msg("m", store.SMS, "hi"), store.Link{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Route(tc.m, tc.link, now)
			var pe *outbox.PermanentError
			switch {
			case tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code || pe.Unreachable):
				t.Fatalf("error %v, want permanent %s", err, tc.code)
			case tc.code == "" && err != nil:
				t.Fatal(err)
			case tc.code == "" && got.Route != tc.route:
				t.Fatalf("route %q, want %q", got.Route, tc.route)
			}
		})
	}
}

// After a 63016 a message goes once more by the next route, and never a
// third time; other codes are not rerouted.
func TestReroute(t *testing.T) {
	fake := twiliotest.New(t, testSID, testToken)
	s := newSender(t, fake)
	m := templated("m")
	m.FallbackSMS = true
	next, ok := s.Reroute(m, "63016")
	if !ok || next.Route != store.RouteTemplate {
		t.Fatalf("free text after 63016: %q %v, want the template", next.Route, ok)
	}
	next, ok = s.Reroute(next, "63016")
	if !ok || next.Route != store.RouteSMS {
		t.Fatalf("template after 63016: %q %v, want SMS", next.Route, ok)
	}
	if _, ok = s.Reroute(next, "63016"); ok {
		t.Fatal("SMS rerouted again")
	}
	if _, ok = s.Reroute(templated("m"), "30003"); ok {
		t.Fatal("30003 rerouted")
	}
	tpl := templated("m")
	tpl.Route = store.RouteTemplate
	if _, ok = s.Reroute(tpl, "63016"); ok {
		t.Fatal("template without SMS agreement rerouted")
	}
	// Queued again after a 63016, a message keeps its route whatever the
	// link's clock says.
	next.ErrorCode = "63016"
	got, err := s.Route(next, store.Link{LastSeenAt: time.Now()}, time.Now())
	if err != nil || got.Route != store.RouteSMS {
		t.Fatalf("route after 63016: %q %v", got.Route, err)
	}
}
