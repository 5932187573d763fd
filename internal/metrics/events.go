package metrics

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// AddWebhookRoute makes a webhook route (its pattern under /webhooks, such
// as "/twilio/sms") a label value. The web server adds each route it
// mounts; any other path is counted as "other".
func (m *Metrics) AddWebhookRoute(route string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !strings.HasPrefix(route, "/") || strings.ContainsAny(route, ":*") {
		return // a parameter in a pattern could carry anything
	}
	m.routes = append(m.routes, route)
}

// Webhook counts one webhook answer: route is the pattern under /webhooks
// it matched (or "" when none did), status the HTTP status sent, and
// draining whether the server was shutting down.
func (m *Metrics) Webhook(route string, status int, draining bool) {
	if m == nil {
		return
	}
	m.mu.RLock()
	route = oneOf(route, m.routes)
	m.mu.RUnlock()
	channel := Other
	if route != Other {
		first, _, _ := strings.Cut(strings.TrimPrefix(route, "/"), "/")
		channel = oneOf(first, WebhookChannels)
	}
	m.webhooksReceived.WithLabelValues(channel, route, statusClass(status)).Inc()
	if status < 300 {
		return
	}
	m.webhooksRejected.WithLabelValues(channel, route, rejectReason(status, draining)).Inc()
}

func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	case status >= 200:
		return "2xx"
	}
	return Other
}

// rejectReason names why a webhook was not accepted, from its status: the
// handlers answer 403 for a bad signature, 400 for a malformed request,
// 413 for an oversized one and 503 when the store or the person's lock is
// unavailable (the provider retries).
func rejectReason(status int, draining bool) string {
	switch {
	case status == http.StatusServiceUnavailable && draining:
		return "draining"
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return "bad_signature"
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return "malformed"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case status == http.StatusGatewayTimeout, status == http.StatusRequestTimeout:
		return "timeout"
	case status >= 500:
		return "server_error"
	}
	return "client_error"
}

// Queued counts messages put in the outbox.
func (m *Metrics) Queued(ch store.Channel, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.outboxQueued.WithLabelValues(oneOf(string(ch), Channels)).Add(float64(n))
}

// CheckIn counts a check-in's outcome, or a window that passed ("missed",
// "cant_reach").
func (m *Metrics) CheckIn(outcome string) {
	if m == nil {
		return
	}
	m.checkIns.WithLabelValues(oneOf(outcome, CheckInOutcomes)).Inc()
}

// WindowDecided counts a check-in window the ledger decided: its outcome,
// and the channel of the check-in that kept it ("none" when it was not
// kept).
func (m *Metrics) WindowDecided(outcome, channel string) {
	if m == nil {
		return
	}
	if channel == "" {
		channel = "none"
	}
	m.windowOutcomes.WithLabelValues(oneOf(outcome, WindowOutcomes), oneOf(channel, CheckInChannels)).Inc()
}

// SchedulerLag records how long after it fell due a scheduled item of
// the given kind was acted on. Its signature is schedule.Options.Observe.
func (m *Metrics) SchedulerLag(kind string, lag time.Duration) {
	if m == nil {
		return
	}
	m.schedulerLag.WithLabelValues(oneOf(kind, DueKinds)).Observe(max(lag, 0).Seconds())
}

// StoreError counts a failed store operation; op is the store method's
// name. Not-found and conflict answers are ordinary and not counted.
func (m *Metrics) StoreError(op string, err error) {
	if m == nil || err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return
	}
	kind := Other
	if errors.Is(err, store.ErrUnavailable) {
		kind = "unavailable"
	}
	m.storeErrors.WithLabelValues(oneOf(op, storeOps), kind).Inc()
}

// Outbox returns the outbox dispatcher's observer (outbox.Options.Observer).
func (m *Metrics) Outbox() OutboxObserver { return OutboxObserver{m} }

// OutboxObserver counts what becomes of each message the dispatcher
// handles. It implements outbox.Observer.
type OutboxObserver struct{ m *Metrics }

// Sent counts a message the provider accepted and how long that took.
func (o OutboxObserver) Sent(ch store.Channel, took time.Duration) {
	if o.m == nil {
		return
	}
	c := oneOf(string(ch), Channels)
	o.m.outboxSent.WithLabelValues(c).Inc()
	o.m.sendSeconds.WithLabelValues(c).Observe(max(took, 0).Seconds())
}

// Retrying counts a temporary failure that will be retried, and how long
// the provider took to answer.
func (o OutboxObserver) Retrying(ch store.Channel, took time.Duration) {
	if o.m == nil {
		return
	}
	c := oneOf(string(ch), Channels)
	o.m.outboxRetried.WithLabelValues(c).Inc()
	if took > 0 {
		o.m.sendSeconds.WithLabelValues(c).Observe(took.Seconds())
	}
}

// Failed counts a message that will not be sent, with a reason code.
func (o OutboxObserver) Failed(ch store.Channel, reason string) {
	if o.m == nil {
		return
	}
	o.m.outboxFailed.WithLabelValues(oneOf(string(ch), Channels), oneOf(reason, FailReasons)).Inc()
}

// Status counts a delivery status a provider reported.
func (o OutboxObserver) Status(ch store.Channel, st store.MessageStatus) {
	if o.m == nil {
		return
	}
	o.m.outboxStatus.WithLabelValues(oneOf(string(ch), Channels), oneOf(string(st), Statuses)).Inc()
}

// InDoubt counts a send in doubt settled: resent, or answered by the
// provider's status.
func (o OutboxObserver) InDoubt(ch store.Channel, resent bool) {
	if o.m == nil {
		return
	}
	outcome := "answered"
	if resent {
		outcome = "resent"
	}
	o.m.outboxInDoubt.WithLabelValues(oneOf(string(ch), Channels), outcome).Inc()
}
