package twilio

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

func TestParseCall(t *testing.T) {
	cases := []struct {
		file string
		err  error
		want Call
	}{
		{"voice_ringing.form", nil, Call{CallSid: "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Status: "ringing"}},
		{"voice_ringing_unknown.form", nil, Call{CallSid: "CA1a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900999", Status: "ringing"}},
		{"voice_ringing_anonymous.form", nil, Call{CallSid: "CA2a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+266696687", Status: "ringing"}},
		{"voice_completed.form", nil, Call{CallSid: "CA4a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Status: "completed"}},
		{"voice_menu_1.form", nil, Call{CallSid: "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Status: "in-progress", Digits: "1"}},
		{"voice_menu_9.form", nil, Call{CallSid: "CA0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Status: "in-progress", Digits: "9"}},
		{"voice_outbound.form", ErrNotInbound, Call{}},
		{"voice_no_call_sid.form", ErrMalformed, Call{}},
		{"voice_menu_bad_digits.form", ErrMalformed, Call{}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ParseCall(readForm(t, c.file))
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if err == nil && got != c.want {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	for _, body := range []string{"", "%zz", "From=%2B447700900123", "CallSid=CA1&From=%FF"} {
		if _, err := ParseCall([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: error %v, want ErrMalformed", body, err)
		}
	}
}

// Monday 5 January 2026, 10:00 in London (UTC in winter): inside the
// participant's window, which is open Mondays 09:00 to 21:00.
var voiceStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

const (
	voicePublic = "https://waymark.example.org"
	voiceToken  = "authtoken0123456789"
	voicePhone  = "+447700900123"
)

type voiceHarness struct {
	t       testing.TB
	ctx     context.Context
	store   *bolt.Store
	box     *seal.Box
	clock   *clock.Fake
	conv    *conversation.Service
	content *conversation.Content
	echo    *echo.Echo
	logs    *bytes.Buffer
	woken   int
}

func newVoiceHarness(t testing.TB) *voiceHarness {
	t.Helper()
	clk := clock.NewFake(voiceStart)
	st := testkit.Bolt(t, clk)
	box := testkit.Box(t)
	content := testkit.Content(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	live := conversation.NewLive(content)
	conv := conversation.New(st, box, live, clk, log, schedule.NewLedger(st, live, clk, log)) // judges check-ins on time or late

	h := &voiceHarness{t: t, ctx: context.Background(), store: st, box: box, clock: clk, conv: conv, content: content, logs: logs}
	hooks := &Webhooks{AuthToken: voiceToken, PublicURL: voicePublic, Conversation: conv, Log: log, Wake: func() { h.woken++ }}
	v := &Voice{Hooks: hooks, Calls: conv}
	h.echo = echo.New()
	h.echo.POST("/webhooks"+VoiceRoute, v.HandleCall)
	h.echo.POST("/webhooks"+VoiceMenuRoute, v.HandleMenu)
	return h
}

// policy sets programme.yaml's voice section for the test.
func (h *voiceHarness) policy(f func(v *flow.Voice)) { f(&h.content.Flows.Programme.Voice) }

// enrolled is a person who joined by SMS from voicePhone, with a window
// every Monday 09:00-21:00 in London.
func (h *voiceHarness) enrolled(lang string) string {
	h.t.Helper()
	pid, code := store.NewID("p_"), "CODE"+strings.ToUpper(store.NewID("")[:6])
	created := voiceStart.Add(-30 * 24 * time.Hour)
	p := store.Participant{ID: pid, Label: "Voice test", Language: lang, TimeZone: "Europe/London", Status: store.Active,
		CreatedAt: created, UpdatedAt: created,
		Schedule: &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "monday", CloseTime: "21:00"}}}}
	if err := h.store.CreateParticipant(h.ctx, p); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.PutEnrolmentCode(h.ctx, store.EnrolmentCode{Code: code, ParticipantID: pid, ExpiresAt: voiceStart.Add(time.Hour)}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: voicePhone, Text: "JOIN " + code, DedupeKey: "twilio:SMjoin" + pid}); err != nil {
		h.t.Fatal(err)
	}
	// They agree to get messages, and the language question is left open.
	if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: voicePhone, Text: "1", DedupeKey: "twilio:SMagree" + pid}); err != nil {
		h.t.Fatal(err)
	}
	h.sent() // the enrolment messages
	return pid
}

// sent takes the messages queued since the last call, as the outbox would.
func (h *voiceHarness) sent() []store.OutboundMessage {
	h.t.Helper()
	return testkit.Delivered(h.t, h.store, h.clock.Now())
}

// post sends a captured voice webhook, signed as Twilio signs it unless
// sig is given, and returns the status and body.
func (h *voiceHarness) post(route, query, file string, edit map[string]string, sig ...string) (int, string) {
	h.t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		h.t.Fatal(err)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range edit {
		form.Set(k, v)
	}
	uri := "/webhooks" + route + query
	req := httptest.NewRequest(http.MethodPost, uri, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(sig) > 0 {
		req.Header.Set(SignatureHeader, sig[0])
	} else {
		req.Header.Set(SignatureHeader, sign(voiceToken, voicePublic+uri, form))
	}
	rec := httptest.NewRecorder()
	h.echo.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (h *voiceHarness) call(file string, edit map[string]string) *twimlNode {
	h.t.Helper()
	code, body := h.post(VoiceRoute, "", file, edit)
	if code != http.StatusOK {
		h.t.Fatalf("voice webhook answered %d %q", code, body)
	}
	return parseTwiML(h.t, body)
}

func (h *voiceHarness) press(digit, query string) *twimlNode {
	h.t.Helper()
	code, body := h.post(VoiceMenuRoute, query, "voice_menu_1.form", map[string]string{"Digits": digit})
	if code != http.StatusOK {
		h.t.Fatalf("menu webhook answered %d %q", code, body)
	}
	return parseTwiML(h.t, body)
}

func (h *voiceHarness) checkIns(pid string) []store.CheckIn {
	h.t.Helper()
	cs, err := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if err != nil {
		h.t.Fatal(err)
	}
	return cs
}

// twimlNode is any TwiML element, parsed with encoding/xml.
type twimlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr  `xml:",any,attr"`
	Text     string      `xml:",chardata"`
	Children []twimlNode `xml:",any"`
}

func (n *twimlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// all returns every element named name, depth first.
func (n *twimlNode) all(name string) []*twimlNode {
	var out []*twimlNode
	if n.XMLName.Local == name {
		out = append(out, n)
	}
	for i := range n.Children {
		out = append(out, n.Children[i].all(name)...)
	}
	return out
}

// verbs are the names of the top-level verbs, in order.
func (n *twimlNode) verbs() []string {
	var out []string
	for _, c := range n.Children {
		out = append(out, c.XMLName.Local)
	}
	return out
}

// parseTwiML parses an answer and checks what must hold of every one:
// a <Response>, only the verbs the line uses, keys only (a Gather with
// input="dtmf" and nothing that listens for speech), and no recording.
func parseTwiML(t testing.TB, body string) *twimlNode {
	t.Helper()
	var root twimlNode
	if err := xml.Unmarshal([]byte(body), &root); err != nil {
		t.Fatalf("TwiML does not parse: %v\n%s", err, body)
	}
	if root.XMLName.Local != "Response" {
		t.Fatalf("root element %q, want Response", root.XMLName.Local)
	}
	allowed := map[string]bool{"Response": true, "Reject": true, "Say": true, "Gather": true, "Hangup": true}
	var walk func(n *twimlNode)
	walk = func(n *twimlNode) {
		if !allowed[n.XMLName.Local] {
			t.Errorf("TwiML uses <%s>: only Reject, Say, Gather and Hangup are allowed\n%s", n.XMLName.Local, body)
		}
		if n.XMLName.Local == "Gather" {
			key := n.attr("numDigits") == "1" && n.attr("finishOnKey") == ""
			pin := n.attr("numDigits") == "8" && n.attr("finishOnKey") == "#"
			if n.attr("input") != "dtmf" || !key && !pin {
				t.Errorf("Gather input=%q numDigits=%q finishOnKey=%q, want dtmf and one key, or a PIN ended by #",
					n.attr("input"), n.attr("numDigits"), n.attr("finishOnKey"))
			}
			for _, a := range n.Attrs {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "speech") || a.Name.Local == "hints" || a.Name.Local == "enhanced" {
					t.Errorf("Gather has speech attribute %s", a.Name.Local)
				}
			}
		}
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(&root)
	return &root
}

func isReject(n *twimlNode) bool {
	v := n.verbs()
	return len(v) == 1 && v[0] == "Reject" && n.Children[0].attr("reason") == "busy"
}

// Inside an open window a linked person's call is rejected busy, and
// counts once as their check-in, whatever Twilio retries; a confirmation
// in their language follows on their SMS link.
func TestVoiceCallInsideWindowChecksIn(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("es")
	for range 3 { // the first call and two retries of it
		if n := h.call("voice_ringing.form", map[string]string{"StirVerstat": "TN-Validation-Passed-A"}); !isReject(n) {
			t.Fatalf("answer %v, want only <Reject reason=busy>", n.verbs())
		}
	}
	cs := h.checkIns(pid)
	if len(cs) != 1 || cs[0].Channel != store.MissedCall || cs[0].Outcome != store.OnTime || !cs[0].At.Equal(voiceStart) {
		t.Fatalf("check-ins = %+v, want one on time by missed call", cs)
	}
	msgs := h.sent()
	if len(msgs) != 1 || msgs[0].Channel != store.SMS || msgs[0].Kind != "checkin.by_call" || msgs[0].LinkIndex != h.box.Index("sms", voicePhone) {
		t.Fatalf("confirmations = %+v, want one by SMS", msgs)
	}
	if want := h.content.Locale.Render("es", "checkin.by_call", nil); msgs[0].Text != want {
		t.Errorf("confirmation %q, want %q", msgs[0].Text, want)
	}
	if h.woken != 1 {
		t.Errorf("outbox woken %d times, want once", h.woken)
	}
	// The CallSid lives only as a dedupe key that expires.
	if seen, _ := h.store.Seen(h.ctx, "twilio:call:CA0a1b2c3d4e5f60718293a4b5c6d7e8f9"); !seen {
		t.Error("the call's dedupe key is not recorded")
	}
	h.clock.Advance(h.content.Flows.Programme.Retention.DedupeKeys.D() + time.Second)
	if seen, _ := h.store.Seen(h.ctx, "twilio:call:CA0a1b2c3d4e5f60718293a4b5c6d7e8f9"); seen {
		t.Error("the call's dedupe key outlived retention.dedupe_keys")
	}
	// A second call later in the window is recorded as a repeat.
	h.clock.Set(voiceStart.Add(time.Hour))
	h.call("voice_ringing.form", map[string]string{"CallSid": "CA9a1b2c3d4e5f60718293a4b5c6d7e8f9"})
	if cs := h.checkIns(pid); len(cs) != 2 || cs[1].Outcome != store.Repeat {
		t.Errorf("check-ins after a second call = %+v", cs)
	}
	h.assertNoPersonalLogs()
}

// Confirmations are capped per day: a person who calls again and again
// has every call recorded, but is not sent a message for each.
func TestVoiceConfirmationsCapped(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	for i := range 5 {
		h.clock.Set(voiceStart.Add(time.Duration(i) * time.Minute))
		h.call("voice_ringing.form", map[string]string{"CallSid": "CA" + strings.Repeat(string(rune('a'+i)), 32)})
	}
	if n := len(h.checkIns(pid)); n != 5 {
		t.Errorf("%d check-ins, want 5", n)
	}
	if n := len(h.sent()); n != conversation.ConfirmationsPerDay {
		t.Errorf("%d confirmations, want %d", n, conversation.ConfirmationsPerDay)
	}
	// With confirmation switched off, none at all.
	h.policy(func(v *flow.Voice) { v.ConfirmByMessage = false })
	h.clock.Set(voiceStart.Add(48 * time.Hour)) // a new day, but Wednesday: move the window
	p, _ := h.store.GetParticipant(h.ctx, pid)
	p.Schedule.Weekly[0] = store.WeeklyWindow{OpenDay: "wednesday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}
	_ = h.store.UpdateParticipant(h.ctx, p)
	h.call("voice_ringing.form", map[string]string{"CallSid": "CAzz"})
	if n := len(h.checkIns(pid)); n != 6 {
		t.Errorf("%d check-ins, want 6", n)
	}
	if got := h.sent(); len(got) != 0 {
		t.Errorf("sent %d confirmations with confirm_by_message off", len(got))
	}
}

// A forged, missing or stale signature is refused with 403 and nothing
// at all happens.
func TestVoiceForgedSignature(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	form, _ := url.ParseQuery(string(readForm(t, "voice_ringing.form")))
	other := sign(voiceToken, voicePublic+"/webhooks/twilio/sms", form) // signed for another URL
	for name, sig := range map[string]string{"forged": "bm90IGEgc2lnbmF0dXJl", "missing": "", "other URL": other, "wrong token": sign("nottheauthtoken", voicePublic+"/webhooks"+VoiceRoute, form)} {
		for _, route := range []string{VoiceRoute, VoiceMenuRoute} {
			code, body := h.post(route, "", "voice_ringing.form", nil, sig)
			if code != http.StatusForbidden {
				t.Errorf("%s signature on %s: %d %q, want 403", name, route, code, body)
			}
		}
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Errorf("a refused webhook recorded %+v", cs)
	}
	if seen, _ := h.store.Seen(h.ctx, "twilio:call:CA0a1b2c3d4e5f60718293a4b5c6d7e8f9"); seen {
		t.Error("a refused webhook recorded its CallSid")
	}
}

// A number nobody linked is rejected silently by default; with the menu
// policy it hears a short message in the default language, a few times a
// day at most, and nothing about it is stored.
func TestVoiceUnknownCaller(t *testing.T) {
	h := newVoiceHarness(t)
	for _, f := range []string{"voice_ringing_unknown.form", "voice_ringing_anonymous.form"} {
		if n := h.call(f, nil); !isReject(n) {
			t.Errorf("%s: %v, want a silent reject", f, n.verbs())
		}
	}
	h.policy(func(v *flow.Voice) { v.UnknownCaller = flow.VoiceMenu; v.MenuAccess = flow.MenuAccessCallerID })
	for i := range conversation.UnknownAnswersPerDay + 1 {
		n := h.call("voice_ringing_unknown.form", map[string]string{"CallSid": "CAu" + string(rune('a'+i))})
		if i == conversation.UnknownAnswersPerDay {
			if !isReject(n) {
				t.Errorf("call %d answered, want rejected once the day's answers are used", i+1)
			}
			continue
		}
		if got := n.verbs(); strings.Join(got, ",") != "Say,Say,Say,Hangup" {
			t.Fatalf("verbs %v, want the message in two languages, goodbye and hang up", got)
		}
		if len(n.all("Gather")) != 0 {
			t.Error("an unknown caller was offered the menu")
		}
		// The programme's first two languages, each in its own voice.
		for i, w := range []struct{ lang, voice string }{{"en", "en-GB"}, {"es", "es-ES"}} {
			say := n.all("Say")[i]
			if want := h.content.Locale.Render(w.lang, "voice.enrol.unknown_sender", conversation.TemplateData(h.content, w.lang, nil)); say.Text != want || say.attr("language") != w.voice {
				t.Errorf("said %q in %q, want %q in %s", say.Text, say.attr("language"), want, w.voice)
			}
		}
	}
	if ps, _ := h.store.ListParticipants(h.ctx); len(ps) != 0 {
		t.Error("a participant was created for an unknown caller")
	}
	if _, err := h.store.GetLink(h.ctx, h.box.Index("sms", "+447700900999")); !errors.Is(err, store.ErrNotFound) {
		t.Error("an unknown caller's number was linked")
	}
}

// Outside a window the call is not a check-in: rejected silently, or
// answered with the keypad menu in the person's language, where 1 records
// a keypad check-in once.
func TestVoiceOutsideWindow(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("ar")
	h.clock.Set(voiceStart.Add(-2 * time.Hour)) // Monday 08:00: not yet open
	if n := h.call("voice_ringing.form", nil); !isReject(n) {
		t.Fatalf("%v, want a silent reject", n.verbs())
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Fatalf("a call outside the window was recorded: %+v", cs)
	}
	if msgs := h.sent(); len(msgs) != 1 || msgs[0].Kind != "checkin.next_window" {
		t.Fatalf("texts after the reject = %+v, want when the window opens", msgs)
	}

	h.policy(func(v *flow.Voice) { v.OutsideWindow = flow.VoiceMenu; v.MenuAccess = flow.MenuAccessCallerID })
	n := h.call("voice_ringing.form", nil)
	if got := strings.Join(n.verbs(), ","); got != "Gather,Say,Hangup" {
		t.Fatalf("verbs %s, want the menu in a Gather, then goodbye", got)
	}
	g := n.all("Gather")[0]
	if g.attr("action") != voicePublic+VoiceMenuPath || g.attr("method") != "POST" {
		t.Errorf("Gather action %q method %q", g.attr("action"), g.attr("method"))
	}
	says := g.all("Say")
	if len(says) != 4 { // hello, 1, 2, 9: nothing about the person
		t.Fatalf("menu says %d things, want 4", len(says))
	}
	for _, s := range says {
		if s.attr("language") != "arb" || s.attr("voice") != "Polly.Zeina" {
			t.Errorf("Say language=%q voice=%q, want Arabic", s.attr("language"), s.attr("voice"))
		}
	}
	if want := h.content.Locale.Render("ar", "voice.menu.checkin", map[string]any{"Key": "1"}); says[1].Text != want {
		t.Errorf("first choice %q, want %q", says[1].Text, want)
	}

	for range 2 { // pressed, and Twilio's retry of the key press
		n = h.press("1", "")
		if got := strings.Join(n.verbs(), ","); got != "Say,Say,Hangup" {
			t.Fatalf("after 1: %s, want thanks, goodbye, hang up", got)
		}
	}
	if want := h.content.Locale.Render("ar", "checkin.thanks", nil); n.all("Say")[0].Text != want {
		t.Errorf("after 1 said %q, want %q", n.all("Say")[0].Text, want)
	}
	cs := h.checkIns(pid)
	if len(cs) != 1 || cs[0].Channel != store.Keypad || cs[0].Outcome != store.Late {
		t.Errorf("check-ins = %+v, want one late by keypad (the last window closed a week ago)", cs)
	}
	if got := h.sent(); len(got) != 0 {
		t.Errorf("a keypad check-in sent %d messages; it is confirmed aloud", len(got))
	}
}

// A missed call after the window closed, in its grace, is a late check-in:
// "you can still check in late" holds for the free missed call too, and
// it moves the ledger's "missed" to "late" if the scheduler got there
// first.
func TestVoiceCallInGraceChecksInLate(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	h.clock.Set(voiceStart.Add(12 * time.Hour)) // Monday 22:00: closed at 21:00, a day's grace
	if n := h.call("voice_ringing.form", map[string]string{"StirVerstat": "TN-Validation-Passed-A"}); !isReject(n) {
		t.Fatalf("answer %v, want only <Reject reason=busy>", n.verbs())
	}
	cs := h.checkIns(pid)
	if len(cs) != 1 || cs[0].Channel != store.MissedCall || cs[0].Outcome != store.Late {
		t.Fatalf("check-ins = %+v, want one late by missed call", cs)
	}
	ws, err := h.store.WindowsOf(h.ctx, pid, time.Time{})
	if err != nil || len(ws) != 1 || ws[0].Outcome != store.WindowLate || ws[0].CheckInID != cs[0].ID {
		t.Fatalf("the ledger: %+v, %v", ws, err)
	}
}

// A missed call outside any window (and its grace) is never met with
// silence: the caller gets one short text saying when the next window
// opens, at most once a day however often they call.
func TestVoiceOutsideWindowTellsWhenTheNextOpens(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	h.clock.Set(voiceStart.Add(2 * 24 * time.Hour)) // Wednesday 10:00
	for i, sid := range []string{"CA0000000000000000000000000000001", "CA0000000000000000000000000000001", "CA0000000000000000000000000000002"} {
		if n := h.call("voice_ringing.form", map[string]string{"CallSid": sid}); !isReject(n) {
			t.Fatalf("call %d: %v, want a reject that costs nothing", i, n.verbs())
		}
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Fatalf("a call outside the window was recorded: %+v", cs)
	}
	msgs := h.sent()
	if len(msgs) != 1 || msgs[0].Kind != "checkin.next_window" || msgs[0].Channel != store.SMS {
		t.Fatalf("texts = %+v, want one checkin.next_window by SMS", msgs)
	}
	if want := "opens Monday 12 January at 9am"; !strings.Contains(msgs[0].Text, want) {
		t.Errorf("text %q lacks %q", msgs[0].Text, want)
	}
	h.clock.Advance(25 * time.Hour)
	h.call("voice_ringing.form", map[string]string{"CallSid": "CA0000000000000000000000000000003"})
	if msgs := h.sent(); len(msgs) != 1 {
		t.Errorf("the next day: %d texts, want one", len(msgs))
	}
	h.assertNoPersonalLogs()
}

// A person who opted out is not checked in by a missed call; the
// programme may still let them use the menu. A paused person and one
// whose number's messages fail are treated as outside a window.
func TestVoiceOptedOutPausedUnreachable(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: voicePhone, Text: "STOP", DedupeKey: "twilio:SMstop"}); err != nil {
		t.Fatal(err)
	}
	h.sent()
	if n := h.call("voice_ringing.form", nil); !isReject(n) {
		t.Errorf("opted out: %v, want a silent reject", n.verbs())
	}
	h.policy(func(v *flow.Voice) { v.OptedOut = flow.VoiceMenu; v.MenuAccess = flow.MenuAccessCallerID })
	if n := h.call("voice_ringing.form", nil); len(n.all("Gather")) != 1 {
		t.Errorf("opted out with the menu policy: %v, want the menu", n.verbs())
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Errorf("an opted-out person's call was recorded: %+v", cs)
	}
	if got := h.sent(); len(got) != 0 {
		t.Errorf("sent %d messages to an opted-out person", len(got))
	}

	p, _ := h.store.GetParticipant(h.ctx, pid)
	p.OptedOut, p.Status = false, store.Paused
	_ = h.store.UpdateParticipant(h.ctx, p)
	if n := h.call("voice_ringing.form", map[string]string{"CallSid": "CApaused"}); !isReject(n) {
		t.Errorf("paused: %v, want reject", n.verbs())
	}
	p, _ = h.store.GetParticipant(h.ctx, pid)
	p.Status = store.Active
	_ = h.store.UpdateParticipant(h.ctx, p)
	l, _ := h.store.GetLink(h.ctx, h.box.Index("sms", voicePhone))
	l.Unreachable, l.Reason = true, "30005"
	_ = h.store.PutLink(h.ctx, l)
	if n := h.call("voice_ringing.form", map[string]string{"CallSid": "CAunreachable"}); !isReject(n) {
		t.Errorf("unreachable: %v, want reject", n.verbs())
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Errorf("check-ins = %+v, want none", cs)
	}
	// An exited person is a stranger: no menu, whatever the policy.
	h.policy(func(v *flow.Voice) { v.OutsideWindow = flow.VoiceMenu; v.MenuAccess = flow.MenuAccessCallerID })
	p, _ = h.store.GetParticipant(h.ctx, pid)
	p.Status = store.Exited
	_ = h.store.UpdateParticipant(h.ctx, p)
	if n := h.call("voice_ringing.form", map[string]string{"CallSid": "CAexited"}); !isReject(n) {
		t.Errorf("exited: %v, want reject", n.verbs())
	}
}

// The menu's other keys: 2 asks for a call back, 3 says nothing about the
// person (it is not offered), 9 lists the languages each in its own voice and
// a key picks one, which sticks; an unknown key says so and repeats.
func TestVoiceMenuKeys(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	h.policy(func(v *flow.Voice) { v.OutsideWindow = flow.VoiceMenu; v.MenuAccess = flow.MenuAccessCallerID })
	h.clock.Set(voiceStart.Add(24 * time.Hour)) // Tuesday: no window

	h.press("2", "")
	items, _ := h.store.ListAttention(h.ctx, true)
	if len(items) != 1 || items[0].Kind != store.AttentionCallback || items[0].ParticipantID != pid || items[0].Reason != "keypad" {
		t.Errorf("attention = %+v", items)
	}

	// Key 3 no longer reads the next appointment: the caller ID that
	// found the person can be spoofed, and the place could bring someone
	// to them.
	if err := h.store.PutAppointment(h.ctx, store.Appointment{ID: "ap2", ParticipantID: pid, Kind: "caseworker_meeting", Place: "Centre B",
		Date: "2026-01-09", Time: "14:30", Status: store.AppointmentScheduled}); err != nil {
		t.Fatal(err)
	}
	_, body := h.post(VoiceMenuRoute, "", "voice_menu_3.form", nil)
	if strings.Contains(body, "Centre B") || strings.Contains(body, "14:30") || strings.Contains(body, "2:30") || strings.Contains(body, "9 January") {
		t.Errorf("the line spoke the appointment:\n%s", body)
	}
	n := parseTwiML(t, body)
	if want := h.content.Locale.Render("en", "voice.common.not_understood", nil); n.Children[0].Text != want {
		t.Errorf("key 3 said %q, want %q", n.Children[0].Text, want)
	}

	n = h.press("9", "")
	g := n.all("Gather")
	if len(g) != 1 || g[0].attr("action") != voicePublic+VoiceMenuPath+"?step=language" {
		t.Fatalf("language list: %+v", n.verbs())
	}
	langs := h.content.Flows.Programme.SpokenLanguages()
	if len(langs) > 9 {
		langs = langs[:9] // one key each
	}
	says := g[0].all("Say")
	if len(says) != len(langs) {
		t.Fatalf("%d languages read, want %d", len(says), len(langs))
	}
	for i, lang := range langs {
		if says[i].attr("language") != h.content.Flows.Programme.Voice.Speech[lang].Language {
			t.Errorf("choice %d in %q, want %s's voice", i+1, says[i].attr("language"), lang)
		}
	}
	es := 0
	for i, l := range langs {
		if l == "es" {
			es = i + 1
		}
	}
	n = h.press(key(es), "?step=language")
	if n.Children[0].attr("language") != "es-ES" || n.Children[0].Text != h.content.Locale.Render("es", "voice.language.done", nil) {
		t.Errorf("after choosing Spanish: %+v", n.Children[0])
	}
	if p, _ := h.store.GetParticipant(h.ctx, pid); p.Language != "es" {
		t.Errorf("language = %q, want es", p.Language)
	}
	n = h.press("0", "?step=language")
	if len(n.all("Gather")) != 1 || n.Children[0].Text != h.content.Locale.Render("es", "voice.common.not_understood", nil) {
		t.Errorf("an unknown language key: %v", n.verbs())
	}

	n = h.press("7", "")
	if n.Children[0].Text != h.content.Locale.Render("es", "voice.common.not_understood", nil) || len(n.all("Gather")) != 1 {
		t.Errorf("an unknown key: %v %q", n.verbs(), n.Children[0].Text)
	}
	// A stranger reaching the menu URL (their link deleted mid-call) hears
	// goodbye; a malformed key press is refused.
	code, body := h.post(VoiceMenuRoute, "", "voice_ringing_unknown.form", map[string]string{"Digits": "1"})
	if n := parseTwiML(t, body); code != http.StatusOK || strings.Join(n.verbs(), ",") != "Say,Hangup" {
		t.Errorf("stranger at the menu: %d %v", code, n.verbs())
	}
	if code, _ := h.post(VoiceMenuRoute, "", "voice_menu_bad_digits.form", nil); code != http.StatusBadRequest {
		t.Errorf("bad digits: %d, want 400", code)
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Errorf("keys other than 1 recorded check-ins: %+v", cs)
	}
	h.assertNoPersonalLogs()
}

// Webhooks that are not a new incoming call change nothing: a status
// callback sent here by mistake, an outbound call, the line switched off.
func TestVoiceIgnoredCalls(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	for _, f := range []string{"voice_completed.form", "voice_outbound.form"} {
		if n := h.call(f, nil); len(n.Children) != 0 {
			t.Errorf("%s: %v, want an empty Response", f, n.verbs())
		}
	}
	if code, _ := h.post(VoiceRoute, "", "voice_no_call_sid.form", nil); code != http.StatusBadRequest {
		t.Errorf("no CallSid: %d, want 400", code)
	}
	h.policy(func(v *flow.Voice) { v.Enabled = false; v.OutsideWindow = flow.VoiceMenu })
	if n := h.call("voice_ringing.form", nil); !isReject(n) {
		t.Errorf("line off: %v, want reject", n.verbs())
	}
	if cs := h.checkIns(pid); len(cs) != 0 {
		t.Errorf("check-ins = %+v, want none", cs)
	}
}

// A person who joined by WhatsApp is known by the same number.
func TestVoiceWhatsAppCaller(t *testing.T) {
	h := newVoiceHarness(t)
	pid := h.enrolled("en")
	l, _ := h.store.GetLink(h.ctx, h.box.Index("sms", voicePhone))
	_ = h.store.DeleteLink(h.ctx, l.Index)
	l.Index, l.Channel = h.box.Index("whatsapp", voicePhone), store.WhatsApp
	_ = h.store.PutLink(h.ctx, l)
	p, _ := h.store.GetParticipant(h.ctx, pid)
	p.LastLink = l.Index
	_ = h.store.UpdateParticipant(h.ctx, p)
	if n := h.call("voice_ringing.form", nil); !isReject(n) {
		t.Fatal(n.verbs())
	}
	if cs := h.checkIns(pid); len(cs) != 1 {
		t.Fatalf("check-ins = %+v", cs)
	}
	if msgs := h.sent(); len(msgs) != 1 || msgs[0].Channel != store.WhatsApp {
		t.Errorf("confirmation = %+v, want one on WhatsApp", msgs)
	}
}

// Nothing that identifies the caller is logged: not the number, not the
// caller's name, not where they are.
func (h *voiceHarness) assertNoPersonalLogs() {
	h.t.Helper()
	logs := h.logs.String()
	for _, leak := range []string{voicePhone, "447700900", "JANE", "LONDON", "SW1A", "Greater London", "CA0a1b2c3d4e5f"} {
		if strings.Contains(logs, leak) {
			h.t.Errorf("logs contain %q", leak)
		}
	}
}

func BenchmarkParseCall(b *testing.B) {
	body, err := os.ReadFile("testdata/voice_ringing.form")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCall(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVoiceMenu answers a key press with the menu read again: verify,
// parse, find the caller, render six messages and the TwiML.
func BenchmarkVoiceMenu(b *testing.B) {
	h := newVoiceHarness(b)
	h.enrolled("fr")
	body, _ := os.ReadFile("testdata/voice_menu_7.form")
	form, _ := url.ParseQuery(string(body))
	uri := "/webhooks" + VoiceMenuRoute
	sig := sign(voiceToken, voicePublic+uri, form)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, uri, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// A missed call whose caller ID the carrier did not vouch for in full
// counts, as the programme's default, and is recorded as unverified so
// that the caseworker sees it; only full attestation makes it a plain
// missed call.
func TestVoiceUnverifiedCallerIDIsRecordedAsSuch(t *testing.T) {
	for verstat, want := range map[string]store.Channel{
		"":                       store.MissedCallUnverified,
		"TN-Validation-Passed-B": store.MissedCallUnverified,
		"TN-Validation-Failed-A": store.MissedCallUnverified,
		"No-TN-Validation":       store.MissedCallUnverified,
		"TN-Validation-Passed-A": store.MissedCall,
	} {
		h := newVoiceHarness(t)
		pid := h.enrolled("en")
		edit := map[string]string{}
		if verstat != "" {
			edit["StirVerstat"] = verstat
		}
		if n := h.call("voice_ringing.form", edit); !isReject(n) {
			t.Fatalf("%q: answer %v, want a busy reject", verstat, n.verbs())
		}
		cs := h.checkIns(pid)
		if len(cs) != 1 || cs[0].Channel != want || cs[0].Outcome != store.OnTime {
			t.Errorf("StirVerstat %q: check-ins %+v, want one on time by %s", verstat, cs, want)
		}
	}
}
