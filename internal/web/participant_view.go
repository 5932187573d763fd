package web

import (
	"slices"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// The participant page's and the Participants list's presentation: the
// story of a person in words, from what the handlers read.

// apptRow is an appointment as the page shows it.
type apptRow struct {
	A          store.Appointment
	When       string // "Wed 16 Dec 2026 at 10:30"
	Kind       string
	Status     string
	Open       bool // its change form starts open: the queue sent the caseworker here to reschedule it
	Cancelled  bool
	StatusList []option
}

// appointmentsApart splits a person's appointments into those to come
// (soonest first) and those past or cancelled (latest first), by the
// date in the person's own time zone.
func appointmentsApart(apps []store.Appointment, now time.Time, tz, openID string) (upcoming, past []apptRow) {
	today := now.In(zoneOf(tz)).Format(time.DateOnly)
	for _, a := range apps {
		r := apptRow{A: a, When: dayLabel(a.Date) + " at " + a.Time, Kind: appointmentKindLabel(a.Kind), Status: appointmentStatusLabel(a.Status),
			Open: a.ID == openID, Cancelled: a.Status == store.AppointmentCancelled}
		for _, st := range []store.AppointmentStatus{store.AppointmentScheduled, store.AppointmentConfirmed, store.AppointmentAttended, store.AppointmentMissed} {
			r.StatusList = append(r.StatusList, option{Value: string(st), Label: appointmentStatusLabel(st), Selected: st == a.Status})
		}
		done := a.Status == store.AppointmentCancelled || a.Status == store.AppointmentAttended || a.Status == store.AppointmentMissed
		if a.Date >= today && !done {
			upcoming = append(upcoming, r)
		} else {
			past = append(past, r)
		}
	}
	key := func(r apptRow) string { return r.A.Date + " " + r.A.Time }
	slices.SortStableFunc(upcoming, func(a, b apptRow) int { return strings.Compare(key(a), key(b)) })
	slices.SortStableFunc(past, func(a, b apptRow) int { return strings.Compare(key(b), key(a)) })
	return upcoming, past
}

// appointmentKindOptions are the kinds offered when adding an
// appointment, in words.
func appointmentKindOptions() []option {
	out := make([]option, 0, len(appointmentKinds))
	for _, k := range appointmentKinds {
		out = append(out, option{Value: k, Label: appointmentKindLabel(k)})
	}
	return out
}

// nextWindowOf is the person's next check-in window in words, in the
// caseworker's time zone, or "" when none is planned (no schedule,
// paused, left).
func nextWindowOf(p store.Participant, now time.Time, loc *time.Location) string {
	if p.Schedule == nil || p.Status != store.Active {
		return ""
	}
	cal, err := schedule.CalendarOf(p)
	if err != nil {
		return ""
	}
	w, ok := cal.From(now)
	if !ok {
		return ""
	}
	if !w.Start.After(now) {
		return "open now, until " + caseworkerTime(w.End, now, loc).Text
	}
	return caseworkerTime(w.Start, now, loc).Text
}

// languageName is a language's own name ("العربية") with its English one
// for a caseworker who does not read it; the code only when unknown.
func (s *Server) languageName(code string) string {
	content := s.deps.Conversation.Content()
	if content == nil {
		return code
	}
	own := content.Locale.Name(code)
	if en, ok := englishLanguageNames[code]; ok && en != own {
		return own + " (" + en + ")"
	}
	return own
}

var englishLanguageNames = map[string]string{
	"en": "English", "es": "Spanish", "fr": "French", "ar": "Arabic", "uk": "Ukrainian", "fa": "Farsi/Dari", "ps": "Pashto",
	"ti": "Tigrinya", "am": "Amharic", "so": "Somali", "pt": "Portuguese", "ru": "Russian", "tr": "Turkish", "ur": "Urdu", "bn": "Bengali",
}

// windowWords is a window from its record: when it was open, in the
// person's time zone, and its outcome in the ledger's words.
func windowWords(w store.Window, tz string) string {
	return "check-in window " + localTime(w.OpensAt, tz) + " to " + localTime(w.ClosesAt, tz) + "; its record says: " + stripLabel(string(outcomeOf(w)))
}
