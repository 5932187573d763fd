package conversation

import (
	"context"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Windows is what the conversation asks about a person's check-in
// windows. The scheduler answers (internal/schedule), from the same
// calendar its reminders follow, and keeps the ledger: each answer says
// what a fact changes in it, and the turn that records the fact saves
// that change with it.
type Windows interface {
	// Current returns the window open at now, or else the last one whose
	// grace has not ended; false when there is none.
	Current(p store.Participant, now time.Time) (WindowNow, bool)
	// CountsFor returns the ref of the window a check-in at now would
	// count for: the one open now, or else the last one opened (a
	// check-in is late until the next opens); false when there is none.
	CountsFor(p store.Participant, now time.Time) (string, bool)
	// CheckIn judges check-in c (not yet stored) against the windows.
	CheckIn(ctx context.Context, p store.Participant, c store.CheckIn) (store.CheckInOutcome, LedgerChange, error)
	// CantMakeIt ties the attention item of a "can't make it" to the
	// window it is about (setting item.Ref) and records the report.
	CantMakeIt(ctx context.Context, p store.Participant, item *store.AttentionItem) (LedgerChange, error)
	// Upcoming returns the template data (Date, Time, in the person's
	// language and time zone) of when their next window opens after now;
	// false when none will.
	Upcoming(p store.Participant, now time.Time) (map[string]string, bool)
	// Replan plans the person's reminders again, after a turn changed what
	// they may be sent (they agreed to get messages, or were asked).
	Replan(ctx context.Context, participantID string) error
}

// WindowNow is a window open now or in its grace.
type WindowNow struct {
	Ref                            string
	OpensAt, ClosesAt, GraceEndsAt time.Time
}

// LedgerChange is what a fact changes in the ledger: window records to
// save, attention items it closes, and the audit entries that say so.
type LedgerChange struct {
	Windows  []store.Window
	Resolved []store.AttentionItem
	Audit    []store.AuditEntry
}

// AddTo adds the change to a turn.
func (ch LedgerChange) AddTo(t *store.Turn) {
	t.Windows = append(t.Windows, ch.Windows...)
	t.Resolved = append(t.Resolved, ch.Resolved...)
	t.Audit = append(t.Audit, ch.Audit...)
}

// Window returns the person's window open at now, or in its grace.
func (s *Service) Window(p store.Participant, now time.Time) (WindowNow, bool) {
	if s.windows == nil {
		return WindowNow{}, false
	}
	return s.windows.Current(p, now)
}

// Upcoming returns the template data of the person's next window opening.
func (s *Service) Upcoming(p store.Participant, now time.Time) (map[string]string, bool) {
	if s.windows == nil {
		return nil, false
	}
	return s.windows.Upcoming(p, now)
}
