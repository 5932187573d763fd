package flow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Programme is the organisation's policy, read from flows/programme.yaml.
// Defaults (see the shipped file) apply to every field left out.
type Programme struct {
	Organisation    Organisation `yaml:"organisation"`
	Languages       []string     `yaml:"languages"`        // offered, e.g. [en, es, fr, ar, uk]
	DefaultLanguage string       `yaml:"default_language"` // fallback after the person's own
	Flows           FlowRoles    `yaml:"flows"`
	// SessionTimeout is how long an unanswered conversation is remembered.
	SessionTimeout Duration    `yaml:"session_timeout"`
	CheckIn        CheckInRule `yaml:"checkin"`
	Reminders      Reminders   `yaml:"reminders"`
	QuietHours     QuietHours  `yaml:"quiet_hours"`
	Retention      Retention   `yaml:"retention"`
}

// Organisation is who runs the programme and how to reach a human.
type Organisation struct {
	Name  string `yaml:"name"`
	Phone string `yaml:"phone"`
	Hours string `yaml:"hours"`
}

// FlowRoles names the flows Waymark starts by itself.
type FlowRoles struct {
	Default   string `yaml:"default"`   // a message that is neither an answer nor a keyword
	Enrolment string `yaml:"enrolment"` // right after JOIN CODE links a phone
	CheckIn   string `yaml:"checkin"`   // a check-in reminder
	Reminder  string `yaml:"reminder"`  // an appointment reminder
}

// CheckInRule is the check-in policy.
type CheckInRule struct {
	GracePeriod Duration `yaml:"grace_period"` // after a window closes, before a miss is recorded
}

// Reminders are the offsets at which reminders go out.
type Reminders struct {
	BeforeClose     []Duration `yaml:"before_close"`     // before a check-in window closes
	Appointment     []Duration `yaml:"appointment"`      // before an appointment
	AppointmentHour string     `yaml:"appointment_hour"` // local time of day, "09:00"
	SameMorning     bool       `yaml:"same_morning"`     // also remind on the morning of the day
}

// QuietHours is a local time span in which no reminder is sent.
type QuietHours struct {
	Start string `yaml:"start"` // "21:00"
	End   string `yaml:"end"`   // "08:00"
}

// Retention says how long records are kept.
type Retention struct {
	CheckIns         Duration `yaml:"checkins"`
	Audit            Duration `yaml:"audit"`
	ExitedAfter      Duration `yaml:"exited_participants"`
	DedupeKeys       Duration `yaml:"dedupe_keys"`
	EnrolmentCodeTTL Duration `yaml:"enrolment_codes"`
}

// DefaultProgramme is the policy that applies to every field programme.yaml
// leaves out. It is what a small programme needs without writing anything.
func DefaultProgramme() Programme {
	const day = 24 * time.Hour
	return Programme{
		Languages:       []string{"en"},
		DefaultLanguage: "en",
		Flows: FlowRoles{
			Default:   "menu",
			Enrolment: "enrolment",
			CheckIn:   "checkin",
			Reminder:  "reminder",
		},
		SessionTimeout: Duration(2 * time.Hour),
		CheckIn:        CheckInRule{GracePeriod: Duration(day)},
		Reminders: Reminders{
			BeforeClose:     []Duration{Duration(6 * time.Hour)},
			Appointment:     []Duration{Duration(7 * day), Duration(3 * day), Duration(day)},
			AppointmentHour: "09:00",
		},
		QuietHours: QuietHours{Start: "21:00", End: "08:00"},
		Retention: Retention{
			CheckIns:         Duration(365 * day),
			Audit:            Duration(730 * day),
			ExitedAfter:      Duration(30 * day),
			DedupeKeys:       Duration(48 * time.Hour),
			EnrolmentCodeTTL: Duration(14 * day),
		},
	}
}

// ParseClock reads a local time of day written "HH:MM" (24-hour clock) and
// returns it as the time since midnight.
func ParseClock(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad time of day %q: use HH:MM on a 24-hour clock, e.g. 09:00 or 21:30", s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, bad
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || h[0] == '+' || m[0] == '+' {
		return 0, bad
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}
