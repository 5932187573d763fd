package outbox

import (
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Reasons an Observer hears for a failed message besides the Reason*
// codes, which name why a message was never sent.
const (
	ReasonRefused = "provider_refused" // the provider refused it for good
	ReasonGaveUp  = "gave_up"          // temporary failures until MaxAttempts
)

// Observer is told what becomes of each message, for metrics. Its methods
// are called from the dispatch loop and must not block. Nothing it is
// given identifies a person: a channel, a reason code, a status, a time.
type Observer interface {
	Sent(ch store.Channel, took time.Duration)     // the provider accepted it, after took
	Retrying(ch store.Channel, took time.Duration) // a temporary failure; it will be retried
	Failed(ch store.Channel, reason string)        // it will not be sent
	Status(ch store.Channel, st store.MessageStatus)
	// InDoubt: a send in doubt (begun, its answer never recorded) was
	// settled, by sending it again (resent) or by the provider's status.
	InDoubt(ch store.Channel, resent bool)
}

// noObserver is the Observer when Options has none.
type noObserver struct{}

func (noObserver) Sent(store.Channel, time.Duration)         {}
func (noObserver) Retrying(store.Channel, time.Duration)     {}
func (noObserver) Failed(store.Channel, string)              {}
func (noObserver) Status(store.Channel, store.MessageStatus) {}
func (noObserver) InDoubt(store.Channel, bool)               {}
