package twilio

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/store"
)

// MaxBodyChars is Twilio's limit on a message body, in characters. Twilio
// reassembles longer inbound SMS up to this size and refuses to send more.
const MaxBodyChars = 1600

// Errors of ParseInbound and ParseStatus. None of them carries any part of
// the payload, so they are safe to log.
var (
	// ErrMalformed: a field Twilio always sends is missing or unreadable.
	ErrMalformed = errors.New("twilio: malformed webhook")
	// ErrTooLong: the body is over MaxBodyChars characters.
	ErrTooLong = errors.New("twilio: message body too long")
	// ErrInvalidText: the body is not valid UTF-8.
	ErrInvalidText = errors.New("twilio: message body is not valid UTF-8")
	// ErrUnknownStatus: a MessageStatus this package does not know.
	ErrUnknownStatus = errors.New("twilio: unknown message status")
)

// EmptyTwiML is the answer to an inbound webhook (Content-Type text/xml):
// replies go out through the outbox, and an empty or non-XML body makes
// Twilio log a warning.
const EmptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// whatsappPrefix marks WhatsApp addresses in Twilio's From and To fields.
const whatsappPrefix = "whatsapp:"

// Inbound is what Waymark keeps in memory of an inbound Twilio message.
// Everything else Twilio sends (the geo fields FromCity, FromState, FromZip,
// FromCountry, ToCity, ToState, ToZip, ToCountry, ProfileName, WaId, media
// URLs, account data) is never copied out of the parsed form.
type Inbound struct {
	// MessageSid is Twilio's ID of the message, the dedupe key.
	MessageSid string
	// From is the sender's address without the "whatsapp:" prefix. It is
	// held only to seal it and compute its blind index; never store or log it.
	From string
	// Channel is store.SMS or store.WhatsApp, from the "whatsapp:" prefix.
	Channel store.Channel
	// Body is the text; empty when ParseInbound returns ErrTooLong or
	// ErrInvalidText. Match it and drop it.
	Body string
	// NumMedia is how many attachments came with the message. Waymark does
	// not fetch them.
	NumMedia int
	// MediaOnly: attachments and no text, so there is nothing to match.
	MediaOnly bool
	// OptOutType is "STOP", "START" or "HELP" when Twilio's Advanced Opt-Out
	// recognised a keyword (Twilio then blocks or unblocks the number itself);
	// empty otherwise.
	OptOutType string
}

// ParseInbound parses the raw form body of an inbound message webhook. Call
// it only after Verify.
//
// On ErrTooLong and ErrInvalidText the returned Inbound still carries
// MessageSid, From and Channel (Body empty), so that the caller can dedupe
// the message and tell the sender it could not be read. On ErrMalformed the
// Inbound is empty.
func ParseInbound(rawBody []byte) (Inbound, error) {
	form, err := url.ParseQuery(string(rawBody))
	if err != nil {
		return Inbound{}, ErrMalformed
	}
	in := Inbound{
		MessageSid: strings.TrimSpace(form.Get("MessageSid")),
		Channel:    store.SMS,
		From:       strings.TrimSpace(form.Get("From")),
	}
	if rest, ok := strings.CutPrefix(in.From, whatsappPrefix); ok {
		in.Channel, in.From = store.WhatsApp, rest
	}
	if in.MessageSid == "" || in.From == "" || !utf8.ValidString(in.From) {
		return Inbound{}, ErrMalformed
	}
	if s := form.Get("NumMedia"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Inbound{}, ErrMalformed
		}
		in.NumMedia = n
	}
	switch t := strings.ToUpper(strings.TrimSpace(form.Get("OptOutType"))); t {
	case "STOP", "START", "HELP":
		in.OptOutType = t
	}

	body := form.Get("Body")
	if p := strings.TrimSpace(form.Get("ButtonPayload")); in.Channel == store.WhatsApp && isChoiceNumber(p) {
		// A quick-reply button of a template: its ID is the number of the
		// choice it stands for (docs/whatsapp.md), the surest answer. Body
		// holds the button's words, which a choice's label also matches
		// when an ID is something else.
		body = p
	}
	if !utf8.ValidString(body) {
		return in, ErrInvalidText
	}
	if utf8.RuneCountInString(body) > MaxBodyChars {
		return in, ErrTooLong
	}
	in.Body = body
	in.MediaOnly = in.NumMedia > 0 && strings.TrimSpace(body) == ""
	return in, nil
}

// isChoiceNumber reports whether s is a choice's number, 1 to 99.
func isChoiceNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 99 && strconv.Itoa(n) == s
}
