package schedule

import (
	"fmt"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/refusal"
)

// Local times are what people and caseworkers think in ("Monday at
// 09:00"); instants are what the store and the clock hold. Turning one
// into the other is only hard on the two days a year when a zone changes
// its clocks, and there this package follows RFC 5545 (iCalendar):
//
//   - A local time that does not exist, because the clocks jump forward
//     over it (01:30 in London on the last Sunday of March), is read with
//     the offset in force before the jump, so it lands as far after the
//     jump as it was into the gap: 01:30 becomes 02:30 summer time.
//   - A local time that happens twice, because the clocks go back over it
//     (01:30 in London on the last Sunday of October), is the first of the
//     two: a window that opens then opens as early as it can.
//
// Go's time.Date leaves both cases unspecified, hence resolve.

// date is a day on the calendar, without a zone.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

func parseDate(s string) (date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return date{}, fmt.Errorf("bad date %q: use YYYY-MM-DD, e.g. 2026-03-30", s)
	}
	return dateOf(t), nil
}

// midnight is the date's start as if it were UTC: a fixed point from
// which whole days can be counted without any zone's changes.
func (d date) midnight() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC) }

func (d date) add(days int) date     { return dateOf(d.midnight().AddDate(0, 0, days)) }
func (d date) weekday() time.Weekday { return d.midnight().Weekday() }
func (d date) String() string        { return d.midnight().Format(time.DateOnly) }
func (d date) before(o date) bool    { return d.midnight().Before(o.midnight()) }
func daysBetween(from, to date) int {
	return int(to.midnight().Sub(from.midnight()) / (24 * time.Hour))
}
func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// resolve returns the instant at which the clocks of loc show clock
// (time since midnight, under 24h) on day d, by the rules above.
func resolve(d date, clock time.Duration, loc *time.Location) time.Time {
	wall := d.midnight().Add(clock) // the wall reading, written as if in UTC
	// The offsets in force well before and well after: a change of clocks
	// near this wall time lies between them. No zone changes its clocks
	// twice within 36 hours.
	_, before := wall.Add(-36 * time.Hour).In(loc).Zone()
	_, after := wall.Add(36 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range [2]int{before, after} {
		t := wall.Add(-time.Duration(off) * time.Second)
		if sameWall(t.In(loc), wall) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if best.IsZero() { // in a gap: the offset before the jump
		best = wall.Add(-time.Duration(before) * time.Second)
	}
	return best.In(loc)
}

func sameWall(t, wall time.Time) bool {
	y, m, d := t.Date()
	wy, wm, wd := wall.Date()
	return y == wy && m == wm && d == wd && sinceMidnight(t) == sinceMidnight(wall)
}

// quietHours is a span of the local day in which nothing is sent.
type quietHours struct {
	start, end time.Duration // since local midnight; equal means none
	also       *quietHours   // a second quiet span, e.g. a child's night (child.go)
}

// inside reports whether t falls in the quiet hours of loc.
func (q quietHours) inside(t time.Time, loc *time.Location) bool {
	if q.also != nil && q.also.inside(t, loc) {
		return true
	}
	c := sinceMidnight(t.In(loc))
	switch {
	case q.start == q.end:
		return false
	case q.start < q.end: // e.g. 13:00-14:00
		return c >= q.start && c < q.end
	default: // across midnight, e.g. 21:00-08:00
		return c >= q.start || c < q.end
	}
}

// shift moves t out of the quiet hours to their end, the next time the
// local clock shows it; a t outside them is returned as it is.
func (q quietHours) shift(t time.Time, loc *time.Location) time.Time {
	if q.also != nil {
		// The end of one span may fall in the other: move until neither
		// holds t (two daily spans settle within two rounds).
		own := quietHours{start: q.start, end: q.end}
		for range 4 {
			moved := q.also.shift(own.shift(t, loc), loc)
			if moved.Equal(t) {
				break
			}
			t = moved
		}
		return t
	}
	if !q.inside(t, loc) {
		return t
	}
	lt := t.In(loc)
	d := dateOf(lt)
	if sinceMidnight(lt) >= q.end { // the evening part: the end is tomorrow
		d = d.add(1)
	}
	return resolve(d, q.end, loc)
}

// locations caches loaded time zones: time.LoadLocation reads the zone
// database from disk on every call.
var locations sync.Map // name → *time.Location

// location loads an IANA time zone by name.
func location(name string) (*time.Location, error) {
	if name == "" {
		return nil, refusal.New("schedule", "no time zone: set the person's IANA time zone, e.g. Europe/London")
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, refusal.Newf("schedule", "unknown time zone %q: use an IANA name such as Europe/London or America/Mexico_City", name)
	}
	locations.Store(name, l)
	return l, nil
}
