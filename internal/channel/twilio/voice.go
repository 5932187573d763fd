package twilio

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/store"
)

// The telephone line (docs/voice.md). A person calls the programme's
// Twilio number from the phone they linked by SMS or WhatsApp. While one
// of their check-in windows is open the call is rejected unanswered,
// which costs them nothing on most networks, and counts as their
// check-in. Every other call is rejected or answered with a keypad menu
// (behind a PIN), as programme.yaml's voice section says. What a call
// means is the conversation's to decide (conversation.Service.Call); this
// file verifies and parses the webhooks and says the answer in TwiML.
// Keys are pressed, never spoken, and nothing is recorded.

// Paths of the voice routes, under /webhooks.
const (
	VoiceRoute     = "/twilio/voice"      // the number's "A call comes in" webhook
	VoiceMenuRoute = "/twilio/voice/menu" // where a pressed key is posted
	// VoiceMenuPath is VoiceMenuRoute as Twilio calls it.
	VoiceMenuPath = "/webhooks" + VoiceMenuRoute
)

// Menu keys.
const (
	keyCheckIn  = 1
	keyCallback = 2
	// Key 3 once spoke the next appointment's date, time and place to any
	// caller whose caller ID matched, which anyone can spoof. Nothing
	// about a person is spoken on the line; the key is not offered.
	keyLanguage = 9
	// maxLanguages is how many languages one key press can choose among.
	maxLanguages = 9
)

// pinTriesPerCall is how often the PIN is asked in one call; how often a
// day is the conversation's to say (conversation.PINTriesPerDay).
const pinTriesPerCall = 3

// ErrNotInbound: a voice webhook about a call Waymark did not receive.
var ErrNotInbound = errors.New("twilio: not an inbound call")

// Call is what Waymark reads of a voice webhook. Everything else Twilio
// sends (Caller, CallerName, the geo fields FromCity, FromState, FromZip,
// FromCountry, CallerCity… and To*, account data, forwarding data) is
// never copied out of the parsed form.
type Call struct {
	// CallSid is Twilio's ID of the call: the dedupe key, kept only as
	// long as dedupe keys are (retention.dedupe_keys).
	CallSid string
	// From is the caller ID, held only to compute its blind index; never
	// store or log it. Empty or a marker such as "anonymous" when the
	// number is withheld: such a caller cannot be matched.
	From string
	// Status is Twilio's CallStatus: "ringing" for a new call,
	// "in-progress" once it has been answered (the menu's key presses).
	Status string
	// Digits is the key pressed, on the menu route.
	Digits string
	// Verified is true only when Twilio reports full STIR/SHAKEN
	// attestation of the caller ID (StirVerstat TN-Validation-Passed-A).
	// Anything less, or none (most calls from outside the US), means the
	// number may be spoofed.
	Verified bool
}

// fullAttestation is StirVerstat for a caller ID the originating carrier
// vouches for in full.
const fullAttestation = "TN-Validation-Passed-A"

// callEnded are statuses of a call that is over: a status callback
// pointed at the voice route by mistake. There is nothing to answer.
var callEnded = map[string]bool{"completed": true, "busy": true, "failed": true, "no-answer": true, "canceled": true}

// ParseCall parses the raw form body of a voice webhook. Call it only
// after Verify. A missing CallSid, keys that are not keys, or an outbound
// call is an error.
func ParseCall(rawBody []byte) (Call, error) {
	form, err := url.ParseQuery(string(rawBody))
	if err != nil {
		return Call{}, ErrMalformed
	}
	c := Call{
		CallSid: strings.TrimSpace(form.Get("CallSid")),
		From:    strings.TrimSpace(form.Get("From")),
		Status:  strings.ToLower(strings.TrimSpace(form.Get("CallStatus"))),
		Digits:  strings.TrimSpace(form.Get("Digits")),
		// Verified: StirVerstat is read only to say whether the caller ID is vouched for.
		Verified: strings.TrimSpace(form.Get("StirVerstat")) == fullAttestation,
	}
	if c.CallSid == "" || !utf8.ValidString(c.From) || len(c.From) > 64 || len(c.Digits) > 32 {
		return Call{}, ErrMalformed
	}
	for _, r := range c.Digits {
		if !strings.ContainsRune("0123456789*#", r) {
			return Call{}, ErrMalformed
		}
	}
	if d := strings.ToLower(form.Get("Direction")); d != "" && d != "inbound" {
		return Call{}, ErrNotInbound
	}
	return c, nil
}

// Calls is what the telephone line asks and records through: the
// conversation service, which decides who is calling and what the call
// does, holds the person's lock and writes one turn.
type Calls interface {
	Call(ctx context.Context, call conversation.PhoneCall) (conversation.CallAnswer, error)
	EnterPIN(ctx context.Context, call conversation.PhoneCall, digits string) (conversation.PINAnswer, error)
	MenuCaller(ctx context.Context, call conversation.PhoneCall, pass string) (store.Participant, bool, error)
	Act(ctx context.Context, a conversation.Action) (conversation.ActResult, error)
	Content() *conversation.Content
	Language(p store.Participant) string
}

// Voice answers Twilio's voice webhooks.
type Voice struct {
	// Hooks checks signatures (its AuthToken and PublicURL) exactly as for
	// messages; its Wake and Log are used too.
	Hooks *Webhooks
	Calls Calls
}

// phoneCall is the call as the conversation takes it.
func phoneCall(call Call) conversation.PhoneCall {
	return conversation.PhoneCall{DedupeKey: "twilio:call:" + call.CallSid, From: call.From, Verified: call.Verified}
}

// HandleCall answers "A call comes in", as the conversation decides: a
// known person inside an open window is checked in and rejected with a
// busy tone; anyone else is rejected, or answered with the menu, the PIN
// question or how to join.
func (v *Voice) HandleCall(c echo.Context) error {
	body, err := v.Hooks.verifiedBody(c)
	if err != nil {
		return err
	}
	call, err := ParseCall(body)
	switch {
	case errors.Is(err, ErrNotInbound):
		return twimlBlob(c, (&twiml{}).bytes())
	case err != nil:
		return echo.NewHTTPError(http.StatusBadRequest, "malformed voice webhook")
	case callEnded[call.Status]:
		return twimlBlob(c, (&twiml{}).bytes())
	}
	ans, err := v.Calls.Call(c.Request().Context(), phoneCall(call))
	if ans.Queued > 0 && v.Hooks.Wake != nil {
		v.Hooks.Wake()
	}
	if err != nil {
		// Any error answer makes Twilio pick up and play an error, at the
		// caller's cost, so the call is rejected as usual; the person's
		// check-in may be missing, which a caseworker sees as a miss and
		// follows up kindly.
		v.Hooks.Log.Error("voice: call rejected after a fault", "err", err)
		return twimlBlob(c, []byte(RejectTwiML))
	}
	content := v.Calls.Content()
	var t twiml
	switch ans.Answer {
	case conversation.AnswerMenu:
		v.Hooks.Log.Debug("voice: call answered with the menu", "participant", ans.Participant)
		v.menu(&t, v.speaker(content, ans.Language), true, "")
	case conversation.AnswerPIN:
		v.askPIN(&t, content, 1)
	case conversation.AnswerJoin:
		sp := v.sayJoin(&t, content)
		t.say(sp.say(msgGoodbye, nil))
		t.hangup()
	default:
		return twimlBlob(c, []byte(RejectTwiML))
	}
	return twimlBlob(c, t.bytes())
}

// greetingLanguages are the languages a caller is greeted in before
// anything says who they are: the programme's first two languages Twilio
// can speak (programme.yaml lists the most used first).
func greetingLanguages(content *conversation.Content) []string {
	langs := content.Flows.SpokenLanguages()
	if len(langs) > 2 {
		langs = langs[:2]
	}
	if len(langs) == 0 {
		langs = []string{content.Flows.Programme.DefaultLanguage}
	}
	return langs
}

// sayJoin says how to join, in each greeting language, and returns the
// last one's speaker.
func (v *Voice) sayJoin(t *twiml, content *conversation.Content) speaker {
	var sp speaker
	for _, lang := range greetingLanguages(content) {
		sp = v.speaker(content, lang)
		t.say(sp.say(spoken("enrol.unknown_sender"), nil))
	}
	return sp
}

// askPIN asks for the PIN, try of pinTriesPerCall, in the greeting
// languages: the same words to every caller, known or not, since nothing
// about the caller may be said before the PIN. Where strangers are
// answered too, they first hear how to join.
func (v *Voice) askPIN(t *twiml, content *conversation.Content, try int) {
	var says []sayVerb
	if try == 1 && content.Flows.Programme.Voice.UnknownCaller == flow.VoiceMenu {
		var join twiml
		v.sayJoin(&join, content)
		for _, verb := range join.verbs {
			says = append(says, verb.(sayVerb))
		}
	}
	var sp speaker
	for _, lang := range greetingLanguages(content) {
		sp = v.speaker(content, lang)
		says = append(says, sp.say(msgPINAsk, nil))
	}
	t.gatherPIN(v.menuURL("pin")+"&try="+strconv.Itoa(try), says...)
	t.say(sp.say(msgGoodbye, nil))
	t.hangup()
}

// pinEntered answers the PIN a caller keyed in: the menu, in the person's
// language, when the conversation says it is right; else "that PIN is
// not right" and the question again, pinTriesPerCall times a call.
func (v *Voice) pinEntered(c echo.Context, content *conversation.Content, call Call) error {
	ans, err := v.Calls.EnterPIN(c.Request().Context(), phoneCall(call), call.Digits)
	if err != nil {
		return v.sorry(c, v.speaker(content, content.Flows.Programme.DefaultLanguage), "check the PIN", err)
	}
	var t twiml
	if ans.Right {
		v.menu(&t, v.speaker(content, ans.Language), true, ans.Pass)
		return twimlBlob(c, t.bytes())
	}
	try, _ := strconv.Atoi(c.QueryParam("try"))
	def := v.speaker(content, greetingLanguages(content)[0])
	t.say(def.say(msgPINWrong, nil))
	if try >= 1 && try < pinTriesPerCall {
		v.askPIN(&t, content, try+1)
		return twimlBlob(c, t.bytes())
	}
	t.say(def.say(msgGoodbye, nil))
	t.hangup()
	return twimlBlob(c, t.bytes())
}

// HandleMenu answers a key pressed in the menu. The caller is found again
// by their caller ID, and where the programme asks for a PIN, the pass
// the right PIN gave this call: nothing else about the call is kept
// between requests.
func (v *Voice) HandleMenu(c echo.Context) error {
	body, err := v.Hooks.verifiedBody(c)
	if err != nil {
		return err
	}
	call, err := ParseCall(body)
	switch {
	case errors.Is(err, ErrNotInbound):
		return twimlBlob(c, (&twiml{}).bytes())
	case err != nil:
		return echo.NewHTTPError(http.StatusBadRequest, "malformed voice webhook")
	}
	ctx := c.Request().Context()
	content := v.Calls.Content()
	if c.QueryParam("step") == "pin" && content.Flows.Programme.Voice.PIN() {
		return v.pinEntered(c, content, call)
	}
	pass := c.QueryParam("pass")
	p, ok, err := v.Calls.MenuCaller(ctx, phoneCall(call), pass)
	var t twiml
	if err != nil || !ok {
		if err != nil {
			v.Hooks.Log.Error("voice menu: identify caller", "err", err)
		}
		sp := v.speaker(content, content.Flows.Programme.DefaultLanguage)
		t.say(sp.say(msgGoodbye, nil))
		t.hangup()
		return twimlBlob(c, t.bytes())
	}
	if c.QueryParam("step") == "language" {
		return v.languageChosen(c, content, p, call, pass)
	}
	sp := v.speaker(content, v.Calls.Language(p))
	keyed := "twilio:call:" + call.CallSid + ":" + call.Digits
	switch call.Digits {
	case key(keyCheckIn):
		res, err := v.Calls.Act(ctx, conversation.Action{ParticipantID: p.ID, Kind: conversation.ActCheckIn, Channel: store.Keypad, DedupeKey: keyed})
		if err != nil {
			return v.sorry(c, sp, "record keypad check-in", err)
		}
		if !res.Duplicate {
			v.Hooks.Log.Info("keypad check-in", "participant", p.ID, "outcome", string(res.Outcome))
		}
		t.say(sp.say(spoken("checkin.thanks"), nil))
		t.say(sp.say(msgGoodbye, nil))
		t.hangup()
	case key(keyCallback):
		if _, err := v.Calls.Act(ctx, conversation.Action{ParticipantID: p.ID, Kind: conversation.ActCallback, Channel: store.Keypad, DedupeKey: keyed}); err != nil {
			return v.sorry(c, sp, "record call-back request", err)
		}
		t.say(sp.say(spoken("callback.thanks"), nil))
		t.say(sp.say(msgGoodbye, nil))
		t.hangup()
	case key(keyLanguage):
		v.languages(&t, content, pass)
	default:
		t.say(sp.say(spoken("common.not_understood"), nil))
		v.menu(&t, sp, false, pass)
	}
	return twimlBlob(c, t.bytes())
}

// languageChosen applies the language picked from the list and reads the
// menu again in it.
func (v *Voice) languageChosen(c echo.Context, content *conversation.Content, p store.Participant, call Call, pass string) error {
	langs := offeredLanguages(content)
	var t twiml
	n := 0
	if len(call.Digits) == 1 && call.Digits[0] >= '1' && call.Digits[0] <= '9' {
		n = int(call.Digits[0] - '0')
	}
	if n < 1 || n > len(langs) {
		sp := v.speaker(content, v.Calls.Language(p))
		t.say(sp.say(spoken("common.not_understood"), nil))
		v.languages(&t, content, pass)
		return twimlBlob(c, t.bytes())
	}
	lang := langs[n-1]
	if _, err := v.Calls.Act(c.Request().Context(), conversation.Action{ParticipantID: p.ID, Kind: conversation.ActLanguage, Channel: store.Keypad, Language: lang}); err != nil {
		return v.sorry(c, v.speaker(content, v.Calls.Language(p)), "set language", err)
	}
	sp := v.speaker(content, lang)
	t.say(sp.say(spoken("language.done"), nil))
	v.menu(&t, sp, false, pass)
	return twimlBlob(c, t.bytes())
}

// sorry ends a call whose key could not be acted on: the person hears a
// goodbye rather than a technical error, and may call again.
func (v *Voice) sorry(c echo.Context, sp speaker, what string, err error) error {
	v.Hooks.Log.Error("voice menu: fault", "step", what, "err", err)
	var t twiml
	t.say(sp.say(msgGoodbye, nil))
	t.hangup()
	return twimlBlob(c, t.bytes())
}

// menu reads the choices inside a Gather, so a key can be pressed at any
// moment; if none is, the call ends politely. pass, when set, is carried
// to the key's answer (menuPass).
func (v *Voice) menu(t *twiml, sp speaker, hello bool, pass string) {
	var says []sayVerb
	if hello {
		says = append(says, sp.say(msgMenuHello, nil))
	}
	for _, o := range []struct {
		id  string
		key int
	}{{msgMenuCheckIn, keyCheckIn}, {msgMenuCallback, keyCallback}, {msgMenuLanguage, keyLanguage}} {
		if o.key == keyLanguage && len(offeredLanguages(sp.content)) < 2 {
			continue
		}
		says = append(says, sp.say(o.id, map[string]any{"Key": key(o.key)}))
	}
	t.gather(withPass(v.menuURL(""), pass), says...)
	t.say(sp.say(msgGoodbye, nil))
	t.hangup()
}

// withPass adds the menu's pass to a URL of it.
func withPass(u, pass string) string {
	if pass == "" {
		return u
	}
	if strings.Contains(u, "?") {
		return u + "&pass=" + url.QueryEscape(pass)
	}
	return u + "?pass=" + url.QueryEscape(pass)
}

// languages reads each offered language's choice in that language.
func (v *Voice) languages(t *twiml, content *conversation.Content, pass string) {
	var says []sayVerb
	for i, lang := range offeredLanguages(content) {
		says = append(says, v.speaker(content, lang).say(msgLanguageChoice, map[string]any{"Key": key(i + 1)}))
	}
	t.gather(withPass(v.menuURL("language"), pass), says...)
	t.say(v.speaker(content, content.Flows.Programme.DefaultLanguage).say(msgGoodbye, nil))
	t.hangup()
}

// menuURL is the absolute URL Twilio posts a key to. Absolute, because
// Twilio would resolve a relative one against the URL it called, which
// differs from ours behind a proxy that strips a path prefix; the step
// in the query is signed with it.
func (v *Voice) menuURL(step string) string {
	u := strings.TrimRight(v.Hooks.PublicURL, "/") + VoiceMenuPath
	if step != "" {
		u += "?step=" + url.QueryEscape(step)
	}
	return u
}

// Message IDs the telephone line uses. voice.X is the spoken form of the
// written message X, where the written one does not read well aloud.
const (
	msgCheckedInByCall = "checkin.by_call"         // written: the confirmation by SMS or Telegram
	msgNextWindow      = "checkin.next_window"     // written: a missed call outside any window
	msgCallUnverified  = "checkin.call_unverified" // written: a missed call not counted, its caller ID unverified
	msgPINAsk          = "voice.pin.ask"
	msgPINWrong        = "voice.pin.wrong"
	msgMenuHello       = "voice.menu.hello"
	msgMenuCheckIn     = "voice.menu.checkin"
	msgMenuCallback    = "voice.menu.callback"
	msgMenuLanguage    = "voice.menu.language"
	msgLanguageChoice  = "voice.language.choice"
	msgGoodbye         = "voice.goodbye"
)

// spokenVariants are the written messages the line says, each with a
// "voice." form in the locale files where the written one speaks of
// replying or texting.
var spokenVariants = map[string]bool{
	"enrol.unknown_sender":  true,
	"callback.thanks":       true,
	"language.done":         true,
	"common.not_understood": true,
}

// spoken is the message ID to say for the written message id.
func spoken(id string) string {
	if spokenVariants[id] {
		return "voice." + id
	}
	return id
}

// speaker says messages in one language with that language's voice.
type speaker struct {
	content *conversation.Content
	lang    string
	speech  flow.Speech
	public  string // WAYMARK_PUBLIC_URL, for the recordings' URLs
	// fallback says what lang has no recording of, where Twilio has no
	// voice for lang.
	fallback *speaker
}

// speaker returns the voice for lang: the programme's speech setting for
// it, or if it has none, the default language's (the text too, so that no
// voice reads a script it cannot).
func (v *Voice) speaker(content *conversation.Content, lang string) speaker {
	speech := content.Flows.Programme.Voice.Speech
	public := strings.TrimRight(v.Hooks.PublicURL, "/")
	if sp, ok := speech[lang]; ok && sp.Speaks() {
		return speaker{content: content, lang: lang, speech: sp, public: public}
	}
	if content.Flows.Recorded(lang) && lang != content.Flows.Programme.DefaultLanguage {
		// Recordings in a language Twilio cannot speak: what is not
		// recorded is said in the default language.
		def := v.speaker(content, content.Flows.Programme.DefaultLanguage)
		return speaker{content: content, lang: lang, public: public, fallback: &def}
	}
	def := content.Flows.Programme.DefaultLanguage
	if sp, ok := speech[def]; ok && sp.Speaks() {
		return speaker{content: content, lang: def, speech: sp, public: public}
	}
	return speaker{content: content, lang: locale.English, speech: speech[locale.English], public: public}
}

func (s speaker) say(id string, vars map[string]any) sayVerb {
	data := conversation.TemplateData(s.content, s.lang, nil)
	maps.Copy(data, vars)
	rec := s.content.Flows.Recording(s.lang, id)
	if rec == "" || s.public == "" || !recordable(vars) {
		if s.fallback != nil {
			return s.fallback.say(id, vars)
		}
		return sayVerb{Language: s.speech.Language, Voice: s.speech.Voice, Text: s.content.Locale.Render(s.lang, id, data)}
	}
	return sayVerb{Play: s.public + AudioPath + strings.TrimPrefix(rec, flow.AudioDir+"/")}
}

// recordable reports whether a message said with vars can be a
// recording made beforehand: not when it carries a date, a time or a
// place of this call; a menu key is the same on every call.
func recordable(vars map[string]any) bool {
	for k := range vars {
		if k != "Key" {
			return false
		}
	}
	return true
}

// AudioRoute serves the organisation's recordings for <Play>: GET
// AudioRoute/<lang>/<file>, outside /webhooks, as Twilio fetches them.
const (
	AudioRoute = "/audio/:lang/:file"
	AudioPath  = "/audio/"
)

// HandleAudio serves a recording from the flows directory's audio folder,
// and only one the loaded flows index: nothing else of the folder can be
// read through it. Recordings are the organisation's own words, the same
// for every caller, so they are public like the number itself.
func (v *Voice) HandleAudio(c echo.Context) error {
	content := v.Calls.Content()
	lang, file := c.Param("lang"), c.Param("file")
	ext := path.Ext(file)
	ctype, ok := flow.AudioTypes[ext]
	rec := content.Flows.Recording(lang, strings.TrimSuffix(file, ext))
	if !ok || rec == "" || path.Base(rec) != file {
		return echo.ErrNotFound
	}
	data, err := fs.ReadFile(content.Flows.AudioFS(), rec)
	if err != nil {
		return echo.ErrNotFound
	}
	return c.Blob(http.StatusOK, ctype, data)
}

// offeredLanguages are the languages a key can choose, in the
// programme's order: those Twilio can speak, up to nine.
func offeredLanguages(c *conversation.Content) []string {
	langs := c.Flows.SpokenLanguages()
	if len(langs) > maxLanguages {
		langs = langs[:maxLanguages]
	}
	return langs
}

func twimlBlob(c echo.Context, b []byte) error {
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", b)
}
