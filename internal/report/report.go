// Package report computes the programme report: how reporting goes (each
// check-in window's outcome from the ledger, by week or month, by
// channel), how caseworkers follow up, what reporting costs the people
// who report, and what reaching them costs the programme. It counts
// only; every figure is an aggregate over at least a programme-set number
// of people, and no figure can be worked out from others that would tell
// apart fewer (suppress in cells.go).
//
// It reads only records Waymark keeps already (internal/ledger's windows,
// check-ins, sent messages, attention items, appointments): a report adds
// nothing to what is known about anyone.
package report

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/ledger"
	"github.com/waymark-atd/waymark/internal/store"
)

// DefaultMinPeople is the fewest people a figure may count unless
// programme.yaml says otherwise.
const DefaultMinPeople = 10

// Options say what a report covers and the programme's settings it uses.
type Options struct {
	From, To time.Time // local dates; widened to whole periods
	By       By
	// MinPeople is the fewest people a shown figure counts (default 10).
	MinPeople int
	// Caseworker narrows the report to one caseload; empty is the whole
	// programme. Hiding is decided over every caseload at once, so the
	// narrowed report hides at least what makes it safe to compare.
	Caseworker string
	// ShortWindow: a window shorter than this is counted as short (the
	// programme's minimum); zero counts none.
	ShortWindow time.Duration
	// QuietStart and QuietEnd are the programme's quiet hours, local time
	// since midnight; equal means none.
	QuietStart, QuietEnd time.Duration
	// SegmentPrice is what one SMS segment costs, in Currency.
	SegmentPrice float64
	Currency     string
}

// Person is what the report reads of one participant: their records,
// already filtered to nothing but what the figures need. Nothing of it
// leaves the package except as counts.
type Person struct {
	Caseworker   string
	Location     *time.Location // their time zone; nil is UTC
	Windows      []store.Window
	CheckIns     []store.CheckIn
	Messages     []store.OutboundMessage
	Attention    []store.AttentionItem
	Appointments []store.Appointment
}

// Builder adds people one at a time, so that a large programme is never
// held in memory whole.
type Builder struct {
	opt    Options
	span   span
	cells  *cells
	groups map[string]int32
	people int32
	// weeks each person had a window in, reused from person to person.
	weekMsgs []float64
	weekSeen []bool
	monthOf  []unit // each week's month, in a monthly report
}

// NewBuilder starts a report.
func NewBuilder(o Options) *Builder {
	if o.MinPeople <= 0 {
		o.MinPeople = DefaultMinPeople
	}
	if o.By != ByMonth {
		o.By = ByWeek
	}
	sp := spanOf(o.From, o.To, o.By)
	months := 0
	if o.By == ByMonth {
		months = len(sp.periods())
	}
	b := &Builder{opt: o, span: sp, cells: newCells(o.MinPeople, sp.weeks, months), groups: map[string]int32{},
		weekMsgs: make([]float64, sp.weeks), weekSeen: make([]bool, sp.weeks)}
	if o.By == ByMonth {
		b.monthOf = make([]unit, sp.weeks)
		for i, p := range sp.periods() {
			for w := p.first; w < p.first+p.weeks; w++ {
				b.monthOf[w] = monthUnit + unit(i)
			}
		}
	}
	return b
}

// Since is the earliest moment a record can count: the report's first
// local day began no earlier than 14 hours before its UTC midnight.
func (b *Builder) Since() time.Time { return b.span.first.time().Add(-14 * time.Hour) }

// Add counts one person.
func (b *Builder) Add(p Person) {
	b.people++
	me := b.people
	g, ok := b.groups[p.Caseworker]
	if !ok {
		g = int32(len(b.groups) + 1)
		b.groups[p.Caseworker] = g
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) (int, bool) { return b.span.week(dateOf(t.In(loc))) }
	count := func(r rowID, w int, n float64) {
		b.cells.add(r, unit(w), g, me, n)
		if m, ok := b.month(w); ok {
			b.cells.add(r, m, g, me, n)
		}
	}
	value := func(r rowID, w int, v float64) {
		b.cells.value(r, unit(w), g, me, v)
		if m, ok := b.month(w); ok {
			b.cells.value(r, m, g, me, v)
		}
	}
	clear(b.weekMsgs)
	clear(b.weekSeen)

	checkIns := make(map[string]store.Channel, len(p.CheckIns))
	for _, c := range p.CheckIns {
		checkIns[c.ID] = c.Channel
	}
	items := make(map[string]store.AttentionItem, len(p.Attention))
	for _, a := range p.Attention {
		items[a.ID] = a
	}

	for _, win := range p.Windows {
		if !ledger.Decided(win.Outcome) {
			continue // still open: counted once the ledger decides it
		}
		w, ok := at(win.OpensAt)
		if !ok {
			continue
		}
		b.weekSeen[w] = true
		count(rowWindows, w, 1)
		count(outcomeRows[win.Outcome], w, 1)
		if b.opt.ShortWindow > 0 && win.ClosesAt.Sub(win.OpensAt) < b.opt.ShortWindow {
			count(rowShortWindows, w, 1)
		}
		switch win.Outcome {
		case store.WindowOnTime, store.WindowLate:
			count(rowKept, w, 1)
			ch := checkIns[win.CheckInID]
			count(channelRow(ch), w, 1)
			if win.Texts > 0 && texted(ch) {
				value(rowTextsPerCheckIn, w, float64(win.Texts))
			}
		}
		// Follow-through is about the windows a caseworker was told were
		// missed (their item), whatever the outcome is now: one excused
		// since, or checked in late, was missed when the grace ended.
		if a, ok := items[win.AttentionID]; ok && a.Kind == store.AttentionMissed {
			count(rowFlagged, w, 1)
			if h, ok := actedOn(win, a); ok {
				count(rowMissedActed, w, 1)
				value(rowActionHours, w, h)
			}
		}
	}
	for _, c := range p.CheckIns {
		if w, ok := at(c.At); ok {
			count(rowCheckIns, w, 1)
			if c.Channel == store.MissedCall {
				count(rowCheckInsFree, w, 1)
			}
		}
	}
	for _, a := range p.Attention {
		w, ok := at(a.CreatedAt)
		if !ok {
			continue
		}
		if a.Kind == store.AttentionCantReach {
			count(rowCantReach, w, 1)
			if !a.Open() {
				count(rowCantReachResolved, w, 1)
			}
		}
		if a.Resolution == "rescheduled" {
			count(rowRescheduled, w, 1)
		}
	}
	for _, ap := range p.Appointments {
		d, err := time.Parse(time.DateOnly, ap.Date)
		if err != nil {
			continue
		}
		w, ok := b.span.week(dateOf(d))
		if !ok {
			continue
		}
		switch ap.Status {
		case store.AppointmentAttended:
			count(rowApptAttended, w, 1)
		case store.AppointmentMissed:
			count(rowApptMissed, w, 1)
		case store.AppointmentCancelled:
			count(rowApptCancelled, w, 1)
		}
	}
	for _, m := range p.Messages {
		if !left(m) {
			continue
		}
		w, ok := at(m.CreatedAt)
		if !ok {
			continue
		}
		b.weekMsgs[w]++
		if reminder(m) {
			count(rowReminders, w, 1)
			if b.quiet(m.CreatedAt.In(loc)) {
				count(rowRemindersQuiet, w, 1)
			}
		}
		ch := deliveryChannel(m.Channel)
		if ch == "" {
			continue
		}
		count(deliveryRows[ch][0], w, 1)
		switch m.Status {
		case store.Delivered, store.Read:
			count(deliveryRows[ch][1], w, 1)
		case store.Failed, store.Undelivered:
			count(deliveryRows[ch][2], w, 1)
			count(rowFailed, w, 1)
			count(familyRow(m.ErrorCode), w, 1)
		default:
			count(deliveryRows[ch][3], w, 1)
		}
		if m.Channel == store.SMS {
			count(rowSegments, w, float64(max(m.Segments, 1)))
		}
	}
	for w, seen := range b.weekSeen {
		if seen || b.weekMsgs[w] > 0 {
			value(rowMessagesPerWeek, w, b.weekMsgs[w])
		}
	}
}

// texted reports whether a check-in by ch was a text the person paid
// for: the simulator's are tries, and calls are counted as free.
func texted(ch store.Channel) bool {
	return ch == store.SMS || ch == store.WhatsApp || ch == store.Telegram
}

// month is the month unit week w belongs to, in a monthly report.
func (b *Builder) month(w int) (unit, bool) {
	if b.monthOf == nil {
		return 0, false
	}
	return b.monthOf[w], true
}

// actedOn reports whether a caseworker acted on a window flagged as
// missed (dealt with its item a, or excused the window), and how many
// hours after the item was raised. The system closing the item (a late
// check-in) is no action.
func actedOn(w store.Window, a store.AttentionItem) (float64, bool) {
	if !a.Open() && a.ResolvedBy != "" && a.ResolvedBy != store.ResolvedBySystem {
		return max(a.ResolvedAt.Sub(a.CreatedAt).Hours(), 0), true
	}
	if !w.ExcusedAt.IsZero() && w.ExcusedBy != "" {
		return max(w.ExcusedAt.Sub(a.CreatedAt).Hours(), 0), true
	}
	return 0, false
}

// left reports whether a message left Waymark: taken by a provider, or
// failed there. One Waymark refused before sending (no link, opted out)
// reached no phone and is not counted.
func left(m store.OutboundMessage) bool {
	switch m.Status {
	case store.Pending:
		return false
	case store.Failed:
		return m.ProviderID != "" || isProviderCode(m.ErrorCode)
	}
	return true
}

func isProviderCode(code string) bool {
	_, rest, ok := strings.Cut(code, ":")
	if ok {
		code = rest
	}
	return code != "" && strings.Trim(code, "0123456789") == ""
}

// reminder reports whether Waymark sent m unasked: a window's prompt or
// reminder (they carry the window's Ref), an appointment reminder, a
// follow-up, a consent question asked again. Replies to the person are
// not reminders.
func reminder(m store.OutboundMessage) bool {
	if m.Ref != "" {
		return true
	}
	return strings.HasPrefix(m.Kind, "reminder.") || m.Kind == "appointment.followup" || m.Kind == "consent.reask" ||
		m.Kind == "checkin.missed"
}

// quiet reports whether local time t is in the programme's quiet hours.
func (b *Builder) quiet(t time.Time) bool {
	s, e := b.opt.QuietStart, b.opt.QuietEnd
	if s == e {
		return false
	}
	h, m, sec := t.Clock()
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if s < e {
		return d >= s && d < e
	}
	return d >= s || d < e
}

// percentile of sorted values, by the nearest-rank rule.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedCopy(v []float64) []float64 {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}
