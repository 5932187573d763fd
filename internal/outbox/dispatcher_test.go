package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/outbox/outboxtest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "authtoken0123456789abcdef01234567"
	ourNumber  = "+15005550006"
	publicURL  = "https://public.example.org"
)

type harness struct {
	t      *testing.T
	ctx    context.Context
	st     store.Store
	clk    *clock.Fake
	fake   *twiliotest.Server
	sender *twilio.Sender
	box    *seal.Box
	logs   *testkit.Logs
	logger *slog.Logger
	opts   outbox.Options
}

// newHarness wires a dispatcher as the server will: the real twilio-go
// client against a fake Messages API, a real store, sealed addresses, and
// a fake clock set to now (the store measures expiry in wall time).
func newHarness(t *testing.T, mps float64) *harness {
	t.Helper()
	key, err := seal.ParseKey(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, ctx: context.Background(), st: newTestStore(t), clk: clock.NewFake(time.Now().Truncate(time.Second)),
		fake: twiliotest.New(t, accountSID, authToken), box: box, logs: &testkit.Logs{},
		opts: outbox.Options{Jitter: func() float64 { return 0.5 }, BackoffBase: 10 * time.Second, BackoffMax: 5 * time.Minute},
	}
	h.logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.sender, err = twilio.NewSender(twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: ourNumber,
		APIURL: h.fake.URL, PublicURL: publicURL, MPS: mps, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) dispatcher(mutate ...func(*outbox.Options)) *outbox.Dispatcher {
	return h.dispatcherOn(h.st, mutate...)
}

// dispatcherOn is a dispatcher like h.dispatcher's over st, a wrapper of
// h.st.
func (h *harness) dispatcherOn(st outbox.Store, mutate ...func(*outbox.Options)) *outbox.Dispatcher {
	opts := h.opts
	for _, m := range mutate {
		m(&opts)
	}
	senders := map[store.Channel]outbox.Sender{store.SMS: h.sender, store.WhatsApp: h.sender}
	open := func(_ context.Context, l store.Link) (string, error) { return h.box.Open(string(l.Channel), l.Sealed) }
	return outbox.New(st, senders, open, h.clk, h.logger, opts)
}

// waitLonger gives h's dispatchers a Twilio client that waits a minute
// for an answer, longer than a test runs, so that a send held at the fake
// stays held rather than ending in doubt.
func (h *harness) waitLonger() {
	h.t.Helper()
	s, err := twilio.NewSender(twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: ourNumber,
		APIURL: h.fake.URL, PublicURL: publicURL, MPS: 1e9, Timeout: time.Minute,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.sender = s
}

// received is what the fake accepted for phone, in order.
func (h *harness) received(phone string) []string {
	var got []string
	for _, r := range h.fake.Accepted() {
		if r.To == phone {
			got = append(got, r.Body)
		}
	}
	return got
}

// run starts d.Run and returns what stops it and waits for it to return.
func (h *harness) run(d *outbox.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// twoMessages queues two messages for a new person, in that order.
func (h *harness) twoMessages(pid, phone, first, second string) (store.OutboundMessage, store.OutboundMessage) {
	l := h.person(pid, phone, store.SMS)
	m1 := h.enqueue(l, "checkin.ask", first)
	h.clk.Advance(time.Millisecond)
	return m1, h.enqueue(l, "checkin.ask", second)
}

// person enrols a participant with one linked phone.
func (h *harness) person(id, phone string, ch store.Channel) store.Link {
	h.t.Helper()
	now := h.clk.Now()
	if err := h.st.CreateParticipant(h.ctx, store.Participant{ID: id, Label: "test " + id, Language: "en", TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	sealed, err := h.box.Seal(string(ch), phone)
	if err != nil {
		h.t.Fatal(err)
	}
	l := store.Link{Index: h.box.Index(string(ch), phone), Channel: ch, ParticipantID: id, Sealed: sealed, Masked: seal.Mask(phone), LinkedAt: now}
	if err := h.st.PutLink(h.ctx, l); err != nil {
		h.t.Fatal(err)
	}
	return l
}

func (h *harness) enqueue(l store.Link, kind, text string) store.OutboundMessage {
	h.t.Helper()
	now := h.clk.Now()
	m := store.OutboundMessage{
		ID: store.NewID("m_"), ParticipantID: l.ParticipantID, LinkIndex: l.Index, Channel: l.Channel,
		Kind: kind, Text: text, Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := h.st.EnqueueOutbound(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) get(id string) store.OutboundMessage {
	h.t.Helper()
	m, err := h.st.GetOutbound(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) once(d *outbox.Dispatcher) int {
	h.t.Helper()
	n, err := d.DispatchOnce(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// sentIDs counts accepted requests per our message ID (from the status
// callback URL).
func (h *harness) sentIDs() map[string]int {
	out := map[string]int{}
	for _, r := range h.fake.Accepted() {
		u, err := url.Parse(r.StatusCallback)
		if err != nil {
			h.t.Fatal(err)
		}
		out[u.Query().Get("id")]++
	}
	return out
}

func (h *harness) attention() []store.AttentionItem {
	h.t.Helper()
	items, err := h.st.ListAttention(h.ctx, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return items
}

func TestSendOnce(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_one", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
	d := h.dispatcher()

	if n := h.once(d); n != 1 {
		t.Fatalf("handled %d, want 1", n)
	}
	got := h.fake.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d sent", len(got))
	}
	if got[0].To != "+447700900123" || got[0].From != ourNumber || got[0].Body != m.Text {
		t.Errorf("request %+v", got[0])
	}
	if got[0].StatusCallback != publicURL+"/webhooks/twilio/status?id="+m.ID {
		t.Errorf("status callback %q", got[0].StatusCallback)
	}
	rec := h.get(m.ID)
	if rec.Status != store.Queued || rec.ProviderID != got[0].SID || rec.Attempts != 1 || rec.ErrorCode != "" {
		t.Errorf("record %+v", rec)
	}
	h.clk.Advance(time.Hour)
	if n := h.once(d); n != 0 || len(h.fake.Accepted()) != 1 {
		t.Fatalf("second pass handled %d, %d sent", n, len(h.fake.Accepted()))
	}
}

// countSegments stands in for sms.Segments: a segment a word.
func countSegments(o *outbox.Options) {
	o.Segments = func(text string) int { return len(strings.Fields(text)) }
}

// An SMS keeps its segment count for the programme report's cost, after
// its text is gone.
func TestSegmentsAreKept(t *testing.T) {
	h := newHarness(t, 100)
	sms := h.enqueue(h.person("p_sms", "+447700900123", store.SMS), "checkin.ask", "Time to check in.")
	wa := h.enqueue(h.person("p_wa", "+447700900124", store.WhatsApp), "checkin.ask", "Time to check in.")
	d := h.dispatcher(countSegments)
	h.once(d)
	if got := h.get(sms.ID).Segments; got != 4 {
		t.Errorf("SMS segments %d, want 4", got)
	}
	if got := h.get(wa.ID).Segments; got != 0 {
		t.Errorf("WhatsApp segments %d, want none", got)
	}
}

func TestRetryOn503ThenDeliveredOnce(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_retry", "+447700900123", store.SMS)
	m := h.enqueue(l, "reminder.appointment", "Your appointment is tomorrow at 10:00.")
	d := h.dispatcher()
	h.fake.Script(twiliotest.Response{Status: 503, Code: 20503})
	t0 := h.clk.Now()

	h.once(d)
	rec := h.get(m.ID)
	if rec.Status != store.Pending || rec.Attempts != 1 || rec.ErrorCode != "503" {
		t.Fatalf("after 503: %+v", rec)
	}
	// BackoffBase 10s with jitter 0.5: between half and all of it.
	if want := t0.Add(7500 * time.Millisecond); !rec.NotBefore.Equal(want) {
		t.Errorf("retry at %s, want %s", rec.NotBefore.Sub(t0), want.Sub(t0))
	}
	if n := h.once(d); n != 0 {
		t.Fatalf("retried before the backoff: %d", n)
	}
	h.clk.Advance(8 * time.Second)
	h.once(d)
	rec = h.get(m.ID)
	if rec.Status != store.Queued || rec.Attempts != 2 || rec.ErrorCode != "" {
		t.Fatalf("after retry: %+v", rec)
	}
	if len(h.fake.Requests()) != 2 || h.sentIDs()[m.ID] != 1 {
		t.Fatalf("requests %d, accepted for the message %d", len(h.fake.Requests()), h.sentIDs()[m.ID])
	}
	if err := d.ApplyStatus(h.ctx, m.ID, "", store.Delivered, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyStatus(h.ctx, m.ID, "", store.Sent, ""); err != nil { // late
		t.Fatal(err)
	}
	rec = h.get(m.ID)
	if rec.Status != store.Delivered || rec.Text != "" || rec.Kind != "reminder.appointment" {
		t.Errorf("after delivered and a late sent: %+v", rec)
	}
	h.clk.Advance(time.Hour)
	h.once(d)
	if len(h.fake.Requests()) != 2 {
		t.Errorf("sent again after delivery")
	}
}

func TestRetriesAreBounded(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_bounded", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	d := h.dispatcher(func(o *outbox.Options) { o.MaxAttempts = 4 })
	for range 10 {
		h.fake.Script(twiliotest.Response{Status: 500, Code: 20500})
	}
	var waits []time.Duration
	for range 20 {
		before := h.clk.Now()
		h.once(d)
		rec := h.get(m.ID)
		if rec.Status != store.Pending {
			break
		}
		waits = append(waits, rec.NotBefore.Sub(before))
		h.clk.Set(rec.NotBefore)
	}
	rec := h.get(m.ID)
	if rec.Status != store.Failed || rec.Attempts != 4 || rec.ErrorCode != "500" || rec.Text != "" {
		t.Fatalf("after retries: %+v", rec)
	}
	if len(h.fake.Requests()) != 4 {
		t.Errorf("%d requests, want 4", len(h.fake.Requests()))
	}
	// Exponential: 10s, 20s, 40s, each times 0.75 with this jitter.
	want := []time.Duration{7500 * time.Millisecond, 15 * time.Second, 30 * time.Second}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	link, err := h.st.GetLink(h.ctx, l.Index)
	if err != nil || link.Unreachable {
		t.Errorf("temporary failures marked the link unreachable: %+v %v", link, err)
	}
	if len(h.attention()) != 0 {
		t.Errorf("temporary failures raised attention: %+v", h.attention())
	}
}

func TestRetryAfter(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_429", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	h.fake.Script(twiliotest.Response{Status: 429, Code: 20429, RetryAfter: "120"})
	t0 := h.clk.Now()
	h.once(h.dispatcher())
	rec := h.get(m.ID)
	if rec.Status != store.Pending || rec.NotBefore.Sub(t0) != 120*time.Second {
		t.Fatalf("after 429: %+v (wait %s)", rec, rec.NotBefore.Sub(t0))
	}
}

func TestUnsubscribedMarksUnreachable(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_stop", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	h.fake.Script(twiliotest.Response{Status: 400, Code: 21610})
	d := h.dispatcher()
	h.once(d)

	rec := h.get(m.ID)
	if rec.Status != store.Failed || rec.ErrorCode != "21610" || rec.Attempts != 1 || rec.Text != "" {
		t.Fatalf("record %+v", rec)
	}
	link, err := h.st.GetLink(h.ctx, l.Index)
	if err != nil || !link.Unreachable || link.Reason != "21610" {
		t.Fatalf("link %+v %v", link, err)
	}
	items := h.attention()
	if len(items) != 1 || items[0].Kind != store.AttentionCantReach || items[0].ParticipantID != "p_stop" || items[0].Reason != "sms:21610" {
		t.Fatalf("attention %+v", items)
	}
	for _, it := range items {
		if it.Kind == store.AttentionMissed {
			t.Fatal("a delivery failure shows as a missed check-in")
		}
	}
	audit, err := h.st.ListAudit(h.ctx, "p_stop", 10)
	if err != nil || len(audit) != 1 || audit[0].Action != "link_unreachable" {
		t.Errorf("audit %+v %v", audit, err)
	}

	// Not retried, and nothing more goes to that link.
	h.clk.Advance(time.Hour)
	m2 := h.enqueue(l, "reminder.appointment", "Your appointment is tomorrow.")
	h.once(d)
	if n := len(h.fake.Requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if rec := h.get(m2.ID); rec.Status != store.Failed || rec.ErrorCode != outbox.ReasonUnreachable {
		t.Errorf("second message %+v", rec)
	}
	if len(h.attention()) != 1 {
		t.Errorf("attention raised twice")
	}
}

func TestRateLimitInSegments(t *testing.T) {
	h := newHarness(t, 1) // 1 segment a second
	a := h.person("p_a", "+447700900123", store.SMS)
	b := h.person("p_b", "+447700900124", store.SMS)
	twoSegments := strings.Repeat("Please check in today. ", 9)[:200] // GSM-7, 200 chars: 153 + 47
	one := "Thanks, you are checked in."
	var ids []string
	for i, l := range []store.Link{a, b, a} {
		ids = append(ids, h.enqueue(l, "checkin.ask", fmt.Sprintf("%d %s", i, twoSegments)).ID)
		h.clk.Advance(time.Millisecond) // keep the queue order
	}
	ids = append(ids, h.enqueue(b, "checkin.thanks", one).ID)
	t0 := h.clk.Now()
	d := h.dispatcher()

	sentAt := map[string]time.Duration{}
	for range 40 {
		h.once(d)
		for id := range h.sentIDs() {
			if _, ok := sentAt[id]; !ok {
				sentAt[id] = h.clk.Now().Sub(t0)
			}
		}
		h.clk.Advance(250 * time.Millisecond)
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}
	for i, id := range ids {
		if got, ok := sentAt[id]; !ok || got != want[i] {
			t.Errorf("message %d sent at %v (sent: %v), want %v", i, got, ok, want[i])
		}
	}
	for id, n := range h.sentIDs() {
		if n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
}

func TestLoopGuard(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_loop", "+447700900123", store.SMS)
	d := h.dispatcher(func(o *outbox.Options) { o.LoopLimit = 5; o.LoopWindow = 10 * time.Minute })
	var ids []string
	for range 7 {
		ids = append(ids, h.enqueue(l, "common.not_understood", "Sorry, I did not understand. Reply 1 or 2.").ID)
		h.clk.Advance(time.Second)
	}
	other := h.enqueue(l, "checkin.thanks", "Thanks, you are checked in.")
	for range 5 {
		h.once(d)
		h.clk.Advance(time.Second)
	}
	sent := h.sentIDs()
	for i, id := range ids {
		rec := h.get(id)
		if i < 5 && (sent[id] != 1 || rec.Status != store.Queued) {
			t.Errorf("message %d: sent %d, %+v", i, sent[id], rec)
		}
		if i >= 5 && (sent[id] != 0 || rec.Status != store.Failed || rec.ErrorCode != outbox.ReasonLoopGuard) {
			t.Errorf("message %d past the limit: sent %d, %+v", i, sent[id], rec)
		}
	}
	if sent[other.ID] != 1 {
		t.Error("a different message was held back by the loop guard")
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "loop guard") {
		t.Error("no loop guard warning logged")
	}
	if strings.Contains(logs, "did not understand") || strings.Contains(logs, "7700900123") {
		t.Error("loop guard warning holds the text or the number")
	}
	// Another person may get the same text.
	l2 := h.person("p_loop2", "+447700900125", store.SMS)
	m := h.enqueue(l2, "common.not_understood", "Sorry, I did not understand. Reply 1 or 2.")
	h.once(d)
	if h.sentIDs()[m.ID] != 1 {
		t.Error("the loop guard of one person held back another's message")
	}
}

// optedOut enrols a person on SMS who has then sent STOP.
func (h *harness) optedOut(pid, phone string) store.Link {
	h.t.Helper()
	l := h.person(pid, phone, store.SMS)
	p, err := h.st.GetParticipant(h.ctx, pid)
	if err != nil {
		h.t.Fatal(err)
	}
	p.OptedOut, p.OptedOutAt = true, h.clk.Now()
	if err := h.st.UpdateParticipant(h.ctx, p); err != nil {
		h.t.Fatal(err)
	}
	return l
}

func TestOptedOutGetsOnlyTheConfirmation(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.optedOut("p_out", "+447700900123")
	reminder := h.enqueue(l, "reminder.appointment", "Your appointment is tomorrow.")
	confirm := h.enqueue(l, "optout.confirm", "You will get no more messages. Send START to resume.")
	d := h.dispatcher(func(o *outbox.Options) { o.OptOutKinds = []string{"optout.confirm"} })
	h.once(d)

	sent := h.sentIDs()
	if sent[confirm.ID] != 1 || sent[reminder.ID] != 0 || len(h.fake.Requests()) != 1 {
		t.Fatalf("sent %v", sent)
	}
	if rec := h.get(reminder.ID); rec.Status != store.Failed || rec.ErrorCode != outbox.ReasonOptedOut || rec.Text != "" {
		t.Errorf("reminder %+v", rec)
	}
	link, _ := h.st.GetLink(h.ctx, l.Index)
	if link.Unreachable {
		t.Error("opting out marked the link unreachable")
	}
}

// Reloaded flows may confirm an opt-out with a message of another ID: the
// running dispatcher sends it once it is told.
func TestOptOutKindsFollowAReload(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.optedOut("p_out", "+447700900123")
	d := h.dispatcher(func(o *outbox.Options) { o.OptOutKinds = []string{"optout.confirm"} })
	d.SetOptOutKinds([]string{"stop.done"}) // the reloaded flows' confirmation
	renamed := h.enqueue(l, "stop.done", "You will get no more messages. Send START to resume.")
	old := h.enqueue(l, "optout.confirm", "You will get no more messages.")
	h.once(d)
	sent := h.sentIDs()
	if sent[renamed.ID] != 1 || sent[old.ID] != 0 {
		t.Fatalf("sent %v: want the new confirmation only", sent)
	}
}

func TestMessagesWithoutADeliverableLink(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_link", "+447700900123", store.SMS)
	other := h.person("p_other", "+447700900124", store.SMS)
	gone := h.enqueue(store.Link{Index: "no-such-index", Channel: store.SMS, ParticipantID: "p_link"}, "checkin.ask", "Check in")
	stolen := h.enqueue(store.Link{Index: other.Index, Channel: store.SMS, ParticipantID: "p_link"}, "checkin.ask", "Check in")
	tg := h.enqueue(store.Link{Index: l.Index, Channel: store.Telegram, ParticipantID: "p_link"}, "checkin.ask", "Check in")
	h.once(h.dispatcher())
	for _, id := range []string{gone.ID, stolen.ID} {
		if rec := h.get(id); rec.Status != store.Failed || rec.ErrorCode != outbox.ReasonNoLink {
			t.Errorf("%+v", rec)
		}
	}
	if rec := h.get(tg.ID); rec.Status != store.Failed || rec.ErrorCode != outbox.ReasonNoSender {
		t.Errorf("%+v", rec)
	}
	if n := h.fake.Attempts(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestApplyStatus(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_status", "+447700900123", store.SMS)
	d := h.dispatcher()
	a := h.enqueue(l, "checkin.ask", "Check in please.")
	h.once(d)

	steps := []struct {
		st   store.MessageStatus
		want store.MessageStatus
	}{
		{store.Sent, store.Sent},
		{store.Queued, store.Sent},
		{store.Delivered, store.Delivered},
		{store.Sent, store.Delivered},
		{store.Failed, store.Delivered},
		{store.Read, store.Read},
		{store.Delivered, store.Read},
	}
	for _, s := range steps {
		if err := d.ApplyStatus(h.ctx, a.ID, "", s.st, ""); err != nil {
			t.Fatal(err)
		}
		if got := h.get(a.ID).Status; got != s.want {
			t.Fatalf("after %s: %s, want %s", s.st, got, s.want)
		}
	}
	if rec := h.get(a.ID); rec.Text != "" {
		t.Error("text kept after a final status")
	}
	if err := d.ApplyStatus(h.ctx, "m_nosuch", "", store.Delivered, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown message: %v", err)
	}

	// A handset switched off (30003) says nothing lasting; a landline (30006) does.
	b := h.enqueue(l, "checkin.ask", "Check in please (2).")
	c := h.enqueue(l, "checkin.ask", "Check in please (3).")
	h.once(d)
	if err := d.ApplyStatus(h.ctx, b.ID, "", store.Undelivered, "30003"); err != nil {
		t.Fatal(err)
	}
	if link, _ := h.st.GetLink(h.ctx, l.Index); link.Unreachable {
		t.Fatal("30003 marked the link unreachable")
	}
	if err := d.ApplyStatus(h.ctx, c.ID, "", store.Undelivered, "30006"); err != nil {
		t.Fatal(err)
	}
	rec := h.get(c.ID)
	if rec.Status != store.Undelivered || rec.ErrorCode != "30006" || rec.Text != "" {
		t.Errorf("record %+v", rec)
	}
	link, _ := h.st.GetLink(h.ctx, l.Index)
	if !link.Unreachable || link.Reason != "30006" {
		t.Errorf("link %+v", link)
	}
	items := h.attention()
	if len(items) != 1 || items[0].Kind != store.AttentionCantReach || items[0].Reason != "sms:30006" {
		t.Errorf("attention %+v", items)
	}
}

// TestStatusBeforeSendIsRecorded: Twilio can call back before the send's
// own answer is recorded; the dispatcher must not undo that status.
func TestStatusBeforeSendIsRecorded(t *testing.T) {
	t.Run("bolt", func(t *testing.T) { statusBeforeSend(t, newHarness(t, 1000)) })
	t.Run("redis", func(t *testing.T) {
		h := newHarness(t, 1000)
		h.st = testkit.RedisStores(t, 1)[0]
		statusBeforeSend(t, h)
	})
}

func statusBeforeSend(t *testing.T, h *harness) {
	l := h.person("p_fast", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	d := h.dispatcher(countSegments)
	h.fake.BeforeReply = func(twiliotest.Request) {
		if err := d.ApplyStatus(h.ctx, m.ID, "", store.Delivered, ""); err != nil {
			t.Error(err)
		}
	}
	h.once(d)
	rec := h.get(m.ID)
	if rec.Status != store.Delivered || rec.ProviderID == "" || rec.Attempts != 1 || rec.Text != "" || rec.Segments != 3 {
		t.Fatalf("record %+v", rec)
	}
	h.clk.Advance(time.Hour)
	h.once(d)
	if len(h.fake.Requests()) != 1 {
		t.Fatal("sent twice")
	}
}

func TestShutdownHandsBackUnstartedMessages(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_shut", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if n, _ := h.dispatcher().DispatchOnce(ctx); n != 0 {
		t.Fatalf("handled %d with a cancelled context", n)
	}
	// Another process takes it at once, without waiting for the lease.
	if n := h.once(h.dispatcher()); n != 1 || h.sentIDs()[m.ID] != 1 {
		t.Fatalf("handled %d, sent %v", n, h.sentIDs())
	}
}

func TestRun(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_run", "+447700900123", store.SMS)
	d := h.dispatcher(func(o *outbox.Options) { o.PollInterval = 20 * time.Millisecond })
	stop := h.run(d)

	m := h.enqueue(l, "checkin.ask", "Check in please.")
	d.Wake()
	deadline := time.Now().Add(5 * time.Second)
	for h.sentIDs()[m.ID] == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if h.sentIDs()[m.ID] != 1 || h.get(m.ID).Status != store.Queued {
		t.Fatalf("sent %v, record %+v", h.sentIDs(), h.get(m.ID))
	}
}

func TestConcurrentDispatchersSendEachOnce(t *testing.T) {
	h := newHarness(t, 1000)
	var links []store.Link
	for i := range 5 {
		links = append(links, h.person(fmt.Sprintf("p_c%d", i), fmt.Sprintf("+44770090010%d", i), store.SMS))
	}
	var ids []string
	for i := range 40 {
		ids = append(ids, h.enqueue(links[i%5], "checkin.ask", fmt.Sprintf("Message number %d", i)).ID)
	}
	// Every fifth request fails once, so that retries race too. A person's
	// messages go one after another, so one message may meet several of
	// these failures: none gives up before all of them are spent.
	const attempts = 10
	for i := range 40 {
		if i%5 == 0 {
			h.fake.Script(twiliotest.Response{Status: 503, Code: 20503})
		} else {
			h.fake.Script(twiliotest.Response{})
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		d := h.dispatcher(func(o *outbox.Options) { o.Owner = fmt.Sprintf("worker%d", w); o.Batch = 3; o.MaxAttempts = attempts })
		wg.Go(func() {
			for range 60 {
				if _, err := d.DispatchOnce(h.ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 60 {
			h.clk.Advance(time.Second)
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	// Whatever the race left waiting goes now: for a retry or the rate
	// budget, or behind an earlier message of the same person, which waits
	// for the clock to move as often as it meets a scripted failure or an
	// exhausted budget.
	d := h.dispatcher(func(o *outbox.Options) { o.MaxAttempts = attempts })
	for range 50 {
		h.clk.Advance(time.Hour)
		for h.once(d) > 0 {
		}
	}
	sent := h.sentIDs()
	for _, id := range ids {
		if sent[id] != 1 {
			t.Errorf("%s sent %d times", id, sent[id])
		}
		if rec := h.get(id); rec.Status != store.Queued {
			t.Errorf("%s: %+v", id, rec)
		}
	}
}

// TestLogsHoldNoSecrets runs every path that logs and checks that no
// phone number, message text or auth token reached the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	h := newHarness(t, 1)
	phones := []string{"+447700900123", "+447700900124", "+15005550009"}
	var texts []string
	var links []store.Link
	for i, ph := range phones {
		links = append(links, h.person(fmt.Sprintf("p_log%d", i), ph, store.SMS))
	}
	wa := h.person("p_logwa", "+447700900777", store.WhatsApp)
	phones = append(phones, "+447700900777")
	add := func(l store.Link, kind, text string) store.OutboundMessage {
		texts = append(texts, text)
		return h.enqueue(l, kind, text)
	}
	h.fake.Script(
		twiliotest.Response{Status: 503, Code: 20503},
		twiliotest.Response{Status: 400, Code: 21211},
		twiliotest.Response{Status: 502, RawBody: "<html>bad gateway</html>"},
		twiliotest.Response{Status: 429, Code: 20429, RetryAfter: "1"},
	)
	ms := []store.OutboundMessage{
		add(links[0], "checkin.ask", "Secret words: Ahmad is at 12 Mill Lane"),
		add(links[1], "checkin.ask", "Ваша зустріч завтра о 10:00"),
		add(links[2], "reminder.appointment", strings.Repeat("موعدك غدا ", 20)),
		add(wa, "checkin.ask", "WhatsApp text with a name: Maryam"),
	}
	d := h.dispatcher(func(o *outbox.Options) { o.LoopLimit = 2 })
	for range 200 {
		h.once(d)
		h.clk.Advance(500 * time.Millisecond)
	}
	// The loop guard's path, once the scripted failures are spent: to a
	// person of their own, so that no failure above can mark their link
	// unreachable first, whatever order the messages went in.
	looper := h.person("p_logloop", "+447700900125", store.SMS)
	phones = append(phones, "+447700900125")
	for range 3 {
		add(looper, "common.not_understood", "Repeated words nobody should log")
	}
	for range 20 {
		h.once(d)
		h.clk.Advance(500 * time.Millisecond)
	}
	for _, m := range ms {
		_ = d.ApplyStatus(h.ctx, m.ID, "", store.Undelivered, "30006")
	}
	if len(h.fake.Accepted()) == 0 {
		t.Fatal("nothing was sent; the test proves nothing")
	}

	logs := h.logs.String()
	for _, want := range []string{ms[0].ID, "p_log0", "21211", "loop guard", "link marked unreachable", "temporary failure"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q; the run did not take every path", want)
		}
	}
	var secrets []string
	for _, p := range phones {
		secrets = append(secrets, p, strings.TrimPrefix(p, "+"), p[len(p)-7:])
	}
	secrets = append(secrets, authToken, ourNumber)
	for _, tx := range texts {
		secrets = append(secrets, tx, tx[:min(len(tx), 12)])
	}
	secrets = append(secrets, "Ahmad", "Mill Lane", "Maryam", "зустріч", "موعدك")
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log holds %q", s)
		}
	}
}

// TestRestartSendsQueuedMessagesOnce stops the service with messages
// queued, one of them claimed by a dispatcher that died mid-pass, and
// starts it again on the same store file.
func TestRestartSendsQueuedMessagesOnce(t *testing.T) {
	h := newHarness(t, 1000)
	path := filepath.Join(t.TempDir(), "waymark.db")
	h.st = openStore(t, path)
	l := h.person("p_restart", "+447700900123", store.SMS)
	var ids []string
	for i := range 4 {
		ids = append(ids, h.enqueue(l, "checkin.ask", fmt.Sprintf("Restart message %d", i)).ID)
		h.clk.Advance(time.Millisecond)
	}
	first := h.dispatcher(func(o *outbox.Options) { o.Batch = 1 })
	if n := h.once(first); n != 1 {
		t.Fatalf("handled %d", n)
	}
	// A process claims the next message and dies before sending it.
	claimed, err := h.st.ClaimOutbound(h.ctx, "dead-process", h.clk.Now(), 2*time.Minute, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}

	h.st = openStore(t, path)
	second := h.dispatcher()
	for range 3 { // a millisecond of rate budget per message at 1000/s
		h.once(second)
		h.clk.Advance(time.Second)
	}
	// The file lock means the dead process cannot be alive: its claim was
	// taken back when the file was opened, well inside its lease.
	sent := h.sentIDs()
	if len(sent) != 4 || sent[claimed[0].ID] != 1 {
		t.Fatalf("after restart: %v (the dead process's claim must come back at once)", sent)
	}
	h.clk.Advance(time.Hour)
	h.once(second)
	sent = h.sentIDs()
	for _, id := range ids {
		if sent[id] != 1 {
			t.Errorf("%s sent %d times", id, sent[id])
		}
		if rec := h.get(id); rec.Status != store.Queued {
			t.Errorf("%s: %s", id, rec.Status)
		}
	}
}

// TestConcurrentSendsKeepEachPersonsOrder: with Concurrency above one,
// different people's messages go out side by side while a provider call is
// slow, and one person's messages still go out one after another, in order,
// each once.
func TestConcurrentSendsKeepEachPersonsOrder(t *testing.T) {
	h := newHarness(t, 1e9) // a budget that never defers: only concurrency is under test
	var inFlight, most atomic.Int32
	h.fake.BeforeReply = func(twiliotest.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
	}
	want := map[string][]string{} // phone -> texts in order
	for i := range 6 {
		phone := fmt.Sprintf("+4477009002%02d", i)
		l := h.person(fmt.Sprintf("p_c%d", i), phone, store.SMS)
		for j := range 3 {
			text := fmt.Sprintf("message %d for person %d", j, i)
			h.enqueue(l, "checkin.ask", text)
			want[phone] = append(want[phone], text)
			h.clk.Advance(time.Millisecond)
		}
	}
	d := h.dispatcher(func(o *outbox.Options) { o.Concurrency = 4; o.Batch = 100 })
	for range 5 {
		h.once(d)
		h.clk.Advance(time.Second)
	}
	got := map[string][]string{}
	for _, r := range h.fake.Accepted() {
		got[r.To] = append(got[r.To], r.Body)
	}
	for phone, texts := range want {
		if !slices.Equal(got[phone], texts) {
			t.Errorf("%s received %q, want %q in that order, once each", phone, got[phone], texts)
		}
	}
	if most.Load() < 2 {
		t.Errorf("at most %d sends at once, want people served side by side", most.Load())
	}
}

// A message confirmed delivered closes the person's open "can't reach"
// items (resolved by the system, "delivered", with an audit entry): the
// fact behind them changed. Other items and other people's stay open.
func TestDeliveryClosesCantReach(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_back", "+447700900123", store.SMS)
	other := h.person("p_other", "+447700900456", store.SMS)
	for _, it := range []store.AttentionItem{
		{ID: "n_reach", ParticipantID: "p_back", Kind: store.AttentionCantReach, Reason: "not_delivered", CreatedAt: h.clk.Now()},
		{ID: "n_call", ParticipantID: "p_back", Kind: store.AttentionCallback, CreatedAt: h.clk.Now()},
		{ID: "n_other", ParticipantID: "p_other", Kind: store.AttentionCantReach, CreatedAt: h.clk.Now()},
	} {
		if err := h.st.AddAttention(h.ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	d := h.dispatcher()
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	h.enqueue(other, "checkin.ask", "Check in please.")
	h.once(d)
	if err := d.ApplyStatus(h.ctx, m.ID, "", store.Sent, ""); err != nil {
		t.Fatal(err)
	}
	if open := h.openKinds("p_back"); len(open) != 2 {
		t.Fatalf("closed on 'sent', before any delivery: open %v", open)
	}
	if err := d.ApplyStatus(h.ctx, m.ID, "", store.Delivered, ""); err != nil {
		t.Fatal(err)
	}
	items, err := h.st.AttentionOf(h.ctx, "p_back")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch it.ID {
		case "n_reach":
			if it.Open() || it.ResolvedBy != store.ResolvedBySystem || it.Resolution != store.ResolvedDelivered {
				t.Errorf("can't reach after a delivery: %+v", it)
			}
		case "n_call":
			if !it.Open() {
				t.Errorf("a call-back request was closed by a delivery: %+v", it)
			}
		}
	}
	if open := h.openKinds("p_other"); len(open) != 1 {
		t.Errorf("another person's item closed: open %v", open)
	}
	audit, err := h.st.ListAudit(h.ctx, "p_back", 10)
	if err != nil || len(audit) != 1 || audit[0].Action != "attention_delivered" || audit[0].Actor != "system" {
		t.Errorf("audit %+v %v", audit, err)
	}
}

func (h *harness) openKinds(pid string) []store.AttentionKind {
	h.t.Helper()
	items, err := h.st.AttentionOf(h.ctx, pid)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []store.AttentionKind
	for _, it := range items {
		if it.Open() {
			out = append(out, it.Kind)
		}
	}
	return out
}

// TestConcurrentStatusCallbacksLoseNothing: "delivered" and late "sent"
// callbacks for one message arriving at once leave it delivered, its text
// gone; the status is compared and written in one store step.
func TestConcurrentStatusCallbacksLoseNothing(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_race", "+447700900124", store.SMS)
	d := h.dispatcher()
	var ids []string
	for i := range 30 {
		ids = append(ids, h.enqueue(l, "checkin.ask", fmt.Sprintf("Check in please (%d).", i)).ID)
	}
	for range 10 {
		h.once(d)
	}
	for _, id := range ids {
		var wg sync.WaitGroup
		for _, st := range []store.MessageStatus{store.Sent, store.Delivered, store.Sent, store.Sent} {
			wg.Go(func() {
				if err := d.ApplyStatus(h.ctx, id, "", st, ""); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if rec := h.get(id); rec.Status != store.Delivered || rec.Text != "" {
			t.Fatalf("%s after concurrent callbacks: %s with text %q, want delivered with none", id, rec.Status, rec.Text)
		}
	}
}

// windowsTold records which windows the dispatcher asked to judge again.
type windowsTold struct {
	mu   sync.Mutex
	refs []string
}

func (w *windowsTold) PromptFailed(_ context.Context, pid, ref string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refs = append(w.refs, pid+" "+ref)
	return nil
}

// A window's prompt reported failed is passed to the ledger, which may
// move a "missed" decided meanwhile; a reply (no window) or a delivery is
// not.
func TestFailedPromptIsToldToTheLedger(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_ledger", "+447700900124", store.SMS)
	told := &windowsTold{}
	d := h.dispatcher(func(o *outbox.Options) { o.Ledger = told })
	prompt := h.enqueue(l, "checkin.window_open", "A check-in is open.")
	prompt.Ref = "win:p_ledger:1767603600"
	if err := h.st.UpdateOutbound(h.ctx, prompt); err != nil {
		t.Fatal(err)
	}
	reply := h.enqueue(l, "menu.ask", "Reply 1 to check in.")
	delivered := h.enqueue(l, "checkin.closing_soon", "Closing soon.")
	delivered.Ref = prompt.Ref
	if err := h.st.UpdateOutbound(h.ctx, delivered); err != nil {
		t.Fatal(err)
	}
	h.once(d)
	for id, st := range map[string]store.MessageStatus{prompt.ID: store.Undelivered, reply.ID: store.Failed, delivered.ID: store.Delivered} {
		if err := d.ApplyStatus(h.ctx, id, "", st, "30003"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"p_ledger " + prompt.Ref}; !slices.Equal(told.refs, want) {
		t.Errorf("windows told %v, want %v", told.refs, want)
	}
}

// TestHeldBackMessageKeepsLaterOnesBehind: a person's second message meets
// a temporary failure and waits for its retry; their third, claimed with
// it, must not overtake it, whichever of two processes claims next.
func TestHeldBackMessageKeepsLaterOnesBehind(t *testing.T) {
	h := newHarness(t, 1000)
	l := h.person("p_order", "+447700900321", store.SMS)
	texts := []string{"First of three.", "Second of three.", "Third of three."}
	for _, text := range texts {
		h.enqueue(l, "checkin.ask", text)
	}
	h.fake.Script(twiliotest.Response{}, twiliotest.Response{Status: 503, Code: 20503})
	a := h.dispatcher(func(o *outbox.Options) { o.Owner = "a" })
	b := h.dispatcher(func(o *outbox.Options) { o.Owner = "b" })
	h.once(a)
	h.once(b)
	if n := len(h.fake.Accepted()); n != 1 {
		t.Fatalf("sent %d before the retry, want 1: the second waits for its retry, the third behind it", n)
	}
	for i := 0; len(h.fake.Accepted()) < len(texts) && i < 20; i++ {
		h.clk.Advance(5 * time.Second)
		h.once([]*outbox.Dispatcher{b, a}[i%2])
	}
	var got []string
	for _, r := range h.fake.Accepted() {
		got = append(got, r.Body)
	}
	if !slices.Equal(got, texts) {
		t.Fatalf("sent %q, want %q", got, texts)
	}
}

// claimLimits records the size of every claim a dispatcher makes.
type claimLimits struct {
	store.Store
	limits []int
}

func (c *claimLimits) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	c.limits = append(c.limits, limit)
	return c.Store.ClaimOutbound(ctx, owner, now, lease, limit)
}

// TestClaimsGrowWithTheBacklog: a claim that comes back full is followed by
// one twice as large, up to MaxBatch, so that a deep queue is sent by many
// sends side by side; once a claim is not full, the next is Batch again.
// Every message goes once.
func TestClaimsGrowWithTheBacklog(t *testing.T) {
	h := newHarness(t, 1e9)
	for i := range 30 {
		h.enqueue(h.person(fmt.Sprintf("p_g%02d", i), fmt.Sprintf("+4477009003%02d", i), store.SMS), "checkin.ask", "hello")
	}
	st := &claimLimits{Store: h.st}
	sender := &outboxtest.AcceptAll{} // no budget to wait for: every claim is sent whole
	open := func(context.Context, store.Link) (string, error) { return "address", nil }
	opts := h.opts
	opts.Batch, opts.MaxBatch, opts.Concurrency = 4, 16, 8
	d := outbox.New(st, map[store.Channel]outbox.Sender{store.SMS: sender}, open, h.clk, h.logger, opts)
	for range 5 {
		h.once(d)
	}
	if want := []int{4, 8, 16, 16, 4}; !slices.Equal(st.limits, want) {
		t.Errorf("claims of %v, want %v", st.limits, want)
	}
	if n := sender.Sent.Load(); n != 30 {
		t.Errorf("sent %d, want 30", n)
	}
}

// TestSlowSendHoldsUpOnlyItsPerson: while one person's send hangs at the
// provider, Run goes on claiming and sends another person's message queued
// after it; the hung person's next message waits for theirs, in order.
// (A dispatcher that claimed, sent the whole claim and only then claimed
// again held everyone's messages behind the slowest send.)
func TestSlowSendHoldsUpOnlyItsPerson(t *testing.T) {
	h := newHarness(t, 1e9)
	slow := h.person("p_slow", "+447700900401", store.SMS)
	other := h.person("p_other", "+447700900402", store.SMS)
	hung, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.fake.BeforeReply = func(r twiliotest.Request) {
		if r.Body == "First for the slow one." {
			once.Do(func() { close(hung) })
			<-release
		}
	}
	h.waitLonger()
	d := h.dispatcher(func(o *outbox.Options) { o.Concurrency = 4; o.PollInterval = 20 * time.Millisecond })
	defer h.run(d)()

	first := h.enqueue(slow, "checkin.ask", "First for the slow one.")
	d.Wake()
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the first send never reached the provider")
	}
	second := h.enqueue(slow, "checkin.ask", "Second for the slow one.")
	h.clk.Advance(time.Millisecond)
	theirs := h.enqueue(other, "checkin.ask", "For someone else.")
	d.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for h.sentIDs()[theirs.ID] == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	sent := h.sentIDs()
	if sent[theirs.ID] != 1 {
		close(release)
		t.Fatalf("another person's message waited behind a hung send: sent %v", sent)
	}
	if sent[second.ID] != 0 {
		t.Errorf("the hung person's second message went before their first")
	}
	close(release)
	for h.sentIDs()[second.ID] == 0 && time.Now().Before(deadline) {
		// The fake clock stands still: let the rate budget's next moment,
		// a nanosecond on, come.
		h.clk.Advance(time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	got := h.received("+447700900401")
	if want := []string{"First for the slow one.", "Second for the slow one."}; !slices.Equal(got, want) {
		t.Errorf("the slow person received %q, want %q", got, want)
	}
	if h.sentIDs()[first.ID] != 1 {
		t.Errorf("first message sent %d times", h.sentIDs()[first.ID])
	}
}

// failSendingOnce is a store whose MarkSending fails once for one message,
// as when the store is briefly unreachable: the message's claim stays.
type failSendingOnce struct {
	store.Store
	id     string
	failed atomic.Bool
}

func (f *failSendingOnce) MarkSending(ctx context.Context, m store.OutboundMessage) error {
	if m.ID == f.id && f.failed.CompareAndSwap(false, true) {
		return errors.New("store unavailable")
	}
	return f.Store.MarkSending(ctx, m)
}

// TestFailedHandlingKeepsLaterOnesBehind: the store hands a dispatcher a
// person's next message while it still holds their earlier one; when the
// earlier one's handling failed and left it claimed, unrecorded, the next
// waits for that claim to end and goes after it, not before.
func TestFailedHandlingKeepsLaterOnesBehind(t *testing.T) {
	h := newHarness(t, 1e9)
	first, second := h.twoMessages("p_fail", "+447700900501", "First, failed once.", "Second.")
	d := h.dispatcherOn(&failSendingOnce{Store: h.st, id: first.ID}, func(o *outbox.Options) { o.Concurrency, o.Batch = 4, 1 })

	if _, err := d.DispatchOnce(h.ctx); err == nil {
		t.Fatal("the failed handling reported no error")
	}
	if n := h.once(d); n != 0 {
		t.Fatalf("handled %d while the first message is still claimed", n)
	}
	if sent := h.sentIDs(); len(sent) != 0 {
		t.Fatalf("sent %v before the first message's claim ended", sent)
	}
	for i := 0; i < 10 && h.sentIDs()[second.ID] == 0; i++ {
		h.clk.Advance(time.Minute)
		h.once(d)
	}
	if got, want := h.received("+447700900501"), []string{"First, failed once.", "Second."}; !slices.Equal(got, want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
}

// claimDuringRetry is a store that holds up a person's first send at its
// first check until the dispatcher's next claim has its answer, then holds
// that answer back until the first message has been put off for a retry:
// the claim was answered while the store saw the first message held by
// this owner, so it hands out the person's second one.
type claimDuringRetry struct {
	store.Store
	firstID            string
	claims             atomic.Int32
	answered, deferred chan struct{}
	deferOnce          sync.Once
}

func (c *claimDuringRetry) BeginSend(ctx context.Context, pid, link, key string, until time.Time, count store.SendCount) (store.SendCheck, error) {
	if strings.Contains(key, c.firstID+":0") {
		select {
		case <-c.answered:
		case <-time.After(10 * time.Second):
		}
	}
	return c.Store.BeginSend(ctx, pid, link, key, until, count)
}

func (c *claimDuringRetry) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	msgs, err := c.Store.ClaimOutbound(ctx, owner, now, lease, limit)
	if c.claims.Add(1) == 2 {
		close(c.answered)
		select {
		case <-c.deferred:
		case <-time.After(10 * time.Second):
		}
	}
	return msgs, err
}

func (c *claimDuringRetry) UpdateOutbound(ctx context.Context, m store.OutboundMessage) error {
	err := c.Store.UpdateOutbound(ctx, m)
	if m.ID == c.firstID && m.Status == store.Pending {
		c.deferOnce.Do(func() { close(c.deferred) })
	}
	return err
}

// TestClaimAnsweredBeforeARetryDoesNotOvertake: a person's second message,
// handed out by a claim answered while their first was still being sent,
// goes back once the first is put off for a retry, and follows it.
func TestClaimAnsweredBeforeARetryDoesNotOvertake(t *testing.T) {
	h := newHarness(t, 1e9)
	first, second := h.twoMessages("p_retry", "+447700900601", "First, retried.", "Second.")
	h.fake.Script(twiliotest.Response{Status: 503, Code: 20503})
	st := &claimDuringRetry{Store: h.st, firstID: first.ID, answered: make(chan struct{}), deferred: make(chan struct{})}
	d := h.dispatcherOn(st, func(o *outbox.Options) {
		o.Concurrency, o.Batch, o.MaxBatch, o.PollInterval = 4, 1, 4, 10*time.Millisecond
	})
	defer h.run(d)()

	select {
	case <-st.deferred:
	case <-time.After(10 * time.Second):
		t.Fatal("the first message was never put off for a retry")
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.sentIDs()[second.ID] == 0 && time.Now().Before(deadline) {
		h.clk.Advance(time.Second) // through the retry's backoff
		time.Sleep(5 * time.Millisecond)
	}
	if got, want := h.received("+447700900601"), []string{"First, retried.", "Second."}; !slices.Equal(got, want) {
		t.Fatalf("accepted %q, want %q", got, want)
	}
}

// claimsSeen is a store that tells which messages its claims handed out.
type claimsSeen struct {
	store.Store
	mu  sync.Mutex
	ids map[string]bool
}

func (c *claimsSeen) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	msgs, err := c.Store.ClaimOutbound(ctx, owner, now, lease, limit)
	c.mu.Lock()
	for _, m := range msgs {
		c.ids[m.ID] = true
	}
	c.mu.Unlock()
	return msgs, err
}

func (c *claimsSeen) claimed(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// TestHandedBackMessageKeepsLaterOnesBehind: a person's message claimed
// long enough ago that its lease might end mid-send is handed back, not
// sent; their next one, claimed later with a longer lease, goes back too
// and follows it.
func TestHandedBackMessageKeepsLaterOnesBehind(t *testing.T) {
	h := newHarness(t, 1e9)
	h.waitLonger()
	other := h.person("p_busy", "+447700900701", store.SMS)
	hung, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.fake.BeforeReply = func(r twiliotest.Request) {
		if r.Body == "Holds the one worker." {
			once.Do(func() { close(hung) })
			<-release
		}
	}
	st := &claimsSeen{Store: h.st, ids: map[string]bool{}}
	d := h.dispatcherOn(st, func(o *outbox.Options) { o.Batch, o.PollInterval = 4, 10*time.Millisecond })
	defer h.run(d)()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("never: %s", what)
			}
		}
	}

	h.enqueue(other, "checkin.ask", "Holds the one worker.")
	d.Wake()
	waitFor("the first send hung", func() bool {
		select {
		case <-hung:
			return true
		default:
			return false
		}
	})
	l := h.person("p_late", "+447700900702", store.SMS)
	first := h.enqueue(l, "checkin.ask", "First.")
	d.Wake()
	waitFor("the first claimed", func() bool { return st.claimed(first.ID) })
	// Past the moment the first may still be started (its lease less a
	// send and a half), not past its lease.
	h.clk.Advance(90 * time.Second)
	second := h.enqueue(l, "checkin.ask", "Second.")
	d.Wake()
	waitFor("the second claimed, behind the first", func() bool { return st.claimed(second.ID) })
	close(release)
	waitFor("both sent", func() bool {
		h.clk.Advance(time.Second)
		sent := h.sentIDs()
		return sent[first.ID] == 1 && sent[second.ID] == 1
	})
	got := h.received("+447700900702")
	if want := []string{"First.", "Second."}; !slices.Equal(got, want) {
		t.Fatalf("the person received %q, want %q", got, want)
	}
}

// notYetClaimable is a store whose claims find nothing while hidden is
// set, as a Redis claim does when it meets a message whose enqueue is still
// in flight and puts its entry off for a moment. claimed is told of each
// claim made while hidden.
type notYetClaimable struct {
	store.Store
	hidden  atomic.Bool
	claimed chan struct{}
}

func (s *notYetClaimable) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if s.hidden.Load() {
		select {
		case s.claimed <- struct{}{}:
		default:
		}
		return nil, nil
	}
	return s.Store.ClaimOutbound(ctx, owner, now, lease, limit)
}

// TestRingThatFindsNothingIsLookedAtAgain: a message was queued and the
// bell rung, but the claim that followed did not find it yet. The
// dispatcher looks again soon, and again a little later while it still
// finds nothing, rather than at its next poll, which here is an hour away:
// one person's reply must not wait on someone else's message to ring the
// bell again.
func TestRingThatFindsNothingIsLookedAtAgain(t *testing.T) {
	h := newHarness(t, 1e9)
	l := h.person("p_ring", "+447700900601", store.SMS)
	st := &notYetClaimable{Store: h.st, claimed: make(chan struct{}, 1)}
	st.hidden.Store(true)
	d := h.dispatcherOn(st, func(o *outbox.Options) { o.PollInterval = time.Hour })
	defer h.run(d)()
	<-st.claimed // Run's first claim, before anything was queued

	m := h.enqueue(l, "checkin.ask", "Queued while the claim could not see it.")
	d.Wake()
	for _, what := range []string{"the ring", "the first look again"} {
		select {
		case <-st.claimed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s led to no claim", what)
		}
	}
	st.hidden.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for h.sentIDs()[m.ID] == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.sentIDs()[m.ID]; n != 1 {
		t.Fatalf("the message was sent %d times in 10 s; it waited for the next poll", n)
	}
}
