package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Words for the codes the store keeps, so that no page shows a code where
// a caseworker expects a word: appointment kinds and statuses, days,
// lengths of time, counts.

var appointmentKindLabels = map[string]string{
	"caseworker_meeting": "Meeting with the caseworker",
	"hearing":            "Hearing",
	"reporting_event":    "Reporting event",
	"legal_advice":       "Legal advice",
	"other":              "Other appointment",
}

// wordsFor is code in words from labels; a code that has none there (a
// kind made through the API, an action of a later version) is shown with
// spaces for underscores and a capital.
func wordsFor[K ~string](labels map[K]string, code K) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return capitalise(strings.ReplaceAll(string(code), "_", " "))
}

func appointmentKindLabel(kind string) string { return wordsFor(appointmentKindLabels, kind) }

var appointmentStatusLabels = map[store.AppointmentStatus]string{
	store.AppointmentScheduled: "Planned",
	store.AppointmentConfirmed: "Confirmed by the person",
	store.AppointmentAttended:  "Attended",
	store.AppointmentMissed:    "Did not come",
	store.AppointmentCancelled: "Cancelled",
}

func appointmentStatusLabel(s store.AppointmentStatus) string {
	return wordsFor(appointmentStatusLabels, s)
}

// dayLabel is a YYYY-MM-DD date as "Wed 16 Dec 2026"; anything else as
// it is.
func dayLabel(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.Format("Mon 2 Jan 2006")
}

// durationWords says a length of time as people do: "2 minutes",
// "1 day and 12 hours", "36 hours" stays "1 day and 12 hours".
func durationWords(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	var parts []string
	if days := int(d / (24 * time.Hour)); days > 0 {
		parts = append(parts, plural(days, "day"))
		d -= time.Duration(days) * 24 * time.Hour
	}
	if h := int(d / time.Hour); h > 0 {
		parts = append(parts, plural(h, "hour"))
		d -= time.Duration(h) * time.Hour
	}
	if m := int(d / time.Minute); m > 0 {
		parts = append(parts, plural(m, "minute"))
		d -= time.Duration(m) * time.Minute
	}
	if sec := int(d / time.Second); sec > 0 || len(parts) == 0 {
		parts = append(parts, plural(sec, "second"))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// caseloadWords is a caseload's size: "16 people, 1 of them a child".
func caseloadWords(people, children int) string {
	s := plural(people, "person")
	if people != 1 {
		s = strconv.Itoa(people) + " people"
	}
	switch {
	case children == 1 && people == 1:
		return s + ", a child"
	case children == 1:
		return s + ", 1 of them a child"
	case children > 1:
		return s + ", " + strconv.Itoa(children) + " of them children"
	}
	return s
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
