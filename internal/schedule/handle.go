package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/ledger"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// Message IDs the scheduler sends outside flows.
const (
	msgWindowOpen  = "checkin.window_open" // only when programme.yaml names no check-in flow
	msgClosingSoon = "checkin.closing_soon"
	msgMissed      = "checkin.missed"
	msgFollowUp    = "appointment.followup"
)

// Reasons for an attention item of kind cant_reach after a window passed.
const (
	ReasonNoChannel   = "no_channel"  // the person never linked a phone or Telegram
	ReasonUnreachable = "unreachable" // their link failed; the provider gave no code
	// ReasonNotDelivered: no prompt for the window reached the person
	// (every one failed, or none could leave the outbox), and the
	// provider gave no code.
	ReasonNotDelivered = "not_delivered"
	// ReasonNotSent: no prompt for the window was ever sent (the scheduler
	// was stopped through it, say): nobody asked the person.
	ReasonNotSent = "not_sent"
	// ReasonNoTemplate: the prompts went to WhatsApp outside the person's
	// 24-hour window with no approved template (docs/whatsapp.md), and
	// no SMS to fall back on.
	ReasonNoTemplate = "whatsapp:no_template"
)

// keepMarks is how long an acted-on mark outlives its item's due time.
const keepMarks = 14 * 24 * time.Hour

// outcome says what became of an item, for the log.
type outcome string

const (
	sent      outcome = "sent"
	stale     outcome = "stale" // the plan changed: a schedule, appointment or programme edit
	checkedIn outcome = "checked_in"
	paused    outcome = "paused"
	exited    outcome = "exited"
	optedOut  outcome = "opted_out"
	actedOn   outcome = "acted_on_before"
	missed    outcome = "missed"
	cantReach outcome = "cant_reach"
	reported  outcome = "reported" // "can't make it" or excused: no reminder
	// notConsented: the person has not agreed to get messages.
	notConsented outcome = "not_consented"
	notMissed    outcome = "not_missed"
	unknownOne   outcome = "unknown_kind"
)

// handle decides about one due item at now, acts on it, plans the
// participant's next items and ends the item with finish. An error leaves
// the item for another try.
func (s *Scheduler) handle(ctx context.Context, it store.DueItem, now time.Time, finish func(context.Context, store.DueItem) error) error {
	p, err := s.store.GetParticipant(ctx, it.ParticipantID)
	if errors.Is(err, store.ErrNotFound) {
		return finish(ctx, it)
	}
	if err != nil {
		return fmt.Errorf("schedule: %s: participant: %w", it.ID, err)
	}
	if s.quietNow(p, now) {
		// Plans keep clear of quiet hours, but a scheduler that was stopped
		// catches up whenever it starts again: nothing goes out at night,
		// least of all to a child. Left unfinished, the item comes round
		// again when its lease ends, and is handled once the night is over.
		s.log.Debug("due item held for quiet hours", "participant", p.ID, "kind", it.Kind)
		return nil
	}
	var out outcome
	pl := s.plannerFor(it, now)
	switch it.Kind {
	case KindWindowOpen, KindClosingSoon, KindMissCheck:
		out, err = s.handleWindow(ctx, oneByOne{s}, pl, p, it, now)
	case KindAppointment, KindFollowUp:
		out, err = s.handleAppointment(ctx, oneByOne{s}, pl, p, it, now)
	case KindConsentAsk, KindConsentLapse:
		out, err = s.handleConsent(ctx, p, it, now)
	default:
		out = unknownOne
	}
	if err != nil {
		return fmt.Errorf("schedule: %s: %w", it.ID, err)
	}
	s.acted(p, it, out, now)
	if err := s.replanFrom(ctx, p.ID, &p, pl, now); err != nil {
		// The item is done; planning is tried again with the next item or
		// the caseworker's next change.
		s.log.Warn("replan after due item", "participant", p.ID, "err", err)
	}
	return finish(ctx, it)
}

// acted logs what became of an item, and tells Observe of a message handed
// on or a miss recorded.
func (s *Scheduler) acted(p store.Participant, it store.DueItem, out outcome, now time.Time) {
	s.log.Debug("due item", "participant", p.ID, "kind", it.Kind, "outcome", string(out), "late_by", now.Sub(it.DueAt))
	if s.opts.Observe != nil && (out == sent || out == missed || out == cantReach) {
		s.opts.Observe(it.Kind, s.clock.Now().Sub(it.DueAt))
	}
}

// access is how handling an item reads what it needs beyond the person's
// record and hands on what it does: one item at a time (oneByOne), or
// inside a batch (inBatch), from what the batch read and into the turn
// the batch applies.
type access interface {
	appointment(ctx context.Context, id string) (store.Appointment, error)
	start(ctx context.Context, pid, flowID string, vars map[string]string, once conversation.Once) error
	notify(ctx context.Context, pid, messageID string, vars map[string]string, once conversation.Once) error
	// facts are the person's facts from since, which judging a window
	// that opened then reads.
	facts(ctx context.Context, p store.Participant, since time.Time) (personFacts, error)
	// record applies a turn that records a window's outcome, as
	// store.ApplyTurn does.
	record(ctx context.Context, t store.Turn) error
}

// oneByOne reaches the store and the conversation service as an item is
// handled.
type oneByOne struct{ s *Scheduler }

func (o oneByOne) appointment(ctx context.Context, id string) (store.Appointment, error) {
	return o.s.store.GetAppointment(ctx, id)
}

func (o oneByOne) start(ctx context.Context, pid, flowID string, vars map[string]string, once conversation.Once) error {
	return o.s.conv.StartOnce(ctx, pid, flowID, vars, once)
}

func (o oneByOne) notify(ctx context.Context, pid, messageID string, vars map[string]string, once conversation.Once) error {
	return o.s.conv.NotifyOnce(ctx, pid, messageID, vars, once)
}

func (o oneByOne) facts(ctx context.Context, p store.Participant, since time.Time) (personFacts, error) {
	return o.s.personFacts(ctx, p, since)
}

func (o oneByOne) record(ctx context.Context, t store.Turn) error { return o.s.store.ApplyTurn(ctx, t) }

// quietNow reports whether now falls in the participant's quiet hours: the
// programme's, and a child's night whatever the programme says.
func (s *Scheduler) quietNow(p store.Participant, now time.Time) bool {
	r, err := rulesOf(s.conv.Content().Flows.Programme)
	if err != nil {
		return false
	}
	loc, err := location(p.TimeZone)
	if err != nil {
		return false
	}
	q := r.quiet
	if p.Child {
		q = q.withChildNight()
	}
	return q.inside(now, loc)
}

// why returns the reason a participant gets nothing now, if any. A paused
// person gets no reminders and no misses; an opted-out person asked for
// silence, and a window passing meanwhile is not held against them.
func why(p store.Participant) (outcome, bool) {
	switch {
	case p.Status == store.Exited:
		return exited, true
	case p.Status == store.Paused:
		return paused, true
	case p.OptedOut:
		return optedOut, true
	}
	return "", false
}

// plannerFor is the planner of handling it at now: judging it and
// planning the person's next items walk their calendar once.
func (s *Scheduler) plannerFor(it store.DueItem, now time.Time) *planner {
	return forItem(s.live.Content().Flows.Programme, it, now)
}

// stillPlanned reports whether Plan, asked just before the item fell due
// with today's facts, would plan the same item at the same time. This one
// check makes every edit safe: a changed schedule or time zone, a moved or
// cancelled appointment, a new programme.yaml all make old items stale,
// and stale items are dropped instead of sent.
//
// An item is also stale when a later one about the same thing is due by
// now too: after the scheduler was stopped for a while, the person gets
// the latest reminder, not every one they would have had.
func stillPlanned(pl *planner, p store.Participant, appts []store.Appointment, it store.DueItem, now time.Time) bool {
	want, _ := pl.plan(PlanInput{Participant: p, Appointments: appts, Now: judgedAt(it)})
	found := false
	for _, w := range want {
		switch {
		case w.ID == it.ID:
			if !w.DueAt.Equal(it.DueAt) || w.Kind != it.Kind {
				return false
			}
			found = true
		case w.Ref == it.Ref && w.Kind != KindMissCheck && w.DueAt.After(it.DueAt) && !w.DueAt.After(now):
			if it.Kind != KindMissCheck {
				return false // superseded
			}
		}
	}
	return found
}

// sendOnce hands a message to the conversation service at most once for
// key: the key is recorded with the message's turn, until keep, so a step
// is never done twice, even when an item is handled again after its lease
// ran out mid-way, or planned again after it was done.
func sendOnce(key string, keep time.Time, ref string, send func(conversation.Once) error) (outcome, error) {
	err := send(conversation.Once{Key: key, Until: keep, Ref: ref})
	if errors.Is(err, conversation.ErrHandledBefore) {
		return actedOn, nil
	}
	if err != nil {
		return "", err
	}
	return sent, nil
}

func (s *Scheduler) handleWindow(ctx context.Context, via access, pl *planner, p store.Participant, it store.DueItem, now time.Time) (outcome, error) {
	if p.Status == store.Exited {
		return exited, nil
	}
	if !stillPlanned(pl, p, nil, it, now) {
		return stale, nil
	}
	cal, err := CalendarOf(p)
	if err != nil {
		return "", err
	}
	w, ok := windowOf(it)
	if !ok {
		return stale, nil
	}
	if it.Kind == KindMissCheck {
		return s.decideWindow(ctx, via, p, cal, it, w, now, staleTries)
	}
	// A paused, opted-out or not yet consenting person is sent nothing;
	// their window is still decided, and never as missed.
	if o, skip := why(p); skip {
		return o, nil
	}
	if !p.Consented() {
		return notConsented, nil
	}
	if !now.Before(w.End) {
		return stale, nil // a reminder for a window that has closed
	}
	if it.Kind == KindWindowOpen && justOpened(w, now) {
		// Nothing can have happened yet in a window opening this minute:
		// the prompt goes without reading the window's facts. One held
		// for quiet hours, or caught up after a stop, reads them: the
		// person may have checked in or reported meanwhile.
		return s.askWindow(ctx, via, p, cal, it, w, "")
	}
	pf, err := via.facts(ctx, p, w.Start)
	if err != nil {
		return "", err
	}
	switch ledger.Judge(pf.window(s.Ledger, p, cal, w, now)).Outcome {
	case store.WindowOnTime, store.WindowLate:
		return checkedIn, nil
	case store.WindowReportedUnable, store.WindowExcused:
		return reported, nil // they told us: no reminder, no "closing soon"
	}
	stage := ""
	if it.Kind == KindClosingSoon {
		stage = stageClosing
	}
	return s.askWindow(ctx, via, p, cal, it, w, stage)
}

// justOpened reports whether window w opened less than a minute before
// now, too soon for anything to have happened in it.
func justOpened(w Window, now time.Time) bool { return now.Sub(w.Start) < time.Minute }

// factsSince is when the facts that handling it reads at now begin: the
// opening of its window, for an item that judges its window; zero for one
// that reads none.
func factsSince(it store.DueItem, now time.Time) time.Time {
	w, ok := windowOf(it)
	if !ok || it.Kind == KindWindowOpen && justOpened(w, now) {
		return time.Time{}
	}
	switch it.Kind {
	case KindWindowOpen, KindClosingSoon, KindMissCheck:
		return w.Start
	}
	return time.Time{}
}

// recordedKey marks a window's outcome as recorded by its miss check.
func recordedKey(it store.DueItem) string { return dueKey(it) + ":recorded" }

// staleTries is how often a window's decision is judged again when a turn
// of the person's lands in between.
const staleTries = 4

// Stages of the check-in flow's question (flows/checkin.yaml branches on
// var.Stage): the prompt when the window opens, the reminder before it
// closes, and the note after a miss. Each is a question with the same
// numbered choices, so "reply 1" always means what it says.
const (
	stageClosing = "closing"
	stageMissed  = "missed"
)

// askWindow starts the check-in flow for a window at stage, once per due
// item. Its messages carry the window's ref, so that the ledger knows
// whether any reached the person.
func (s *Scheduler) askWindow(ctx context.Context, via access, p store.Participant, cal *Calendar, it store.DueItem, w Window, stage string) (outcome, error) {
	c := s.conv.Content()
	vars := s.windowVars(c, p, w, cal.loc)
	if stage != "" {
		vars["Stage"] = stage
	}
	key, keep := dueKey(it), it.DueAt.Add(keepMarks)
	if stage == stageMissed {
		key += ":message"
	}
	return sendOnce(key, keep, w.Ref(p.ID), func(once conversation.Once) error {
		if id := c.Flows.Programme.Flows.CheckIn; id != "" && c.Flows.Flows[id] != nil {
			return via.start(ctx, p.ID, id, vars, once)
		}
		msg := map[string]string{"": msgWindowOpen, stageClosing: msgClosingSoon, stageMissed: msgMissed}[stage]
		return via.notify(ctx, p.ID, msg, vars, once)
	})
}

// decideWindow judges a window whose grace has ended and records its
// outcome in the ledger, with an item for the caseworker when there is
// something to do: "missed", or "can't reach" when no prompt reached the
// person. A delivery failure is never a miss, and neither is a window
// the person was paused, opted out or not yet consenting in, or reported
// they could not make.
func (s *Scheduler) decideWindow(ctx context.Context, via access, p store.Participant, cal *Calendar, it store.DueItem, w Window, now time.Time, tries int) (outcome, error) {
	pf, err := via.facts(ctx, p, w.Start)
	if err != nil {
		return "", err
	}
	f := pf.window(s.Ledger, p, cal, w, now)
	rec := ledger.Judge(f)
	var item *store.AttentionItem
	action, result := "checkin_"+string(rec.Outcome), outcome(rec.Outcome)
	switch rec.Outcome {
	case store.WindowMissed:
		item = &store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionMissed, Ref: it.Ref, CreatedAt: now}
		action, result = "checkin_missed", missed
	case store.WindowNotDelivered:
		reason, ok := pf.why, pf.unreachable
		if !ok {
			reason = ReasonNotDelivered
			if len(f.Prompts) == 0 {
				reason = ReasonNotSent
			} else if code := lastError(f.Prompts); code != "" {
				reason = code
			}
		}
		item = &store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionCantReach, Reason: reason, Ref: it.Ref, CreatedAt: now}
		action, result = "checkin_unreachable", cantReach
	}
	if item != nil && rec.AttentionID == "" {
		rec.AttentionID = item.ID
	}
	t := store.Turn{ParticipantID: p.ID, Participant: &p, Windows: []store.Window{rec},
		DedupeKey: recordedKey(it), DedupeUntil: it.DueAt.Add(keepMarks)}
	if item != nil {
		t.Attention = []store.AttentionItem{*item}
		// Only what needs a human goes in the audit log; every outcome is
		// in the ledger.
		t.Audit = []store.AuditEntry{{ID: store.NewID("a_"), At: now, Actor: "system", Action: action, ParticipantID: p.ID, Detail: it.Ref}}
	}
	// Recorded once: the turn's dedupe key refuses a second recording, and
	// the record's revision a turn of the person's at the same moment (a
	// late check-in), which then runs again and moves the outcome up.
	err = via.record(ctx, t)
	if errors.Is(err, store.ErrStale) && tries > 0 {
		// A turn of the person's landed in between (a late check-in, a
		// prompt): judge again on what is there now.
		fresh, gerr := s.store.GetParticipant(ctx, p.ID)
		if gerr != nil {
			return "", fmt.Errorf("decide window: %w", gerr)
		}
		return s.decideWindow(ctx, via, fresh, cal, it, w, now, tries-1)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return "", fmt.Errorf("record outcome: %w", err)
	}
	if rec.Outcome != store.WindowMissed {
		return result, nil
	}
	if next, ok := cal.Next(w); ok && !now.Before(next.End) {
		// A later window has closed too (the scheduler was stopped): the
		// caseworker sees each miss, the person hears once, about the last.
		return result, nil
	}
	// One kind message, a question: check in late, or ask for a call. In
	// a batch it is an event of its own, and the item is handled alone.
	if _, err := s.askWindow(ctx, via, p, cal, it, w, stageMissed); err != nil {
		return "", err
	}
	return result, nil
}

// handleConsent asks once more whether the person agrees to get
// messages, or, asked twice already, puts "not consented" in the
// caseworker's queue. Either happens once per ask (the item's ID counts
// the asks), and only while the plan still wants it.
func (s *Scheduler) handleConsent(ctx context.Context, p store.Participant, it store.DueItem, now time.Time) (outcome, error) {
	r, err := rulesOf(s.conv.Content().Flows.Programme)
	if err != nil {
		return "", err
	}
	want := r.consentItems(p, now)
	if len(want) != 1 || want[0].ID != it.ID || want[0].Kind != it.Kind {
		return stale, nil // answered, opted out, paused, or asked meanwhile
	}
	keep := now.Add(keepMarks)
	if it.Kind == KindConsentAsk {
		c := s.conv.Content()
		id := c.Flows.Programme.Flows.Consent
		if c.Flows.Flows[id] == nil {
			id = c.Flows.Programme.Flows.Enrolment
		}
		return sendOnce(it.ID, keep, "", func(once conversation.Once) error {
			return s.conv.StartOnce(ctx, p.ID, id, nil, once)
		})
	}
	p.ConsentAsks++ // past the last ask: nothing more is planned
	err = s.store.ApplyTurn(ctx, store.Turn{
		ParticipantID: p.ID, Participant: &p,
		Attention: []store.AttentionItem{{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionNotConsented, CreatedAt: now}},
		Audit:     []store.AuditEntry{{ID: store.NewID("a_"), At: now, Actor: "system", Action: "consent_unanswered", ParticipantID: p.ID}},
		DedupeKey: it.ID + ":recorded", DedupeUntil: keep,
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return "", fmt.Errorf("record no consent: %w", err)
	}

	return notConsented, nil
}

// lastError is the provider's error code of the last failed prompt. A
// WhatsApp prompt that needed an approved template and had none (or whose
// template Twilio refused, 63016) is ReasonNoTemplate, so the caseworker
// reads "WhatsApp: no approved template" and knows it is the programme's
// to fix, not the person's.
func lastError(prompts []store.OutboundMessage) string {
	code := ""
	for _, m := range prompts {
		if m.ErrorCode == "" {
			continue
		}
		code = m.ErrorCode
		if m.Channel == store.WhatsApp && (code == "no_template" || code == "63016") {
			code = ReasonNoTemplate
		}
	}
	return code
}

// unreachable says why messages cannot reach the person, if they cannot:
// no link at all, or the link replies go to has failed.
func unreachable(p store.Participant, links []store.Link) (string, bool) {
	if len(links) == 0 {
		return ReasonNoChannel, true
	}
	to := links[0]
	for _, l := range links {
		if l.Index == p.LastLink {
			to = l
		}
	}
	if !to.Unreachable {
		return "", false
	}
	if to.Reason != "" {
		return to.Reason, true
	}
	return ReasonUnreachable, true
}

// windowOf reads the window a window item is about: its opening from
// the item's ref ("win:<participant>:<opening, Unix seconds>", Window.Ref),
// its closing from the item's data, as Unix seconds. Items planned before
// carry both in the data, as RFC 3339.
func windowOf(it store.DueItem) (Window, bool) {
	end, err := compact.ParseTimeText(it.Data["closes"])
	if err != nil {
		return Window{}, false
	}
	if opens, ok := it.Data["opens"]; ok {
		start, err := compact.ParseTimeText(opens)
		return Window{Start: start, End: end}, err == nil
	}
	start, ok := openingOf(it.ParticipantID, it.Ref)
	return Window{Start: start, End: end}, ok
}

func (s *Scheduler) handleAppointment(ctx context.Context, via access, pl *planner, p store.Participant, it store.DueItem, now time.Time) (outcome, error) {
	if o, skip := why(p); skip {
		return o, nil
	}
	a, err := via.appointment(ctx, it.Ref)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.ParticipantID != p.ID {
		return stale, nil
	}
	if err != nil {
		return "", fmt.Errorf("appointment: %w", err)
	}
	loc, err := location(p.TimeZone)
	if err != nil {
		return "", err
	}
	at, err := appointmentTime(a, loc)
	if err != nil {
		return "", err
	}
	c := s.conv.Content()
	vars := s.appointmentVars(c, p, a, at)
	if it.Kind == KindFollowUp {
		// Due as soon as a caseworker marks the appointment missed, so it
		// is checked against the appointment rather than re-planned.
		if a.Status != store.AppointmentMissed || !now.Before(at.Add(followUpWithin)) {
			return stale, nil
		}
		return sendOnce(followUpKey(a.ID), at.Add(followUpWithin+keepMarks), "", func(once conversation.Once) error {
			if id := c.Flows.Programme.Flows.Reminder; id != "" && c.Flows.Flows[id] != nil {
				vars["Stage"] = "followup" // a question: a new time, or a call
				return via.start(ctx, p.ID, id, vars, once)
			}
			return via.notify(ctx, p.ID, msgFollowUp, vars, once)
		})
	}
	if !stillPlanned(pl, p, []store.Appointment{a}, it, now) || !now.Before(at) {
		return stale, nil // changed, superseded, or the appointment has begun
	}
	vars["Count"] = it.Data["count"]
	return sendOnce(dueKey(it), it.DueAt.Add(keepMarks), "", func(once conversation.Once) error {
		if id := c.Flows.Programme.Flows.Reminder; id != "" && c.Flows.Flows[id] != nil {
			return via.start(ctx, p.ID, id, vars, once)
		}
		msg := "reminder.upcoming"
		if vars["Count"] == "0" {
			msg = "reminder.today"
		}
		return via.notify(ctx, p.ID, msg, vars, once)
	})
}

// language is the one the person reads: their own if the programme offers
// it, else the programme's default (as the conversation service decides).
func language(c *conversation.Content, p store.Participant) string {
	for _, l := range c.Flows.Programme.Languages {
		if l == p.Language {
			return l
		}
	}
	return c.Flows.Programme.DefaultLanguage
}

// windowVars are the template data of window messages: Date and Time say
// when the window closes.
func (s *Scheduler) windowVars(c *conversation.Content, p store.Participant, w Window, loc *time.Location) map[string]string {
	lang := language(c, p)
	end := w.End.In(loc)
	return map[string]string{"Date": FormatDate(lang, end), "Time": FormatTime(lang, end)}
}

// appointmentVars are the template data of appointment messages. Kind is
// the words of message appointment.kind.<kind> where the locale files
// have them, else the kind code with spaces.
func (s *Scheduler) appointmentVars(c *conversation.Content, p store.Participant, a store.Appointment, at time.Time) map[string]string {
	lang := language(c, p)
	kind := strings.ReplaceAll(a.Kind, "_", " ")
	if id := "appointment.kind." + a.Kind; a.Kind != "" && c.Locale.Has(lang, id) {
		kind = c.Locale.Render(lang, id, nil)
	}
	return map[string]string{
		"Date": FormatDate(lang, at), "Time": FormatTime(lang, at),
		"Place": a.Place, "Kind": kind,
	}
}
