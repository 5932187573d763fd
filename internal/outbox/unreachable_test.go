package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
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
