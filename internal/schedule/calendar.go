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

// Window is one check-in window: a check-in at or after Start and before
// End is on time.
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Ref names the window of a participant in due items and attention items:
// "win:<participant>:<opening, Unix seconds>".
func (w Window) Ref(participantID string) string {
	return "win:" + participantID + ":" + strconv.FormatInt(w.Start.Unix(), 10)
}

// openingOf is the opening a window's ref names (Ref's inverse), when ref
// is a ref of participantID's.
func openingOf(participantID, ref string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(ref, "win:"+participantID+":")
	secs, err := strconv.ParseInt(rest, 10, 64)
	return time.Unix(secs, 0).UTC(), ok && err == nil
}

// Calendar is a participant's check-in schedule made concrete in their
// time zone: it finds the windows around any instant. The zero value has
// no windows.
type Calendar struct {
	loc    *time.Location
	first  time.Time // no window opens before this
	weekly []weeklyRule
	every  *everyRule
}

// weeklyRule opens on openDay at open and closes span days later at close.
type weeklyRule struct {
	openDay     time.Weekday
	open, close time.Duration
	span        int
}

// everyRule opens every days days from anchor at open, for lenDays days
// and lenClock more on the local clock.
type everyRule struct {
	anchor   date
	days     int
	open     time.Duration
	lenDays  int
	lenClock time.Duration
}

// NewCalendar makes a schedule concrete in the time zone tz. No window
// opens before notBefore (use the participant's creation time: a person is
// never asked about a window that opened before they were enrolled), nor
// before the schedule's From date. A nil schedule has no windows.
func NewCalendar(s *store.CheckInSchedule, tz string, notBefore time.Time) (*Calendar, error) {
	loc, err := location(tz)
	if err != nil {
		return nil, err
	}
	c, err := compile(s)
	if err != nil {
		return nil, err
	}
	c.loc = loc
	c.first = notBefore
	if s != nil && s.From != "" {
		d, _ := parseDate(s.From) // checked by compile
		if m := resolve(d, 0, loc); m.After(c.first) {
			c.first = m
		}
	}
	return c, nil
}

// CalendarOf is the calendar of a participant's own schedule and zone.
func CalendarOf(p store.Participant) (*Calendar, error) {
	return NewCalendar(p.Schedule, p.TimeZone, p.CreatedAt)
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

func compile(s *store.CheckInSchedule) (*Calendar, error) {
	c := &Calendar{}
	if s == nil {
		return c, nil
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if s.From != "" {
		if _, err := parseDate(s.From); err != nil {
			bad("from: %v", err)
		}
	}
	switch {
	case len(s.Weekly) > 0 && s.Every != nil:
		bad("give either weekly windows or every, not both")
	case len(s.Weekly) == 0 && s.Every == nil:
		bad("the schedule has no windows: give weekly windows or every")
	}
	for i, w := range s.Weekly {
		where := fmt.Sprintf("weekly window %d", i+1)
		r, err := weekly(w)
		if err != nil {
			bad("%s: %v", where, err)
			continue
		}
		c.weekly = append(c.weekly, r)
	}
	if len(errs) == 0 {
		for i := range c.weekly {
			for j := i + 1; j < len(c.weekly); j++ {
				if c.weekly[i].overlaps(c.weekly[j]) {
					bad("weekly windows %d and %d overlap: a check-in must belong to one window", i+1, j+1)
				}
			}
		}
	}
	if e := s.Every; e != nil {
		r, err := every(e, s.From)
		if err != nil {
			bad("every: %v", err)
		} else {
			c.every = &r
		}
	}
	if len(errs) > 0 {
		// Every problem at once, so that a caseworker corrects them in one go.
		return nil, refusal.New("check-in schedule", strings.Join(errs, "; "))
	}
	return c, nil
}

var dayNames = map[string]time.Weekday{}

func init() {
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		dayNames[full] = d
		dayNames[full[:3]] = d
	}
}

func parseDay(s string) (time.Weekday, error) {
	d, ok := dayNames[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("%q is not a day of the week: use monday ... sunday", s)
	}
	return d, nil
}

func weekly(w store.WeeklyWindow) (weeklyRule, error) {
	var errs []error
	od, err := parseDay(w.OpenDay)
	errs = append(errs, prefix("open_day", err))
	cd, err := parseDay(w.CloseDay)
	errs = append(errs, prefix("close_day", err))
	open, err := flow.ParseClock(w.OpenTime)
	errs = append(errs, prefix("open_time", err))
	closeAt, err := flow.ParseClock(w.CloseTime)
	errs = append(errs, prefix("close_time", err))
	if err := errors.Join(errs...); err != nil {
		return weeklyRule{}, err
	}
	span := (int(cd) - int(od) + 7) % 7
	if span == 0 && closeAt == open {
		return weeklyRule{}, errors.New("it closes the moment it opens")
	}
	if span == 0 && closeAt < open {
		span = 7 // e.g. Monday 09:00 to Monday 08:00: open all week but an hour
	}
	return weeklyRule{openDay: od, open: open, close: closeAt, span: span}, nil
}

func prefix(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

const week = 7 * 24 * time.Hour

// bounds places the rule in a nominal week (no clock changes) that starts
// on Sunday at midnight.
func (r weeklyRule) bounds() (start, length time.Duration) {
	start = time.Duration(r.openDay)*24*time.Hour + r.open
	length = time.Duration(r.span)*24*time.Hour + r.close - r.open
	return start, length
}

// overlaps reports whether two weekly windows share any moment of the week.
func (r weeklyRule) overlaps(o weeklyRule) bool {
	a, al := r.bounds()
	b, bl := o.bounds()
	mod := func(d time.Duration) time.Duration { return ((d % week) + week) % week }
	return mod(b-a) < al || mod(a-b) < bl
}

func every(e *store.EveryDays, from string) (everyRule, error) {
	var errs []error
	if e.Days < 1 || e.Days > 366 {
		errs = append(errs, fmt.Errorf("days must be from 1 (daily) to 366, not %d", e.Days))
	}
	open, err := flow.ParseClock(e.OpenTime)
	errs = append(errs, prefix("open_time", err))
	length, err := flow.ParseDuration(e.Length)
	switch {
	case err != nil:
		errs = append(errs, prefix("length", err))
	case length < time.Minute:
		errs = append(errs, errors.New("length must be at least a minute"))
	case e.Days >= 1 && length > time.Duration(e.Days)*24*time.Hour:
		errs = append(errs, fmt.Errorf("length %s is longer than the %d days between windows", e.Length, e.Days))
	}
	var anchor date
	if from == "" {
		errs = append(errs, errors.New("from (the date of the first window) is needed to count every few days"))
	} else if d, err := parseDate(from); err == nil {
		anchor = d
	}
	if err := errors.Join(errs...); err != nil {
		return everyRule{}, err
	}
	return everyRule{
		anchor: anchor, days: e.Days, open: open,
		lenDays: int(length / (24 * time.Hour)), lenClock: length % (24 * time.Hour),
	}, nil
}

// occurrence is the window the weekly rule opens on day d (which must be
// its opening weekday). On the day clocks jump forward, a window short
// enough to fall inside the jump may have no length; it is skipped.
func (r weeklyRule) occurrence(d date, loc *time.Location) (Window, bool) {
	w := Window{Start: resolve(d, r.open, loc), End: resolve(d.add(r.span), r.close, loc)}
	return w, w.End.After(w.Start)
}

// occurrence is the k-th window of the every rule (k from 0).
func (r everyRule) occurrence(k int, loc *time.Location) (Window, bool) {
	d := r.anchor.add(k * r.days)
	endClock := r.open + r.lenClock
	endDay := d.add(r.lenDays + int(endClock/(24*time.Hour)))
	w := Window{Start: resolve(d, r.open, loc), End: resolve(endDay, endClock%(24*time.Hour), loc)}
	return w, w.End.After(w.Start)
}

// candidates lists the windows opening on local days from-to, any order.
func (c *Calendar) candidates(from, to date) []Window {
	var out []Window
	keep := func(w Window, ok bool) {
		if ok && !w.Start.Before(c.first) {
			out = append(out, w)
		}
	}
	for _, r := range c.weekly {
		// Straight to the rule's weekday, then a week at a time.
		first := from.add((int(r.openDay) - int(from.weekday()) + 7) % 7)
		for d := first; !to.before(d); d = d.add(7) {
			keep(r.occurrence(d, c.loc))
		}
	}
	if r := c.every; r != nil {
		lo := floorDiv(daysBetween(r.anchor, from), r.days)
		hi := floorDiv(daysBetween(r.anchor, to), r.days)
		for k := max(lo, 0); k <= hi; k++ {
			keep(r.occurrence(k, c.loc))
		}
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// reach is how many days before a time a window holding it may have
// opened: windows last at most a week (weekly) or the days between them
// (every), plus a day for the zone.
func (c *Calendar) reach() int {
	n := 8
	if c.every != nil {
		n = max(n, c.every.days+2)
	}
	return n
}

// ahead is how many days after a time From looks for the next window:
// two periods always find it, even when one occurrence was lost to a
// clock change.
func (c *Calendar) ahead() int {
	n := 16
	if c.every != nil {
		n = max(n, 2*c.every.days+2)
	}
	return n
}

// From returns the window that contains t, or else the first one that
// opens after t. ok is false when there is none (no schedule).
func (c *Calendar) From(t time.Time) (w Window, ok bool) {
	if c == nil || c.loc == nil {
		return Window{}, false
	}
	base := t
	if base.Before(c.first) {
		base = c.first
	}
	d := dateOf(base.In(c.loc))
	for _, cand := range c.candidates(d.add(-c.reach()), d.add(c.ahead())) {
		if cand.End.After(t) && (!ok || cand.Start.Before(w.Start)) {
			w, ok = cand, true
		}
	}
	return w, ok
}

// Run returns the windows From(t) and Next give one after another, up to
// and including the first that opens after until. It makes the windows
// of the whole span at once, where From and Next would each make those
// of some three weeks around their own instant.
func (c *Calendar) Run(t, until time.Time) []Window {
	if c == nil || c.loc == nil {
		return nil
	}
	base := t
	if base.Before(c.first) {
		base = c.first
	}
	cands := c.candidates(dateOf(base.In(c.loc)).add(-c.reach()), dateOf(until.In(c.loc)).add(c.ahead()))
	slices.SortFunc(cands, func(a, b Window) int { return a.Start.Compare(b.Start) })
	// A window that opens on a later day opens later: the first in order
	// that ends after an instant is the one From finds for it.
	var run []Window
	after := t
	for _, w := range cands {
		if !w.End.After(after) {
			continue
		}
		run = append(run, w)
		if w.Start.After(until) {
			return run
		}
		after = w.End
	}
	// The span ran out before a window opened after until (none of its
	// windows could be made, a clock change lost one): the rest one by one.
	for w, ok := c.From(after); ok; w, ok = c.Next(w) {
		run = append(run, w)
		if w.Start.After(until) {
			break
		}
	}
	return run
}

// At returns the window that contains t, if any.
func (c *Calendar) At(t time.Time) (Window, bool) {
	w, ok := c.From(t)
	if !ok || !w.Contains(t) {
		return Window{}, false
	}
	return w, true
}

// Before returns the last window that closed at or before t, if any.
func (c *Calendar) Before(t time.Time) (w Window, ok bool) {
	if c == nil || c.loc == nil || t.Before(c.first) {
		return Window{}, false
	}
	d := dateOf(t.In(c.loc))
	back := 2 * c.reach()
	for _, cand := range c.candidates(d.add(-back), d) {
		if !cand.End.After(t) && (!ok || cand.End.After(w.End)) {
			w, ok = cand, true
		}
	}
	return w, ok
}

// Next returns the window after w.
func (c *Calendar) Next(w Window) (Window, bool) { return c.From(w.End) }
