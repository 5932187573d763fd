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
			return nil, invalid("schedule: every how many days? give a whole number")
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
	Class, Label string
	N            int
}

type checkInStrip struct {
	SVG     template.HTML
	Counts  []stripCount
	ByDay   bool // no schedule: one cell a day, checked in or not
	Windows int
}

// Cell kinds, in the order the legend lists them.
var stripKinds = []struct{ class, label string }{
	{"on_time", "on time"}, {"late", "late"}, {"missed", "missed"}, {"excused", "excused"},
	{"paused", "paused"}, {"unreached", "could not be reached"}, {"open", "open or in grace"}, {"none", "no record"},
	{"checked_in", "checked in"}, {"no_checkin", "no check-in"},
}

const stripSpan = 12 * 7 * 24 * time.Hour

// checkInStrip draws the last 12 weeks: one cell per check-in window
// (on time, late, missed, excused, paused, not reached), or one per day
// when the person has no schedule.
func (s *Server) checkInStrip(ctx context.Context, p store.Participant, now time.Time) (checkInStrip, error) {
	from := now.Add(-stripSpan)
	checkIns, err := s.deps.Store.CheckInsOf(ctx, p.ID, from.Add(-24*time.Hour))
	if err != nil {
		return checkInStrip{}, err
	}
	var cells []stripCell
	cal, calErr := schedule.CalendarOf(p)
	if p.Schedule == nil || calErr != nil {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		day := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -83)
		for i := 0; i < 84; i++ {
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

	items, err := s.deps.Store.ListAttention(ctx, false)
	if err != nil {
		return checkInStrip{}, err
	}
	byRef := map[string]store.AttentionItem{}
	for _, it := range items {
		if it.ParticipantID == p.ID && it.Ref != "" {
			if old, ok := byRef[it.Ref]; !ok || it.CreatedAt.After(old.CreatedAt) {
				byRef[it.Ref] = it
			}
		}
	}
	pauses, err := s.pauseSpans(ctx, p, now)
	if err != nil {
		return checkInStrip{}, err
	}
	grace := s.programme().CheckIn.GracePeriod.D()
	w, ok := cal.From(from)
	for i := 0; ok && w.Start.Before(now) && i < 500; i++ {
		next, hasNext := cal.Next(w)
		until := now
		if hasNext && next.Start.Before(until) {
			until = next.Start
		}
		class := "none"
		for _, ci := range checkIns {
			switch {
			case !ci.At.Before(w.Start) && ci.At.Before(w.End):
				class = "on_time"
			case class != "on_time" && !ci.At.Before(w.End) && ci.At.Before(until):
				class = "late"
			}
		}
		if class == "none" {
			if it, ok := byRef[w.Ref(p.ID)]; ok {
				switch {
				case it.Resolution == "excused":
					class = "excused"
				case it.Resolution == "paused":
					class = "paused"
				case it.Kind == store.AttentionCantReach:
					class = "unreached"
				default:
					class = "missed"
				}
			} else if overlaps(pauses, w.Start, w.End) {
				class = "paused"
			} else if now.Before(w.End.Add(grace)) {
				class = "open"
			}
		}
		cells = append(cells, stripCell{class, localTime(w.Start, p.TimeZone) + " to " + localTime(w.End, p.TimeZone)})
		w, ok = next, hasNext
	}
	return drawStrip(cells, false), nil
}

type span struct{ from, to time.Time }

func overlaps(spans []span, from, to time.Time) bool {
	for _, s := range spans {
		if s.from.Before(to) && s.to.After(from) {
			return true
		}
	}
	return false
}

// pauseSpans reads from the audit log when the person was paused.
func (s *Server) pauseSpans(ctx context.Context, p store.Participant, now time.Time) ([]span, error) {
	entries, err := s.deps.Store.ListAudit(ctx, p.ID, 0)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b store.AuditEntry) int { return a.At.Compare(b.At) })
	var out []span
	var since *time.Time
	for _, e := range entries {
		switch e.Action {
		case "participant_paused":
			if since == nil {
				at := e.At
				since = &at
			}
		case "participant_resumed", "participant_exited":
			if since != nil {
				out = append(out, span{*since, e.At})
				since = nil
			}
		}
	}
	if since != nil || p.Status == store.Paused && len(out) == 0 {
		start := p.CreatedAt
		if since != nil {
			start = *since
		}
		out = append(out, span{start, now})
	}
	return out, nil
}

type stripCell struct{ class, title string }

func drawStrip(cells []stripCell, byDay bool) checkInStrip {
	const w, gap, h = 10, 3, 28
	width := max(len(cells)*(w+gap), w)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="strip" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="Check-ins over the last 12 weeks, oldest on the left" xmlns="http://www.w3.org/2000/svg">`,
		width, h, width, h)
	counts := map[string]int{}
	for i, c := range cells {
		counts[c.class]++
		label := c.class
		for _, k := range stripKinds {
			if k.class == c.class {
				label = k.label
			}
		}
		fmt.Fprintf(&b, `<rect x="%d" y="2" width="%d" height="%d" rx="2" class="cell %s"><title>%s: %s</title></rect>`,
			i*(w+gap), w, h-4, c.class, template.HTMLEscapeString(c.title), label)
	}
	b.WriteString(`</svg>`)
	st := checkInStrip{SVG: template.HTML(b.String()), ByDay: byDay, Windows: len(cells)}
	for _, k := range stripKinds {
		if counts[k.class] > 0 {
			st.Counts = append(st.Counts, stripCount{Class: k.class, Label: k.label, N: counts[k.class]})
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
