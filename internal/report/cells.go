package report

import (
	"slices"
	"sort"
)

// The report counts into cells: a figure (row), a time (a week, or a
// month made of weeks) and a group of people (the whole programme, or
// one caseworker's caseload). Each cell knows how many distinct people
// it counts, which is what suppression looks at.

type rowID int16

// unit is a week's index in the span, or monthUnit plus a month's index.
type unit int32

const monthUnit unit = 1 << 20

// allGroup is the whole programme; caseloads are 1, 2, ...
const allGroup int32 = 0

type cellKey struct {
	row   rowID
	unit  unit
	group int32
}

type acc struct {
	n      float64 // the count (or sum)
	people int32   // distinct people counted
	last   int32   // the last person counted, so each counts once
}

// cells accumulates counts and, for medians, values. Counts are kept
// dense, a slice of every row and unit per group, because a year of a
// large programme adds millions of them.
type cells struct {
	k      int32 // the fewest people a cell may show
	weeks  int   // units 0..weeks-1 are weeks, then months
	units  int
	counts [][]acc // by group, then row*units + unit index
	values map[cellKey][]float64
	hidden map[cellKey]bool
	names  []string // each group's caseworker ID, for a steady order
}

func newCells(k, weeks, months int) *cells {
	return &cells{k: int32(k), weeks: weeks, units: weeks + months, values: map[cellKey][]float64{}}
}

func (c *cells) index(k cellKey) int {
	u := int(k.unit)
	if k.unit >= monthUnit {
		u = c.weeks + int(k.unit-monthUnit)
	}
	return int(k.row)*c.units + u
}

// add counts n for person at the cell and at the programme's cell.
func (c *cells) add(r rowID, u unit, group, person int32, n float64) {
	c.add1(cellKey{r, u, group}, person, n)
	c.add1(cellKey{r, u, allGroup}, person, n)
}

func (c *cells) add1(k cellKey, person int32, n float64) {
	for int(k.group) >= len(c.counts) {
		c.counts = append(c.counts, make([]acc, int(numRows)*c.units))
	}
	a := &c.counts[k.group][c.index(k)]
	a.n += n
	if a.last != person {
		a.last = person
		a.people++
	}
}

// value records one value for a median, with its person.
func (c *cells) value(r rowID, u unit, group, person int32, v float64) {
	for _, g := range []int32{group, allGroup} {
		k := cellKey{r, u, g}
		c.values[k] = append(c.values[k], v)
		c.add1(k, person, 0)
	}
}

func (c *cells) get(k cellKey) acc {
	if k.group < 0 || int(k.group) >= len(c.counts) {
		return acc{}
	}
	return c.counts[k.group][c.index(k)]
}

// equation says that a total is the sum of parts, so that showing the
// total and all parts but one would show that one too.
type equation struct {
	total rowID
	parts []rowID
	// spareTotal: where a second cell must be hidden, hide the total
	// rather than a part (the total is a convenience, like "kept").
	spareTotal bool
}

// suppress decides which cells are hidden. A cell counting fewer than k
// people (but some) is hidden; then, so that no hidden cell can be worked
// out from shown ones, more are hidden until none can:
//
//   - Caseloads: the programme's cell is the sum of the caseloads' cells.
//     Where any caseload's cell is hidden, hidden caseload cells must
//     together count at least k people (people are in one caseload
//     only), so the smallest shown ones are hidden with them. Comparing
//     the programme's report with every caseworker's then shows at most
//     the sum of k or more people.
//   - Figures that add up (on time + late + … = windows): where one part
//     is hidden, a second one is too, or else the total.
//   - Months: a month is hidden where any of its weeks is, so a month
//     never tells apart what its weeks hide.
//
// It repeats until nothing more is hidden.
func (c *cells) suppress(eqs []equation, rows []rowID, weeks int, months [][2]int, groups []int32) {
	c.hidden = map[cellKey]bool{}
	units := make([]unit, 0, weeks+len(months))
	for w := range weeks {
		units = append(units, unit(w))
	}
	for m := range months {
		units = append(units, monthUnit+unit(m))
	}
	for g := range c.counts {
		for r := range numRows {
			for _, u := range units {
				k := cellKey{r, u, int32(g)}
				if a := c.get(k); a.people > 0 && a.people < c.k {
					c.hidden[k] = true
				}
			}
		}
	}
	for changed := true; changed; {
		changed = false
		hide := func(k cellKey) {
			if !c.hidden[k] && c.get(k).people > 0 {
				c.hidden[k] = true
				changed = true
			}
		}
		for m, wk := range months {
			for _, r := range rows {
				for _, g := range append([]int32{allGroup}, groups...) {
					c.month(r, monthUnit+unit(m), wk, g, hide)
				}
			}
		}
		for _, u := range units {
			for _, r := range rows {
				c.caseloads(r, u, groups, hide)
			}
			for _, e := range eqs {
				for _, g := range append([]int32{allGroup}, groups...) {
					c.sum(e, u, g, hide)
				}
			}
		}
	}
}

// month hides a month where any of its weeks is hidden, and where the
// month is hidden but all its weeks are shown (they would add up to it),
// the smallest week.
func (c *cells) month(r rowID, m unit, wk [2]int, g int32, hide func(cellKey)) {
	var shown []cellKey
	for w := wk[0]; w < wk[0]+wk[1]; w++ {
		k := cellKey{r, unit(w), g}
		switch {
		case c.get(k).people == 0:
		case c.hidden[k]:
			hide(cellKey{r, m, g})
			return
		default:
			shown = append(shown, k)
		}
	}
	if c.hidden[cellKey{r, m, g}] && len(shown) > 0 {
		hide(slices.MinFunc(shown, func(a, b cellKey) int { return int(c.get(a).people - c.get(b).people) }))
	}
}

// caseloads hides caseload cells of row r at u until the hidden ones
// count k people or more together, or all are hidden.
func (c *cells) caseloads(r rowID, u unit, groups []int32, hide func(cellKey)) {
	var hiddenPeople int32
	var shown []cellKey
	for _, g := range groups {
		k := cellKey{r, u, g}
		switch a := c.get(k); {
		case a.people == 0:
		case c.hidden[k]:
			hiddenPeople += a.people
		default:
			shown = append(shown, k)
		}
	}
	if hiddenPeople == 0 && !c.hidden[cellKey{r, u, allGroup}] || hiddenPeople >= c.k {
		return
	}
	// Either the programme's figure is hidden and the caseloads' would
	// add up to it, or too few people are hidden together.
	// Smallest first, by caseworker ID among equals: the same data always
	// hides the same cells, or two identical requests could show between
	// them what each hides.
	sort.SliceStable(shown, func(i, j int) bool {
		a, b := c.get(shown[i]).people, c.get(shown[j]).people
		return a < b || a == b && c.names[shown[i].group] < c.names[shown[j].group]
	})
	for _, k := range shown {
		hide(k)
		if hiddenPeople += c.get(k).people; hiddenPeople >= c.k {
			return
		}
	}
}

// sum hides a second part, or else the total, where the total is shown
// and exactly one part is hidden; and a part where the total is hidden
// and no part is, since the parts would add up to it.
func (c *cells) sum(e equation, u unit, g int32, hide func(cellKey)) {
	tk := cellKey{e.total, u, g}
	hidden := 0
	var shown []cellKey
	for _, r := range e.parts {
		k := cellKey{r, u, g}
		switch {
		case c.get(k).people == 0:
		case c.hidden[k]:
			hidden++
		default:
			shown = append(shown, k)
		}
	}
	smallest := func() {
		hide(slices.MinFunc(shown, func(a, b cellKey) int { return int(c.get(a).people - c.get(b).people) }))
	}
	switch {
	case c.hidden[tk]:
		if hidden == 0 && len(shown) > 0 {
			smallest()
		}
	case hidden == 1 && (len(shown) == 0 || e.spareTotal):
		hide(tk)
	case hidden == 1:
		smallest()
	}
}
