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
	Voice          Voice       `yaml:"voice"`
	// Fold lists the languages whose SMS lose the accents GSM-7 cannot
	// carry (sms.FoldGSM), so that one accent does not make a message
	// UCS-2 and cost twice. Off (empty) by default.
	Fold     []string `yaml:"fold"`
	WhatsApp WhatsApp `yaml:"whatsapp"`
	Report   Report   `yaml:"report"`
}

// Report is the programme report's settings (docs/report.md).
type Report struct {
	// MinPeople is the fewest people a figure may count; smaller ones,
	// and any that would give them away, are shown as "fewer than".
	MinPeople int `yaml:"min_people"`
	// ShortWindow: windows shorter than this are counted as a burden.
	ShortWindow Duration `yaml:"short_window"`
	// SegmentPrice is what one SMS segment costs, in Currency, for the
	// estimated cost.
	SegmentPrice float64 `yaml:"sms_segment_price"`
	Currency     string  `yaml:"currency"`
}

// Folds reports whether SMS in lang are folded to GSM-7.
func (p Programme) Folds(lang string) bool { return contains(p.Fold, lang) }

// Organisation is who runs the programme and how to reach a human.
type Organisation struct {
	Name  string `yaml:"name"`
	Phone string `yaml:"phone"`
	Hours string `yaml:"hours"`
	// In gives the name and hours in other languages, by language code:
	// hours are words ("Mon-Fri 9am-5pm"), and some organisations are
	// known by another name in another language. What is left out is
	// said as written above.
	In map[string]OrganisationWords `yaml:"in"`
}

// OrganisationWords are an organisation's name and hours in one language.
type OrganisationWords struct {
	Name  string `yaml:"name"`
	Hours string `yaml:"hours"`
}

// NameIn is the organisation's name for people reading lang.
func (o Organisation) NameIn(lang string) string {
	if w := o.In[lang].Name; w != "" {
		return w
	}
	return o.Name
}

// HoursIn is when someone answers the phone, in lang's words.
func (o Organisation) HoursIn(lang string) string {
	if w := o.In[lang].Hours; w != "" {
		return w
	}
	return o.Hours
}

// FlowRoles names the flows Waymark starts by itself.
type FlowRoles struct {
	Default   string `yaml:"default"`   // a message that is neither an answer nor a keyword
	Enrolment string `yaml:"enrolment"` // right after JOIN CODE links a phone
	CheckIn   string `yaml:"checkin"`   // a check-in reminder
	Reminder  string `yaml:"reminder"`  // an appointment reminder
	// Consent asks once more whether the person agrees to get messages,
	// when they never answered at enrolment.
	Consent string `yaml:"consent"`
}

// CheckInRule is the check-in policy.
type CheckInRule struct {
	GracePeriod Duration `yaml:"grace_period"` // after a window closes, before a miss is recorded
	// ConsentReask is how long an unanswered "Do you agree?" waits before
	// it is asked once more, and the re-ask before the caseworker is told.
	ConsentReask Duration `yaml:"consent_reask"`
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

// Retention says how long records are kept. internal/retention deletes
// check-ins, audit entries, sent messages, resolved attention items and
// exited participants past their time; dedupe keys and enrolment codes
// expire on their own.
type Retention struct {
	CheckIns         Duration `yaml:"checkins"`
	Audit            Duration `yaml:"audit"`
	ExitedAfter      Duration `yaml:"exited_participants"`
	DedupeKeys       Duration `yaml:"dedupe_keys"`
	EnrolmentCodeTTL Duration `yaml:"enrolment_codes"`
	// SentMessages is how long a message's record (kind, status, error
	// code, times) is kept after its final status; its text goes at once.
	SentMessages Duration `yaml:"sent_messages"`
	// ResolvedAttention is how long a dealt-with attention item is kept.
	ResolvedAttention Duration `yaml:"resolved_attention"`
	// UnconfirmedText is how long the words of a message the provider
	// took are kept when no final status comes (Telegram never sends one).
	UnconfirmedText Duration `yaml:"unconfirmed_message_text"`
}

// TemplateData is the retention periods as message templates see them, so
// that what people are told (enrol.privacy, info.data) follows
// programme.yaml: long spans in months, short ones in days. RetentionMonths
// is the older name of CheckInMonths, kept for locale files that use it.
func (r Retention) TemplateData() map[string]any {
	return map[string]any{
		"CheckInMonths":   Months(r.CheckIns.D()),
		"RetentionMonths": Months(r.CheckIns.D()),
		"AuditMonths":     Months(r.Audit.D()),
		"AttentionMonths": Months(r.ResolvedAttention.D()),
		"SentDays":        Days(r.SentMessages.D()),
		"ExitDays":        Days(r.ExitedAfter.D()),
	}
}

// Months is d in months, a month being a twelfth of a 365-day year, rounded
// up: a notice must never promise a shorter time than records are kept.
// 365 days is 12 months, 730 days 24, 45 days 2.
func Months(d time.Duration) int {
	const yearHours = 365 * 24
	hours := int64((d + time.Hour - 1) / time.Hour) // in hours, so that *12 cannot overflow
	return int((hours*12 + yearHours - 1) / yearHours)
}

// Days is d in days, rounded up for the same reason: 36 hours is 2 days.
func Days(d time.Duration) int {
	const day = 24 * time.Hour
	return int((d + day - 1) / day)
}

// What the telephone line does with a call that is not a missed-call
// check-in (VoiceReject or VoiceMenu).
const (
	// VoiceReject rejects the call unanswered: it costs the caller nothing
	// and nothing is recorded.
	VoiceReject = "reject"
	// VoiceMenu answers the call, so the caller's network may charge them,
	// and offers the keypad menu (an unknown caller hears a short message).
	VoiceMenu = "menu"
)

// What a caller must do before the keypad menu acts (Voice.MenuAccess).
const (
	// MenuAccessPIN: the caller first enters the PIN the person chose by
	// text ("PIN 4821"). Caller ID can be faked; a PIN texted from the
	// person's phone cannot be heard or guessed in a few tries.
	MenuAccessPIN = "pin"
	// MenuAccessCallerID: the caller ID alone opens the menu, so anyone who
	// fakes a person's number can check them in by key, ask for a call
	// back or change their language.
	MenuAccessCallerID = "caller_id"
)

// What becomes of a missed call whose caller ID the network did not vouch
// for (Voice.UnverifiedCalls).
const (
	// UnverifiedCount records it as a check-in, marked "caller ID not
	// verified" for the caseworker.
	UnverifiedCount = "count"
	// UnverifiedAsk records nothing and texts the person (once a day) that
	// the call could not be confirmed as theirs, and to reply 1 to check in.
	UnverifiedAsk = "ask"
)

// Voice is the policy of the telephone line (docs/voice.md). A call from a
// person's own number while a check-in window is open is rejected
// unanswered, free to the caller, and counts as their check-in; every
// other call is rejected or answered as the fields below say. Keys are
// pressed, never spoken: there is no speech input and no recording.
type Voice struct {
	Enabled bool `yaml:"enabled"`
	// OutsideWindow is for a known caller who cannot check in by a missed
	// call now: no window open, paused, or their number's messages fail.
	OutsideWindow string `yaml:"outside_window"`
	// UnknownCaller is for a number no participant has linked.
	UnknownCaller string `yaml:"unknown_caller"`
	// OptedOut is for a person who asked for no messages.
	OptedOut string `yaml:"opted_out"`
	// ConfirmByMessage sends a message (SMS, or Telegram where the person
	// last wrote from) after a missed-call check-in.
	ConfirmByMessage bool `yaml:"confirm_by_message"`
	// MenuAccess says what opens the keypad menu: MenuAccessPIN or
	// MenuAccessCallerID.
	MenuAccess string `yaml:"menu_access"`
	// UnverifiedCalls says what a missed call without full caller-ID
	// attestation does: UnverifiedCount or UnverifiedAsk.
	UnverifiedCalls string `yaml:"unverified_calls"`
	// Speech says how Twilio speaks each language, by language code. A
	// language offered but missing here is spoken in the default language.
	Speech map[string]Speech `yaml:"speech"`
}

// Menu reports whether any call can be answered with the keypad menu.
func (v Voice) Menu() bool {
	return v.Enabled && (v.OutsideWindow == VoiceMenu || v.OptedOut == VoiceMenu || v.UnknownCaller == VoiceMenu)
}

// PIN reports whether the keypad menu asks for the person's PIN first,
// so that people may choose one by text.
func (v Voice) PIN() bool { return v.Menu() && v.MenuAccess == MenuAccessPIN }

// Speech is a Twilio text-to-speech setting: the <Say> language (e.g.
// "en-GB") and, where the account's default voice cannot speak it, a voice
// (e.g. "Polly.Zeina").
type Speech struct {
	Language string `yaml:"language"`
	Voice    string `yaml:"voice"`
}

// What becomes of a WhatsApp message that must go outside the person's
// 24-hour window and has no approved template (WhatsApp.Fallback).
const (
	// FallbackNone sends nothing: the window's outcome is "not delivered"
	// and the caseworker sees why, never a miss.
	FallbackNone = "none"
	// FallbackSMS sends the same words by SMS to the same number, to a
	// person who agreed to that when they joined.
	FallbackSMS = "sms"
)

// WhatsApp is how messages Waymark starts by itself reach people on
// WhatsApp (docs/whatsapp.md). WhatsApp carries free text only within 24
// hours of the person's last message; after that only a template
// approved by WhatsApp, sent by its Twilio Content SID.
type WhatsApp struct {
	// Fallback is FallbackNone or FallbackSMS.
	Fallback string `yaml:"fallback"`
	// Templates maps a message ID and a language to its approved template:
	// templates["checkin.ask"]["es"].
	Templates map[string]map[string]Template `yaml:"templates"`
}

// Template is one approved Twilio Content template and the message values
// that fill its numbered variables, in order: Variables[0] fills {{1}}.
type Template struct {
	SID       string   `yaml:"sid"`
	Variables []string `yaml:"variables"`
}

// Template returns the template of message id in lang, if there is one.
func (w WhatsApp) Template(id, lang string) (Template, bool) {
	t, ok := w.Templates[id][lang]
	return t, ok && t.SID != ""
}

// NoSpeech is the Speech language of a language Twilio cannot speak:
// written in programme.yaml, it says the organisation knows, so that
// `waymark check` does not ask for a voice; its callers hear the default
// language.
const NoSpeech = "none"

// Speaks reports whether Twilio is told how to speak the language.
func (s Speech) Speaks() bool { return s.Language != NoSpeech }

// SpokenLanguages are the offered languages Twilio is told how to speak,
// in the programme's order: the telephone menu offers only these (and
// those the organisation recorded; see Set.SpokenLanguages), since a
// language without a voice would be offered in another's words.
func (p Programme) SpokenLanguages() []string {
	var out []string
	for _, l := range p.Languages {
		if sp, ok := p.Voice.Speech[l]; ok && sp.Speaks() {
			out = append(out, l)
		}
	}
	return out
}

// DefaultSpeech is the text-to-speech setting of each shipped language
// that Twilio can speak (locales/README.md lists the voice of each).
// Arabic, Ukrainian, Amharic, Bengali and Urdu need a named voice:
// Twilio's basic voices do not speak them. Farsi/Dari, Pashto, Tigrinya
// and Somali have no Twilio voice: recorded audio is their way.
func DefaultSpeech() map[string]Speech {
	return map[string]Speech{
		"en": {Language: "en-GB"},
		"es": {Language: "es-ES"},
		"fr": {Language: "fr-FR"},
		"ar": {Language: "arb", Voice: "Polly.Zeina"},
		"uk": {Language: "uk-UA", Voice: "Google.uk-UA-Standard-A"},
		"pt": {Language: "pt-BR", Voice: "Polly.Camila"},
		"ru": {Language: "ru-RU", Voice: "Polly.Tatyana"},
		"tr": {Language: "tr-TR", Voice: "Polly.Filiz"},
		"am": {Language: "am-ET", Voice: "Google.am-ET-Standard-A"},
		"bn": {Language: "bn-IN", Voice: "Google.bn-IN-Standard-A"},
		"ur": {Language: "ur-IN", Voice: "Google.ur-IN-Standard-A"},
	}
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
			Consent:   "consent",
		},
		SessionTimeout: Duration(2 * time.Hour),
		CheckIn:        CheckInRule{GracePeriod: Duration(day), ConsentReask: Duration(2 * day)},
		Reminders: Reminders{
			BeforeClose:     []Duration{Duration(6 * time.Hour)},
			Appointment:     []Duration{Duration(7 * day), Duration(3 * day), Duration(day)},
			AppointmentHour: "09:00",
		},
		QuietHours: QuietHours{Start: "21:00", End: "08:00"},
		Retention: Retention{
			CheckIns:          Duration(365 * day),
			Audit:             Duration(730 * day),
			ExitedAfter:       Duration(30 * day),
			DedupeKeys:        Duration(48 * time.Hour),
			EnrolmentCodeTTL:  Duration(14 * day),
			SentMessages:      Duration(7 * day),
			ResolvedAttention: Duration(365 * day),
			UnconfirmedText:   Duration(48 * time.Hour),
		},
		Report: Report{MinPeople: 10, ShortWindow: Duration(12 * time.Hour), SegmentPrice: 0.04, Currency: "GBP"},
		Voice: Voice{
			Enabled:          true,
			OutsideWindow:    VoiceReject,
			UnknownCaller:    VoiceReject,
			OptedOut:         VoiceReject,
			ConfirmByMessage: true,
			MenuAccess:       MenuAccessPIN,
			UnverifiedCalls:  UnverifiedCount,
			Speech:           DefaultSpeech(),
		},
		WhatsApp: WhatsApp{Fallback: FallbackNone},
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

// ProgrammeLine returns the line of programme.yaml that sets the field at
// path ("whatsapp.templates.checkin.ask.es"), and false when the file does
// not set it.
func (s *Set) ProgrammeLine(path string) (int, bool) {
	l, ok := s.progLines[path]
	return l, ok
}
