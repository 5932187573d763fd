package compact

import (
	"fmt"
	"strconv"
)

// A due item's kind is most of its record after its times, and a person
// has about four items, so the kinds the scheduler plans (internal/schedule)
// are written as their place in kinds, from "1". The list only grows: a
// code once written always means its kind, so a kind the scheduler stops
// using stays, and a new one goes at the end. Any other kind is written as
// it is; store.CheckDue refuses a kind that begins with a digit, so a
// code and a kind never meet. TestSchedulerKindsHaveCodes (in
// internal/schedule) holds every kind the scheduler plans to a code.
var kinds = []string{
	"checkin_open", "checkin_closing", "checkin_miss",
	"appointment_reminder", "appointment_followup",
	"consent_reask", "consent_lapsed",
}

var kindCodes = func() map[string]string {
	m := make(map[string]string, len(kinds))
	for i, k := range kinds {
		m[k] = strconv.Itoa(i + 1)
	}
	return m
}()

// KindCode is what a due record writes of kind.
func KindCode(kind string) string {
	if code, ok := kindCodes[kind]; ok {
		return code
	}
	return kind
}

// Kind reads back what KindCode wrote: a code is read as its kind, and
// anything not beginning with a digit as it is.
func Kind(text string) (string, error) {
	if text == "" || text[0] < '0' || text[0] > '9' {
		return text, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > len(kinds) || strconv.Itoa(n) != text {
		return "", fmt.Errorf("compact: %q is no due item's kind", text)
	}
	return kinds[n-1], nil
}
