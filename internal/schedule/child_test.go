package schedule

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
)

// Nothing is planned for a child between 21:00 and 08:00 local time,
// whatever programme.yaml says about quiet hours; an adult on the same
// programme gets what the programme says.
func TestChildNightWhateverTheProgramme(t *testing.T) {
	// A window from 06:00 to 22:30 London time, Mondays; a miss check at
	// 22:30 with no grace; a reminder an hour before the close.
	early := weeklySchedule(ww("monday", "06:00", "monday", "22:30"))
	for _, quiet := range [][2]string{{"00:00", "00:00"}, {"13:00", "14:00"}, {"23:00", "06:00"}, {"20:00", "07:00"}} {
		pr := shipped()
		pr.QuietHours.Start, pr.QuietHours.End = quiet[0], quiet[1]
		pr.CheckIn.GracePeriod = 0
		pr.Reminders.BeforeClose = nil
		child := person("Europe/London", early)
		child.Child = true
		items, err := Plan(PlanInput{Participant: child, Programme: pr, Now: utc("2026-01-04T12:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation("Europe/London")
		own := quietHours{start: mustClock(t, quiet[0]), end: mustClock(t, quiet[1])}
		for _, it := range items {
			local := it.DueAt.In(loc)
			if h := local.Hour(); h >= 21 || h < 8 {
				t.Errorf("quiet %v: %s due at %s, in a child's night", quiet, it.ID, local.Format("Mon 15:04"))
			}
			if own.inside(it.DueAt, loc) {
				t.Errorf("quiet %v: %s due at %s, in the programme's quiet hours", quiet, it.ID, local.Format("Mon 15:04"))
			}
		}
		if len(items) == 0 {
			t.Fatalf("quiet %v: nothing planned for the child", quiet)
		}
	}
	// The adult with no programme quiet hours gets the 06:00 opening.
	pr := shipped()
	pr.QuietHours.Start, pr.QuietHours.End = "00:00", "00:00"
	items, err := Plan(PlanInput{Participant: person("Europe/London", early), Programme: pr, Now: utc("2026-01-04T12:00:00Z")})
	if err != nil || len(items) == 0 || items[0].DueAt.In(time.UTC).Hour() != 6 {
		t.Fatalf("adult plan = %+v, %v; want the opening at 06:00", items, err)
	}
}

func mustClock(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := flow.ParseClock(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
