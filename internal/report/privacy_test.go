package report_test

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/report"
	"github.com/waymark-atd/waymark/internal/store"
)

// A programme of two caseloads of fifteen people who check in on time
// every day, and one more person, T, in the second caseload, who misses
// one check-in on Wednesday 8 April 2026. Everything below tries to learn
// that from reports an administrator can ask for.

func programme(t *testing.T) []report.Person {
	t.Helper()
	var out []report.Person
	day := func(d int) time.Time { return time.Date(2026, 3, 30+d, 9, 0, 0, 0, time.UTC) }
	person := func(cw string, missOn int) report.Person {
		p := report.Person{Caseworker: cw, Location: time.UTC}
		for d := range 21 {
			w := store.Window{OpensAt: day(d), ClosesAt: day(d).Add(12 * time.Hour), Outcome: store.WindowOnTime}
			if d == missOn {
				w.Outcome = store.WindowMissed
			}
			p.Windows = append(p.Windows, w)
		}
		return p
	}
	for range 15 {
		out = append(out, person("cw1", -1), person("cw2", -1))
	}
	return append(out, person("cw2", 9)) // T: Wednesday 8 April, week 2
}

func build(people []report.Person, from, to string, by report.By, caseworker string) report.Report {
	o := options(from, to, by)
	o.MinPeople = 10
	o.Caseworker = caseworker
	b := report.NewBuilder(o)
	for _, p := range people {
		b.Add(p)
	}
	return b.Build()
}

// cell returns a figure's value in the period labelled label, and whether
// it is shown.
func cell(r report.Report, key, label string) (float64, bool) {
	for i, p := range r.Periods {
		if p.Label != label {
			continue
		}
		for _, s := range r.Sections {
			for _, row := range s.Rows {
				if row.Key == key && row.Cells[i].Value != nil {
					return *row.Cells[i].Value, true
				}
			}
		}
	}
	return 0, false
}

func total(r report.Report, key string) float64 {
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			if row.Key == key && row.Total != nil {
				return *row.Total.Value
			}
		}
	}
	return 0
}

var outcomeKeys = []string{"on_time", "late", "reported_unable", "excused", "not_delivered", "paused", "not_consented", "opted_out", "missed"}

// TestSmallCellsAreHidden: T's missed window is one person's, so it is
// shown nowhere as a number, and neither is any figure it could be
// worked out from within the report (windows = the outcomes' sum).
func TestSmallCellsAreHidden(t *testing.T) {
	people := programme(t)
	for _, cw := range []string{"", "cw2"} {
		r := build(people, "2026-03-30", "2026-04-19", report.ByWeek, cw)
		if v, shown := cell(r, "missed", "2026-04-06"); shown {
			t.Errorf("caseload %q: missed shown as %v in T's week", cw, v)
		}
		if c := r.Sections[0].Rows[len(r.Sections[0].Rows)-1].Cells[1]; !c.Hidden {
			t.Errorf("caseload %q: T's missed cell is not marked hidden: %+v", cw, c)
		}
		// Windows minus every outcome shown must not leave one missed.
		if windows, ok := cell(r, "windows", "2026-04-06"); ok {
			rest := windows
			for _, k := range outcomeKeys {
				if v, ok := cell(r, k, "2026-04-06"); ok {
					rest -= v
				}
			}
			hiddenParts := 0
			for _, k := range outcomeKeys {
				if _, ok := cell(r, k, "2026-04-06"); !ok {
					if k != "missed" || rest > 0 {
						hiddenParts++
					}
				}
			}
			if hiddenParts < 2 && rest == 1 {
				t.Errorf("caseload %q: windows minus the outcomes shown is T's miss", cw)
			}
		}
		// Other weeks, where fifteen or thirty people all checked in, are
		// shown.
		if v, ok := cell(r, "on_time", "2026-03-30"); !ok || v == 0 {
			t.Errorf("caseload %q: on time in week 1 hidden, though everyone checked in", cw)
		}
	}
	// A caseload of fewer than ten people shows nothing at all.
	small := build(people[:6], "2026-03-30", "2026-04-19", report.ByWeek, "")
	if v, ok := cell(small, "windows", "2026-03-30"); ok {
		t.Errorf("six people: windows shown as %v", v)
	}
}

// TestDifferencingFindsNoOne compares every pair of reports an
// administrator could ask for (the programme and each caseload; weeks and
// months; overlapping dates) and checks that no difference of shown
// figures, and no total minus its shown parts, is T's one miss.
func TestDifferencingFindsNoOne(t *testing.T) {
	people := programme(t)
	type query struct {
		from, to string
		by       report.By
		cw       string
	}
	var qs []query
	for _, cw := range []string{"", "cw1", "cw2"} {
		for _, d := range [][2]string{{"2026-03-30", "2026-04-19"}, {"2026-03-30", "2026-04-05"}, {"2026-04-01", "2026-04-12"}, {"2026-04-06", "2026-04-19"}} {
			qs = append(qs, query{d[0], d[1], report.ByWeek, cw})
		}
		qs = append(qs, query{"2026-03-01", "2026-04-30", report.ByMonth, cw}, query{"2026-04-01", "2026-04-30", report.ByMonth, cw})
	}
	reports := make([]report.Report, len(qs))
	for i, q := range qs {
		reports[i] = build(people, q.from, q.to, q.by, q.cw)
	}
	for i, a := range reports {
		// Within one report: a total minus the parts shown.
		for _, p := range a.Periods {
			if w, ok := cell(a, "windows", p.Label); ok {
				rest, hidden := w, 0
				for _, k := range outcomeKeys {
					if v, ok := cell(a, k, p.Label); ok {
						rest -= v
					} else {
						hidden++
					}
				}
				if rest > 0 && hidden < 2 {
					t.Errorf("%+v %s: windows minus shown outcomes reveals %v", qs[i], p.Label, rest)
				}
			}
		}
		for j, b := range reports {
			if i == j {
				continue
			}
			// The same period, two caseloads: programme minus cw1 is cw2;
			// where cw2's own figure is hidden, the difference must be too.
			for _, p := range a.Periods {
				if qs[i].by != qs[j].by {
					continue
				}
				va, okA := cell(a, "missed", p.Label)
				vb, okB := cell(b, "missed", p.Label)
				if okA && okB && va-vb == 1 {
					t.Errorf("missed %s: %+v minus %+v is one person's miss", p.Label, qs[i], qs[j])
				}
			}
			// Overlapping dates: the totals differ by whole periods shown.
			if qs[i].cw == qs[j].cw && qs[i].by == qs[j].by {
				if d := total(a, "missed") - total(b, "missed"); d == 1 || d == -1 {
					t.Errorf("missed totals of %+v and %+v differ by one person's miss", qs[i], qs[j])
				}
			}
		}
	}
	// And the attack is real: with no minimum, the first difference would
	// find T.
	o := options("2026-03-30", "2026-04-19", report.ByWeek)
	o.MinPeople = 1
	all := report.NewBuilder(o)
	for _, p := range people {
		all.Add(p)
	}
	o.Caseworker = "cw1"
	cw1 := report.NewBuilder(o)
	for _, p := range people {
		cw1.Add(p)
	}
	va, _ := cell(all.Build(), "missed", "2026-04-06")
	vb, _ := cell(cw1.Build(), "missed", "2026-04-06")
	if va-vb != 1 {
		t.Fatalf("without a minimum the programme minus cw1 is %v, want T's 1: the test would prove nothing", va-vb)
	}
}

// TestWorkingOutFindsNoOne is a stronger attacker: it pools every shown
// figure of many reports and works out unknowns from every equation it
// knows (windows = the sum of outcomes; the programme = cw1 + cw2; a
// month = its weeks) until nothing more follows, then looks for T's miss.
func TestWorkingOutFindsNoOne(t *testing.T) {
	people := programme(t)
	type key struct{ cw, period, row string }
	known := map[key]float64{}
	var periods []string
	months := map[string][]string{} // month -> its weeks
	for _, cw := range []string{"", "cw1", "cw2"} {
		for _, q := range []struct {
			from, to string
			by       report.By
		}{{"2026-03-30", "2026-04-26", report.ByWeek}, {"2026-04-01", "2026-04-12", report.ByWeek},
			{"2026-03-01", "2026-04-30", report.ByMonth}} {
			r := build(people, q.from, q.to, q.by, cw)
			for i, p := range r.Periods {
				if cw == "" {
					periods = append(periods, p.Label)
					if q.by == report.ByWeek {
						m := p.From.Format("2006-01")
						months[m] = append(months[m], p.Label)
					}
				}
				for _, k := range append([]string{"windows"}, outcomeKeys...) {
					for _, s := range r.Sections {
						for _, row := range s.Rows {
							if row.Key == k && row.Cells[i].Value != nil {
								known[key{cw, p.Label, k}] = *row.Cells[i].Value
							}
						}
					}
				}
			}
		}
	}
	type eq struct {
		total key
		parts []key
	}
	var eqs []eq
	for _, p := range periods {
		for _, cw := range []string{"", "cw1", "cw2"} {
			e := eq{total: key{cw, p, "windows"}}
			for _, k := range outcomeKeys {
				e.parts = append(e.parts, key{cw, p, k})
			}
			eqs = append(eqs, e)
		}
		for _, k := range append([]string{"windows"}, outcomeKeys...) {
			eqs = append(eqs, eq{key{"", p, k}, []key{{"cw1", p, k}, {"cw2", p, k}}})
		}
	}
	for m, weeks := range months {
		for _, cw := range []string{"", "cw1", "cw2"} {
			for _, k := range append([]string{"windows"}, outcomeKeys...) {
				e := eq{total: key{cw, m, k}}
				for _, w := range weeks {
					e.parts = append(e.parts, key{cw, w, k})
				}
				eqs = append(eqs, e)
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range eqs {
			all := append([]key{e.total}, e.parts...)
			var unknown []key
			for _, k := range all {
				if _, ok := known[k]; !ok {
					unknown = append(unknown, k)
				}
			}
			if len(unknown) != 1 {
				continue
			}
			sum := 0.0
			for _, k := range e.parts {
				sum += known[k]
			}
			if u := unknown[0]; u == e.total {
				known[u] = sum
			} else {
				known[u] = known[e.total] - (sum - known[u])
			}
			changed = true
		}
	}
	for _, cw := range []string{"", "cw2"} {
		for _, p := range []string{"2026-04-06", "2026-04"} {
			if v, ok := known[key{cw, p, "missed"}]; ok {
				t.Errorf("worked out missed = %v for caseload %q in %s", v, cw, p)
			}
		}
	}
}
