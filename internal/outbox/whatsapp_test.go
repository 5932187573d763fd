package outbox_test

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/store"
)

// enqueueWA queues a WhatsApp message with a template and the SMS
// fallback as given.
func (h *harness) enqueueWA(l store.Link, template, fallback bool) store.OutboundMessage {
	h.t.Helper()
	now := h.clk.Now()
	m := store.OutboundMessage{
		ID: store.NewID("m_"), ParticipantID: l.ParticipantID, LinkIndex: l.Index, Channel: l.Channel,
		Kind: "checkin.ask", Text: "Hello, it is time to check in.\n1 - Check in", Status: store.Pending,
		NotBefore: now, CreatedAt: now, UpdatedAt: now, FallbackSMS: fallback,
	}
	if template {
		m.Template = &store.Template{SID: "HX0123456789abcdef0123456789abcdef", Variables: map[string]string{}}
	}
	if err := h.st.EnqueueOutbound(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

// A WhatsApp message to someone quiet for a day, with no template and no
// SMS agreed, is not sent: it fails with no_template, and the link stays
// reachable (the fault is the programme's, not the number's).
func TestNoTemplateFailsWithoutTouchingTheLink(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_wa", "+447700900123", store.WhatsApp)
	d := h.dispatcher()
	m := h.enqueueWA(l, false, false)
	h.once(d)
	if rec := h.get(m.ID); rec.Status != store.Failed || rec.ErrorCode != twilio.CodeNoTemplate {
		t.Errorf("record %+v", rec)
	}
	if len(h.fake.Requests()) != 0 {
		t.Errorf("sent %+v", h.fake.Requests())
	}
	if link, _ := h.st.GetLink(h.ctx, l.Index); link.Unreachable {
		t.Error("the link was marked unreachable")
	}
	if items := h.attention(); len(items) != 0 {
		t.Errorf("attention %+v: the ledger, not the outbox, tells the caseworker", items)
	}
}

// A 63016 answered at once by the API queues one copy as the template;
// the same refusal reported again (a status callback, another process)
// queues nothing more, and a 63016 for the template ends it.
func TestSynchronous63016IsReroutedOnce(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_wa", "+447700900123", store.WhatsApp)
	l.LastSeenAt = h.clk.Now().Add(-time.Hour) // our clock says inside the window
	if err := h.st.PutLink(h.ctx, l); err != nil {
		t.Fatal(err)
	}
	d := h.dispatcher()
	m := h.enqueueWA(l, true, false)
	h.fake.Script(twiliotest.Response{Status: 400, Code: 63016}, twiliotest.Response{Status: 400, Code: 63016})
	h.once(d)
	h.once(d)
	h.clk.Advance(time.Hour)
	h.once(d)
	reqs := h.fake.Requests()
	if len(reqs) != 2 || reqs[0].Body == "" || reqs[0].ContentSid != "" || reqs[1].ContentSid == "" || reqs[1].Body != "" {
		t.Fatalf("requests %+v: want the free text, then the template, once each", reqs)
	}
	if rec := h.get(m.ID); rec.Status != store.Failed || rec.ErrorCode != "63016" {
		t.Errorf("first message %+v", rec)
	}
	copyID := m.ID + ".template"
	if rec := h.get(copyID); rec.Status != store.Failed || rec.ErrorCode != "63016" || rec.Route != store.RouteTemplate {
		t.Errorf("its copy %+v", rec)
	}
	// The API's refusal reported again by a callback queues nothing more.
	if err := d.ApplyStatus(h.ctx, m.ID, "", store.Failed, "63016"); err != nil {
		t.Fatal(err)
	}
	if n := h.once(d); n != 0 {
		t.Errorf("handled %d more", n)
	}
	if link, _ := h.st.GetLink(h.ctx, l.Index); link.Unreachable {
		t.Error("63016 marked the link unreachable")
	}
}

// Sent by SMS as a fallback, a message refused as unsubscribed (the
// number sent STOP by SMS) leaves the WhatsApp link reachable.
func TestFallbackRefusalLeavesTheWhatsAppLink(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_wa", "+447700900123", store.WhatsApp)
	d := h.dispatcher()
	m := h.enqueueWA(l, false, true)
	h.fake.Script(twiliotest.Response{Status: 400, Code: 21610})
	h.once(d)
	reqs := h.fake.Requests()
	if len(reqs) != 1 || reqs[0].To != "+447700900123" {
		t.Fatalf("requests %+v: want one SMS", reqs)
	}
	if rec := h.get(m.ID); rec.Status != store.Failed || rec.ErrorCode != "21610" || rec.Route != store.RouteSMS {
		t.Errorf("record %+v", rec)
	}
	if link, _ := h.st.GetLink(h.ctx, l.Index); link.Unreachable {
		t.Error("an SMS refusal marked the WhatsApp link unreachable")
	}
}
