package outbox_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/metrics"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// A send in doubt: begun, its answer never recorded. These tests leave a
// message as a process killed mid-send leaves it (claimed, marked as
// sending, the request maybe at the provider) and start another
// dispatcher over the same store, on both backends.

const doubtWait = 5 * time.Minute

// inDoubtCount reads waymark_outbox_in_doubt_total for one outcome, over
// every channel.
func inDoubtCount(t *testing.T, m *metrics.Metrics, outcome string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != metrics.NameOutboxInDoubt {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					total += s.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// backends runs test on the embedded store and on Redis.
func backends(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Run("bolt", func(t *testing.T) { test(t, newHarness(t, 100)) })
	t.Run("redis", func(t *testing.T) {
		h := newHarness(t, 100)
		h.st = testkit.RedisStores(t, 1)[0]
		test(t, h)
	})
}

// diedMidSend leaves m as a process killed while sending it would: claimed
// under a lease of two minutes, marked as sending its first attempt, and,
// when reached, taken by the provider, whose answer the dead process never
// read. It returns the provider's SID ("" when not reached).
func (h *harness) diedMidSend(m store.OutboundMessage, address string, reached bool) string {
	h.t.Helper()
	claimed, err := h.st.ClaimOutbound(h.ctx, "killed-process", h.clk.Now(), 2*time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != m.ID {
		h.t.Fatalf("claim: %v %v", claimed, err)
	}
	m = claimed[0]
	m.Attempts, m.SendBegan = 1, h.clk.Now()
	if err := h.st.MarkSending(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
	if !reached {
		return ""
	}
	sid, err := h.sender.Send(h.ctx, address, m)
	if err != nil {
		h.t.Fatal(err)
	}
	return sid
}

func TestSendInDoubtWaitsForItsStatusAndIsNotRepeated(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		l := h.person("p_doubt", "+447700900123", store.SMS)
		m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
		began := h.clk.Now()
		sid := h.diedMidSend(m, "+447700900123", true)

		d := h.dispatcher(func(o *outbox.Options) { o.DoubtWait = doubtWait })
		h.clk.Advance(2*time.Minute + time.Second) // the dead process's lease is over
		h.once(d)
		if n := len(h.fake.Accepted()); n != 1 {
			t.Fatalf("sent again before its status could come: %d sends", n)
		}
		rec := h.get(m.ID)
		if rec.Status != store.Pending || !rec.NotBefore.Equal(began.Add(doubtWait)) {
			t.Fatalf("waiting message: %+v", rec)
		}
		// Nothing is sent while it waits, however often the dispatcher looks.
		for range 3 {
			h.clk.Advance(30 * time.Second)
			h.once(d)
		}

		// Twilio's status comes, naming our ID in the callback URL.
		if err := d.ApplyStatus(h.ctx, m.ID, sid, store.Sent, ""); err != nil {
			t.Fatal(err)
		}
		rec = h.get(m.ID)
		if rec.Status != store.Sent || rec.ProviderID != sid || rec.Attempts != 1 || !rec.SendBegan.IsZero() {
			t.Fatalf("after its status: %+v", rec)
		}
		h.clk.Advance(time.Hour)
		h.once(d)
		if n := len(h.fake.Accepted()); n != 1 {
			t.Fatalf("%d sends, want 1", n)
		}
		logs := h.logs.String()
		for _, want := range []string{"waiting for the provider's status", "status came before its answer to the send was recorded"} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		if strings.Contains(logs, "retry in doubt") {
			t.Error("logged a retry in doubt for a message answered by its status")
		}
	})
}

func TestSendInDoubtGoesAgainWhenNoStatusComes(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		l := h.person("p_doubt", "+447700900123", store.SMS)
		m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
		h.diedMidSend(m, "+447700900123", false) // killed before the request left

		met := metrics.New("test")
		d := h.dispatcher(func(o *outbox.Options) { o.DoubtWait = doubtWait; o.Observer = met.Outbox() })
		h.clk.Advance(2*time.Minute + time.Second)
		h.once(d)
		h.clk.Advance(doubtWait - 2*time.Minute - 2*time.Second)
		h.once(d)
		if n := len(h.fake.Accepted()); n != 0 {
			t.Fatalf("sent before the wait was over: %d", n)
		}
		h.clk.Advance(time.Second) // the wait is over
		h.once(d)
		got := h.fake.Accepted()
		if len(got) != 1 {
			t.Fatalf("%d sends after the wait, want 1", len(got))
		}
		rec := h.get(m.ID)
		// The attempt that began before the crash counts: this is the second.
		if rec.Status != store.Queued || rec.ProviderID != got[0].SID || rec.Attempts != 2 || !rec.SendBegan.IsZero() {
			t.Fatalf("after sending again: %+v", rec)
		}
		if n := inDoubtCount(t, met, "resent"); n != 1 {
			t.Errorf("%v sends in doubt counted as resent, want 1", n)
		}
		if logs := h.logs.String(); !strings.Contains(logs, "retry in doubt") || !strings.Contains(logs, `"attempt":1`) {
			t.Errorf("the send again is not logged as a retry in doubt of attempt 1:\n%s", logs)
		}
	})
}

// TestUnansweredSendWaitsForItsStatus: Twilio takes the message and its
// answer does not come back in time. The provider may have it, so it is
// not sent again while its status may still come; when it comes, it is
// recorded with Twilio's SID.
func TestUnansweredSendWaitsForItsStatus(t *testing.T) {
	backends(t, func(t *testing.T, h *harness) {
		slow, err := twilio.NewSender(twilio.Config{
			AccountSID: accountSID, AuthToken: authToken, From: ourNumber,
			APIURL: h.fake.URL, PublicURL: publicURL, MPS: 100, Timeout: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		h.sender = slow
		release := make(chan struct{})
		h.fake.BeforeReply = func(twiliotest.Request) { <-release } // accepted; the answer is held
		defer close(release)

		l := h.person("p_slow", "+447700900123", store.SMS)
		m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
		met := metrics.New("test")
		d := h.dispatcher(func(o *outbox.Options) { o.DoubtWait = doubtWait; o.Observer = met.Outbox() })
		began := h.clk.Now()
		h.once(d)
		accepted := h.fake.Accepted()
		if len(accepted) != 1 {
			t.Fatalf("%d accepted", len(accepted))
		}
		rec := h.get(m.ID)
		if rec.Status != store.Pending || rec.Attempts != 1 || !rec.SendBegan.Equal(began) || rec.ErrorCode != "timeout" ||
			rec.NotBefore.Before(began.Add(doubtWait)) {
			t.Fatalf("unanswered send: %+v", rec)
		}
		h.clk.Advance(doubtWait / 2)
		h.once(d)
		if n := len(h.fake.Accepted()); n != 1 {
			t.Fatalf("sent again while its status could still come: %d", n)
		}
		u, _ := url.Parse(accepted[0].StatusCallback)
		if err := d.ApplyStatus(h.ctx, u.Query().Get("id"), accepted[0].SID, store.Delivered, ""); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(time.Hour)
		h.once(d)
		rec = h.get(m.ID)
		if n := len(h.fake.Accepted()); n != 1 || rec.Status != store.Delivered || rec.ProviderID != accepted[0].SID {
			t.Fatalf("%d sends; record %+v", n, rec)
		}
		if a, r := inDoubtCount(t, met, "answered"), inDoubtCount(t, met, "resent"); a != 1 || r != 0 {
			t.Errorf("sends in doubt: %v answered, %v resent; want 1 and 0", a, r)
		}
	})
}

// TestSendInDoubtWithoutCallbacksGoesAgainAtOnce: a provider with no
// status callback (Telegram) cannot answer a send in doubt, so waiting
// would only delay it: it goes again at once, at least once.
func TestSendInDoubtWithoutCallbacksGoesAgainAtOnce(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_nocb", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
	h.diedMidSend(m, "+447700900123", true)
	// The same sender with its callbacks hidden.
	noCallbacks := struct{ outbox.Sender }{h.sender}
	open := func(_ context.Context, l store.Link) (string, error) { return h.box.Open(string(l.Channel), l.Sealed) }
	d := outbox.New(h.st, map[store.Channel]outbox.Sender{store.SMS: noCallbacks}, open, h.clk, h.logger, outbox.Options{DoubtWait: doubtWait})
	h.clk.Advance(2*time.Minute + time.Second)
	h.once(d)
	if n := len(h.fake.Accepted()); n != 2 {
		t.Fatalf("%d sends, want 2 (at least once)", n)
	}
	if !strings.Contains(h.logs.String(), "retry in doubt") {
		t.Error("the second send is not logged as a retry in doubt")
	}
}

// TestSendInDoubtIsJudgedOnce: a message sent again after its wait, but
// deferred for the rate budget first, is not in doubt any more when it
// comes back: one retry in doubt, one send.
func TestSendInDoubtIsJudgedOnce(t *testing.T) {
	h := newHarness(t, 1) // one segment a second: the second send waits
	busy := h.person("p_busy", "+447700900124", store.SMS)
	l := h.person("p_doubt", "+447700900123", store.SMS)
	m := h.enqueue(l, "checkin.ask", "Time to check in. Reply 1 if you are here.")
	h.diedMidSend(m, "+447700900123", false)
	// Queued before the dead process's lease ends, so claimed first.
	h.clk.Advance(time.Second)
	h.enqueue(busy, "checkin.ask", "Another message, sent first")
	h.clk.Advance(doubtWait)

	d := h.dispatcher(func(o *outbox.Options) { o.DoubtWait = doubtWait })
	h.once(d)
	rec := h.get(m.ID)
	if rec.Status != store.Pending || !rec.SendBegan.IsZero() || !rec.NotBefore.After(h.clk.Now()) {
		t.Fatalf("deferred for the rate budget: %+v", rec)
	}
	for range 3 {
		h.clk.Advance(time.Second)
		h.once(d)
	}
	if sent := h.sentIDs(); sent[m.ID] != 1 || len(sent) != 2 {
		t.Fatalf("sends: %v", sent)
	}
	if n := strings.Count(h.logs.String(), "retry in doubt"); n != 1 {
		t.Errorf("%d retries in doubt logged, want 1", n)
	}
}
