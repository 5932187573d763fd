package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/ledger"
	"github.com/waymark-atd/waymark/internal/store"
)

// The scheduler keeps the ledger (internal/ledger): it gathers the facts
// about a window, asks ledger.Judge for the outcome and says what the
// record, the caseworker's queue and the audit log must change. The
// conversation service calls it inside a person's turn (check-ins,
// "can't make it"), so that the ledger moves together with the fact.

var _ conversation.Windows = (*Scheduler)(nil)

// graceOf is the programme's grace period.
func (s *Scheduler) graceOf() time.Duration {
	return max(s.conv.Content().Flows.Programme.CheckIn.GracePeriod.D(), 0)
}

// Current returns the person's window open at now, or else the last one
// whose grace has not ended.
func (s *Scheduler) Current(p store.Participant, now time.Time) (conversation.WindowNow, bool) {
	if p.Schedule == nil {
		return conversation.WindowNow{}, false
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return conversation.WindowNow{}, false
	}
	grace := s.graceOf()
	w, ok := cal.At(now)
	if !ok {
		if w, ok = cal.Before(now); !ok || !now.Before(w.End.Add(grace)) {
			return conversation.WindowNow{}, false
		}
	}
	return conversation.WindowNow{Ref: w.Ref(p.ID), OpensAt: w.Start, ClosesAt: w.End, GraceEndsAt: w.End.Add(grace)}, true
}

// windowFacts reads what is known about window w of p at now.
func (s *Scheduler) windowFacts(ctx context.Context, p store.Participant, cal *Calendar, w Window, now time.Time) (ledger.Facts, error) {
	ref := w.Ref(p.ID)
	rec, err := s.store.GetWindow(ctx, p.ID, ref)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		rec = store.Window{Ref: ref, ParticipantID: p.ID, OpensAt: w.Start, ClosesAt: w.End,
			GraceEndsAt: w.End.Add(s.graceOf()), Outcome: store.WindowOpen}
	default:
		return ledger.Facts{}, fmt.Errorf("window %s: %w", ref, err)
	}
	f := ledger.Facts{Window: rec, Participant: p, Now: now}
	if next, ok := cal.Next(w); ok {
		f.NextOpensAt = next.Start
	}
	if f.CheckIns, err = s.store.CheckInsOf(ctx, p.ID, w.Start); err != nil {
		return f, fmt.Errorf("check-ins: %w", err)
	}
	msgs, err := s.store.OutboundOf(ctx, p.ID)
	if err != nil {
		return f, fmt.Errorf("messages: %w", err)
	}
	for _, m := range msgs {
		if m.Ref == ref {
			f.Prompts = append(f.Prompts, m)
		}
	}
	links, err := s.store.LinksOf(ctx, p.ID)
	if err != nil {
		return f, fmt.Errorf("links: %w", err)
	}
	_, f.Unreachable = unreachable(p, links)
	return f, nil
}

// change is what judging a window again changes: its record, the items it
// closes and the audit entries that say so.
func (s *Scheduler) change(ctx context.Context, before, after store.Window, actor string, now time.Time) (conversation.LedgerChange, error) {
	var ch conversation.LedgerChange
	if after == before {
		return ch, nil
	}
	ch.Windows = []store.Window{after}
	if before.Outcome == after.Outcome || !ledger.Decided(before.Outcome) {
		return ch, nil
	}
	// A decided outcome moved (in the person's favour: Judge allows no
	// other way). The audit log says who or what moved it.
	ch.Audit = append(ch.Audit, store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: actor, Action: "window_outcome",
		ParticipantID: after.ParticipantID, Detail: after.Ref + " " + string(before.Outcome) + " -> " + string(after.Outcome)})
	if after.AttentionID == "" || (after.Outcome != store.WindowLate && after.Outcome != store.WindowOnTime) {
		return ch, nil
	}
	items, err := s.store.AttentionOf(ctx, after.ParticipantID)
	if err != nil {
		return ch, fmt.Errorf("attention: %w", err)
	}
	for _, a := range items {
		if a.ID == after.AttentionID && a.Open() && (a.Kind == store.AttentionMissed || a.Kind == store.AttentionCantReach) {
			a.ResolvedAt, a.ResolvedBy, a.Resolution = now, store.ResolvedBySystem, store.ResolvedCheckedInLate
			ch.Resolved = append(ch.Resolved, a)
		}
	}
	return ch, nil
}

// CheckIn judges a check-in against the person's windows: on time inside
// a window; late after one closes, until the next opens; a repeat for a
// window that has one already; unscheduled with no schedule or before
// the first window. The window it counts for is judged again, so that a
// late check-in moves a "missed" to "late" and closes its item.
func (s *Scheduler) CheckIn(ctx context.Context, p store.Participant, c store.CheckIn) (store.CheckInOutcome, conversation.LedgerChange, error) {
	var none conversation.LedgerChange
	if p.Schedule == nil {
		return store.Unscheduled, none, nil
	}
	cal, err := CalendarOf(p)
	if err != nil {
		s.log.Warn("check-in outcome", "participant", p.ID, "err", err)
		return store.Unscheduled, none, nil
	}
	result := store.OnTime
	w, ok := cal.At(c.At)
	if !ok {
		if w, ok = cal.Before(c.At); !ok {
			return store.Unscheduled, none, nil
		}
		result = store.Late
	}
	f, err := s.windowFacts(ctx, p, cal, w, c.At)
	if err != nil {
		return result, none, fmt.Errorf("schedule: check-in of %s: %w", p.ID, err)
	}
	for _, prev := range f.CheckIns {
		if !prev.At.Before(w.Start) && !prev.At.After(c.At) && prev.ID != c.ID {
			result = store.Repeat
		}
	}
	f.CheckIns = append(f.CheckIns, c)
	after := ledger.Judge(f)
	ch, err := s.change(ctx, f.Window, after, store.ResolvedBySystem, c.At)
	return result, ch, err
}

// CantMakeIt records, for the window open now or in its grace, that the
// person reported they cannot make it: the window is "reported unable",
// gets no more reminders and never becomes "missed". item, the attention
// item the report raises, is tied to the window. With no such window the
// report is about nothing scheduled, and changes no window.
func (s *Scheduler) CantMakeIt(ctx context.Context, p store.Participant, item *store.AttentionItem) (conversation.LedgerChange, error) {
	var none conversation.LedgerChange
	cur, ok := s.Current(p, item.CreatedAt)
	if !ok {
		return none, nil
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return none, nil
	}
	f, err := s.windowFacts(ctx, p, cal, Window{Start: cur.OpensAt, End: cur.ClosesAt}, item.CreatedAt)
	if err != nil {
		return none, fmt.Errorf("schedule: can't make it, %s: %w", p.ID, err)
	}
	item.Ref = cur.Ref
	if !f.Window.ReportedUnableAt.IsZero() {
		return none, nil // said once already: the first report stands
	}
	f.Window.ReportedUnableAt = item.CreatedAt
	if f.Window.AttentionID == "" {
		f.Window.AttentionID = item.ID
	}
	before := f.Window
	before.ReportedUnableAt = time.Time{}
	after := ledger.Judge(f)
	return s.change(ctx, before, after, "participant", item.CreatedAt)
}
