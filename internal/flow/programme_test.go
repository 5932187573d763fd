package flow

import (
	"testing"
	"time"
)

// People are told retention periods in months or days, rounded up: a
// notice may say a little longer than records are kept, never shorter.
func TestRetentionFiguresRoundUp(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		d              time.Duration
		months, inDays int
	}{
		{365 * day, 12, 365},
		{730 * day, 24, 730},
		{366 * day, 13, 366},
		{45 * day, 2, 45},
		{30 * day, 1, 30},
		{7 * day, 1, 7},
		{36 * time.Hour, 1, 2},
		{100 * 365 * day, 1200, 36500},
		{0, 0, 0},
	} {
		if got := Months(tc.d); got != tc.months {
			t.Errorf("Months(%v) = %d, want %d", tc.d, got, tc.months)
		}
		if got := Days(tc.d); got != tc.inDays {
			t.Errorf("Days(%v) = %d, want %d", tc.d, got, tc.inDays)
		}
	}
	data := DefaultProgramme().Retention.TemplateData()
	want := map[string]int{"CheckInMonths": 12, "RetentionMonths": 12, "AuditMonths": 24, "AttentionMonths": 12, "SentDays": 7, "ExitDays": 30}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("%s = %v, want %d", k, data[k], v)
		}
	}
	if len(data) != len(want) {
		t.Errorf("template data %v, want the keys of %v", data, want)
	}
}
