package twilio

import (
	"net/url"
	"strings"

	"github.com/waymark-atd/waymark/internal/store"
)

// Status is a delivery status callback, reduced to what Waymark needs.
type Status struct {
	MessageSid string
	// Twilio is the status as Twilio sent it, e.g. "partially_delivered".
	Twilio string
	// Status is Twilio's status in Waymark's terms (see StatusOf).
	Status store.MessageStatus
	// ErrorCode is Twilio's error code ("30006"), empty when none.
	ErrorCode string
}

// statuses maps every MessageStatus Twilio sends to Waymark's statuses.
// Twilio has more steps than Waymark records; each lands on the nearest one
// that does not claim more than Twilio knows.
var statuses = map[string]store.MessageStatus{
	"accepted":  store.Queued, // Messaging Service took it, no sender chosen yet
	"scheduled": store.Queued,
	"queued":    store.Queued,
	"sending":   store.Queued, // on its way to the carrier, not yet handed over
	"sent":      store.Sent,
	"delivered": store.Delivered,
	"read":      store.Read, // WhatsApp
	// Only some parts arrived: the person may not have the whole message,
	// and no later status follows, so it is final and counted as not delivered.
	"partially_delivered": store.Undelivered,
	"undelivered":         store.Undelivered,
	"failed":              store.Failed,
	"canceled":            store.Failed, // a scheduled message that will never go
	// receiving/received describe inbound messages; should one ever come on
	// our callback it can only mean the message is on its way or arrived.
	"receiving": store.Queued,
	"received":  store.Delivered,
}

// StatusOf maps a Twilio MessageStatus to Waymark's status; false when
// Twilio's status is unknown to this package.
func StatusOf(twilioStatus string) (store.MessageStatus, bool) {
	s, ok := statuses[strings.ToLower(strings.TrimSpace(twilioStatus))]
	return s, ok
}

// ParseStatus parses the raw form body of a status callback. Call it only
// after Verify. Missing MessageSid or MessageStatus is ErrMalformed; a status
// Twilio may add in future is ErrUnknownStatus (answer 200 and ignore it, so
// that Twilio does not retry).
func ParseStatus(rawBody []byte) (Status, error) {
	form, err := url.ParseQuery(string(rawBody))
	if err != nil {
		return Status{}, ErrMalformed
	}
	st := Status{
		MessageSid: strings.TrimSpace(form.Get("MessageSid")),
		Twilio:     strings.ToLower(strings.TrimSpace(form.Get("MessageStatus"))),
		ErrorCode:  strings.TrimSpace(form.Get("ErrorCode")),
	}
	if st.MessageSid == "" || st.Twilio == "" {
		return Status{}, ErrMalformed
	}
	if !digitsOnly(st.ErrorCode) {
		return Status{}, ErrMalformed
	}
	s, ok := StatusOf(st.Twilio)
	if !ok {
		return st, ErrUnknownStatus
	}
	st.Status = s
	return st, nil
}

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
