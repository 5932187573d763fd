package report

import (
	"fmt"
	"time"
)

// By is how a report cuts time: weeks (Monday to Sunday) or months.
type By string

const (
	ByWeek  By = "week"
	ByMonth By = "month"
)

// A period is a run of whole local days. Every record is placed by the
// local date, in the person's own time zone, on which it happened, so a
// week is the same seven dates for everyone wherever they live, and a
// change of clocks moves nothing from one week to another.
//
// A month is the weeks that begin in it (March 2026 is Monday 2 March to
// Sunday 5 April). Months are made of whole weeks so that every monthly
// figure is the sum of weekly ones: a month can then never tell apart
// what its weeks hide (see suppress.go).

// date is a local calendar date as a count of days since 1970-01-01.
type date int32

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (d date) time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// monday is the Monday on or before d (1970-01-01 was a Thursday).
func (d date) monday() date { return d - (d+3)%7 }

// ParseDate reads a date written 2006-01-02.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("report: %q is not a date written like 2026-03-01", s)
	}
	return t, nil
}

// span is the whole periods a report covers: the weeks from the Monday on
// or before from to the Sunday on or after to, or the months of from and
// to and those between. Two reports whose dates overlap therefore cover
// the same periods where they overlap, never part of one.
type span struct {
	by    By
	first date // the first period's first Monday
	weeks int  // how many weeks in all
}

func spanOf(from, to time.Time, by By) span {
	f, t := dateOf(from), dateOf(to)
	if t < f {
		t = f
	}
	if by == ByMonth {
		f = monthStart(from)
		t = nextMonthStart(monthStart(to)) - 1
	} else {
		f = f.monday()
		t = t.monday() + 6
	}
	return span{by: by, first: f, weeks: int(t-f+1) / 7}
}

// monthStart is the first Monday of t's month.
func monthStart(t time.Time) date {
	first := dateOf(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
	return (first + 6).monday()
}

// nextMonthStart is the first Monday of the month after the one whose
// weeks begin at d.
func nextMonthStart(d date) date {
	t := (d + 6).time() // a date in the month whose first Monday is d
	return monthStart(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC))
}

// week returns the index of d's week in the span; ok is false outside it.
func (s span) week(d date) (int, bool) {
	if d < s.first {
		return 0, false
	}
	i := int(d-s.first) / 7
	return i, i < s.weeks
}

// periods lists the span's periods: their first week index and how many
// weeks each has.
func (s span) periods() []period {
	var out []period
	for w := 0; w < s.weeks; {
		start := s.first + date(7*w)
		n := 1
		if s.by == ByMonth {
			n = int(nextMonthStart(start)-start) / 7
		}
		n = min(n, s.weeks-w)
		out = append(out, period{first: w, weeks: n, start: start, by: s.by})
		w += n
	}
	return out
}

type period struct {
	first, weeks int
	start        date
	by           By
}

// Label names the period for people: "2026-03-02" for a week (its
// Monday), "2026-03" for a month.
func (p period) label() string {
	if p.by == ByMonth {
		return (p.start + 6).time().Format("2006-01")
	}
	return p.start.time().Format(time.DateOnly)
}

func (p period) from() time.Time { return p.start.time() }
func (p period) to() time.Time   { return (p.start + date(7*p.weeks) - 1).time() }
