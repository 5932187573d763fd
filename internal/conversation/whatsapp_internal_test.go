package conversation

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/locales"
)

// A WhatsApp message carries its template, filled in the person's
// language, and may fall back to SMS only where the programme offers it
// and the person agreed; other channels carry neither.
func TestOutsideWindow(t *testing.T) {
	c, problems := LoadContent(flows.FS, locales.FS)
	if c == nil {
		t.Fatal(problems)
	}
	c.Flows.Programme.WhatsApp = flow.WhatsApp{Fallback: flow.FallbackSMS, Templates: map[string]map[string]flow.Template{
		"consent.reask": {"es": {SID: "HX0123456789abcdef0123456789abcdef", Variables: []string{"Org"}}},
	}}
	snd := flow.Send{MessageID: "consent.reask"}
	agreed := store.Participant{SMSAgreedAt: time.Now()}
	for _, tc := range []struct {
		name     string
		ch       store.Channel
		p        store.Participant
		lang     string
		template bool
		fallback bool
	}{
		{"whatsapp, es, agreed", store.WhatsApp, agreed, "es", true, true},
		{"whatsapp, en, not asked", store.WhatsApp, store.Participant{}, "en", false, false},
		{"sms", store.SMS, agreed, "es", false, false},
		{"telegram", store.Telegram, agreed, "es", false, false},
	} {
		m := store.OutboundMessage{Channel: tc.ch}
		outsideWindow(c, tc.p, tc.lang, snd, &m)
		if (m.Template != nil) != tc.template || m.FallbackSMS != tc.fallback {
			t.Errorf("%s: template %+v, fallback %v", tc.name, m.Template, m.FallbackSMS)
		}
		if m.Template != nil && m.Template.Variables["1"] != c.Flows.Programme.Organisation.Name {
			t.Errorf("%s: variables %v", tc.name, m.Template.Variables)
		}
	}
	c.Flows.Programme.WhatsApp.Fallback = flow.FallbackNone
	m := store.OutboundMessage{Channel: store.WhatsApp}
	outsideWindow(c, agreed, "en", snd, &m)
	if m.FallbackSMS {
		t.Error("fallback: none, yet SMS allowed")
	}
}
