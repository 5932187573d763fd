package twilio

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
)

// text sends a text from the person's phone, as Twilio would deliver it.
func (h *voiceHarness) text(body, dedupe string) {
	h.t.Helper()
	if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: voicePhone, Text: body, DedupeKey: dedupe}); err != nil {
		h.t.Fatal(err)
	}
}

// pinURL is where a PIN keyed in at try is posted, as the query of the
// menu route.
func pinQuery(try string) string { return "?step=pin&try=" + try }

// enterPIN posts digits as the PIN of a call from the person's phone.
func (h *voiceHarness) enterPIN(digits, try string, edit map[string]string) (string, *twimlNode) {
	h.t.Helper()
	e := map[string]string{"Digits": digits}
	maps.Copy(e, edit)
	_, body := h.post(VoiceMenuRoute, pinQuery(try), "voice_menu_1.form", e)
	return body, parseTwiML(h.t, body)
}

// With menu_access: pin (the default), the menu opens only after the PIN
// the person chose by text: a known and an unknown caller hear the same
// question, a wrong PIN and a stranger the same answer, and the right one
// opens the menu, in the person's language, for that call only.
func TestVoicePINOpensTheMenu(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("ar")
	h.policy(func(v *flow.Voice) { v.OutsideWindow = flow.VoiceMenu; v.UnknownCaller = flow.VoiceMenu })
	if h.content.Flows.Programme.Voice.MenuAccess != flow.MenuAccessPIN {
		t.Fatalf("shipped menu_access %q, want pin", h.content.Flows.Programme.Voice.MenuAccess)
	}
	h.clock.Set(voiceStart.Add(72 * time.Hour)) // Thursday: no window, no grace

	// Choosing a PIN by text, in Arabic-Indic digits: only a digest is kept.
	h.text("PIN", "SMpin0")
	h.text("رمز ٤٨٢١", "SMpin1")
	var kinds []string
	for _, m := range h.sent() {
		kinds = append(kinds, m.Kind)
	}
	slices.Sort(kinds)
	if strings.Join(kinds, ",") != "pin.how,pin.saved" {
		t.Fatalf("replies %v, want how to choose a PIN, and saved", kinds)
	}
	p, err := h.store.GetParticipant(h.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.VoicePIN == "" || strings.Contains(p.VoicePIN, "4821") || p.VoicePIN != conversation.PINDigest(h.box.Index, pid, "4821") {
		t.Fatalf("stored PIN %q, want the keyed digest of 4821", p.VoicePIN)
	}
	audit, _ := h.store.ListAudit(h.ctx, pid, 50)
	if !hasAction(audit, "voice_pin_set") {
		t.Errorf("no audit entry for the PIN: %+v", audit)
	}

	known := h.call("voice_ringing.form", nil)
	stranger := h.call("voice_ringing_unknown.form", nil)
	if a, b := twimlText(known), twimlText(stranger); a != b {
		t.Fatalf("a known and an unknown caller were answered differently:\n%s\n%s", a, b)
	}
	g := known.all("Gather")
	if len(g) != 1 || g[0].attr("finishOnKey") != "#" || !strings.HasSuffix(g[0].attr("action"), VoiceMenuPath+pinQuery("1")) {
		t.Fatalf("answer %v, want the PIN asked in a Gather", known.verbs())
	}
	if strings.Contains(twimlText(known), "arb") {
		t.Errorf("the PIN question is in the person's language, which tells who they are")
	}

	// Keys pressed without the PIN act on nothing.
	n := h.press("1", "")
	if got := strings.Join(n.verbs(), ","); got != "Say,Hangup" || len(h.checkIns(pid)) != 0 {
		t.Fatalf("key 1 without the PIN: %s, check-ins %d", got, len(h.checkIns(pid)))
	}

	wrongBody, wrong := h.enterPIN("1234", "1", nil)
	_, strangerWrong := h.enterPIN("4821", "1", map[string]string{"From": "+447700900999"})
	if twimlText(wrong) != twimlText(strangerWrong) {
		t.Errorf("a wrong PIN and a stranger's PIN were answered differently")
	}
	if !strings.Contains(wrongBody, h.content.Locale.Render("en", "voice.pin.wrong", nil)) || len(wrong.all("Gather")) != 1 {
		t.Errorf("a wrong PIN at the first try: %v, want 'not right' and asked again", wrong.verbs())
	}
	if _, last := h.enterPIN("1234", "3", nil); len(last.all("Gather")) != 0 {
		t.Errorf("a wrong PIN at the last try asked again: %v", last.verbs())
	}

	_, right := h.enterPIN("4821", "1", nil)
	g = right.all("Gather")
	if len(g) != 1 || g[0].attr("numDigits") != "1" {
		t.Fatalf("the right PIN: %v, want the menu", right.verbs())
	}
	if says := g[0].all("Say"); says[0].attr("language") != "arb" {
		t.Errorf("menu after the PIN in %q, want the person's Arabic", says[0].attr("language"))
	}
	action, err := url.Parse(g[0].attr("action"))
	if err != nil || action.Query().Get("pass") == "" {
		t.Fatalf("menu action %q carries no pass", g[0].attr("action"))
	}
	n = h.press("1", "?"+action.RawQuery)
	if cs := h.checkIns(pid); len(cs) != 1 || cs[0].Channel != store.Keypad {
		t.Errorf("key 1 after the PIN: %v, check-ins %+v", n.verbs(), cs)
	}
	// The pass is this call's: another call cannot use it.
	_, body := h.post(VoiceMenuRoute, "?"+action.RawQuery, "voice_menu_1.form", map[string]string{"Digits": "2", "CallSid": "CAother0000000000000000000000000"})
	if items, _ := h.store.AttentionOf(h.ctx, pid); len(items) != 0 {
		t.Errorf("another call's key 2 with this call's pass asked for a call back:\n%s", body)
	}
	h.assertNoPersonalLogs()
	if strings.Contains(h.logs.String(), "4821") {
		t.Error("the PIN is in the logs")
	}
}

// A guesser gets conversation.PINTriesPerDay PINs a day for a person, whichever calls
// they come in; after that even the right PIN is "not right" until
// tomorrow, and the audit log says the menu was shut.
func TestVoicePINTriesPerDay(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	h.policy(func(v *flow.Voice) { v.OutsideWindow = flow.VoiceMenu })
	h.clock.Set(voiceStart.Add(72 * time.Hour))
	h.text("PIN 4821", "SMpin")
	for i := range conversation.PINTriesPerDay {
		h.enterPIN(key(1000+i), "1", map[string]string{"CallSid": "CAguess" + key(i)})
	}
	if _, n := h.enterPIN("4821", "1", nil); len(n.all("Gather")) != 1 || n.all("Gather")[0].attr("numDigits") != "8" {
		t.Errorf("the right PIN after %d wrong ones today opened the menu: %v", conversation.PINTriesPerDay, n.verbs())
	}
	audit, _ := h.store.ListAudit(h.ctx, pid, 50)
	if !hasAction(audit, "voice_pin_locked") {
		t.Errorf("no audit entry for the shut menu: %+v", audit)
	}
	h.clock.Set(voiceStart.Add(97 * time.Hour)) // the next day
	if _, n := h.enterPIN("4821", "1", map[string]string{"CallSid": "CAnextday0000000000000000000000"}); len(n.all("Gather")) != 1 || n.all("Gather")[0].attr("numDigits") != "1" {
		t.Errorf("the right PIN the next day: %v, want the menu", n.verbs())
	}
}

// unverified_calls: ask counts a missed call only with full attestation;
// any other is not a check-in, and the person is texted once a day to
// reply 1, which someone faking their number cannot do.
func TestVoiceUnverifiedCallAsks(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	h.policy(func(v *flow.Voice) { v.UnverifiedCalls = flow.UnverifiedAsk })
	h.clock.Set(voiceStart.Add(3 * time.Hour)) // in the window, the enrolment's questions long over
	for i := range 2 {
		if n := h.call("voice_ringing.form", map[string]string{"CallSid": "CAunverified" + key(i)}); !isReject(n) {
			t.Fatalf("answer %v, want a busy reject", n.verbs())
		}
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Fatalf("an unverified call counted: %+v", cs)
	}
	if msgs := h.sent(); len(msgs) != 1 || msgs[0].Kind != "checkin.call_unverified" {
		t.Fatalf("texts %+v, want one asking for a reply", msgs)
	}
	h.text("1", "SMreply")
	if cs := h.checkIns(pid); len(cs) != 1 || cs[0].Channel != store.SMS || cs[0].Outcome != store.OnTime {
		t.Errorf("the reply: check-ins %+v, want one on time by SMS", cs)
	}
	h.call("voice_ringing.form", map[string]string{"CallSid": "CAverified", "StirVerstat": fullAttestation})
	cs := h.checkIns(pid)
	if len(cs) != 2 || !slices.ContainsFunc(cs, func(c store.CheckIn) bool { return c.Channel == store.MissedCall && c.Outcome == store.Repeat }) {
		t.Errorf("a verified call: check-ins %+v, want it counted (a repeat of the reply's)", cs)
	}
}

func hasAction(entries []store.AuditEntry, action string) bool {
	for _, e := range entries {
		if e.Action == action {
			return true
		}
	}
	return false
}

// twimlText is an answer as comparable text.
func twimlText(n *twimlNode) string {
	var b strings.Builder
	var walk func(n *twimlNode)
	walk = func(n *twimlNode) {
		b.WriteString("<" + n.XMLName.Local)
		for _, a := range n.Attrs {
			b.WriteString(" " + a.Name.Local + "=" + a.Value)
		}
		b.WriteString(">" + strings.TrimSpace(n.Text))
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(n)
	return b.String()
}
