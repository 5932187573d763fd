package schedule

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// shipped is the default programme with a same-morning reminder, as the
// shipped programme.yaml has it.
func shipped() flow.Programme {
	p := flow.DefaultProgramme()
	p.Reminders.SameMorning = true
	return p
}

func person(zone string, s *store.CheckInSchedule) store.Participant {
	return store.Participant{ID: "p_1", Language: "en", TimeZone: zone, Status: store.Active, Schedule: s,
		CreatedAt: utc("2025-12-01T00:00:00Z"), ConsentedAt: utc("2025-12-01T00:00:00Z")}
}

func appt(id, date, clock string, status store.AppointmentStatus) store.Appointment {
	return store.Appointment{ID: id, ParticipantID: "p_1", Kind: "caseworker_meeting", Place: "Room 2", Date: date, Time: clock, Status: status}
}

// plan runs Plan and renders its items as "ID @ due (UTC)" lines.
func plan(t *testing.T, in PlanInput) []string {
	t.Helper()
	if in.Programme.Reminders.AppointmentHour == "" {
		in.Programme = shipped()
	}
	items, err := Plan(in)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s @ %s", it.ID, it.DueAt.UTC().Format(time.RFC3339)))
		if it.ParticipantID != in.Participant.ID || it.Kind == "" || it.Ref == "" {
			t.Errorf("item %s lacks participant, kind or ref: %+v", it.ID, it)
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	monWed := weeklySchedule(ww("monday", "09:00", "wednesday", "21:00"))
	// Monday 5 January 2026 09:00 UTC (winter: London is UTC).
	const mon = "win:p_1:1767603600"
	const nextMon = "win:p_1:1768208400"
	type tc struct {
		name string
		in   PlanInput
		want []string
	}
	twoClosing := shipped()
	twoClosing.Reminders.BeforeClose = []flow.Duration{flow.Duration(6 * time.Hour), flow.Duration(time.Hour)}
	hourly := shipped()
	hourly.Reminders.Appointment = []flow.Duration{flow.Duration(2 * time.Hour)}
	hourly.Reminders.SameMorning = false
	noGrace := shipped()
	noGrace.CheckIn.GracePeriod = 0
	paused := person("Europe/London", monWed)
	paused.Status = store.Paused
	exited := person("Europe/London", monWed)
	exited.Status = store.Exited
	optedOut := person("Europe/London", monWed)
	optedOut.OptedOut = true

	tests := []tc{
		{"before a window: open, closing soon, and a miss check moved out of quiet hours",
			PlanInput{Participant: person("Europe/London", monWed), Now: utc("2026-01-04T12:00:00Z")},
			[]string{
				mon + ":open @ 2026-01-05T09:00:00Z",
				mon + ":close:6h @ 2026-01-07T15:00:00Z",
				mon + ":miss @ 2026-01-09T08:00:00Z", // Thursday 21:00 is quiet: Friday 08:00
			}},
		{"inside a window: what is left of it, and the next window",
			PlanInput{Participant: person("Europe/London", monWed), Now: utc("2026-01-06T12:00:00Z")},
			[]string{
				mon + ":close:6h @ 2026-01-07T15:00:00Z",
				mon + ":miss @ 2026-01-09T08:00:00Z",
				nextMon + ":open @ 2026-01-12T09:00:00Z",
				nextMon + ":close:6h @ 2026-01-14T15:00:00Z",
				nextMon + ":miss @ 2026-01-16T08:00:00Z",
			}},
		{"in grace: the miss check still comes",
			PlanInput{Participant: person("Europe/London", monWed), Now: utc("2026-01-08T12:00:00Z")},
			[]string{
				mon + ":miss @ 2026-01-09T08:00:00Z",
				nextMon + ":open @ 2026-01-12T09:00:00Z",
				nextMon + ":close:6h @ 2026-01-14T15:00:00Z",
				nextMon + ":miss @ 2026-01-16T08:00:00Z",
			}},
		{"no grace and no quiet hours: the miss check is at the close",
			PlanInput{Participant: person("UTC", weeklySchedule(ww("monday", "09:00", "monday", "17:00"))), Now: utc("2026-01-04T12:00:00Z"),
				Programme: func() flow.Programme {
					p := noGrace
					p.QuietHours = flow.QuietHours{Start: "00:00", End: "00:00"}
					return p
				}()},
			[]string{
				mon + ":open @ 2026-01-05T09:00:00Z",
				mon + ":close:6h @ 2026-01-05T11:00:00Z",
				mon + ":miss @ 2026-01-05T17:00:00Z",
			}},
		{"several closing reminders",
			PlanInput{Participant: person("UTC", monWed), Now: utc("2026-01-04T12:00:00Z"), Programme: twoClosing},
			[]string{
				mon + ":open @ 2026-01-05T09:00:00Z",
				mon + ":close:6h @ 2026-01-07T15:00:00Z",
				mon + ":close:1h @ 2026-01-07T20:00:00Z",
				mon + ":miss @ 2026-01-09T08:00:00Z",
			}},
		{"a window opening in quiet hours is announced when they end; a closing reminder longer than the window is left out",
			PlanInput{Participant: person("UTC", weeklySchedule(ww("monday", "06:00", "monday", "10:00"))), Now: utc("2026-01-04T12:00:00Z")},
			[]string{
				"win:p_1:1767592800:open @ 2026-01-05T08:00:00Z",
				"win:p_1:1767592800:miss @ 2026-01-06T10:00:00Z",
			}},
		{"a window entirely in quiet hours gets no reminders, only its miss check",
			PlanInput{Participant: person("UTC", weeklySchedule(ww("monday", "22:00", "tuesday", "02:00"))), Now: utc("2026-01-04T12:00:00Z")},
			[]string{"win:p_1:1767650400:miss @ 2026-01-07T08:00:00Z"}}, // Wednesday 02:00 after a day's grace
		{"Sydney, across the change of clocks: opening reminders at 09:00 local on both sides",
			PlanInput{Participant: person("Australia/Sydney", &store.CheckInSchedule{From: "2026-10-03", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}),
				Now: utc("2026-10-03T12:00:00Z"), Programme: noGrace},
			[]string{
				"win:p_1:1790982000:miss @ 2026-10-03T21:00:00Z", // Saturday's closed at 21:00, quiet: Sunday 08:00 AEDT
				"win:p_1:1791064800:open @ 2026-10-03T22:00:00Z", // Sunday 09:00 AEDT
				"win:p_1:1791064800:close:6h @ 2026-10-04T04:00:00Z",
				"win:p_1:1791064800:miss @ 2026-10-04T21:00:00Z", // 21:00 is quiet: Monday 08:00 AEDT
			}},
		{"paused: only each window's decision, no reminder",
			PlanInput{Participant: paused, Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentScheduled)}, Now: utc("2026-01-04T12:00:00Z")},
			[]string{mon + ":miss @ 2026-01-09T08:00:00Z"}},
		{"exited: nothing", PlanInput{Participant: exited, Now: utc("2026-01-04T12:00:00Z")}, nil},
		{"opted out: the plan rolls on, the scheduler sends nothing",
			PlanInput{Participant: optedOut, Now: utc("2026-01-04T12:00:00Z")},
			[]string{mon + ":open @ 2026-01-05T09:00:00Z", mon + ":close:6h @ 2026-01-07T15:00:00Z", mon + ":miss @ 2026-01-09T08:00:00Z"}},
		{"appointment: 7, 3 and 1 days before at 09:00 local, and the same morning",
			PlanInput{Participant: person("Europe/London", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentScheduled)}, Now: utc("2026-01-04T12:00:00Z")},
			[]string{
				"appt:a1:7d @ 2026-01-13T09:00:00Z",
				"appt:a1:3d @ 2026-01-17T09:00:00Z",
				"appt:a1:1d @ 2026-01-19T09:00:00Z",
				"appt:a1:morning @ 2026-01-20T09:00:00Z",
			}},
		{"appointment made late: only the reminders still ahead",
			PlanInput{Participant: person("Europe/London", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentConfirmed)}, Now: utc("2026-01-18T12:00:00Z")},
			[]string{"appt:a1:1d @ 2026-01-19T09:00:00Z", "appt:a1:morning @ 2026-01-20T09:00:00Z"}},
		{"appointment too early in the day for a same-morning reminder",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "09:30", store.AppointmentScheduled)}, Now: utc("2026-01-18T12:00:00Z")},
			[]string{"appt:a1:1d @ 2026-01-19T09:00:00Z"}},
		{"appointment across the spring change: 09:00 local each time",
			PlanInput{Participant: person("Europe/London", nil), Appointments: []store.Appointment{appt("a1", "2026-04-02", "14:00", store.AppointmentScheduled)}, Now: utc("2026-03-01T12:00:00Z")},
			[]string{
				"appt:a1:7d @ 2026-03-26T09:00:00Z",
				"appt:a1:3d @ 2026-03-30T08:00:00Z",
				"appt:a1:1d @ 2026-04-01T08:00:00Z",
				"appt:a1:morning @ 2026-04-02T08:00:00Z",
			}},
		{"an offset in hours counts back from the appointment, out of quiet hours",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "09:00", store.AppointmentScheduled), appt("a2", "2026-01-21", "15:00", store.AppointmentScheduled)},
				Now: utc("2026-01-18T12:00:00Z"), Programme: hourly},
			[]string{"appt:a1:2h @ 2026-01-20T08:00:00Z", "appt:a2:2h @ 2026-01-21T13:00:00Z"}},
		{"cancelled and attended appointments: nothing",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentCancelled), appt("a2", "2026-01-20", "10:30", store.AppointmentAttended)}, Now: utc("2026-01-04T12:00:00Z")},
			nil},
		{"someone else's appointment is ignored",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{{ID: "a9", ParticipantID: "p_2", Date: "2026-01-20", Time: "10:30", Status: store.AppointmentScheduled}}, Now: utc("2026-01-04T12:00:00Z")},
			nil},
		{"missed appointment marked at once: follow-up an hour after it",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentMissed)}, Now: utc("2026-01-20T10:50:00Z")},
			[]string{"appt:a1:followup @ 2026-01-20T11:30:00Z"}},
		{"missed appointment marked the next evening: follow-up the morning after",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentMissed)}, Now: utc("2026-01-21T22:00:00Z")},
			[]string{"appt:a1:followup @ 2026-01-22T08:00:00Z"}},
		{"missed appointment marked in the afternoon: follow-up now",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentMissed)}, Now: utc("2026-01-20T15:00:00Z")},
			[]string{"appt:a1:followup @ 2026-01-20T15:00:00Z"}},
		{"missed appointment already followed up: nothing",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentMissed)}, Now: utc("2026-01-20T15:00:00Z"), FollowedUp: map[string]bool{"a1": true}},
			nil},
		{"missed appointment long ago: nothing",
			PlanInput{Participant: person("UTC", nil), Appointments: []store.Appointment{appt("a1", "2026-01-20", "10:30", store.AppointmentMissed)}, Now: utc("2026-01-28T15:00:00Z")},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(t, tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("plan:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tt.want, "\n       "))
			}
		})
	}
}

// TestPlanIsDeterministic: planning twice gives the same IDs, so that
// re-planning replaces items instead of adding to them.
func TestPlanIsDeterministic(t *testing.T) {
	in := PlanInput{
		Participant:  person("America/Mexico_City", weeklySchedule(ww("monday", "09:00", "wednesday", "21:00"), ww("friday", "22:00", "saturday", "02:00"))),
		Appointments: []store.Appointment{appt("a1", "2026-02-20", "10:30", store.AppointmentScheduled)},
		Now:          utc("2026-02-04T12:00:00Z"),
	}
	a, b := plan(t, in), plan(t, in)
	if !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("two plans differ:\n%v\n%v", a, b)
	}
	// An hour later nothing new appears and only what fell due is gone.
	in.Now = in.Now.Add(time.Hour)
	for _, line := range plan(t, in) {
		if !slices.Contains(a, line) {
			t.Errorf("new item an hour later: %s", line)
		}
	}
}

func TestPlanReportsBadData(t *testing.T) {
	p := person("UTC", nil)
	items, err := Plan(PlanInput{Participant: p, Programme: shipped(), Now: utc("2026-01-04T12:00:00Z"),
		Appointments: []store.Appointment{appt("bad", "20/01/2026", "10:30", store.AppointmentScheduled), appt("good", "2026-01-20", "10:30", store.AppointmentScheduled)}})
	if err == nil || !strings.Contains(err.Error(), "appointment bad") {
		t.Errorf("bad appointment not reported: %v", err)
	}
	if len(items) != 4 {
		t.Errorf("the good appointment was not planned: %d items", len(items))
	}
	p.TimeZone = "Nowhere/Else"
	if _, err := Plan(PlanInput{Participant: p, Programme: flow.DefaultProgramme(), Now: utc("2026-01-04T12:00:00Z")}); err == nil {
		t.Error("bad time zone not reported")
	}
}

func TestOffsetName(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7d", 6 * time.Hour: "6h", 36 * time.Hour: "1d12h", 90 * time.Minute: "1h30m", 45 * time.Minute: "45m",
	} {
		if got := offsetName(d); got != want {
			t.Errorf("offsetName(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestValidateAppointment(t *testing.T) {
	if err := ValidateAppointment(appt("a1", "2026-01-20", "10:30", store.AppointmentScheduled)); err != nil {
		t.Errorf("good appointment: %v", err)
	}
	err := ValidateAppointment(appt("a1", "20/01/2026", "10.30am", store.AppointmentScheduled))
	if err == nil || !strings.Contains(err.Error(), "date: bad date") || !strings.Contains(err.Error(), "time: bad time of day") {
		t.Errorf("bad appointment: %v", err)
	}
}

// TestOneWalkPlansAsTwo: a planner told an item's two moments (just
// before it fell due, and now) plans at each exactly as Plan does alone,
// for items of every kind, handled at once or long after, across clock
// changes, quiet hours and a child's night.
func TestOneWalkPlansAsTwo(t *testing.T) {
	pr := shipped()
	pr.QuietHours.Start, pr.QuietHours.End = "21:00", "08:00"
	every := &store.CheckInSchedule{From: "2026-03-02", Every: &store.EveryDays{Days: 3, OpenTime: "07:30", Length: "36h"}}
	people := []store.Participant{
		person("Europe/London", weeklySchedule(ww("monday", "09:00", "wednesday", "21:00"), ww("friday", "22:00", "saturday", "02:00"))),
		person("America/Mexico_City", weeklySchedule(ww("sunday", "01:30", "sunday", "03:00"))),
		person("Europe/London", every),
	}
	child := person("Europe/London", weeklySchedule(ww("tuesday", "06:00", "tuesday", "23:00")))
	child.Child = true
	paused := person("Europe/London", every)
	paused.Status = store.Paused
	people = append(people, child, paused)
	appts := []store.Appointment{appt("a1", "2026-03-30", "10:30", store.AppointmentScheduled), appt("a2", "2026-03-31", "08:15", store.AppointmentConfirmed)}
	later := []time.Duration{0, time.Second, time.Hour, 30 * time.Hour, 4 * 24 * time.Hour, 40 * 24 * time.Hour}
	for _, p := range people {
		for at := utc("2026-03-20T00:00:00Z"); at.Before(utc("2026-04-05T00:00:00Z")); at = at.Add(17 * time.Hour) {
			items, _ := Plan(PlanInput{Participant: p, Appointments: appts, Programme: pr, Now: at})
			for _, it := range items {
				for _, after := range later {
					now := it.DueAt.Add(after)
					pl := forItem(pr, it, now)
					for _, moment := range []time.Time{judgedAt(it), now} {
						checkWalk(t, pr, p, moment)
						in := PlanInput{Participant: p, Appointments: appts, Programme: pr, Now: moment}
						want, wantErr := Plan(in)
						got, gotErr := pl.plan(in)
						if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
							t.Fatalf("%s handled %s after: plan at %s differs:\ngot  %v %v\nwant %v %v", it.ID, after, moment, got, gotErr, want, wantErr)
						}
					}
				}
			}
		}
	}
}

// checkWalk checks the window items of p's one walk at moment against a
// walk window by window with From and Next, as Plan once walked.
func checkWalk(t *testing.T, pr flow.Programme, p store.Participant, moment time.Time) {
	t.Helper()
	r, err := rulesOf(pr)
	if err != nil {
		t.Fatal(err)
	}
	if p.Child {
		r.quiet = r.quiet.withChildNight()
	}
	cal, err := CalendarOf(p)
	if err != nil {
		t.Fatal(err)
	}
	var want []store.DueItem
	w, ok := cal.From(r.horizon(moment))
	for i := 0; ok && i < 100; i++ {
		for _, it := range r.itemsOf(p.ID, w, cal.loc) {
			if it.DueAt.After(moment) {
				want = append(want, it)
			}
		}
		if w.Start.After(moment) {
			break
		}
		w, ok = cal.Next(w)
	}
	if got := r.windowItemsAt(p.ID, cal, []time.Time{moment})[0]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s at %s: one walk %v, window by window %v", p.ID, moment, got, want)
	}
}

// TestWindowItemsReadTheirWindow: a window item carries the window's
// closing as Unix seconds and its opening in its ref, and an item planned
// before, which carries both as RFC 3339, reads to the same window; an item
// whose closing or ref is unreadable is not taken for any window.
func TestWindowItemsReadTheirWindow(t *testing.T) {
	items, err := Plan(PlanInput{Participant: person("Europe/Madrid", &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}), Programme: shipped(), Now: utc("2026-03-03T06:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	var it store.DueItem
	for _, x := range items {
		if x.Kind == KindWindowOpen {
			it = x
			break
		}
	}
	want := Window{Start: utc("2026-03-03T08:00:00Z"), End: utc("2026-03-03T20:00:00Z")}
	if len(it.Data) != 1 || it.Data["closes"] != "1772568000" || it.Ref != "win:p_1:1772524800" {
		t.Errorf("window item's ref %q and data %v, want the opening in the ref and the closing in Unix seconds", it.Ref, it.Data)
	}
	same := func(w Window) bool { return w.Start.Equal(want.Start) && w.End.Equal(want.End) }
	if w, ok := windowOf(it); !ok || !same(w) {
		t.Errorf("windowOf = %v, %v; want %v", w, ok, want)
	}
	before := it
	before.Data = map[string]string{"opens": "2026-03-03T08:00:00Z", "closes": "2026-03-03T20:00:00Z"}
	if w, ok := windowOf(before); !ok || !same(w) {
		t.Errorf("windowOf an item planned before = %v, %v; want %v", w, ok, want)
	}
	for name, bad := range map[string]store.DueItem{
		"closing unreadable":   {Ref: it.Ref, ParticipantID: "p_1", Data: map[string]string{"closes": "soon"}},
		"no closing":           {Ref: it.Ref, ParticipantID: "p_1"},
		"opening unreadable":   {Ref: it.Ref, ParticipantID: "p_1", Data: map[string]string{"opens": "soon", "closes": "1772568000"}},
		"another person's ref": {Ref: it.Ref, ParticipantID: "p_2", Data: it.Data},
		"ref without opening":  {Ref: "win:p_1:", ParticipantID: "p_1", Data: it.Data},
	} {
		if w, ok := windowOf(bad); ok {
			t.Errorf("%s: taken for the window %v", name, w)
		}
	}
}

// TestSchedulerKindsHaveCodes: every kind of item the scheduler plans
// (each constant Kind... of plan.go) is written as a code by the stores
// (internal/store/compact), which keeps a person's due records small.
func TestSchedulerKindsHaveCodes(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "plan.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		spec, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, "Kind") || i >= len(spec.Values) {
				continue
			}
			lit, ok := spec.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			n++
			k, _ := strconv.Unquote(lit.Value)
			if code := compact.KindCode(k); code == k {
				t.Errorf("%s (%q) has no code in internal/store/compact", name.Name, k)
			}
		}
		return true
	})
	if n < 7 {
		t.Errorf("found %d kinds in plan.go; want every Kind constant", n)
	}
}
