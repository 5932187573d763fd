package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// The hooks of the outbox and the scheduler take these as they are.
var (
	_ outbox.Observer = OutboxObserver{}
	_                 = schedule.Options{Observe: (*Metrics)(nil).SchedulerLag}
)

// value returns the value of the series name{labels}, or -1 if there is
// none; for a histogram, its count.
func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return s.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(s.GetHistogram().GetSampleCount())
			case dto.MetricType_GAUGE:
				return s.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func TestWebhookLabelsComeFromRoutesAndStatuses(t *testing.T) {
	m := New("test")
	m.AddWebhookRoute("/twilio/sms")
	m.AddWebhookRoute("/telegram/:secret") // a parameter could carry anything: never a label
	m.Webhook("/twilio/sms", http.StatusOK, false)
	m.Webhook("/twilio/sms", http.StatusForbidden, false)
	m.Webhook("/twilio/sms", http.StatusServiceUnavailable, true)
	m.Webhook("/twilio/sms", http.StatusServiceUnavailable, false)
	m.Webhook("/telegram/:secret", http.StatusOK, false)
	m.Webhook("/+447700900123", http.StatusNotFound, false)

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{NameWebhooksReceived, []string{"channel", "twilio", "route", "/twilio/sms", "class", "2xx"}, 1},
		{NameWebhooksReceived, []string{"channel", "twilio", "route", "/twilio/sms", "class", "5xx"}, 2},
		{NameWebhooksRejected, []string{"channel", "twilio", "reason", "bad_signature"}, 1},
		{NameWebhooksRejected, []string{"channel", "twilio", "reason", "draining"}, 1},
		{NameWebhooksRejected, []string{"channel", "twilio", "reason", "unavailable"}, 1},
		{NameWebhooksReceived, []string{"channel", Other, "route", Other, "class", "2xx"}, 1},
		{NameWebhooksRejected, []string{"channel", Other, "route", Other, "reason", "not_found"}, 1},
	} {
		if got := value(t, m, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	assertNoPersonalLabels(t, m)
}

func TestValuesOffTheListsAreOther(t *testing.T) {
	m := New("test")
	m.Queued("+447700900123", 2)
	m.CheckIn("p_abcdefghijklmnop")
	m.SchedulerLag("win:p_abcdefghijklmnop:1700000000", time.Minute)
	m.Outbox().Failed("123456789", "21610")
	m.Outbox().Status(store.SMS, "Maria's phone")
	m.StoreError("GetParticipant p_abcdefghijklmnop", store.ErrUnavailable)
	m.WindowDecided("win:p_abcdefghijklmnop:1700000000", "+447700900123")

	for _, tc := range []struct {
		name   string
		labels []string
	}{
		{NameOutboxQueued, []string{"channel", Other}},
		{NameCheckIns, []string{"outcome", Other}},
		{NameSchedulerLag, []string{"kind", Other}},
		{NameOutboxFailed, []string{"channel", Other, "reason", Other}},
		{NameOutboxStatus, []string{"channel", "sms", "status", Other}},
		{NameStoreErrors, []string{"op", Other, "kind", "unavailable"}},
		{NameWindowOutcomes, []string{"outcome", Other, "channel", Other}},
	} {
		if got := value(t, m, tc.name, tc.labels...); got <= 0 {
			t.Errorf("%s%v = %v, want it counted", tc.name, tc.labels, got)
		}
	}
	assertNoPersonalLabels(t, m)
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.AddWebhookRoute("/twilio/sms")
	m.Webhook("/twilio/sms", 200, false)
	m.Queued(store.SMS, 1)
	m.CheckIn("on_time")
	m.SchedulerLag("checkin_open", time.Second)
	m.StoreError("Ping", errors.New("down"))
	m.Outbox().Sent(store.SMS, time.Second)
	m.Outbox().Retrying(store.SMS, time.Second)
	m.Outbox().Failed(store.SMS, "gave_up")
	m.Outbox().Status(store.SMS, store.Delivered)
	m.Outbox().InDoubt(store.SMS, true)
	st := openBolt(t)
	if InstrumentStore(st, nil) != st {
		t.Error("InstrumentStore with no metrics must return the store itself")
	}
}

// The lists here must name every code the other packages use, or their
// events would all be counted as "other".
func TestListsCoverTheCodesInUse(t *testing.T) {
	for _, c := range []store.Channel{store.SMS, store.WhatsApp, store.Telegram, store.Simulator} {
		mustContain(t, "Channels", Channels, string(c))
	}
	for _, r := range []string{outbox.ReasonNoSender, outbox.ReasonNoParticipant, outbox.ReasonNoLink, outbox.ReasonOptedOut,
		outbox.ReasonUnreachable, outbox.ReasonLoopGuard, outbox.ReasonSealed, outbox.ReasonRefused, outbox.ReasonGaveUp} {
		mustContain(t, "FailReasons", FailReasons, r)
	}
	for _, k := range []string{schedule.KindWindowOpen, schedule.KindClosingSoon, schedule.KindMissCheck, schedule.KindAppointment, schedule.KindFollowUp} {
		mustContain(t, "DueKinds", DueKinds, k)
	}
	for _, o := range []store.CheckInOutcome{store.OnTime, store.Late, store.Repeat, store.Unscheduled} {
		mustContain(t, "CheckInOutcomes", CheckInOutcomes, string(o))
	}
	for _, s := range []store.MessageStatus{store.Queued, store.Sent, store.Delivered, store.Read, store.Undelivered, store.Failed} {
		mustContain(t, "Statuses", Statuses, string(s))
	}
}

func mustContain(t *testing.T, list string, in []string, v string) {
	t.Helper()
	if !slices.Contains(in, v) {
		t.Errorf("%s lacks %q", list, v)
	}
}

func openBolt(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A turn is counted once it is stored, and a duplicate that the store
// refuses counts nothing.
func TestInstrumentedStoreCountsWhatLands(t *testing.T) {
	ctx := context.Background()
	raw := openBolt(t)
	m := New("test")
	st := InstrumentStore(raw, m)
	now := time.Now().UTC().Truncate(time.Second) // the dedupe key expires in real time
	pid := store.NewID("p_")
	if err := st.CreateParticipant(ctx, store.Participant{ID: pid, Label: "Test", Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	turn := func(key string) store.Turn {
		return store.Turn{
			ParticipantID: pid,
			CheckIns:      []store.CheckIn{{ID: store.NewID("c_"), ParticipantID: pid, At: now, Channel: store.SMS, Outcome: store.Late}},
			Attention:     []store.AttentionItem{{ID: store.NewID("n_"), ParticipantID: pid, Kind: store.AttentionMissed, Ref: "win:" + pid + ":1", CreatedAt: now}},
			Outbound: []store.OutboundMessage{
				{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: "x", Channel: store.SMS, Kind: "a", Text: "hi", Status: store.Pending, CreatedAt: now, UpdatedAt: now},
				{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: "x", Channel: store.SMS, Kind: "b", Text: "hi", Status: store.Pending, CreatedAt: now, UpdatedAt: now},
			},
			DedupeKey: key, DedupeUntil: now.Add(time.Hour),
		}
	}
	if err := st.ApplyTurn(ctx, turn("twilio:SM1")); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyTurn(ctx, turn("twilio:SM1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate turn: %v, want ErrConflict", err)
	}
	if err := st.EnqueueOutbound(ctx, store.OutboundMessage{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: "y", Channel: store.Telegram, Kind: "c", Text: "hi", Status: store.Pending, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetParticipant(ctx, "p_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing participant: %v", err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{NameOutboxQueued, []string{"channel", "sms"}, 2},
		{NameOutboxQueued, []string{"channel", "telegram"}, 1},
		{NameCheckIns, []string{"outcome", "late"}, 1},
		{NameCheckIns, []string{"outcome", "missed"}, 1},
		{NameCheckIns, []string{"outcome", "on_time"}, 0},
		// Not found and the refused duplicate are answers, not errors.
		{NameStoreErrors, nil, -1},
	} {
		if got := value(t, m, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	raw.Close()
	if err := st.Ping(ctx); err == nil {
		t.Fatal("ping of a closed store succeeded")
	}
	if got := value(t, m, NameStoreErrors, "op", "Ping"); got != 1 {
		t.Errorf("store errors of Ping = %v, want 1", got)
	}
}

// A window is counted once, when the ledger decides it, by its outcome
// and the channel of the check-in that kept it.
func TestWindowOutcomesCountedWhenDecided(t *testing.T) {
	ctx := context.Background()
	m := New("test")
	st := InstrumentStore(openBolt(t), m)
	pid := store.NewID("p_")
	opens := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := st.CreateParticipant(ctx, store.Participant{ID: pid, Label: "Test", Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: opens, UpdatedAt: opens}); err != nil {
		t.Fatal(err)
	}
	win := func(n int, o store.WindowOutcome) store.Window {
		at := opens.AddDate(0, 0, 7*n)
		return store.Window{Ref: fmt.Sprintf("win:%s:%d", pid, at.Unix()), ParticipantID: pid, OpensAt: at, ClosesAt: at.Add(12 * time.Hour),
			GraceEndsAt: at.Add(36 * time.Hour), Outcome: o, UpdatedAt: at}
	}
	// A check-in by missed call keeps the first window: on time, but not
	// decided until the grace ends.
	kept := win(0, store.WindowOnTime)
	kept.CheckInID = "c_1"
	apply := func(t *testing.T, tu store.Turn) {
		t.Helper()
		tu.ParticipantID = pid
		if err := st.ApplyTurn(ctx, tu); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, store.Turn{CheckIns: []store.CheckIn{{ID: "c_1", ParticipantID: pid, At: kept.OpensAt.Add(time.Hour), Channel: store.MissedCall, Outcome: store.OnTime}},
		Windows: []store.Window{kept}})
	if got := value(t, m, NameWindowOutcomes, "outcome", "on_time", "channel", "missed_call"); got != 0 {
		t.Fatalf("counted before it was decided: %v", got)
	}
	kept.DecidedAt, kept.UpdatedAt = kept.GraceEndsAt, kept.GraceEndsAt
	missed := win(1, store.WindowMissed)
	missed.DecidedAt, missed.UpdatedAt = missed.GraceEndsAt, missed.GraceEndsAt
	apply(t, store.Turn{Windows: []store.Window{kept}})
	apply(t, store.Turn{Windows: []store.Window{missed}})
	// A late check-in moves the miss to late later: not decided again.
	missed.Outcome, missed.CheckInID, missed.UpdatedAt = store.WindowLate, "c_2", missed.GraceEndsAt.Add(time.Hour)
	apply(t, store.Turn{CheckIns: []store.CheckIn{{ID: "c_2", ParticipantID: pid, At: missed.UpdatedAt, Channel: store.SMS, Outcome: store.Late}},
		Windows: []store.Window{missed}})
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"outcome", "on_time", "channel", "missed_call"}, 1},
		{[]string{"outcome", "missed", "channel", "none"}, 1},
		{[]string{"outcome", "late", "channel", "sms"}, 0},
	} {
		if got := value(t, m, NameWindowOutcomes, tc.labels...); got != tc.want {
			t.Errorf("%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
}

func TestOutboxObserver(t *testing.T) {
	m := New("test")
	o := m.Outbox()
	o.Sent(store.WhatsApp, 300*time.Millisecond)
	o.Retrying(store.WhatsApp, 2*time.Second)
	o.Failed(store.WhatsApp, outbox.ReasonGaveUp)
	o.Status(store.WhatsApp, store.Delivered)
	o.InDoubt(store.WhatsApp, true)
	o.InDoubt(store.SMS, false)
	o.InDoubt(store.SMS, false)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{NameOutboxSent, []string{"channel", "whatsapp"}, 1},
		{NameOutboxRetried, []string{"channel", "whatsapp"}, 1},
		{NameOutboxFailed, []string{"channel", "whatsapp", "reason", "gave_up"}, 1},
		{NameOutboxStatus, []string{"channel", "whatsapp", "status", "delivered"}, 1},
		{NameOutboxInDoubt, []string{"channel", "whatsapp", "outcome", "resent"}, 1},
		{NameOutboxInDoubt, []string{"channel", "sms", "outcome", "answered"}, 2},
		{NameSendSeconds, []string{"channel", "whatsapp"}, 2},
		{NameBuildInfo, []string{"version", "test"}, 1},
	} {
		if got := value(t, m, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

// assertNoPersonalLabels checks every label value of every Waymark series
// against the lists: nothing else may appear.
func assertNoPersonalLabels(t *testing.T, m *Metrics) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := slices.Concat(Channels, WebhookChannels, WebhookReasons, FailReasons, Statuses, DueKinds,
		CheckInOutcomes, WindowOutcomes, CheckInChannels, StoreErrorKinds, storeOps, m.routes, []string{Other, "2xx", "3xx", "4xx", "5xx", "test"})
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "waymark_") {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if !slices.Contains(allowed, l.GetValue()) {
					t.Errorf("%s has label %s=%q, which is on no list", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}
