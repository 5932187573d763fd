// Package ledger decides the outcome of a check-in window from the facts
// recorded about it. It is the one place that says whether a person
// "missed" a check-in, so it is pure (no clock, no store) and its rules
// are few: a window ends with exactly one outcome, missed only when
// nothing else explains it, and an outcome once decided only ever moves
// in the person's favour.
package ledger

import (
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Facts are what is known about one window when it is judged.
type Facts struct {
	// Window is the ledger's record so far: when the window was, what was
	// reported or excused, and the outcome decided before, if any.
	Window store.Window
	// NextOpensAt is when the person's next window opens; a check-in after
	// the close counts as late for this window until then. Zero when there
	// is no next window.
	NextOpensAt time.Time
	// CheckIns are the person's check-ins from the opening on.
	CheckIns []store.CheckIn
	// Participant supplies consent, pause and opt-out times.
	Participant store.Participant
	// Prompts are the messages sent about this window (OutboundMessage.Ref):
	// the prompt, the closing-soon reminders.
	Prompts []store.OutboundMessage
	// Unreachable is set when the person has no channel that works: no link
	// at all, or the link replies go to has failed.
	Unreachable bool
	// Now is the moment of judging.
	Now time.Time
}

// rank orders outcomes by how well they speak of the person: a decided
// outcome may only be replaced by one of a higher rank. Outcomes of one
// rank are different reasons, none better than another, so none replaces
// another.
var rank = map[store.WindowOutcome]int{
	store.WindowMissed:         0,
	store.WindowNotDelivered:   1,
	store.WindowOptedOut:       2,
	store.WindowNotConsented:   2,
	store.WindowPaused:         2,
	store.WindowReportedUnable: 3,
	store.WindowExcused:        4,
	store.WindowLate:           5,
	store.WindowOnTime:         6,
}

// Decided reports whether o is a final outcome, not "open" or unset.
func Decided(o store.WindowOutcome) bool {
	_, ok := rank[o]
	return ok
}

// Favours reports whether moving from outcome from to outcome to is in the
// person's favour, the only way a decided outcome may move.
func Favours(from, to store.WindowOutcome) bool {
	if !Decided(from) {
		return Decided(to)
	}
	return Decided(to) && rank[to] > rank[from]
}

// Judge returns the window's record with its outcome brought up to date:
// decided once its grace has ended (DecidedAt set then), provisional
// before (WindowOpen, unless a check-in, a report or an excuse already
// settles it). A decided outcome moves only in the person's favour.
func Judge(f Facts) store.Window {
	w := f.Window
	if w.Outcome == "" {
		w.Outcome = store.WindowOpen
	}
	outcome, checkIn := decide(f)
	if (!Decided(w.Outcome) || Favours(w.Outcome, outcome)) && (outcome != w.Outcome || checkIn != w.CheckInID) {
		w.Outcome, w.CheckInID, w.UpdatedAt = outcome, checkIn, f.Now
	}
	if w.DecidedAt.IsZero() && !f.Now.Before(w.GraceEndsAt) {
		w.DecidedAt, w.UpdatedAt = f.Now, f.Now
	}
	return w
}

// decide applies the rules in order, the person's own acts first: a
// check-in, then what they or a caseworker reported, then the reasons
// nothing could be asked of them, and "missed" last, only after the grace
// has ended.
func decide(f Facts) (store.WindowOutcome, string) {
	w := f.Window
	if id, ok := checkedIn(f, w.OpensAt, w.ClosesAt); ok {
		return store.WindowOnTime, id
	}
	lateUntil := f.NextOpensAt
	if id, ok := checkedIn(f, w.ClosesAt, lateUntil); ok {
		return store.WindowLate, id
	}
	switch {
	case !w.ExcusedAt.IsZero():
		return store.WindowExcused, ""
	case !w.ReportedUnableAt.IsZero() && w.ReportedUnableAt.Before(w.GraceEndsAt):
		return store.WindowReportedUnable, ""
	}
	if f.Now.Before(w.GraceEndsAt) {
		return store.WindowOpen, ""
	}
	p := f.Participant
	switch {
	case pausedDuring(p, w):
		return store.WindowPaused, ""
	case p.ConsentedAt.IsZero() || !p.ConsentedAt.Before(w.ClosesAt):
		return store.WindowNotConsented, ""
	case p.OptedOut || !p.OptedOutAt.IsZero() && p.OptedOutAt.Before(w.GraceEndsAt):
		return store.WindowOptedOut, ""
	case f.Unreachable || !reached(f.Prompts):
		return store.WindowNotDelivered, ""
	}
	return store.WindowMissed, ""
}

// checkedIn finds the first check-in at or after from and before until
// (no end when until is zero).
func checkedIn(f Facts, from, until time.Time) (string, bool) {
	for _, c := range f.CheckIns {
		if !c.At.Before(from) && (until.IsZero() || c.At.Before(until)) {
			return c.ID, true
		}
	}
	return "", false
}

// pausedDuring reports whether any pause overlapped the window or its
// grace. A person paused with no pause on record (paused before pauses
// were recorded) is taken as paused throughout.
func pausedDuring(p store.Participant, w store.Window) bool {
	for _, ps := range p.Pauses {
		if ps.From.Before(w.GraceEndsAt) && (ps.Until.IsZero() || ps.Until.After(w.OpensAt)) {
			return true
		}
	}
	n := len(p.Pauses)
	return p.Status == store.Paused && (n == 0 || !p.Pauses[n-1].Until.IsZero())
}

// reached reports whether any prompt reached the person, as far as the
// provider says: taken by it and not reported failed. A message still
// waiting in the outbox, or one that failed, reached no one.
func reached(prompts []store.OutboundMessage) bool {
	for _, m := range prompts {
		switch m.Status {
		case store.Queued, store.Sent, store.Delivered, store.Read:
			return true
		}
	}
	return false
}
