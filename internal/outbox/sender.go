package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Sender delivers one message to one address on one channel. Channel
// packages implement it. Its errors must never carry the address or the
// text: the dispatcher logs them.
//
// Send returns *PermanentError when the provider refused the message for
// good and *RetryAfterError when it asked to wait; any other error is
// taken as temporary (network, 5xx) and retried with backoff.
type Sender interface {
	Send(ctx context.Context, address string, msg store.OutboundMessage) (providerID string, err error)
}

// Throttle is one rate budget a message draws on: Units out of PerSecond
// units a second on the budget named Key. Budgets live in the store, so every
// process shares them.
type Throttle struct {
	Key       string  // e.g. "twilio:sms:<hash of the sender>"; no address in clear
	Units     int     // e.g. SMS segments
	PerSecond float64 // budget refill rate
}

// Throttler is implemented by senders whose provider limits throughput.
// A message may draw on several budgets (a sender number; a chat and the
// whole bot); it goes out when all of them allow.
type Throttler interface {
	Throttles(msg store.OutboundMessage) []Throttle
}

// PermanentError means the provider will never deliver this message; it is
// not retried.
type PermanentError struct {
	// Code is the provider's error code, e.g. "21610"; it becomes the
	// message's ErrorCode and, when Unreachable, the link's Reason.
	Code string
	// Unreachable means the address itself cannot be reached (unsubscribed,
	// not a mobile, unknown number): the link is marked unreachable and the
	// caseworker sees "can't reach". False for faults of the message or of
	// our own setup, which say nothing about the person.
	Unreachable bool
}

func (e *PermanentError) Error() string {
	if e.Unreachable {
		return fmt.Sprintf("permanent error %s: address unreachable", e.Code)
	}
	return fmt.Sprintf("permanent error %s", e.Code)
}

// RetryAfterError means the provider is busy and asked to wait: the message
// is retried, no sooner than After.
type RetryAfterError struct {
	Code  string // e.g. "429" or the provider's code
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("temporary error %s: retry after %s", e.Code, e.After)
}

// TemporaryError is a retryable error with a short code to record if the
// retries run out ("503", "network"). Senders may return it; any error that
// is neither permanent nor RetryAfterError is retried the same way.
type TemporaryError struct {
	Code string
	Err  error
	// MaybeSent means the request may have reached the provider and no
	// answer came (a timeout, a connection lost once the request was
	// written): the provider may have taken the message. It is then sent
	// again only as a send in doubt (Options.DoubtWait).
	MaybeSent bool
}

func (e *TemporaryError) Error() string {
	if e.Err == nil {
		return "temporary error " + e.Code
	}
	return "temporary error " + e.Code + ": " + e.Err.Error()
}

func (e *TemporaryError) Unwrap() error { return e.Err }

// rank orders statuses so that they only move forward: a late "sent" after
// "delivered" changes nothing. The final statuses share the top rank except
// Read, which may follow Delivered (WhatsApp read receipts).
func rank(s store.MessageStatus) int {
	switch s {
	case store.Pending:
		return 0
	case store.Queued:
		return 1
	case store.Sent:
		return 2
	case store.Delivered, store.Undelivered, store.Failed:
		return 3
	case store.Read:
		return 4
	}
	return -1
}

// Advances reports whether a message at status from may move to status to.
// Statuses never move backwards; once final, only Delivered may become Read.
func Advances(from, to store.MessageStatus) bool {
	rt := rank(to)
	if rt < 0 || to == from {
		return false
	}
	if from.Final() {
		return from == store.Delivered && to == store.Read
	}
	return rt > rank(from)
}

// StatusReporter is implemented by senders whose provider reports each
// message's status to a callback that names the message by our ID (Twilio's
// StatusCallback URL carries it), so that a send whose answer was lost is
// recognised when its status comes, and is not sent again.
type StatusReporter interface {
	ReportsStatus() bool
}

// CodeClassifier is implemented by senders whose delivery statuses carry
// error codes: it says which codes mean the address cannot be reached.
type CodeClassifier interface {
	UnreachableCode(code string) bool
}

// Router is implemented by senders whose provider decides by facts of the
// link how a message may go: WhatsApp carries free text only within 24
// hours of the person's last message, and an approved template or an SMS
// after that.
type Router interface {
	// Route returns m as it is to be sent to link now (its Route set), or
	// a *PermanentError when it cannot go at all.
	Route(m store.OutboundMessage, link store.Link, now time.Time) (store.OutboundMessage, error)
	// Reroute returns m as it is to be sent once more after the provider
	// refused it with code, and false when it is not to be sent again. A
	// message is rerouted at most once a route, so a refusal never starts
	// a loop of retries.
	Reroute(m store.OutboundMessage, code string) (store.OutboundMessage, bool)
}
