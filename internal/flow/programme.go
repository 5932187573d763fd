package flow

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
