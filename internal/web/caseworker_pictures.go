package web

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// Pictures drawn on the server as inline SVG: the check-in strip, QR
// codes. No script, no image requests; colours come from classes in the
// stylesheet (the CSP allows no inline style), and every picture has a
// text equivalent beside it.

// Check-in schedule form.

type weeklyForm struct{ OpenDay, OpenTime, CloseDay, CloseTime string }

type scheduleForm struct {
	Kind                                    string // none, weekly, every
	W                                       [2]weeklyForm
	EveryDays, EveryTime, EveryLength, From string
}

func scheduleFormOf(sc *store.CheckInSchedule) scheduleForm {
	f := scheduleForm{Kind: "none", EveryDays: "7", EveryTime: "09:00", EveryLength: "1d12h"}
	if sc == nil {
		return f
	}
	f.From = sc.From
	if sc.Every != nil {
		f.Kind = "every"
		f.EveryDays, f.EveryTime, f.EveryLength = strconv.Itoa(sc.Every.Days), sc.Every.OpenTime, sc.Every.Length
		return f
	}
	f.Kind = "weekly"
	for i, w := range sc.Weekly {
		if i < len(f.W) {
			f.W[i] = weeklyForm(w)
		}
	}
	return f
}

func scheduleFormFromRequest(c echo.Context) scheduleForm {
	f := scheduleForm{Kind: c.FormValue("schedule"), EveryDays: c.FormValue("every_days"), EveryTime: c.FormValue("every_time"),
		EveryLength: c.FormValue("every_length"), From: c.FormValue("from")}
	for i := range f.W {
		p := "w" + strconv.Itoa(i) + "_"
		f.W[i] = weeklyForm{c.FormValue(p + "open_day"), c.FormValue(p + "open_time"), c.FormValue(p + "close_day"), c.FormValue(p + "close_time")}
	}
	return f
}

// scheduleFromForm reads the schedule fields of the enrol and edit forms:
// none, up to two weekly windows, or every N days.
func scheduleFromForm(c echo.Context) (*store.CheckInSchedule, error) {
	f := scheduleFormFromRequest(c)
	switch f.Kind {
	case "none":
		return nil, nil
	case "weekly":
		sc := &store.CheckInSchedule{From: strings.TrimSpace(f.From)}
		for _, w := range f.W {
			if w.OpenDay == "" {
				continue
			}
			sc.Weekly = append(sc.Weekly, store.WeeklyWindow(w))
		}
		return sc, nil
	case "every":
		days, err := strconv.Atoi(strings.TrimSpace(f.EveryDays))
		if err != nil {
			return nil, invalid("schedule: say every how many days, as a whole number")
		}
		return &store.CheckInSchedule{From: strings.TrimSpace(f.From), Every: &store.EveryDays{
			Days: days, OpenTime: strings.TrimSpace(f.EveryTime), Length: strings.TrimSpace(f.EveryLength)}}, nil
	}
	return nil, invalid("schedule: choose none, weekly or every")
}

// nextWindows describes the next n check-in windows.
func nextWindows(p store.Participant, now time.Time, n int) []string {
	if p.Schedule == nil || p.Status != store.Active {
		return nil
	}
	cal, err := schedule.CalendarOf(p)
	if err != nil {
		return nil
	}
	var out []string
	w, ok := cal.From(now)
	for ; ok && len(out) < n; w, ok = cal.Next(w) {
		out = append(out, localTime(w.Start, p.TimeZone)+" to "+localTime(w.End, p.TimeZone))
	}
	return out
}

// The check-in strip.

type stripCount struct {
	Class, Label, Letter string
	N                    int
}

// stripRow is one window of the strip in words, for the table beside it.
type stripRow struct{ When, Class, Label, Letter string }

type checkInStrip struct {
	SVG     template.HTML
	Counts  []stripCount
	Rows    []stripRow // newest first; none for the daily strip
	ByDay   bool       // no schedule: one cell a day, checked in or not
	Windows int
}

// Cell kinds, in the order the legend lists them: the ledger's outcomes
// of a window (internal/ledger), in words a caseworker reads at a glance,
// then the two of a day when the person has no schedule. "Not delivered"
// says outright that it is not a miss, and its cells are hatched as well
// as coloured, so that no one takes it for one.
var stripKinds = []struct{ class, label, letter string }{
	{string(store.WindowOnTime), "on time", "✓"},
	{string(store.WindowLate), "late", "L"},
	{string(store.WindowReportedUnable), "reported they could not make it", "U"},
	{string(store.WindowExcused), "excused", "E"},
	{string(store.WindowPaused), "paused", "P"},
	{string(store.WindowNotConsented), "not yet agreed to messages", "A"},
	{string(store.WindowOptedOut), "opted out of messages", "S"},
	{string(store.WindowNotDelivered), "not delivered: our messages did not reach them (not a miss)", "N"},
	{string(store.WindowMissed), "missed", "M"},
	{string(store.WindowOpen), "open or in grace", "…"},
	{"checked_in", "checked in", "✓"}, {"no_checkin", "no check-in", "·"},
}

func stripLabel(class string) string {
	for _, k := range stripKinds {
		if k.class == class {
			return k.label
		}
	}
	return strings.ReplaceAll(class, "_", " ")
}

// stripLetter is the mark drawn in a cell, so that no outcome is told
// from another by colour alone (in greyscale, or with colour blindness).
func stripLetter(class string) string {
	for _, k := range stripKinds {
		if k.class == class {
			return k.letter
		}
	}
	return "?"
}

const stripSpan = 12 * 7 * 24 * time.Hour

// checkInStrip draws the last 12 weeks: one cell per check-in window with
// the ledger's outcome for it, or one per day when the person has no
// schedule.
func (s *Server) checkInStrip(ctx context.Context, p store.Participant, now time.Time) (checkInStrip, error) {
	from := now.Add(-stripSpan)
	if _, err := schedule.CalendarOf(p); p.Schedule == nil || err != nil {
		return s.dailyStrip(ctx, p, now)
	}
	ws, _, err := s.windowPage(ctx, p, from, now)
	if err != nil {
		return checkInStrip{}, err
	}
	cells := make([]stripCell, 0, len(ws))
	for _, w := range ws {
		cells = append(cells, stripCell{string(outcomeOf(w)), localTime(w.OpensAt, p.TimeZone) + " to " + localTime(w.ClosesAt, p.TimeZone)})
	}
	st := drawStrip(cells, false)
	for _, cell := range slices.Backward(cells) {
		st.Rows = append(st.Rows, stripRow{When: cell.title, Class: cell.class, Label: stripLabel(cell.class), Letter: stripLetter(cell.class)})
	}
	return st, nil
}

// dailyStrip marks each of the last 84 days checked in or not, for a
// person with no check-in schedule.
func (s *Server) dailyStrip(ctx context.Context, p store.Participant, now time.Time) (checkInStrip, error) {
	checkIns, err := s.deps.Store.CheckInsOf(ctx, p.ID, now.Add(-stripSpan-24*time.Hour))
	if err != nil {
		return checkInStrip{}, err
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	day := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -83)
	cells := make([]stripCell, 0, 84)
	for i := range 84 {
		start, end := day.AddDate(0, 0, i), day.AddDate(0, 0, i+1)
		class := "no_checkin"
		for _, ci := range checkIns {
			if !ci.At.Before(start) && ci.At.Before(end) {
				class = "checked_in"
			}
		}
		cells = append(cells, stripCell{class, start.Format("Mon 2 Jan")})
	}
	return drawStrip(cells, true), nil
}

type stripCell struct{ class, title string }

func drawStrip(cells []stripCell, byDay bool) checkInStrip {
	const w, gap, h = 16, 2, 30
	width := max(len(cells)*(w+gap), w)
	what := "Check-in windows"
	if byDay {
		what = "Check-ins by day"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="strip" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s over the last 12 weeks, oldest on the left; the list below counts them" xmlns="http://www.w3.org/2000/svg">`,
		width, h, width, h, what)
	// The hatching of "not delivered" cells (.cell.not_delivered in the
	// stylesheet): a pattern, so that it differs from a miss in more
	// than colour.
	b.WriteString(`<defs><pattern id="strip-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="4" height="4" class="hatch-bg"/><rect width="1.5" height="4" class="hatch-line"/></pattern></defs>`)
	counts := map[string]int{}
	for i, c := range cells {
		counts[c.class]++
		fmt.Fprintf(&b, `<g><title>%s: %s</title><rect x="%d" y="2" width="%d" height="%d" rx="2" class="cell %s"/><text x="%d" y="%d" class="cell-letter %s" text-anchor="middle">%s</text></g>`,
			template.HTMLEscapeString(c.title), template.HTMLEscapeString(stripLabel(c.class)), i*(w+gap), w, h-4, c.class,
			i*(w+gap)+w/2, h/2+5, c.class, stripLetter(c.class))
	}
	b.WriteString(`</svg>`)
	st := checkInStrip{SVG: template.HTML(b.String()), ByDay: byDay, Windows: len(cells)}
	for _, k := range stripKinds {
		if counts[k.class] > 0 {
			st.Counts = append(st.Counts, stripCount{Class: k.class, Label: k.label, Letter: k.letter, N: counts[k.class]})
		}
	}
	return st
}

// qrSVG draws content as a QR code (medium error correction, enough for
// a phone camera off a printed page or a screen).
func qrSVG(content, label string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("web: QR code: %w", err)
	}
	bits := q.Bitmap() // with its quiet zone
	n := len(bits)
	var path strings.Builder
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	svg := fmt.Sprintf(`<svg class="qr" viewBox="0 0 %d %d" width="232" height="232" role="img" aria-label="%s" shape-rendering="crispEdges" xmlns="http://www.w3.org/2000/svg"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		n, n, template.HTMLEscapeString(label), n, n, path.String())
	return template.HTML(svg), nil
}
