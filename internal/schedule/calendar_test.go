package schedule

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := location(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func hm(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }

// TestResolve covers the two hard days of a zone: a local time the clocks
// jump over is read with the offset before the jump; one they repeat is
// its first occurrence (RFC 5545).
func TestResolve(t *testing.T) {
	tests := []struct {
		name, zone string
		day        date
		clock      time.Duration
		want       string
	}{
		{"London winter", "Europe/London", date{2026, 1, 5}, hm(9, 0), "2026-01-05T09:00:00Z"},
		{"London summer", "Europe/London", date{2026, 6, 1}, hm(9, 0), "2026-06-01T08:00:00Z"},
		{"London gap 01:30 becomes 02:30 BST", "Europe/London", date{2026, 3, 29}, hm(1, 30), "2026-03-29T01:30:00Z"},
		{"London just after the gap", "Europe/London", date{2026, 3, 29}, hm(2, 0), "2026-03-29T01:00:00Z"},
		{"London repeated 01:30 is the first (BST)", "Europe/London", date{2026, 10, 25}, hm(1, 30), "2026-10-25T00:30:00Z"},
		{"Sydney gap 02:30 becomes 03:30 AEDT", "Australia/Sydney", date{2026, 10, 4}, hm(2, 30), "2026-10-03T16:30:00Z"},
		{"Sydney repeated 02:30 is the first (AEDT)", "Australia/Sydney", date{2026, 4, 5}, hm(2, 30), "2026-04-04T15:30:00Z"},
		{"Sydney 09:00 before the change back", "Australia/Sydney", date{2026, 4, 4}, hm(9, 0), "2026-04-03T22:00:00Z"},
		{"Sydney 09:00 after the change back", "Australia/Sydney", date{2026, 4, 5}, hm(9, 0), "2026-04-04T23:00:00Z"},
		{"Mexico City April, no DST since 2022", "America/Mexico_City", date{2026, 4, 6}, hm(9, 0), "2026-04-06T15:00:00Z"},
		{"Mexico City November", "America/Mexico_City", date{2026, 11, 2}, hm(9, 0), "2026-11-02T15:00:00Z"},
		{"Kiritimati, UTC+14: the day before in UTC", "Pacific/Kiritimati", date{2026, 1, 5}, hm(9, 0), "2026-01-04T19:00:00Z"},
		{"Pago Pago, UTC-11: the day after in UTC", "Pacific/Pago_Pago", date{2026, 1, 5}, hm(20, 0), "2026-01-06T07:00:00Z"},
		{"Kathmandu, UTC+5:45", "Asia/Kathmandu", date{2026, 1, 5}, hm(9, 0), "2026-01-05T03:15:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.day, tt.clock, mustLoc(t, tt.zone))
			if !got.Equal(utc(tt.want)) {
				t.Errorf("resolve(%s %s) = %s, want %s", tt.day, tt.clock, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

func weeklySchedule(ws ...store.WeeklyWindow) *store.CheckInSchedule {
	return &store.CheckInSchedule{Weekly: ws}
}

func ww(openDay, open, closeDay, close string) store.WeeklyWindow {
	return store.WeeklyWindow{OpenDay: openDay, OpenTime: open, CloseDay: closeDay, CloseTime: close}
}

func calendar(t testing.TB, s *store.CheckInSchedule, zone string) *Calendar {
	t.Helper()
	c, err := NewCalendar(s, zone, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWindowsKeepLocalTime: a window that opens at 09:00 local opens at
// 09:00 local on both sides of a change of clocks, and is an hour shorter
// or longer when the change falls inside it.
func TestWindowsKeepLocalTime(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		sched      *store.CheckInSchedule
		at         string // From(at)
		start, end string // the window found, in UTC
	}{
		{"London before spring change", "Europe/London", weeklySchedule(ww("monday", "09:00", "wednesday", "21:00")),
			"2026-03-22T12:00:00Z", "2026-03-23T09:00:00Z", "2026-03-25T21:00:00Z"},
		{"London after spring change", "Europe/London", weeklySchedule(ww("monday", "09:00", "wednesday", "21:00")),
			"2026-03-29T12:00:00Z", "2026-03-30T08:00:00Z", "2026-04-01T20:00:00Z"},
		{"London window holding the spring change is an hour shorter", "Europe/London", weeklySchedule(ww("saturday", "22:00", "sunday", "06:00")),
			"2026-03-28T12:00:00Z", "2026-03-28T22:00:00Z", "2026-03-29T05:00:00Z"},
		{"London window opening in the spring gap opens after it", "Europe/London", weeklySchedule(ww("sunday", "01:30", "sunday", "12:00")),
			"2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T11:00:00Z"},
		{"London window holding the autumn change is an hour longer", "Europe/London", weeklySchedule(ww("saturday", "22:00", "sunday", "06:00")),
			"2026-10-24T12:00:00Z", "2026-10-24T21:00:00Z", "2026-10-25T06:00:00Z"},
		{"London after autumn change", "Europe/London", weeklySchedule(ww("monday", "09:00", "wednesday", "21:00")),
			"2026-10-25T12:00:00Z", "2026-10-26T09:00:00Z", "2026-10-28T21:00:00Z"},
		{"Sydney daily window the day before spring change", "Australia/Sydney", &store.CheckInSchedule{From: "2026-09-01", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}},
			"2026-10-02T12:00:00Z", "2026-10-02T23:00:00Z", "2026-10-03T11:00:00Z"},
		{"Sydney daily window on the day of spring change", "Australia/Sydney", &store.CheckInSchedule{From: "2026-09-01", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}},
			"2026-10-03T12:00:00Z", "2026-10-03T22:00:00Z", "2026-10-04T10:00:00Z"},
		{"Sydney weekly window across the autumn change", "Australia/Sydney", weeklySchedule(ww("saturday", "18:00", "sunday", "18:00")),
			"2026-04-03T12:00:00Z", "2026-04-04T07:00:00Z", "2026-04-05T08:00:00Z"},
		{"Mexico City keeps 09:00 = 15:00 UTC in April", "America/Mexico_City", weeklySchedule(ww("monday", "09:00", "monday", "17:00")),
			"2026-04-04T12:00:00Z", "2026-04-06T15:00:00Z", "2026-04-06T23:00:00Z"},
		{"Mexico City keeps 09:00 = 15:00 UTC in November", "America/Mexico_City", weeklySchedule(ww("monday", "09:00", "monday", "17:00")),
			"2026-10-31T12:00:00Z", "2026-11-02T15:00:00Z", "2026-11-02T23:00:00Z"},
		{"Kiritimati: Monday local is Sunday UTC", "Pacific/Kiritimati", weeklySchedule(ww("monday", "09:00", "monday", "12:00")),
			"2026-01-03T00:00:00Z", "2026-01-04T19:00:00Z", "2026-01-04T22:00:00Z"},
		{"Pago Pago: Monday evening local is Tuesday UTC", "Pacific/Pago_Pago", weeklySchedule(ww("monday", "18:00", "monday", "22:00")),
			"2026-01-03T00:00:00Z", "2026-01-06T05:00:00Z", "2026-01-06T09:00:00Z"},
		{"crossing midnight", "UTC", weeklySchedule(ww("friday", "22:00", "saturday", "02:00")),
			"2026-01-10T01:00:00Z", "2026-01-09T22:00:00Z", "2026-01-10T02:00:00Z"},
		{"crossing the end of the week", "UTC", weeklySchedule(ww("sunday", "20:00", "monday", "08:00")),
			"2026-01-05T07:59:00Z", "2026-01-04T20:00:00Z", "2026-01-05T08:00:00Z"},
		{"every 3 days for a day and a half", "UTC", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 3, OpenTime: "10:00", Length: "1d12h"}},
			"2026-01-09T23:00:00Z", "2026-01-11T10:00:00Z", "2026-01-12T22:00:00Z"},
		{"every n days starts at From", "UTC", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 3, OpenTime: "10:00", Length: "2h"}},
			"2025-12-01T00:00:00Z", "2026-01-05T10:00:00Z", "2026-01-05T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := calendar(t, tt.sched, tt.zone)
			w, ok := c.From(utc(tt.at))
			if !ok {
				t.Fatal("no window")
			}
			if !w.Start.Equal(utc(tt.start)) || !w.End.Equal(utc(tt.end)) {
				t.Errorf("From(%s) = %s to %s, want %s to %s", tt.at, w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), tt.start, tt.end)
			}
		})
	}
}

func TestAtBeforeNext(t *testing.T) {
	c := calendar(t, weeklySchedule(ww("mon", "09:00", "wed", "21:00"), ww("friday", "22:00", "saturday", "02:00")), "Europe/London")
	mon := Window{utc("2026-01-05T09:00:00Z"), utc("2026-01-07T21:00:00Z")}
	fri := Window{utc("2026-01-09T22:00:00Z"), utc("2026-01-10T02:00:00Z")}
	nextMon := Window{utc("2026-01-12T09:00:00Z"), utc("2026-01-14T21:00:00Z")}

	check := func(name string, got Window, ok bool, want Window, wantOK bool) {
		t.Helper()
		if ok != wantOK || ok && (!got.Start.Equal(want.Start) || !got.End.Equal(want.End)) {
			t.Errorf("%s = %v %v, want %v %v", name, got, ok, want, wantOK)
		}
	}
	w, ok := c.At(utc("2026-01-05T08:59:59Z"))
	check("At just before opening", w, ok, Window{}, false)
	w, ok = c.At(utc("2026-01-05T09:00:00Z"))
	check("At the opening", w, ok, mon, true)
	w, ok = c.At(utc("2026-01-07T21:00:00Z"))
	check("At the close (exclusive)", w, ok, Window{}, false)
	w, ok = c.At(utc("2026-01-10T00:30:00Z"))
	check("At after midnight", w, ok, fri, true)
	w, ok = c.Before(utc("2026-01-08T10:00:00Z"))
	check("Before, the day after Monday's closed", w, ok, mon, true)
	w, ok = c.Before(utc("2026-01-07T20:59:00Z"))
	check("Before while Monday's is open", w, ok, Window{utc("2026-01-02T22:00:00Z"), utc("2026-01-03T02:00:00Z")}, true)
	w, ok = c.Next(mon)
	check("Next after Monday's", w, ok, fri, true)
	w, ok = c.Next(fri)
	check("Next after Friday's", w, ok, nextMon, true)
	if !mon.Contains(mon.Start) || mon.Contains(mon.End) {
		t.Error("a window holds its opening but not its close")
	}
	if got := mon.Ref("p_1"); got != "win:p_1:1767603600" {
		t.Errorf("Ref = %s", got)
	}
}

func TestNoWindowBeforeEnrolment(t *testing.T) {
	created := utc("2026-01-06T12:00:00Z") // Tuesday, in Monday's window
	c, err := NewCalendar(weeklySchedule(ww("monday", "09:00", "wednesday", "21:00")), "UTC", created)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.At(utc("2026-01-06T13:00:00Z")); ok {
		t.Error("a window that opened before enrolment counts")
	}
	if w, _ := c.From(created); !w.Start.Equal(utc("2026-01-12T09:00:00Z")) {
		t.Errorf("first window opens %s, want the next Monday", w.Start)
	}
	if _, ok := c.Before(utc("2026-01-08T13:00:00Z")); ok {
		t.Error("Before finds a window from before enrolment")
	}
	// From is a local date: the first window opens on or after it.
	c, err = NewCalendar(&store.CheckInSchedule{From: "2026-01-13", Weekly: []store.WeeklyWindow{ww("monday", "09:00", "wednesday", "21:00")}}, "Australia/Sydney", created)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := c.From(created); !w.Start.Equal(utc("2026-01-18T22:00:00Z")) { // Monday 19 January 09:00 AEDT
		t.Errorf("first window opens %s, want Monday 19 January 09:00 Sydney", w.Start.UTC())
	}
	var none *Calendar
	if _, ok := none.From(created); ok {
		t.Error("a nil calendar has windows")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		sched *store.CheckInSchedule
		want  []string // each must appear in the error; none means valid
	}{
		{"weekly", weeklySchedule(ww("Monday", "09:00", "Wednesday", "21:00")), nil},
		{"short day names", weeklySchedule(ww("mon", "09:00", "WED", "21:00")), nil},
		{"touching windows", weeklySchedule(ww("mon", "09:00", "tue", "09:00"), ww("tue", "09:00", "wed", "09:00")), nil},
		{"nearly all week", weeklySchedule(ww("mon", "09:00", "mon", "08:00")), nil},
		{"every", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 14, OpenTime: "09:00", Length: "2d"}}, nil},
		{"nil", nil, nil},
		{"empty", &store.CheckInSchedule{}, []string{"no windows"}},
		{"both", &store.CheckInSchedule{From: "2026-01-05", Weekly: []store.WeeklyWindow{ww("mon", "09:00", "mon", "10:00")}, Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "1h"}}, []string{"not both"}},
		{"bad day and times", weeklySchedule(ww("mnday", "9am", "wednesday", "25:00")), []string{"weekly window 1", `open_day: "mnday" is not a day`, "open_time", "close_time"}},
		{"closes as it opens", weeklySchedule(ww("mon", "09:00", "mon", "09:00")), []string{"closes the moment it opens"}},
		{"overlap", weeklySchedule(ww("mon", "09:00", "wed", "21:00"), ww("tue", "09:00", "tue", "10:00")), []string{"weekly windows 1 and 2 overlap"}},
		{"overlap across the week's end", weeklySchedule(ww("sun", "20:00", "mon", "10:00"), ww("mon", "09:00", "mon", "12:00")), []string{"overlap"}},
		{"every without from", &store.CheckInSchedule{Every: &store.EveryDays{Days: 2, OpenTime: "09:00", Length: "1h"}}, []string{"from"}},
		{"every too long", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 2, OpenTime: "09:00", Length: "3d"}}, []string{"longer than the 2 days"}},
		{"every zero days and bad length", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 0, OpenTime: "09:00", Length: "soon"}}, []string{"days must be", "length"}},
		{"bad from", &store.CheckInSchedule{From: "05/01/2026", Weekly: []store.WeeklyWindow{ww("mon", "09:00", "mon", "10:00")}}, []string{"from", "YYYY-MM-DD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compile(tt.sched)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("valid schedule refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid schedule accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := NewCalendar(weeklySchedule(ww("mon", "09:00", "mon", "10:00")), "Mars/Olympus", time.Time{}); err == nil || !strings.Contains(err.Error(), "unknown time zone") {
		t.Errorf("unknown zone: %v", err)
	}
	if _, err := NewCalendar(weeklySchedule(ww("mon", "09:00", "mon", "10:00")), "", time.Time{}); err == nil || !strings.Contains(err.Error(), "no time zone") {
		t.Errorf("no zone: %v", err)
	}
}

func TestQuietHours(t *testing.T) {
	q := quietHours{start: hm(21, 0), end: hm(8, 0)}
	london := mustLoc(t, "Europe/London")
	tests := []struct {
		name     string
		q        quietHours
		loc      *time.Location
		at, want string
	}{
		{"evening moves to next morning", q, london, "2026-01-05T22:30:00Z", "2026-01-06T08:00:00Z"},
		{"early morning moves to the same morning", q, london, "2026-01-06T06:00:00Z", "2026-01-06T08:00:00Z"},
		{"at the start is quiet", q, london, "2026-01-05T21:00:00Z", "2026-01-06T08:00:00Z"},
		{"at the end is not", q, london, "2026-01-06T08:00:00Z", "2026-01-06T08:00:00Z"},
		{"daytime stays", q, london, "2026-01-06T12:00:00Z", "2026-01-06T12:00:00Z"},
		{"the night the clocks go forward", q, london, "2026-03-28T23:00:00Z", "2026-03-29T07:00:00Z"},
		{"Sydney local evening", q, mustLoc(t, "Australia/Sydney"), "2026-01-05T11:00:00Z", "2026-01-05T21:00:00Z"},
		{"a daytime span", quietHours{start: hm(13, 0), end: hm(14, 0)}, time.UTC, "2026-01-05T13:30:00Z", "2026-01-05T14:00:00Z"},
		{"no quiet hours", quietHours{start: hm(8, 0), end: hm(8, 0)}, time.UTC, "2026-01-05T03:00:00Z", "2026-01-05T03:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.shift(utc(tt.at), tt.loc); !got.Equal(utc(tt.want)) {
				t.Errorf("shift(%s) = %s, want %s", tt.at, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	at := time.Date(2026, 3, 9, 14, 30, 0, 0, time.UTC)
	morning := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	tests := []struct{ lang, date, time, morning string }{
		{"en", "Monday 9 March", "2:30pm", "9am"},
		{"es", "lunes 9 de marzo", "14:30", "9:00"},
		{"fr", "lundi 9 mars", "14h30", "9h00"},
		{"ar", "الاثنين 9 مارس", "14:30", "9:00"},
		{"uk", "понеділок, 9 березня", "14:30", "9:00"},
		{"es-MX", "lunes 9 de marzo", "14:30", "9:00"},
		{"xx", "2026-03-09", "14:30", "9:00"},
	}
	for _, tt := range tests {
		if got := FormatDate(tt.lang, at); got != tt.date {
			t.Errorf("FormatDate(%s) = %q, want %q", tt.lang, got, tt.date)
		}
		if got := FormatTime(tt.lang, at); got != tt.time {
			t.Errorf("FormatTime(%s) = %q, want %q", tt.lang, got, tt.time)
		}
		if got := FormatTime(tt.lang, morning); got != tt.morning {
			t.Errorf("FormatTime(%s, 9:00) = %q, want %q", tt.lang, got, tt.morning)
		}
	}
	if got := FormatTime("en", time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)); got != "12:05am" {
		t.Errorf("midnight = %q", got)
	}
	if got := FormatTime("en", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); got != "12pm" {
		t.Errorf("noon = %q", got)
	}
}

// TestRunIsFromThenNext: a run of windows is what From and Next give one
// by one, in zones that change their clocks, for weekly and every-few-days
// schedules, windows short enough to fall in a clock change among them.
func TestRunIsFromThenNext(t *testing.T) {
	schedules := []*store.CheckInSchedule{
		weeklySchedule(ww("monday", "09:00", "wednesday", "21:00"), ww("friday", "22:00", "saturday", "02:00")),
		weeklySchedule(ww("sunday", "01:30", "sunday", "02:15")),
		weeklySchedule(ww("sunday", "02:30", "sunday", "01:00")),
		{From: "2026-03-02", Every: &store.EveryDays{Days: 3, OpenTime: "07:30", Length: "36h"}},
		{From: "2026-09-01", Every: &store.EveryDays{Days: 1, OpenTime: "02:00", Length: "30m"}},
		{From: "2026-01-05", Every: &store.EveryDays{Days: 14, OpenTime: "09:00", Length: "2d"}},
	}
	spans := []time.Duration{0, time.Nanosecond, 26 * time.Hour, 9 * 24 * time.Hour, 45 * 24 * time.Hour}
	for _, zone := range []string{"UTC", "Europe/London", "America/New_York", "Australia/Sydney"} {
		for _, s := range schedules {
			cal, err := NewCalendar(s, zone, utc("2026-01-10T13:00:00Z"))
			if err != nil {
				t.Fatal(err)
			}
			for from := utc("2026-01-01T00:00:00Z"); from.Before(utc("2027-01-01T00:00:00Z")); from = from.Add(61 * time.Hour) {
				for _, span := range spans {
					until := from.Add(span)
					var want []Window
					for w, ok := cal.From(from); ok; w, ok = cal.Next(w) {
						want = append(want, w)
						if w.Start.After(until) {
							break
						}
					}
					if got := cal.Run(from, until); !slices.EqualFunc(got, want, sameWindow) {
						t.Fatalf("%s %v from %s to %s:\nrun        %v\nfrom, next %v", zone, s, from, until, got, want)
					}
				}
			}
		}
	}
}

func sameWindow(a, b Window) bool { return a.Start.Equal(b.Start) && a.End.Equal(b.End) }

// TestCandidatesAreEveryOpeningDay: the weekly windows listed for a span
// of days are those of every day in it that is a rule's opening day.
func TestCandidatesAreEveryOpeningDay(t *testing.T) {
	cal, err := NewCalendar(weeklySchedule(ww("monday", "09:00", "wednesday", "21:00"), ww("friday", "22:00", "saturday", "02:00"),
		ww("sunday", "01:30", "sunday", "02:15")), "Europe/London", utc("2026-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	from := dateOf(utc("2026-01-01T00:00:00Z"))
	for start := 0; start < 9; start++ {
		for days := 0; days < 40; days += 3 {
			lo, hi := from.add(start*37), from.add(start*37+days)
			var want []Window
			for _, r := range cal.weekly {
				for d := lo; !hi.before(d); d = d.add(1) {
					if w, ok := r.occurrence(d, cal.loc); ok && d.weekday() == r.openDay && !w.Start.Before(cal.first) {
						want = append(want, w)
					}
				}
			}
			if got := cal.candidates(lo, hi); !slices.EqualFunc(got, want, sameWindow) {
				t.Fatalf("%s to %s: %v, want %v", lo, hi, got, want)
			}
		}
	}
}
