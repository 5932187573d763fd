package schedule

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
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
	return newPlanner(in.Programme).plan(in)
}

// A planner plans with one programme, its rules parsed once. Handling a
// due item plans its person twice: as of just before the item fell due,
// to judge whether it is still wanted, and from now, for their next
// items. Told those moments (forItem), the planner walks the person's
// calendar once for both, which is most of a plan's work; a plan at any
// other moment, or of a person whose calendar differs from the one
// walked, walks on its own.
type planner struct {
	programme flow.Programme
	rules     rules
	err       error       // the programme's rules do not parse: nothing can be planned
	moments   []time.Time // the moments one walk serves
	walked    *walk
}

// walk is the window items of one calendar at each of a planner's moments.
type walk struct {
	of    calendarInputs
	err   error // the calendar does not compile
	items [][]store.DueItem
}

// calendarInputs is what a walk of a person's calendar reads of them: two
// people (or one person before and after a turn) with equal inputs have
// the same windows and window items.
type calendarInputs struct {
	id       string
	schedule *store.CheckInSchedule
	zone     string
	created  time.Time
	child    bool
}

func newPlanner(pr flow.Programme) *planner {
	r, err := rulesOf(pr)
	return &planner{programme: pr, rules: r, err: err}
}

// forItem returns a planner for handling it at now: judging it (Plan as
// of just before it fell due) and planning from now share one walk.
func forItem(pr flow.Programme, it store.DueItem, now time.Time) *planner {
	pl := newPlanner(pr)
	pl.moments = []time.Time{judgedAt(it), now}
	return pl
}

// judgedAt is the moment an item is judged at: just before it fell due.
func judgedAt(it store.DueItem) time.Time { return it.DueAt.Add(-time.Nanosecond) }

// plan is Plan with the planner's programme (in.Programme is not read).
func (pl *planner) plan(in PlanInput) ([]store.DueItem, error) {
	p := in.Participant
	if p.Status == store.Exited {
		return nil, nil
	}
	silent := p.Status == store.Paused || !p.Consented()
	if pl.err != nil {
		return nil, pl.err
	}
	r := pl.rules
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
		windows, err := pl.windowItems(r, p, in.Now)
		if err != nil {
			errs = append(errs, err)
		}
		for _, it := range windows {
			if !silent || it.Kind == KindMissCheck {
				items = append(items, it)
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

// Stored is what the scheduler stores of a plan made at in.Now for a
// person with nothing stored yet: the next item of each kind (see kept).
func Stored(in PlanInput) ([]store.DueItem, error) {
	items, err := Plan(in)
	return kept(items, in.Now), err
}

// kept is what of a plan is stored: every item due by now (a follow-up,
// or one caught up on), and of the rest only the first of each kind, of
// each appointment's for its reminders. Handling an item plans its person
// again, and that plan's first item of the kind is the one after it, so a
// person's running state is a handful of items, not every reminder of the
// next days: about four where Plan lists ten.
func kept(items []store.DueItem, now time.Time) []store.DueItem {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b store.DueItem) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), strings.Compare(a.ID, b.ID))
	})
	items = slices.CompactFunc(items, func(a, b store.DueItem) bool { return a.ID == b.ID })
	out := items[:0]
	first := map[string]bool{}
	for _, it := range items {
		if it.DueAt.After(now) {
			kind := it.Kind
			if kind == KindAppointment || kind == KindFollowUp {
				kind += " " + it.Ref
			}
			if first[kind] {
				continue
			}
			first[kind] = true
		}
		out = append(out, it)
	}
	return out
}

// catchUp lists what a scheduler that was stopped would lose, now that
// only the next item of each kind is stored. For each stored item already
// due (the one being handled, or one waiting), the plan it was made from
// held more that has fallen due since: the latest reminder about the same
// window or appointment, which supersedes it (stillPlanned drops it for
// that one), and the next window's miss check, which decides that window.
// They are planned as they were, due at once. A long stop is caught up on
// a window at a time, as each caught-up miss check is handled, so every
// window gets its outcome however long the stop was, and no person has
// many decisions in flight at once.
func (pl *planner) catchUp(in PlanInput, have []store.DueItem) []store.DueItem {
	var out []store.DueItem
	for _, h := range have {
		if h.DueAt.After(in.Now) {
			continue
		}
		then := in
		then.Now = judgedAt(h)
		was, _ := pl.plan(then) // sorted by DueAt
		if !slices.ContainsFunc(was, func(w store.DueItem) bool { return w.ID == h.ID && w.DueAt.Equal(h.DueAt) }) {
			// h is stale (a schedule, appointment or programme edit): what
			// today's plan held then never was the person's, and a window
			// of a new schedule from before it was set is not theirs to
			// answer for.
			continue
		}
		var latest, nextMiss *store.DueItem
		for i, w := range was {
			if !w.DueAt.After(h.DueAt) || w.DueAt.After(in.Now) {
				continue
			}
			switch {
			case w.Kind == KindMissCheck && h.Kind == KindMissCheck && nextMiss == nil:
				nextMiss = &was[i]
			case w.Ref == h.Ref && w.Kind != KindMissCheck:
				latest = &was[i]
			}
		}
		for _, it := range []*store.DueItem{latest, nextMiss} {
			if it != nil {
				out = append(out, *it)
			}
		}
	}
	return out
}

// windowItems are p's window items planned at now (r being the rules with
// p's quiet hours): from the planner's walk when now is one of its
// moments, else from a walk of their own.
func (pl *planner) windowItems(r rules, p store.Participant, now time.Time) ([]store.DueItem, error) {
	of := calendarInputs{id: p.ID, schedule: p.Schedule, zone: p.TimeZone, created: p.CreatedAt, child: p.Child}
	at := slices.IndexFunc(pl.moments, now.Equal)
	if at < 0 {
		return walkOf(r, p, of, []time.Time{now}).at(0)
	}
	if pl.walked == nil || pl.walked.of != of {
		pl.walked = walkOf(r, p, of, pl.moments)
	}
	return pl.walked.at(at)
}

func walkOf(r rules, p store.Participant, of calendarInputs, moments []time.Time) *walk {
	cal, err := CalendarOf(p)
	if err != nil {
		return &walk{of: of, err: err}
	}
	return &walk{of: of, items: r.windowItemsAt(p.ID, cal, moments)}
}

// at is the walk's window items at its i-th moment.
func (w *walk) at(i int) ([]store.DueItem, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.items[i], nil
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

// windowItemsAt plans, for each of moments, the windows whose miss check
// is still ahead and the next window to open, in one walk of the
// calendar. The windows a moment plans are a run of the calendar's
// windows in order: from the first that closes after its horizon, up to
// the first to open after it, a hundred at most. A later moment's run
// begins and ends no earlier, so one run from the earliest horizon to
// the latest moment serves every moment, and each window's items are
// made once.
func (r rules) windowItemsAt(pid string, cal *Calendar, moments []time.Time) [][]store.DueItem {
	out := make([][]store.DueItem, len(moments))
	planned := make([]int, len(moments)) // windows planned so far, by moment
	done := make([]bool, len(moments))
	first, last := slices.MinFunc(moments, time.Time.Compare), slices.MaxFunc(moments, time.Time.Compare)
	for _, w := range cal.Run(r.horizon(first), last) {
		var items []store.DueItem // w's, made when a moment first plans it
		walking := false
		for i, now := range moments {
			if done[i] {
				continue
			}
			walking = true
			if planned[i] == 0 && !w.End.After(r.horizon(now)) {
				continue // this moment's run begins further on
			}
			if items == nil {
				items = r.itemsOf(pid, w, cal.loc)
			}
			for _, it := range items {
				if it.DueAt.After(now) {
					out[i] = append(out[i], it)
				}
			}
			planned[i]++
			done[i] = w.Start.After(now) || planned[i] == 100
		}
		if !walking {
			break
		}
	}
	return out
}

// horizon is how far back from now a window may be still to decide: a
// miss check lies at most grace plus a day of quiet hours after the
// window closes.
func (r rules) horizon(now time.Time) time.Time { return now.Add(-r.grace - 25*time.Hour) }

// itemsOf lists every item of one window, past ones too.
func (r rules) itemsOf(pid string, w Window, loc *time.Location) []store.DueItem {
	ref := w.Ref(pid)
	// The opening is in the ref (windowOf): the item carries the closing.
	data := map[string]string{"closes": compact.TimeText(w.End.UTC())}
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
