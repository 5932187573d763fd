// Package metrics counts what Waymark does, for Prometheus at /metrics:
// webhooks received and rejected, the outbox's sends, retries and failures,
// send latency, how late the scheduler acts, check-in outcomes and store
// errors.
//
// Counts only. Every label value comes from a fixed list kept here (a
// channel, a route, a reason code, a kind); anything else is counted as
// "other". So no phone number, chat ID, participant ID, label or message
// text can ever become a label, whatever a caller passes.
//
// Every method is safe on a nil *Metrics, which counts nothing, so that
// packages can take an optional *Metrics without checks.
package metrics

import (
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names, for dashboards, alerts and tests.
const (
	NameWebhooksReceived = "waymark_webhooks_received_total"
	NameWebhooksRejected = "waymark_webhooks_rejected_total"
	NameOutboxQueued     = "waymark_outbox_queued_total"
	NameOutboxSent       = "waymark_outbox_sent_total"
	NameOutboxRetried    = "waymark_outbox_retried_total"
	NameOutboxFailed     = "waymark_outbox_failed_total"
	NameOutboxStatus     = "waymark_outbox_status_total"
	NameOutboxInDoubt    = "waymark_outbox_in_doubt_total"
	NameSendSeconds      = "waymark_outbox_send_seconds"
	NameSchedulerLag     = "waymark_scheduler_lag_seconds"
	NameCheckIns         = "waymark_checkins_total"
	NameWindowOutcomes   = "waymark_window_outcomes_total"
	NameStoreErrors      = "waymark_store_errors_total"
	NameBuildInfo        = "waymark_build_info"
	// NameProgrammeVersion is the published programme version a process
	// runs: every process of one store shows the same number within
	// WAYMARK_PROGRAMME_POLL of a publish.
	NameProgrammeVersion = "waymark_programme_version"
)

// Other stands for any label value not on a list: counted, never shown.
const Other = "other"

// Label values. Each list is the whole set a label can take (with Other).
var (
	// Channels are store.Channel values.
	Channels = []string{"sms", "whatsapp", "telegram", "simulator"}
	// WebhookChannels are providers, named by the first part of a webhook
	// route (/webhooks/twilio/... is "twilio").
	WebhookChannels = []string{"twilio", "telegram"}
	// WebhookReasons say why a webhook got an answer other than 2xx.
	WebhookReasons = []string{"bad_signature", "malformed", "too_large", "not_found", "method_not_allowed",
		"draining", "unavailable", "timeout", "client_error", "server_error"}
	// FailReasons are outbox.Reason* codes plus the provider's verdicts.
	FailReasons = []string{"no_sender", "no_participant", "no_link", "opted_out", "unreachable",
		"loop_guard", "address_sealed", "provider_refused", "gave_up"}
	// Statuses are provider delivery statuses (store.MessageStatus).
	Statuses = []string{"queued", "sent", "delivered", "read", "undelivered", "failed"}
	// DueKinds are the scheduler's item kinds (schedule.Kind*).
	DueKinds = []string{"checkin_open", "checkin_closing", "checkin_miss", "appointment_reminder", "appointment_followup"}
	// CheckInOutcomes are store.CheckInOutcome values, and two for a
	// window that passed: missed, and cant_reach (the person's channel had
	// failed, which is never counted as a miss).
	CheckInOutcomes = []string{"on_time", "late", "repeat", "unscheduled", "missed", "cant_reach"}
	// WindowOutcomes are the decided store.WindowOutcome values.
	WindowOutcomes = []string{"on_time", "late", "reported_unable", "excused", "paused", "not_consented", "opted_out", "not_delivered", "missed"}
	// CheckInChannels are the channels a window was kept through (the
	// check-in's store.Channel), and "none" for a window not kept.
	CheckInChannels = []string{"sms", "whatsapp", "telegram", "missed_call", "keypad", "simulator", "none"}
	// StoreErrorKinds: unavailable (store.ErrUnavailable) or other.
	StoreErrorKinds = []string{"unavailable", Other}
)

// Metrics holds Waymark's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	webhooksReceived *prometheus.CounterVec // channel, route, class
	webhooksRejected *prometheus.CounterVec // channel, route, reason
	outboxQueued     *prometheus.CounterVec // channel
	outboxSent       *prometheus.CounterVec // channel
	outboxRetried    *prometheus.CounterVec // channel
	outboxFailed     *prometheus.CounterVec // channel, reason
	outboxStatus     *prometheus.CounterVec // channel, status
	outboxInDoubt    *prometheus.CounterVec // channel, outcome
	sendSeconds      *prometheus.HistogramVec
	schedulerLag     *prometheus.HistogramVec // kind
	checkIns         *prometheus.CounterVec   // outcome
	windowOutcomes   *prometheus.CounterVec   // outcome, channel
	storeErrors      *prometheus.CounterVec   // op, kind

	mu     sync.RWMutex
	routes []string // webhook routes, added by the web server
}

// New returns a registry with Waymark's metrics, the Go runtime's and the
// process's, and waymark_build_info{version}.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.webhooksReceived = counter(NameWebhooksReceived, "Provider webhooks answered, by provider, route and status class (2xx, 4xx, 5xx).", "channel", "route", "class")
	m.webhooksRejected = counter(NameWebhooksRejected, "Provider webhooks not accepted, by provider, route and reason.", "channel", "route", "reason")
	m.outboxQueued = counter(NameOutboxQueued, "Messages put in the outbox, by channel.", "channel")
	m.outboxSent = counter(NameOutboxSent, "Messages the provider accepted, by channel.", "channel")
	m.outboxRetried = counter(NameOutboxRetried, "Temporary send failures that will be retried, by channel.", "channel")
	m.outboxFailed = counter(NameOutboxFailed, "Messages that will not be sent, by channel and reason.", "channel", "reason")
	m.outboxStatus = counter(NameOutboxStatus, "Delivery statuses reported by providers, by channel and status.", "channel", "status")
	m.outboxInDoubt = counter(NameOutboxInDoubt, "Sends in doubt (begun, their answer never recorded: a crash or a lost answer) settled, by channel and outcome: answered (the provider's status came; not sent again) or resent (sent again after the wait; it may arrive twice).", "channel", "outcome")
	m.checkIns = counter(NameCheckIns, "Check-ins by outcome, and check-in windows that passed without one (missed, cant_reach).", "outcome")
	m.windowOutcomes = counter(NameWindowOutcomes, "Check-in windows decided by the ledger (when their grace ended), by outcome and by the channel of the check-in that kept them (none when not kept). The programme report has the same counts by week, from the ledger.", "outcome", "channel")
	m.storeErrors = counter(NameStoreErrors, "Store operations that failed, by operation and kind; not-found and conflict answers are not errors.", "op", "kind")
	m.sendSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameSendSeconds,
		Help:    "Time a provider took to accept or refuse one message, by channel.",
		Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"channel"})
	m.schedulerLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameSchedulerLag,
		Help:    "Time from when a scheduled item fell due to when it was acted on, by kind.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600},
	}, []string{"kind"})
	m.reg.MustRegister(m.sendSeconds, m.schedulerLag)

	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: NameBuildInfo, Help: "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	m.reg.MustRegister(info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Start the series that need no route at zero, so that dashboards and
	// rate() see them before the first event.
	for _, ch := range Channels {
		m.outboxQueued.WithLabelValues(ch)
		m.outboxSent.WithLabelValues(ch)
		m.outboxRetried.WithLabelValues(ch)
	}
	for _, o := range CheckInOutcomes {
		m.checkIns.WithLabelValues(o)
	}
	for _, o := range WindowOutcomes {
		if o == "on_time" || o == "late" {
			for _, ch := range CheckInChannels[:len(CheckInChannels)-1] {
				m.windowOutcomes.WithLabelValues(o, ch)
			}
			continue
		}
		m.windowOutcomes.WithLabelValues(o, "none")
	}
	return m
}

// ProgrammeVersion reports the programme version this process runs, read
// by live at each scrape.
func (m *Metrics) ProgrammeVersion(live func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: NameProgrammeVersion, Help: "The published programme version this process runs (the programme editor's history).",
	}, func() float64 { return float64(live()) }))
}

// Registry is where the collectors are registered (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// oneOf returns v if it is on the list, else Other.
func oneOf(v string, list []string) string {
	if slices.Contains(list, v) {
		return v
	}
	return Other
}
