package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Kinds of due item.
const (
	KindWindowOpen   = "checkin_open"         // a window opens: the check-in flow starts
	KindClosingSoon  = "checkin_closing"      // a window closes soon: one friendly reminder
	KindMissCheck    = "checkin_miss"         // grace has passed: a miss, unless checked in
	KindAppointment  = "appointment_reminder" // days before an appointment, and its morning
	KindFollowUp     = "appointment_followup" // after an appointment marked missed
	KindConsentAsk   = "consent_reask"        // "Do you agree?" unanswered: ask once more
	KindConsentLapse = "consent_lapsed"       // asked twice, no answer: tell the caseworker
	followUpMinDelay = time.Hour              // a caseworker may correct "missed" in this time
	followUpWithin   = 7 * 24 * time.Hour     // after this, a follow-up would only confuse
	sameMorningLead  = time.Hour              // a same-morning reminder needs this before the time
)

// PlanInput is everything Plan reads.
type PlanInput struct {
	Participant  store.Participant
	Appointments []store.Appointment // the participant's; others are ignored
	Programme    flow.Programme
	Now          time.Time
	// FollowedUp holds the IDs of missed appointments whose follow-up has
	// already gone, so that none is sent twice.
	FollowedUp map[string]bool
}

// Plan computes the work due for one participant from now on: for the
// window in grace, the open one and the next one, an opening reminder, a
// closing-soon reminder at each reminders.before_close offset and a miss
// check at close + checkin.grace_period; for each appointment, reminders
// at the reminders.appointment offsets (at reminders.appointment_hour for
// whole days) and on its morning; and one follow-up after an appointment
// marked missed.
//
// IDs are deterministic ("win:<pid>:<opening>:open", "appt:<id>:7d"), so
// planning again replaces rather than adds. Nothing already due is planned
// (an item at or before Now was handled, or is about to be), except a
// missed appointment's follow-up, which is due as soon as it is known.
// Anything due in quiet hours moves to their end; a reminder that would so
// land at or after what it reminds of is dropped.
//
// An exited participant has nothing planned. A paused one, or one who has
// not agreed to get messages, has only each window's decision planned
// (the miss check), so that every window gets its outcome ("paused",
// "not consented") and no reminder goes out. An opted-out one keeps their
// plan, and the scheduler sends nothing while they stay opted out, so
// that START brings reminders back without a caseworker.
//
// A linked person who has not agreed is asked once more
// checkin.consent_reask after they were asked, and their caseworker is
// told the same time after that.
//
// Plan returns every item it could plan; err says what it could not (a bad
// time zone, schedule or appointment).
func Plan(in PlanInput) ([]store.DueItem, error) {
	p := in.Participant
	if p.Status == store.Exited {
		return nil, nil
	}
	silent := p.Status == store.Paused || !p.Consented()
	r, err := rulesOf(in.Programme)
	if err != nil {
		return nil, err
	}
	if p.Child {
		r.quiet = r.quiet.withChildNight()
	}
	loc, err := location(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("schedule: plan %s: %w", p.ID, err)
	}
	var items []store.DueItem
	var errs []error
	if p.Schedule != nil {
		cal, err := CalendarOf(p)
		if err != nil {
			errs = append(errs, err)
		} else {
			for _, it := range r.windowItems(p.ID, cal, in.Now) {
				if !silent || it.Kind == KindMissCheck {
					items = append(items, it)
				}
			}
		}
	}
	items = append(items, r.consentItems(p, in.Now)...)
	for _, a := range in.Appointments {
		if silent {
			break
		}
		if a.ParticipantID != p.ID {
			continue
		}
		got, err := r.appointmentItems(a, loc, in.Now, in.FollowedUp[a.ID])
		if err != nil {
			errs = append(errs, err)
		}
		items = append(items, got...)
	}
	slices.SortFunc(items, func(a, b store.DueItem) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	items = slices.CompactFunc(items, func(a, b store.DueItem) bool { return a.ID == b.ID })
	if err := errors.Join(errs...); err != nil {
		return items, fmt.Errorf("schedule: plan %s: %w", p.ID, err)
	}
	return items, nil
}

// consentItems plan the re-ask and then the caseworker's item for a
// linked, active person who was asked whether they agree and never
// answered. Someone asked before consent was recorded (ConsentAsks 0) is
// asked at once.
func (r rules) consentItems(p store.Participant, now time.Time) []store.DueItem {
	if p.Consented() || p.OptedOut || p.Status != store.Active || p.LastLink == "" || r.consentReask <= 0 {
		return nil
	}
	item := func(kind string, due time.Time) []store.DueItem {
		if due.Before(now) {
			due = now
		}
		id := "consent:" + p.ID + ":" + strconv.Itoa(p.ConsentAsks)
		return []store.DueItem{{ID: id, ParticipantID: p.ID, Kind: kind, DueAt: due}}
	}
	switch {
	case p.ConsentAsks == 0:
		return item(KindConsentAsk, now)
	case p.ConsentAsks == 1:
		return item(KindConsentAsk, p.ConsentAskedAt.Add(r.consentReask))
	case p.ConsentAsks == 2:
		return item(KindConsentLapse, p.ConsentAskedAt.Add(r.consentReask))
	}
	return nil // the caseworker has been told
}

// rules are the programme's scheduling settings, parsed.
type rules struct {
	consentReask time.Duration
	grace        time.Duration
	beforeClose  []time.Duration
	apptOffsets  []time.Duration
	apptHour     time.Duration
	sameMorning  bool
	quiet        quietHours
}

func rulesOf(p flow.Programme) (rules, error) {
	var errs []error
	clock := func(what, v string) time.Duration {
		d, err := flow.ParseClock(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		return d
	}
	r := rules{
		grace:        max(p.CheckIn.GracePeriod.D(), 0),
		consentReask: p.CheckIn.ConsentReask.D(),
		apptHour:     clock("reminders.appointment_hour", p.Reminders.AppointmentHour),
		sameMorning:  p.Reminders.SameMorning,
		quiet: quietHours{
			start: clock("quiet_hours.start", p.QuietHours.Start),
			end:   clock("quiet_hours.end", p.QuietHours.End),
		},
	}
	for _, d := range p.Reminders.BeforeClose {
		if d > 0 {
			r.beforeClose = append(r.beforeClose, d.D())
		}
	}
	for _, d := range p.Reminders.Appointment {
		if d > 0 {
			r.apptOffsets = append(r.apptOffsets, d.D())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rules{}, fmt.Errorf("schedule: programme: %w", err)
	}
	return r, nil
}

// windowItems plans the windows whose miss check is still ahead and the
// next window to open.
func (r rules) windowItems(pid string, cal *Calendar, now time.Time) []store.DueItem {
	var out []store.DueItem
	// A miss check lies at most grace plus a day of quiet hours after the
	// window closes.
	w, ok := cal.From(now.Add(-r.grace - 25*time.Hour))
	for i := 0; ok && i < 100; i++ {
		for _, it := range r.itemsOf(pid, w, cal.loc) {
			if it.DueAt.After(now) {
				out = append(out, it)
			}
		}
		if w.Start.After(now) {
			break
		}
		w, ok = cal.Next(w)
	}
	return out
}

// itemsOf lists every item of one window, past ones too.
func (r rules) itemsOf(pid string, w Window, loc *time.Location) []store.DueItem {
	ref := w.Ref(pid)
	data := map[string]string{"opens": w.Start.UTC().Format(time.RFC3339), "closes": w.End.UTC().Format(time.RFC3339)}
	item := func(suffix, kind string, at time.Time) store.DueItem {
		return store.DueItem{ID: ref + ":" + suffix, ParticipantID: pid, Kind: kind, Ref: ref, DueAt: at, Data: data}
	}
	var out []store.DueItem
	open := r.quiet.shift(w.Start, loc)
	if open.Before(w.End) {
		out = append(out, item("open", KindWindowOpen, open))
	}
	for _, off := range r.beforeClose {
		nominal := w.End.Add(-off)
		if !nominal.After(w.Start) {
			continue // longer than the window: the opening reminder says it all
		}
		at := r.quiet.shift(nominal, loc)
		if !at.Before(w.End) || !at.After(open) {
			continue // quiet until the close, or no later than the opening reminder
		}
		out = append(out, item("close:"+offsetName(off), KindClosingSoon, at))
	}
	out = append(out, item("miss", KindMissCheck, r.quiet.shift(w.End.Add(r.grace), loc)))
	return out
}

// appointmentTime is when an appointment starts.
func appointmentTime(a store.Appointment, loc *time.Location) (time.Time, error) {
	d, err := parseDate(a.Date)
	if err != nil {
		return time.Time{}, fmt.Errorf("appointment %s: %w", a.ID, err)
	}
	c, err := flow.ParseClock(a.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("appointment %s: %w", a.ID, err)
	}
	return resolve(d, c, loc), nil
}

// appointmentItems plans one appointment's reminders and follow-up.
//
// An offset of whole days ("7d") means that many calendar days before, at
// reminders.appointment_hour; any other offset ("2h", "1d12h") is counted
// back from the appointment's own time.
func (r rules) appointmentItems(a store.Appointment, loc *time.Location, now time.Time, followedUp bool) ([]store.DueItem, error) {
	switch a.Status {
	case store.AppointmentScheduled, store.AppointmentConfirmed, store.AppointmentMissed:
	default:
		return nil, nil // cancelled or attended: nothing more to say
	}
	at, err := appointmentTime(a, loc)
	if err != nil {
		return nil, err
	}
	day, _ := parseDate(a.Date)
	data := func(count int) map[string]string {
		return map[string]string{"date": a.Date, "time": a.Time, "count": strconv.Itoa(count)}
	}
	item := func(suffix, kind string, due time.Time, count int) store.DueItem {
		return store.DueItem{ID: "appt:" + a.ID + ":" + suffix, ParticipantID: a.ParticipantID, Kind: kind, Ref: a.ID, DueAt: due, Data: data(count)}
	}
	var out []store.DueItem
	if a.Status == store.AppointmentMissed {
		if followedUp || !now.Before(at.Add(followUpWithin)) {
			return nil, nil
		}
		due := at.Add(followUpMinDelay)
		if due.Before(now) {
			due = now
		}
		return []store.DueItem{item("followup", KindFollowUp, r.quiet.shift(due, loc), 0)}, nil
	}
	add := func(suffix string, due time.Time, count int, lead time.Duration) {
		due = r.quiet.shift(due, loc)
		if due.After(now) && !due.Add(lead).After(at) {
			out = append(out, item(suffix, KindAppointment, due, count))
		}
	}
	for _, off := range r.apptOffsets {
		if off%(24*time.Hour) == 0 {
			days := int(off / (24 * time.Hour))
			add(offsetName(off), resolve(day.add(-days), r.apptHour, loc), days, time.Nanosecond)
			continue
		}
		due := at.Add(-off)
		add(offsetName(off), due, daysBetween(dateOf(due.In(loc)), day), time.Nanosecond)
	}
	if r.sameMorning {
		add("morning", resolve(day, r.apptHour, loc), 0, sameMorningLead)
	}
	return out, nil
}

// offsetName writes an offset for an item ID as programme.yaml would:
// "7d", "6h", "1d12h", "90m" as "1h30m".
func offsetName(d time.Duration) string {
	var b strings.Builder
	if days := d / (24 * time.Hour); days > 0 {
		b.WriteString(strconv.Itoa(int(days)) + "d")
		d -= days * 24 * time.Hour
	}
	if d > 0 {
		s := d.String()
		s = strings.TrimSuffix(s, "0s")
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		b.WriteString(s)
	}
	return b.String()
}

// DemoSchedule is the schedule of the simulator's people: two windows a
// week, Monday 09:00 to Tuesday 21:00 and Thursday 09:00 to Friday 21:00
// local, so that a week skipped ahead shows openings, closing reminders
// and a missed check-in.
func DemoSchedule() *store.CheckInSchedule {
	return &store.CheckInSchedule{Weekly: []store.WeeklyWindow{
		{OpenDay: "monday", OpenTime: "09:00", CloseDay: "tuesday", CloseTime: "21:00"},
		{OpenDay: "thursday", OpenTime: "09:00", CloseDay: "friday", CloseTime: "21:00"},
	}}
}

// ValidateAppointment checks what planning needs of an appointment, for the
// caseworker API to refuse a bad one with a clear message before it is
// stored: a date (YYYY-MM-DD) and a local time (HH:MM).
func ValidateAppointment(a store.Appointment) error {
	var errs []string
	if _, err := parseDate(a.Date); err != nil {
		errs = append(errs, "date: "+err.Error())
	}
	if _, err := flow.ParseClock(a.Time); err != nil {
		errs = append(errs, "time: "+err.Error())
	}
	if len(errs) > 0 {
		return refusal.New("appointment", strings.Join(errs, "; "))
	}
	return nil
}
