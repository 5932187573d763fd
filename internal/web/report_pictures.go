package web

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/waymark-atd/waymark/internal/report"
)

// The report's pictures, drawn on the server as inline SVG like the
// check-in strip: no script, colours and patterns from the stylesheet,
// and every picture has its numbers in the table beside it.

// reportOutcomes are the outcomes stacked in a bar, the person's own acts
// first, "missed" last.
var reportOutcomes = []struct{ key, label string }{
	{"on_time", "on time"}, {"late", "late"}, {"reported_unable", "reported unable"}, {"excused", "excused"},
	{"paused", "paused"}, {"not_consented", "before consent"}, {"opted_out", "after STOP"},
	{"not_delivered", "not delivered"}, {"missed", "missed"},
}

// rowOf finds a figure of the report by its key.
func rowOf(r report.Report, key string) (report.Row, bool) {
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			if row.Key == key {
				return row, true
			}
		}
	}
	return report.Row{}, false
}

func cellValue(row report.Row, i int) (float64, bool) {
	if i >= len(row.Cells) || row.Cells[i].Value == nil {
		return 0, false
	}
	return *row.Cells[i].Value, true
}

// outcomeBars draws a bar a period, as tall as its windows, stacked by
// outcome. What is hidden is one hatched grey part ("fewer than …"); a
// period whose windows are hidden has no bar, only the words.
func outcomeBars(r report.Report, fewer string) template.HTML {
	const barW, gap, h, top, bottom, left = 18, 8, 160, 10, 46, 40
	n := len(r.Periods)
	width := left + n*(barW+gap) + gap
	windows, _ := rowOf(r, "windows")
	most := 0.0
	for i := range n {
		if v, ok := cellValue(windows, i); ok && v > most {
			most = v
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="report-chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="outcomes-title" xmlns="http://www.w3.org/2000/svg">`,
		width, h+top+bottom, width, h+top+bottom)
	b.WriteString(`<title id="outcomes-title">Check-in windows by outcome, one bar a period, oldest on the left; the table "Reporting" below gives every number</title>`)
	b.WriteString(`<defs><pattern id="strip-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="4" height="4" class="hatch-bg"/><rect width="1.5" height="4" class="hatch-line"/></pattern>` +
		`<pattern id="report-dots" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" class="dots-bg"/><circle cx="2.5" cy="2.5" r="1.2" class="dots-dot"/></pattern>` +
		`<pattern id="report-hidden" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hidden-bg"/><rect width="1" height="6" class="hidden-line"/></pattern></defs>`)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left-4, top+h, width, top+h)
	if most > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, left-6, top+8, trimFloat(most))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, left-6, top+h)
	}
	for i, p := range r.Periods {
		x := left + gap + i*(barW+gap)
		label := p.From.AddDate(0, 0, 6).Format("Jan 06")
		if r.By == report.ByWeek {
			label = p.From.Format("2 Jan")
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" transform="rotate(-60 %d %d)" text-anchor="end">%s</text>`,
			x+barW/2, top+h+12, x+barW/2, top+h+12, template.HTMLEscapeString(label))
		total, ok := cellValue(windows, i)
		if !ok || most == 0 {
			if windows.Cells[i].Hidden {
				fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" transform="rotate(-90 %d %d)">%s</text>`, x+barW/2+4, top+h-4, x+barW/2+4, top+h-4, fewer)
			}
			continue
		}
		y := float64(top + h)
		shown := 0.0
		draw := func(class, what string, v float64) {
			hgt := v / most * h
			y -= hgt
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" class="cell %s"><title>%s: %s</title></rect>`,
				x, y, barW, hgt, class, template.HTMLEscapeString(p.Label), template.HTMLEscapeString(what))
		}
		for _, o := range reportOutcomes {
			row, _ := rowOf(r, o.key)
			v, ok := cellValue(row, i)
			if !ok || v == 0 {
				continue
			}
			shown += v
			draw(o.key, fmt.Sprintf("%s %s of %s", o.label, trimFloat(v), trimFloat(total)), v)
		}
		if rest := total - shown; rest > 0 {
			draw("hidden", fmt.Sprintf("%s windows in outcomes of %s people", trimFloat(rest), fewer), rest)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// burdenLine draws messages sent to a person in a week: the median (a
// solid line, round marks) and nine in ten (a dashed line, square marks).
// A hidden period is a gap.
func burdenLine(r report.Report) template.HTML {
	const step, h, top, bottom, left = 26, 120, 12, 46, 40
	n := len(r.Periods)
	width := left + n*step + step
	med, _ := rowOf(r, "messages_per_person_week_median")
	p90, _ := rowOf(r, "messages_per_person_week_p90")
	most := 1.0
	for i := range n {
		for _, row := range []report.Row{med, p90} {
			if v, ok := cellValue(row, i); ok && v > most {
				most = v
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="report-chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="burden-title" xmlns="http://www.w3.org/2000/svg">`,
		width, h+top+bottom, width, h+top+bottom)
	b.WriteString(`<title id="burden-title">Messages sent to a person in a week: the median as a solid line with round marks, nine in ten as a dashed line with square marks; the table "Burden on the person" gives every number</title>`)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left-4, top+h, width, top+h)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, left-6, top+8, trimFloat(most))
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, left-6, top+h)
	xOf := func(i int) int { return left + step/2 + i*step }
	yOf := func(v float64) float64 { return float64(top+h) - v/most*h }
	for i, p := range r.Periods {
		label := p.From.Format("2 Jan")
		if r.By == report.ByMonth {
			label = p.From.AddDate(0, 0, 6).Format("Jan 06")
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" transform="rotate(-60 %d %d)" text-anchor="end">%s</text>`,
			xOf(i), top+h+12, xOf(i), top+h+12, template.HTMLEscapeString(label))
	}
	for _, line := range []struct {
		row         report.Row
		class, what string
		square      bool
	}{{p90, "line p90", "nine in ten get no more than", true}, {med, "line median", "median", false}} {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" class="%s"/>`, strings.Join(pts, " "), line.class)
			}
			pts = pts[:0]
		}
		for i := range n {
			v, ok := cellValue(line.row, i)
			if !ok {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%d,%.1f", xOf(i), yOf(v)))
			title := fmt.Sprintf("%s: %s %s", r.Periods[i].Label, line.what, trimFloat(v))
			if line.square {
				fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="6" height="6" class="mark p90"><title>%s</title></rect>`, xOf(i)-3, yOf(v)-3, template.HTMLEscapeString(title))
			} else {
				fmt.Fprintf(&b, `<circle cx="%d" cy="%.1f" r="3.5" class="mark median"><title>%s</title></circle>`, xOf(i), yOf(v), template.HTMLEscapeString(title))
			}
		}
		flush()
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trimFloat writes a figure without needless decimals: 12, 0.5, 3.25.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
