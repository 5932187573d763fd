package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// The enrol form's presentation: every problem at once beside its field,
// the time zone chosen from a list, and the code page at an address of
// its own, so that a reload or Back shows the code again and enrols no
// one.

// fieldErrors maps a form field's id to what is wrong with it, in words
// for the caseworker (never the field's internal name).
type fieldErrors map[string]string

// checkEnrolForm finds every problem of the enrol or edit form at once.
// What it cannot see (the store refusing, say) is left to the operation,
// which checks everything again.
func (s *Server) checkEnrolForm(in participantInput, sf scheduleForm, schedErr error, caseworker string, trained func(accountID string) bool, now time.Time) fieldErrors {
	fe := scheduleFieldErrors(sf)
	if in.Label != nil {
		if _, err := checkLabel(*in.Label); err != nil {
			fe["label"] = fieldMessage(err)
		}
	}
	if in.Language != nil && !slices.Contains(s.programme().Languages, *in.Language) {
		fe["language"] = "Choose one of the languages in the list."
	}
	zoneOK := in.TimeZone != nil && validZone(*in.TimeZone)
	if !zoneOK {
		fe["time_zone"] = "Choose the time zone where the person lives."
	}
	switch {
	case len(fe) > 0 && sf.Kind != "none":
		// The schedule's own fields said what is wrong.
	case schedErr != nil:
		fe["schedule"] = fieldMessage(schedErr)
	case zoneOK && in.Schedule != nil:
		if _, err := schedule.NewCalendar(in.Schedule, *in.TimeZone, now); err != nil {
			fe["schedule"] = userMessage(err)
		}
	}
	if in.Child != nil && *in.Child && !trained(caseworker) {
		fe["child"] = "A child's case needs a caseworker trained in child protection: choose one, or ask an administrator."
	}
	return fe
}

// scheduleFieldErrors checks the schedule's fields one by one, so that
// each problem is told beside its own field and in the form's words (the
// schedule's own checks name the API's fields).
func scheduleFieldErrors(f scheduleForm) fieldErrors {
	fe := fieldErrors{}
	clock := func(id, v, what string) {
		if _, err := flow.ParseClock(strings.TrimSpace(v)); err != nil {
			fe[id] = "Give the time it " + what + " on a 24-hour clock, such as 09:00 or 21:30."
		}
	}
	switch f.Kind {
	case "none":
		return fe
	case "weekly":
		for i, w := range f.W {
			p := "w" + strconv.Itoa(i) + "_"
			if i > 0 && w.OpenDay == "" && w.CloseDay == "" {
				continue // the second window is optional
			}
			if w.OpenDay == "" {
				fe[p+"open_day"] = "Choose the day it opens."
			}
			if w.CloseDay == "" {
				fe[p+"close_day"] = "Choose the day it closes."
			}
			clock(p+"open_time", w.OpenTime, "opens")
			clock(p+"close_time", w.CloseTime, "closes")
			if len(fe) == 0 && w.OpenDay == w.CloseDay && strings.TrimSpace(w.OpenTime) == strings.TrimSpace(w.CloseTime) {
				fe[p+"close_time"] = "It closes the moment it opens: choose a later time or another day."
			}
		}
	case "every":
		days, err := strconv.Atoi(strings.TrimSpace(f.EveryDays))
		if err != nil || days < 1 || days > 60 {
			fe["every_days"] = "Give a whole number of days from 1 to 60."
		}
		clock("every_time", f.EveryTime, "opens")
		length, err := flow.ParseDuration(strings.TrimSpace(f.EveryLength))
		switch {
		case err != nil || length < time.Minute:
			fe["every_length"] = "Give how long it stays open, such as 12h, 2d or 1d12h."
		case days >= 1 && length > time.Duration(days)*24*time.Hour:
			fe["every_length"] = "It would stay open longer than the days between windows: make it shorter."
		}
		if strings.TrimSpace(f.From) == "" {
			fe["from"] = "Give the first day: the windows are counted from it."
		}
	default:
		fe["schedule"] = "Choose how often the person checks in."
	}
	if d := strings.TrimSpace(f.From); d != "" && f.Kind != "none" {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			fe["from"] = "Give the first day as a date, such as 2026-03-02."
		}
	}
	return fe
}

// fieldNames name the form's fields in the summary of problems, in the
// order they come in the form.
var fieldNames = []option{{Value: "label", Label: "Label"}, {Value: "language", Label: "Language of messages"},
	{Value: "time_zone", Label: "Time zone"}, {Value: "child", Label: "Under 18"}, {Value: "schedule", Label: "Check-in schedule"},
	{Value: "w0_open_day", Label: "Weekly window 1, the day it opens"}, {Value: "w0_open_time", Label: "Weekly window 1, the time it opens"},
	{Value: "w0_close_day", Label: "Weekly window 1, the day it closes"}, {Value: "w0_close_time", Label: "Weekly window 1, the time it closes"},
	{Value: "w1_open_day", Label: "Weekly window 2, the day it opens"}, {Value: "w1_open_time", Label: "Weekly window 2, the time it opens"},
	{Value: "w1_close_day", Label: "Weekly window 2, the day it closes"}, {Value: "w1_close_time", Label: "Weekly window 2, the time it closes"},
	{Value: "every_days", Label: "Every how many days"}, {Value: "every_time", Label: "The time it opens"},
	{Value: "every_length", Label: "How long it stays open"}, {Value: "from", Label: "First day"}}

// invalidAttrs marks a field that has a problem and ties its message to
// it, for screen readers; hint is the id of its hint, if it has one.
func invalidAttrs(fe fieldErrors, id, hint string) template.HTMLAttr {
	ids := hint
	if _, bad := fe[id]; bad {
		ids = strings.TrimSpace(id + "-error " + hint)
	}
	attrs := ""
	if _, bad := fe[id]; bad {
		attrs = ` aria-invalid="true"`
	}
	if ids != "" {
		attrs += ` aria-describedby="` + template.HTMLEscapeString(ids) + `"`
	}
	return template.HTMLAttr(attrs)
}

// fieldError is a field's problem, to show beside it.
func fieldError(fe fieldErrors, id string) template.HTML {
	msg, bad := fe[id]
	if !bad {
		return ""
	}
	return template.HTML(`<span class="field-error" id="` + template.HTMLEscapeString(id) + `-error">` + template.HTMLEscapeString(msg) + `</span>`)
}

// fieldMessage is an operation's refusal without the field name it
// starts with ("label: give a short…" → "Give a short…").
func fieldMessage(err error) string {
	msg, ok := refusal.Message(err)
	if oe, isOp := errors.AsType[*opError](err); isOp {
		msg, ok = oe.Message, true
	}
	if !ok {
		return userMessage(err)
	}
	if before, rest, ok := strings.Cut(msg, ": "); ok && !strings.Contains(before, " ") {
		msg = rest
	}
	return sentence(msg)
}

// The list of time zones offered: the programme's first, then those where
// people in such programmes most often live. A person's zone that is not
// here is added to the list when their page shows it.
var zoneChoices = []struct {
	Group string
	Zones []string
}{
	{"Europe", []string{"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Madrid", "Europe/Paris", "Europe/Brussels", "Europe/Amsterdam",
		"Europe/Berlin", "Europe/Rome", "Europe/Vienna", "Europe/Warsaw", "Europe/Stockholm", "Europe/Athens", "Europe/Bucharest", "Europe/Kyiv",
		"Europe/Istanbul", "Europe/Moscow"}},
	{"Americas", []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto", "America/Vancouver",
		"America/Mexico_City", "America/Tijuana", "America/Guatemala", "America/Bogota", "America/Lima", "America/Sao_Paulo", "America/Santiago"}},
	{"Africa and the Middle East", []string{"Africa/Cairo", "Africa/Lagos", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Beirut", "Asia/Amman",
		"Asia/Jerusalem", "Asia/Baghdad", "Asia/Tehran", "Asia/Dubai", "Asia/Kabul"}},
	{"Asia and the Pacific", []string{"Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Hong_Kong", "Australia/Sydney"}},
	{"Other", []string{"UTC"}},
}

type zoneGroup struct {
	Label   string
	Options []option
}

// zoneOptions lists the zones to choose from with selected chosen, the
// programme's zone first of all.
func zoneOptions(programmeZone, selected string, now time.Time) []zoneGroup {
	opt := func(z string) option {
		label := strings.ReplaceAll(z, "_", " ")
		if loc, err := time.LoadLocation(z); err == nil {
			label += " (" + now.In(loc).Format("UTC-07:00") + " now)"
		}
		return option{Value: z, Label: label, Selected: z == selected}
	}
	var out []zoneGroup
	listed := map[string]bool{}
	if validZone(programmeZone) {
		out = append(out, zoneGroup{Label: "The programme's", Options: []option{opt(programmeZone)}})
		listed[programmeZone] = true
	}
	if selected != "" && validZone(selected) && !listed[selected] && !slices.ContainsFunc(zoneChoices, func(g struct {
		Group string
		Zones []string
	}) bool {
		return slices.Contains(g.Zones, selected)
	}) {
		out = append(out, zoneGroup{Label: "This person's", Options: []option{opt(selected)}})
		listed[selected] = true
	}
	for _, g := range zoneChoices {
		zg := zoneGroup{Label: g.Group}
		for _, z := range g.Zones {
			if !listed[z] {
				zg.Options = append(zg.Options, opt(z))
			}
		}
		out = append(out, zg)
	}
	return out
}

// The code page's address carries the code sealed with a key only the
// caseworker's session has (from its form token), so that the code is
// never in a URL in clear (history, proxy logs), the page can be reloaded
// on any server process, and the address is useless in another session.

type codeTicket struct {
	P string    `json:"p"`
	C string    `json:"c"`
	E time.Time `json:"e"`
}

func ticketAEAD(sessionSecret string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("waymark enrolment code page\x00" + sessionSecret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealCodeTicket(sessionSecret string, code store.EnrolmentCode) (string, error) {
	aead, err := ticketAEAD(sessionSecret)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(codeTicket{P: code.ParticipantID, C: code.Code, E: code.ExpiresAt})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil)), nil
}

var errBadTicket = errors.New("web: not a code page of this session")

func openCodeTicket(sessionSecret, ticket string) (store.EnrolmentCode, error) {
	raw, err := base64.RawURLEncoding.DecodeString(ticket)
	if err != nil {
		return store.EnrolmentCode{}, errBadTicket
	}
	aead, err := ticketAEAD(sessionSecret)
	if err != nil {
		return store.EnrolmentCode{}, err
	}
	if len(raw) < aead.NonceSize() {
		return store.EnrolmentCode{}, errBadTicket
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return store.EnrolmentCode{}, errBadTicket
	}
	var t codeTicket
	if err := json.Unmarshal(plain, &t); err != nil {
		return store.EnrolmentCode{}, errBadTicket
	}
	return store.EnrolmentCode{Code: t.C, ParticipantID: t.P, ExpiresAt: t.E}, nil
}

// textNumber is the number people send JOIN to, as shown to them: the
// sending number without its "whatsapp:" prefix, and whether it is a
// WhatsApp number.
func textNumber(from string) (number string, whatsApp bool) {
	if n, ok := strings.CutPrefix(from, "whatsapp:"); ok {
		return n, true
	}
	return from, false
}
