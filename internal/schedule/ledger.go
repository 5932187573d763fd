package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

var _ conversation.Windows = (*Ledger)(nil)

// graceOf is the programme's grace period.
func (s *Ledger) graceOf() time.Duration {
	return max(s.live.Content().Flows.Programme.CheckIn.GracePeriod.D(), 0)
}

// Current returns the person's window open at now, or else the last one
// whose grace has not ended.
func (s *Ledger) Current(p store.Participant, now time.Time) (conversation.WindowNow, bool) {
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

// CountsFor returns the ref of the window a check-in at now would count
// for, as CheckIn finds it.
func (s *Ledger) CountsFor(p store.Participant, now time.Time) (string, bool) {
	if p.Schedule == nil {
		return "", false
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return "", false
	}
	w, _, ok := countsFor(cal, now)
	return w.Ref(p.ID), ok
}

// countsFor returns the window a check-in at t counts for, and how: on
// time inside it; late after it closed, until the next opens.
func countsFor(cal *Calendar, t time.Time) (Window, store.CheckInOutcome, bool) {
	if w, ok := cal.At(t); ok {
		return w, store.OnTime, true
	}
	if w, ok := cal.Before(t); ok {
		return w, store.Late, true
	}
	return Window{}, store.Unscheduled, false
}

// windowFacts reads what is known about window w of p at now, and the
// person's attention items, which a move of the outcome may close.
func (s *Ledger) windowFacts(ctx context.Context, p store.Participant, cal *Calendar, w Window, now time.Time) (ledger.Facts, []store.AttentionItem, error) {
	pf, err := s.personFacts(ctx, p, w.Start)
	if err != nil {
		return ledger.Facts{}, nil, err
	}
	return pf.window(s, p, cal, w, now), pf.attention, nil
}

// newRecord is the ledger's record of a window nothing is known of yet.
func (s *Ledger) newRecord(p store.Participant, w Window) store.Window {
	return store.Window{Ref: w.Ref(p.ID), ParticipantID: p.ID, OpensAt: w.Start, ClosesAt: w.End,
		GraceEndsAt: w.End.Add(s.graceOf()), Outcome: store.WindowOpen}
}

// personFacts are the facts about a person that every window draws on:
// their ledger records and check-ins since a time, their messages and
// attention items, and whether any channel works. Read at once (one
// store.HistoryOf and the links), they serve a whole history.
type personFacts struct {
	windows     map[string]store.Window // by ref
	checkIns    []store.CheckIn
	msgs        []store.OutboundMessage
	attention   []store.AttentionItem
	unreachable bool
	why         string // why no message reaches them, when unreachable
}

func (s *Ledger) personFacts(ctx context.Context, p store.Participant, since time.Time) (personFacts, error) {
	h, err := s.store.HistoryOf(ctx, p.ID, since)
	if err != nil {
		return personFacts{}, fmt.Errorf("history: %w", err)
	}
	links, err := s.store.LinksOf(ctx, p.ID)
	if err != nil {
		return personFacts{}, fmt.Errorf("links: %w", err)
	}
	return factsOf(p, h, links), nil
}

// factsOf gathers the person's facts from their history and links.
func factsOf(p store.Participant, h store.History, links []store.Link) personFacts {
	pf := personFacts{windows: make(map[string]store.Window, len(h.Windows)),
		checkIns: h.CheckIns, msgs: h.Messages, attention: h.Attention}
	for _, w := range h.Windows {
		pf.windows[w.Ref] = w
	}
	pf.why, pf.unreachable = unreachable(p, links)
	return pf
}

// window gathers the facts of window w of p at now.
func (pf personFacts) window(s *Ledger, p store.Participant, cal *Calendar, w Window, now time.Time) ledger.Facts {
	return pf.of(p, cal, pf.record(s, p, w), w, now)
}

// record is the ledger's record of window w, or a new one.
func (pf personFacts) record(s *Ledger, p store.Participant, w Window) store.Window {
	if rec, ok := pf.windows[w.Ref(p.ID)]; ok {
		return rec
	}
	return s.newRecord(p, w)
}

// of gathers the facts of one window.
func (pf personFacts) of(p store.Participant, cal *Calendar, rec store.Window, w Window, now time.Time) ledger.Facts {
	f := ledger.Facts{Window: rec, Participant: p, Unreachable: pf.unreachable, Now: now}
	if next, ok := cal.Next(w); ok {
		f.NextOpensAt = next.Start
	}
	for _, c := range pf.checkIns {
		if !c.At.Before(w.Start) {
			f.CheckIns = append(f.CheckIns, c)
		}
	}
	for _, m := range pf.msgs {
		if m.Ref == rec.Ref {
			f.Prompts = append(f.Prompts, m)
		}
	}
	return f
}

// change is what judging a window again changes: its record, the items it
// closes (from items, the person's) and the audit entries that say so.
func change(before, after store.Window, items []store.AttentionItem, actor string, now time.Time) conversation.LedgerChange {
	var ch conversation.LedgerChange
	if after == before {
		return ch
	}
	ch.Windows = []store.Window{after}
	if before.Outcome == after.Outcome || !ledger.Decided(before.Outcome) {
		return ch
	}
	// A decided outcome moved (in the person's favour: Judge allows no
	// other way). The audit log says who or what moved it.
	ch.Audit = append(ch.Audit, store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: actor, Action: "window_outcome",
		ParticipantID: after.ParticipantID, Detail: after.Ref + " " + string(before.Outcome) + " -> " + string(after.Outcome)})
	if after.Outcome != store.WindowLate && after.Outcome != store.WindowOnTime {
		return ch
	}
	for _, a := range items {
		if !ofWindow(a, after) || !a.Open() {
			continue
		}
		switch a.Kind {
		case store.AttentionMissed, store.AttentionCantReach:
			a.Resolution = store.ResolvedCheckedInLate
		case store.AttentionCantMakeIt:
			a.Resolution = store.ResolvedCheckedIn // they made it after all
		default:
			continue
		}
		a.ResolvedAt, a.ResolvedBy = now, store.ResolvedBySystem
		ch.Resolved = append(ch.Resolved, a)
	}
	return ch
}

// ofWindow reports whether item a is about window w: the item raised for
// it, or one raised again for it since (a caseworker's undo makes a new
// item with the window's ref), which must close with it as much.
func ofWindow(a store.AttentionItem, w store.Window) bool {
	return a.ID == w.AttentionID || a.Ref != "" && a.Ref == w.Ref
}

// CheckIn judges a check-in against the person's windows: on time inside
// a window; late after one closes, until the next opens; a repeat for a
// window that has one already; unscheduled with no schedule or before
// the first window. The window it counts for is judged again, so that a
// late check-in moves a "missed" to "late" and closes its item.
func (s *Ledger) CheckIn(ctx context.Context, p store.Participant, c store.CheckIn) (store.CheckInOutcome, conversation.LedgerChange, error) {
	var none conversation.LedgerChange
	if p.Schedule == nil {
		return store.Unscheduled, none, nil
	}
	cal, err := CalendarOf(p)
	if err != nil {
		s.log.Warn("check-in outcome", "participant", p.ID, "err", err)
		return store.Unscheduled, none, nil
	}
	w, result, ok := countsFor(cal, c.At)
	if !ok {
		return store.Unscheduled, none, nil
	}
	f, items, err := s.windowFacts(ctx, p, cal, w, c.At)
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
	return result, change(f.Window, after, items, store.ResolvedBySystem, c.At), nil
}

// CantMakeIt records, for the window open now or in its grace, that the
// person reported they cannot make it: the window is "reported unable",
// gets no more reminders and never becomes "missed". item, the attention
// item the report raises, is tied to the window. With no such window the
// report is about nothing scheduled, and changes no window.
func (s *Ledger) CantMakeIt(ctx context.Context, p store.Participant, item *store.AttentionItem) (conversation.LedgerChange, error) {
	var none conversation.LedgerChange
	cur, ok := s.Current(p, item.CreatedAt)
	if !ok {
		return none, nil
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return none, nil
	}
	f, items, err := s.windowFacts(ctx, p, cal, Window{Start: cur.OpensAt, End: cur.ClosesAt}, item.CreatedAt)
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
	return change(before, after, items, "participant", item.CreatedAt), nil
}

// Excuse records that caseworker by excused window ref of the person: the
// window's outcome moves to "excused" unless it already speaks better of
// them (a check-in), and the audit log says who moved it. A window not
// yet decided keeps the excuse for when it is. ErrNotFound when ref is not
// one of the person's windows.
func (s *Ledger) Excuse(ctx context.Context, participantID, ref, by string) error {
	for try := 0; ; try++ {
		err := s.excuse(ctx, participantID, ref, by)
		if !errors.Is(err, store.ErrStale) || try == staleTries {
			return err
		}
	}
}

func (s *Ledger) excuse(ctx context.Context, pid, ref, by string) error {
	now := s.clock.Now()
	p, err := s.store.GetParticipant(ctx, pid)
	if err != nil {
		return fmt.Errorf("schedule: excuse %s: %w", ref, err)
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return fmt.Errorf("schedule: excuse %s: %w", ref, err)
	}
	w, ok := windowOfRef(cal, p.ID, ref)
	if !ok {
		return fmt.Errorf("schedule: excuse %s: %w", ref, store.ErrNotFound)
	}
	f, items, err := s.windowFacts(ctx, p, cal, w, now)
	if err != nil {
		return fmt.Errorf("schedule: excuse %s: %w", ref, err)
	}
	if !f.Window.ExcusedAt.IsZero() {
		return nil
	}
	before := f.Window
	f.Window.ExcusedAt, f.Window.ExcusedBy = now, by
	after := ledger.Judge(f)
	ch := change(before, after, items, by, now)
	if len(ch.Windows) == 0 {
		ch.Windows = []store.Window{after}
	}
	t := store.Turn{ParticipantID: p.ID, Participant: &p}
	ch.AddTo(&t)
	return s.store.ApplyTurn(ctx, t)
}

// windowOfRef finds the window a ref names ("win:<participant>:<opening,
// Unix seconds>") in the person's calendar.
func windowOfRef(cal *Calendar, pid, ref string) (Window, bool) {
	opens, ok := openingOf(pid, ref)
	if !ok {
		return Window{}, false
	}
	w, ok := cal.From(opens)
	return w, ok && w.Start.Unix() == opens.Unix()
}

// maxListed bounds the windows History returns: a year of daily windows.
const maxListed = 400

// History lists the person's windows that opened from since up to now,
// oldest first, each with its outcome: the ledger's record where there is
// one, else judged now from the facts (a window still open, or one the
// scheduler has not decided yet), without saving anything. Windows before
// the person was enrolled are not theirs and are not listed.
func (s *Ledger) History(ctx context.Context, p store.Participant, since, now time.Time) ([]store.Window, error) {
	pf, err := s.personFacts(ctx, p, since)
	if err != nil {
		return nil, fmt.Errorf("schedule: windows of %s: %w", p.ID, err)
	}
	byRef := maps.Clone(pf.windows) // the ledger's records, those listed taken out
	var out []store.Window
	cal, err := CalendarOf(p)
	if p.Schedule != nil && err == nil {
		if since.Before(p.CreatedAt) {
			since = p.CreatedAt
		}
		out = s.judgedFrom(p, cal, pf, byRef, since, now)
	}
	// Records of windows the calendar no longer has (the schedule was
	// changed) stay in the history: they happened. When the list was cut
	// at maxListed, records after its end are left for the next page, so
	// that the page has no gaps.
	cut := len(out) >= maxListed
	for _, r := range byRef {
		if cut && r.OpensAt.After(out[len(out)-1].OpensAt) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.Window) int { return a.OpensAt.Compare(b.OpensAt) })
	return out, nil
}

// judgedFrom lists the calendar's windows from since up to now, at most
// maxListed: each its record (taken out of byRef), or judged now.
func (s *Ledger) judgedFrom(p store.Participant, cal *Calendar, pf personFacts, byRef map[string]store.Window, since, now time.Time) []store.Window {
	var out []store.Window
	w, ok := cal.From(since)
	if ok && w.Start.Before(since) {
		// since falls inside this window: it opened before since, so its
		// record was not read, and judging it afresh would forget what was
		// reported or excused about it. Like WindowsOf, the history starts
		// with the first window that opens from since.
		w, ok = cal.Next(w)
	}
	for ; ok && w.Start.Before(now) && len(out) < maxListed; w, ok = cal.Next(w) {
		ref := w.Ref(p.ID)
		if rec, found := byRef[ref]; found {
			out = append(out, rec)
			delete(byRef, ref)
			continue
		}
		out = append(out, ledger.Judge(pf.of(p, cal, s.newRecord(p, w), w, now)))
	}
	return out
}

// Upcoming returns the Date and Time, in the person's language and time
// zone, of when their next window opens after now.
func (s *Ledger) Upcoming(p store.Participant, now time.Time) (map[string]string, bool) {
	if p.Schedule == nil {
		return nil, false
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return nil, false
	}
	w, ok := cal.From(now)
	if ok && !w.Start.After(now) {
		w, ok = cal.Next(w)
	}
	if !ok {
		return nil, false
	}
	lang := language(s.live.Content(), p)
	at := w.Start.In(cal.loc)
	return map[string]string{"Date": FormatDate(lang, at), "Time": FormatTime(lang, at)}, true
}

// PromptFailed judges again the window ref of the person, once a prompt
// of it is reported failed after the window was decided: a delivery
// failure may come hours late, and someone whose prompt never reached
// them did not miss the window. The ledger then moves "missed" to "not
// delivered": the missed item closes itself and a "can't reach" item
// takes its place, with the failure's code. A window not decided yet is
// left alone: it is judged with every fact when its grace ends.
func (s *Ledger) PromptFailed(ctx context.Context, participantID, ref string) error {
	for tries := 3; ; tries-- {
		err := s.promptFailed(ctx, participantID, ref)
		if !errors.Is(err, store.ErrStale) || tries == 0 {
			return err
		}
	}
}

func (s *Ledger) promptFailed(ctx context.Context, pid, ref string) error {
	rec, err := s.store.GetWindow(ctx, pid, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("schedule: window %s: %w", ref, err)
	}
	if !ledger.Decided(rec.Outcome) {
		return nil
	}
	p, err := s.store.GetParticipant(ctx, pid)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("schedule: participant %s: %w", pid, err)
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return nil // no calendar to judge by: the record stands
	}
	now := s.clock.Now()
	w := Window{Start: rec.OpensAt, End: rec.ClosesAt}
	f, items, err := s.windowFacts(ctx, p, cal, w, now)
	if err != nil {
		return fmt.Errorf("schedule: facts of %s: %w", ref, err)
	}
	after := ledger.Judge(f)
	ch := change(f.Window, after, items, store.ResolvedBySystem, now)
	if len(ch.Windows) == 0 {
		return nil
	}
	t := store.Turn{ParticipantID: pid, Participant: &p}
	if f.Window.Outcome == store.WindowMissed && after.Outcome == store.WindowNotDelivered {
		// The caseworker was told of a miss that was not one: that item
		// closes, and one saying the person could not be reached opens.
		for _, a := range items {
			if ofWindow(a, f.Window) && a.Kind == store.AttentionMissed && a.Open() {
				a.ResolvedAt, a.ResolvedBy, a.Resolution = now, store.ResolvedBySystem, store.ResolvedNotDelivered
				ch.Resolved = append(ch.Resolved, a)
			}
		}
		reason := ReasonNotDelivered
		if code := lastError(f.Prompts); code != "" {
			reason = code
		}
		item := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: pid, Kind: store.AttentionCantReach, Reason: reason, Ref: ref, CreatedAt: now}
		ch.Windows[0].AttentionID = item.ID
		t.Attention = []store.AttentionItem{item}
	}
	ch.AddTo(&t)
	if err := s.store.ApplyTurn(ctx, t); err != nil {
		return fmt.Errorf("schedule: judge %s again: %w", ref, err)
	}
	s.log.Info("window judged again after a delivery failure", "participant", pid, "outcome", string(ch.Windows[0].Outcome))
	return nil
}
