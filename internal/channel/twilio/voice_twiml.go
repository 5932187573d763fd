package twilio

import (
	"encoding/xml"
	"strconv"

	"github.com/waymark-atd/waymark/internal/flow"
)

// The voice answers are TwiML built with encoding/xml, so that every word
// said is escaped whatever a locale file or an appointment's place holds.
// Only five verbs are ever used: Reject, Say, Play (an organisation's
// recording of a message), Gather (keys only) and Hangup. There is no
// Record, no speech input and no Dial.

type voiceResponse struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

type sayVerb struct {
	XMLName  xml.Name `xml:"Say"`
	Language string   `xml:"language,attr,omitempty"`
	Voice    string   `xml:"voice,attr,omitempty"`
	Text     string   `xml:",chardata"`
	// Play, when set, is the URL of the organisation's recording of the
	// message: it is played (<Play>) instead of Text being said.
	Play string `xml:"-"`
}

// MarshalXML writes <Play>URL</Play> for a recorded message, else <Say>.
func (s sayVerb) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if s.Play != "" {
		return e.EncodeElement(s.Play, xml.StartElement{Name: xml.Name{Local: "Play"}})
	}
	type say sayVerb // without this method
	return e.EncodeElement(say(s), xml.StartElement{Name: xml.Name{Local: "Say"}})
}

// gatherVerb waits for one key. Input is always "dtmf": the caller's
// voice is never listened to.
type gatherVerb struct {
	XMLName   xml.Name `xml:"Gather"`
	Input     string   `xml:"input,attr"`
	NumDigits int      `xml:"numDigits,attr"`
	// FinishOnKey ends a PIN early ("#"); empty for the menu's one key.
	FinishOnKey string `xml:"finishOnKey,attr,omitempty"`
	Timeout     int    `xml:"timeout,attr"`
	Action      string `xml:"action,attr"`
	Method      string `xml:"method,attr"`
	Says        []sayVerb
}

type hangupVerb struct {
	XMLName xml.Name `xml:"Hangup"`
}

// gatherSeconds is how long Twilio waits for a key after the menu is read.
const gatherSeconds = 6

// RejectTwiML is the answer to a call that is not picked up: a busy tone,
// free to the caller on most networks.
const RejectTwiML = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Response><Reject reason="busy"></Reject></Response>`

// twiml accumulates verbs for one answer.
type twiml struct{ verbs []any }

func (t *twiml) say(s sayVerb) { t.verbs = append(t.verbs, s) }
func (t *twiml) hangup()       { t.verbs = append(t.verbs, hangupVerb{}) }
func (t *twiml) gather(action string, says ...sayVerb) {
	t.verbs = append(t.verbs, gatherVerb{Input: "dtmf", NumDigits: 1, Timeout: gatherSeconds, Action: action, Method: "POST", Says: says})
}

// gatherPIN waits for a PIN: up to flow.MaxPIN keys, ended by "#".
func (t *twiml) gatherPIN(action string, says ...sayVerb) {
	t.verbs = append(t.verbs, gatherVerb{Input: "dtmf", NumDigits: flow.MaxPIN, FinishOnKey: "#", Timeout: pinSeconds, Action: action, Method: "POST", Says: says})
}

// pinSeconds is how long Twilio waits between the keys of a PIN.
const pinSeconds = 8

// bytes is the TwiML document.
func (t *twiml) bytes() []byte {
	b, err := xml.Marshal(voiceResponse{Verbs: t.verbs})
	if err != nil {
		// Only our own fixed types are marshalled: this cannot happen,
		// and a silent rejection is the safe answer if it ever did.
		return []byte(RejectTwiML)
	}
	return append([]byte(xml.Header), b...)
}

// key is a menu key as templates see it.
func key(n int) string { return strconv.Itoa(n) }
