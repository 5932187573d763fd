package report

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Report is a finished report: every figure by period, with hidden ones
// marked. It holds no person's record, ID or label.
type Report struct {
	From       time.Time `json:"from"` // the first day of the first period
	To         time.Time `json:"to"`   // the last day of the last period
	By         By        `json:"by"`
	MinPeople  int       `json:"min_people"`
	Caseworker string    `json:"caseworker,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	// SegmentPrice is what one SMS segment is taken to cost.
	SegmentPrice float64   `json:"segment_price"`
	Periods      []Period  `json:"periods"`
	Sections     []Section `json:"sections"`
}

// Period is one week or month of the report.
type Period struct {
	Label string    `json:"label"` // 2026-03-02 (a week, by its Monday) or 2026-03
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

// Section is a group of figures, e.g. Reporting.
type Section struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	About string `json:"about"`
	Rows  []Row  `json:"rows"`
}

// Row is one figure over the periods, and over the whole report.
type Row struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
	Cells []Cell `json:"cells"`
	// Total is the sum of the periods shown (a count), not of hidden ones:
	// a total over hidden periods would tell them apart from another
	// report's total. Medians have none.
	Total *Cell `json:"total,omitempty"`
}

// Cell is one figure of one period. Hidden is true when it counts fewer
// people than the programme's minimum, or would tell such a figure apart;
// Value and Share are then absent.
type Cell struct {
	Value  *float64 `json:"value,omitempty"`
	Share  *float64 `json:"share,omitempty"` // of the row the figure is part of, 0 to 1
	Hidden bool     `json:"hidden,omitempty"`
	// Cost is a segment figure's estimated cost.
	Cost *float64 `json:"cost,omitempty"`
	// PerPerson is a segment figure per person who got an SMS.
	PerPerson *float64 `json:"per_person,omitempty"`
}

// Build decides what is hidden and returns the report.
func (b *Builder) Build() Report {
	periods := b.span.periods()
	var months [][2]int
	if b.span.by == ByMonth {
		for _, p := range periods {
			months = append(months, [2]int{p.first, p.weeks})
		}
	}
	groups := make([]int32, 0, len(b.groups))
	b.cells.names = make([]string, len(b.groups)+1)
	for name, g := range b.groups {
		groups = append(groups, g)
		b.cells.names[g] = name
	}
	slices.SortFunc(groups, func(x, y int32) int { return strings.Compare(b.cells.names[x], b.cells.names[y]) })
	b.cells.suppress(equations, countRows(), b.span.weeks, months, groups)

	want := allGroup
	if b.opt.Caseworker != "" {
		g, ok := b.groups[b.opt.Caseworker]
		if !ok {
			g = -1 // nobody: every cell is empty
		}
		want = g
	}
	unitOf := func(i int) unit {
		if b.span.by == ByMonth {
			return monthUnit + unit(i)
		}
		return unit(periods[i].first)
	}
	r := Report{By: b.span.by, MinPeople: int(b.cells.k), Caseworker: b.opt.Caseworker,
		Currency: b.opt.Currency, SegmentPrice: b.opt.SegmentPrice}
	for _, p := range periods {
		r.Periods = append(r.Periods, Period{Label: p.label(), From: p.from(), To: p.to()})
	}
	if len(periods) > 0 {
		r.From, r.To = periods[0].from(), periods[len(periods)-1].to()
	}
	for _, sd := range sections {
		s := Section{Key: sd.key, Title: sd.title, About: sd.about}
		for _, rd := range sd.rows {
			row := Row{Key: rd.key, Label: rd.label, Kind: rd.kind}
			var total, totalOf, totalSeg float64
			var totalPeople int32
			for i := range periods {
				k := cellKey{rd.id, unitOf(i), want}
				c := b.cell(rd, k)
				if c.Value != nil && rd.kind != KindMedian && rd.kind != KindP90 {
					total += *c.Value
					if rd.of != noShare {
						if of := b.cell(count(rd.of, "", "", noShare), cellKey{rd.of, k.unit, want}); of.Value != nil {
							totalOf += *of.Value
						}
					}
					if rd.kind == KindSegment {
						totalSeg += *c.Value
						totalPeople += b.cells.get(k).people
					}
				}
				row.Cells = append(row.Cells, c)
			}
			if rd.kind == KindCount || rd.kind == KindSegment {
				t := Cell{Value: &total}
				if rd.of != noShare && totalOf > 0 {
					sh := total / totalOf
					t.Share = &sh
				}
				if rd.kind == KindSegment {
					cost := round2(totalSeg * b.opt.SegmentPrice)
					t.Cost = &cost
				}
				row.Total = &t
			}
			s.Rows = append(s.Rows, row)
		}
		r.Sections = append(r.Sections, s)
	}
	return r
}

// cell is one figure as shown: hidden, or its value and share.
func (b *Builder) cell(rd rowDef, k cellKey) Cell {
	if b.cells.hidden[k] {
		return Cell{Hidden: true}
	}
	a := b.cells.get(k)
	var v float64
	switch rd.kind {
	case KindMedian, KindP90:
		vals := b.cells.values[k]
		if len(vals) == 0 {
			return Cell{}
		}
		p := 0.5
		if rd.kind == KindP90 {
			p = 0.9
		}
		v = percentile(sortedCopy(vals), p)
		return Cell{Value: &v}
	default:
		v = a.n
	}
	c := Cell{Value: &v}
	if rd.of != noShare {
		ok := cellKey{rd.of, k.unit, k.group}
		if of := b.cells.get(ok); of.n > 0 && !b.cells.hidden[ok] {
			sh := v / of.n
			c.Share = &sh
		}
	}
	if rd.kind == KindSegment {
		cost := round2(v * b.opt.SegmentPrice)
		c.Cost = &cost
		if a.people > 0 {
			pp := v / float64(a.people)
			c.PerPerson = &pp
		}
	}
	return c
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
