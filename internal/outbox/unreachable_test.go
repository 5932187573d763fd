package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// failingStore is the harness's store with some writes failing, as a
// backend that goes away between two calls would fail them.
type failingStore struct {
	store.Store
	// piecemeal fails the writes that once followed the link's mark, one
	// by one: the attention item and the audit entry.
	piecemeal bool
	// markFails is how many MarkUnreachable calls fail before one works.
	markFails int
	// sentFails is how many MarkSent calls fail before one works, and
	// sentTries when each came.
	sentFails int
	sentTries []time.Time
}

var errBackendGone = fmt.Errorf("backend went away: %w", store.ErrUnavailable)

func (f *failingStore) AddAttention(ctx context.Context, a store.AttentionItem) error {
	if f.piecemeal {
		return errBackendGone
	}
	return f.Store.AddAttention(ctx, a)
}

func (f *failingStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if f.piecemeal {
		return errBackendGone
	}
	return f.Store.AppendAudit(ctx, e)
}

func (f *failingStore) MarkUnreachable(ctx context.Context, u store.Unreachable) (bool, error) {
	if f.markFails > 0 {
		f.markFails--
		return false, errBackendGone
	}
	return f.Store.MarkUnreachable(ctx, u)
}

func (f *failingStore) MarkSent(ctx context.Context, m store.OutboundMessage) error {
	f.sentTries = append(f.sentTries, time.Now())
	if f.sentFails > 0 {
		f.sentFails--
		return errBackendGone
	}
	return f.Store.MarkSent(ctx, m)
}

// A send the store fails to record at first is recorded on a later try,
// each after a longer pause than the one before, and the message is not
// sent again: a store that stumbles is given a moment to come back.
func TestSentIsRecordedWhenTheStoreComesBack(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_1", "+447700900123", store.SMS)
	fs := &failingStore{Store: h.st, sentFails: 2}
	h.st = fs
	m := h.enqueue(l, "checkin.ask", "Check in please.")
	if _, err := h.dispatcher().DispatchOnce(h.ctx); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	got, err := h.st.GetOutbound(h.ctx, m.ID)
	if err != nil || got.Status != store.Queued || got.ProviderID == "" {
		t.Fatalf("message %+v %v: want it recorded as taken by the provider", got, err)
	}
	if n := len(h.fake.Accepted()); n != 1 {
		t.Errorf("the provider took %d messages, want 1", n)
	}
	if len(fs.sentTries) != 3 {
		t.Fatalf("%d tries to record the send, want 3", len(fs.sentTries))
	}
	for i, want := range []time.Duration{outbox.MarkSentPause, 2 * outbox.MarkSentPause} {
		if gap := fs.sentTries[i+1].Sub(fs.sentTries[i]); gap < want {
			t.Errorf("try %d came %v after the one before, want a pause of %v", i+2, gap, want)
		}
	}
}

// A refusal that marks a link must raise the caseworker's item with it:
// a link marked alone would never raise one, since a marked link is not
// tried again.
func TestUnreachableMarkNeverWithoutItem(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_gone", "+447700900123", store.SMS)
	fs := &failingStore{Store: h.st, piecemeal: true}
	h.st = fs
	h.enqueue(l, "checkin.ask", "Check in please.")
	h.fake.Script(twiliotest.Response{Status: 400, Code: 21610})
	if _, err := h.dispatcher().DispatchOnce(h.ctx); err != nil && !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("dispatch: %v", err)
	}

	link, err := h.st.GetLink(h.ctx, l.Index)
	if err != nil || !link.Unreachable {
		t.Fatalf("link %+v %v: want it marked", link, err)
	}
	items := h.attention()
	if len(items) != 1 || items[0].Kind != store.AttentionCantReach {
		t.Fatalf("the link is marked with items %+v, want its can't-reach item", items)
	}
}

// When the one step fails, nothing of it is kept, so the next refusal
// marks the link and raises the item.
func TestUnreachableMarkFailedLeavesNothing(t *testing.T) {
	h := newHarness(t, 100)
	l := h.person("p_gone", "+447700900123", store.SMS)
	fs := &failingStore{Store: h.st, markFails: 1}
	h.st = fs
	h.enqueue(l, "checkin.ask", "Check in please.")
	h.fake.Script(twiliotest.Response{Status: 400, Code: 21610})
	d := h.dispatcher()
	_, err := d.DispatchOnce(h.ctx)
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("dispatch: %v", err)
	}
	if link, _ := h.st.GetLink(h.ctx, l.Index); link.Unreachable {
		t.Fatal("the link is marked though the step failed")
	}
	if items := h.attention(); len(items) != 0 {
		t.Fatalf("items %+v after a failed step, want none", items)
	}
	if entries, _ := h.st.ListAudit(h.ctx, "p_gone", 10); len(entries) != 0 {
		t.Fatalf("audit %+v after a failed step, want none", entries)
	}

	h.clk.Advance(time.Hour)
	h.enqueue(l, "reminder.appointment", "Your appointment is tomorrow.")
	h.fake.Script(twiliotest.Response{Status: 400, Code: 21610})
	h.once(d)
	link, err := h.st.GetLink(h.ctx, l.Index)
	if err != nil || !link.Unreachable || link.Reason != "21610" {
		t.Fatalf("link %+v %v after the next refusal", link, err)
	}
	items := h.attention()
	if len(items) != 1 || items[0].Reason != "sms:21610" {
		t.Fatalf("items %+v after the next refusal, want one can't-reach item", items)
	}
	if entries, _ := h.st.ListAudit(h.ctx, "p_gone", 10); len(entries) != 1 || entries[0].Action != "link_unreachable" {
		t.Fatalf("audit %+v, want one link_unreachable entry", entries)
	}
}
