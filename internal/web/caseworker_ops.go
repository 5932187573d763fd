package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// What caseworkers do, shared by the pages and the API: every change is
// checked against the caller's caseload, written to the audit log, and
// followed by re-planning the person's reminders.

// opError is a refusal the caller can act on. Code is the API's stable
// error code; the message is safe to show and never holds personal data.
type opError struct {
	Status  int
	Code    string
	Message string
}

func (e *opError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &opError{http.StatusUnprocessableEntity, "invalid", fmt.Sprintf(format, args...)}
}

func forbidden(msg string) error { return &opError{http.StatusForbidden, "forbidden", msg} }

func conflict(msg string) error { return &opError{http.StatusConflict, "conflict", msg} }

// notFound is the answer for a participant outside the caller's caseload
// too, so that IDs cannot be probed.
func notFound(what string) error {
	return &opError{http.StatusNotFound, "not_found", "no such " + what}
}

var errChildProtection = &opError{http.StatusUnprocessableEntity, "child_protection",
	"a child's case can only be assigned to a caseworker trained in child protection"}

func canSeeAll(a store.Account) bool { return a.Role == store.RoleAdmin }

func visibleTo(a store.Account, p store.Participant) bool {
	return canSeeAll(a) || (p.CaseworkerID != "" && p.CaseworkerID == a.ID)
}

// participantFor returns a participant the account may see; anyone else's
// is not found.
func (s *Server) participantFor(ctx context.Context, a store.Account, id string) (store.Participant, error) {
	if id == "" {
		return store.Participant{}, notFound("participant")
	}
	p, err := s.deps.Store.GetParticipant(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !visibleTo(a, p) {
		return store.Participant{}, notFound("participant")
	}
	return p, err
}

// noActiveCaseworker is the caseload filter for the people whose
// caseworker is disabled, deleted or was never set: nobody else sees
// them, so administrators must.
const noActiveCaseworker = "none"

// activeAccounts is the set of accounts that are not disabled.
func (s *Server) activeAccounts(ctx context.Context) (map[string]bool, error) {
	accts, err := s.deps.Store.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	active := make(map[string]bool, len(accts))
	for _, x := range accts {
		if !x.Disabled {
			active[x.ID] = true
		}
	}
	return active, nil
}

// audit appends an entry; detail never holds a label, phone number or
// message text.
func (s *Server) audit(ctx context.Context, actor store.Account, action, participantID, detail string) error {
	err := s.deps.Store.AppendAudit(ctx, store.AuditEntry{
		ID: store.NewID("a_"), At: s.now(), Actor: actor.ID, Action: action, ParticipantID: participantID, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("web: audit %s: %w", action, err)
	}
	return nil
}

// replan recomputes the person's reminders. A failure is logged, not
// returned: the change is saved, and the scheduler plans again after the
// person's next due item or the next change.
func (s *Server) replan(ctx context.Context, pid string) {
	if s.deps.Replan == nil {
		return
	}
	if err := s.deps.Replan(ctx, pid); err != nil {
		s.deps.Log.Error("replan after a caseworker's change", "participant", pid, "err", err)
	}
}

func (s *Server) programme() flow.Programme {
	if s.deps.Conversation == nil || s.deps.Conversation.Content() == nil {
		return flow.DefaultProgramme()
	}
	return s.deps.Conversation.Content().Flows.Programme
}

// participantInput is a change to a participant; nil fields stay as they
// are.
type participantInput struct {
	Label        *string
	Language     *string
	TimeZone     *string
	CaseworkerID *string
	Child        *bool
	SetSchedule  bool
	Schedule     *store.CheckInSchedule
}

// apply checks in and applies it to p for actor, and returns the names of
// the fields it changed.
func (s *Server) apply(ctx context.Context, actor store.Account, p *store.Participant, in participantInput) ([]string, error) {
	var changed []string
	if in.Label != nil {
		label, err := checkLabel(*in.Label)
		if err != nil {
			return nil, err
		}
		if label != p.Label {
			p.Label = label
			changed = append(changed, "label")
		}
	}
	if in.Language != nil && *in.Language != p.Language {
		if !slices.Contains(s.programme().Languages, *in.Language) {
			return nil, invalid("language: use one the programme offers (%s)", strings.Join(s.programme().Languages, ", "))
		}
		p.Language = *in.Language
		changed = append(changed, "language")
	}
	if in.TimeZone != nil && *in.TimeZone != p.TimeZone {
		if !validZone(*in.TimeZone) {
			return nil, invalid("time_zone: use an IANA time zone such as Europe/London or America/Mexico_City")
		}
		p.TimeZone = *in.TimeZone
		changed = append(changed, "time_zone")
	}
	if in.CaseworkerID != nil && *in.CaseworkerID != p.CaseworkerID {
		if !canSeeAll(actor) && *in.CaseworkerID != actor.ID {
			return nil, forbidden("only an administrator can give a case to another caseworker")
		}
		if _, err := s.deps.Store.GetAccount(ctx, *in.CaseworkerID); errors.Is(err, store.ErrNotFound) {
			return nil, invalid("caseworker_id: no such account")
		} else if err != nil {
			return nil, err
		}
		p.CaseworkerID = *in.CaseworkerID
		changed = append(changed, "caseworker")
	}
	if in.Child != nil && *in.Child != p.Child {
		p.Child = *in.Child
		changed = append(changed, "child")
	}
	if in.SetSchedule {
		p.Schedule = in.Schedule
		changed = append(changed, "schedule")
	}
	if p.Language == "" {
		p.Language = s.programme().DefaultLanguage
	}
	if p.TimeZone == "" {
		return nil, invalid("time_zone is required")
	}
	if p.Schedule != nil {
		if _, err := schedule.NewCalendar(p.Schedule, p.TimeZone, p.CreatedAt); err != nil {
			msg, ok := refusal.Message(err)
			if !ok {
				return nil, err
			}
			return nil, invalid("schedule: %s", msg)
		}
	}
	if p.Child {
		cw, err := s.deps.Store.GetAccount(ctx, p.CaseworkerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err != nil || !cw.ChildProtectionTrained {
			return nil, errChildProtection
		}
	}
	return changed, nil
}

// checkLabel trims a label and refuses what must not be one: it is the
// caseworker's own reference, and never a phone number.
func checkLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	n := utf8.RuneCountInString(label)
	if n == 0 || n > 80 {
		return "", invalid("label: give a short reference of 1 to 80 characters")
	}
	digits := 0
	for _, r := range label {
		if unicode.IsControl(r) {
			return "", invalid("label: no line breaks or control characters")
		}
		if unicode.IsDigit(r) {
			digits++
		}
	}
	if digits >= 7 {
		return "", invalid("label: it looks like a phone number; use your own reference instead, never a phone number")
	}
	return label, nil
}

func validZone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// enrolParticipant creates a participant in actor's caseload (or the one an admin
// names) and a one-time enrolment code.
func (s *Server) enrolParticipant(ctx context.Context, actor store.Account, in participantInput) (store.Participant, store.EnrolmentCode, error) {
	now := s.now()
	p := store.Participant{ID: store.NewID("p_"), Status: store.Active, CaseworkerID: actor.ID, CreatedAt: now, UpdatedAt: now}
	if in.Label == nil {
		return p, store.EnrolmentCode{}, invalid("label is required")
	}
	changed, err := s.apply(ctx, actor, &p, in)
	if err != nil {
		return p, store.EnrolmentCode{}, err
	}
	if err := s.deps.Store.CreateParticipant(ctx, p); err != nil {
		if errors.Is(err, store.ErrChildProtection) {
			return p, store.EnrolmentCode{}, errChildProtection // the caseworker lost their training meanwhile
		}
		return p, store.EnrolmentCode{}, fmt.Errorf("web: enrol: %w", err)
	}
	detail := fmt.Sprintf("language=%s time_zone=%s caseworker=%s child=%t schedule=%s",
		p.Language, p.TimeZone, p.CaseworkerID, p.Child, scheduleKind(p.Schedule))
	_ = changed
	if err := s.audit(ctx, actor, "participant_enrolled", p.ID, detail); err != nil {
		return p, store.EnrolmentCode{}, err
	}
	code, err := s.newCode(ctx, actor, p.ID)
	if err != nil {
		return p, store.EnrolmentCode{}, err
	}
	s.replan(ctx, p.ID)
	return p, code, nil
}

func scheduleKind(sc *store.CheckInSchedule) string {
	switch {
	case sc == nil:
		return "none"
	case sc.Every != nil:
		return fmt.Sprintf("every_%dd", sc.Every.Days)
	default:
		return fmt.Sprintf("weekly_%d", len(sc.Weekly))
	}
}

// newCode makes a one-time enrolment code: eight characters of base32
// (A-Z, 2-7: no 0/O or 1/I to mix up), 40 bits, with wrong tries limited
// per sender by the conversation service.
func (s *Server) newCode(ctx context.Context, actor store.Account, pid string) (store.EnrolmentCode, error) {
	ttl := s.programme().Retention.EnrolmentCodeTTL.D()
	if ttl <= 0 {
		ttl = 14 * 24 * time.Hour
	}
	for range 5 {
		c := store.EnrolmentCode{Code: strings.ToUpper(store.NewID("")[:8]), ParticipantID: pid, ExpiresAt: s.now().Add(ttl)}
		err := s.deps.Store.PutEnrolmentCode(ctx, c)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("web: enrolment code: %w", err)
		}
		return c, s.audit(ctx, actor, "enrolment_code_created", pid, "expires "+c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return store.EnrolmentCode{}, errors.New("web: enrolment code: no free code after 5 tries")
}

// update changes a participant the actor may see.
func (s *Server) update(ctx context.Context, actor store.Account, id string, in participantInput) (store.Participant, error) {
	var changed []string
	p, err := s.saveParticipant(ctx, actor, id, func(p *store.Participant) (bool, error) {
		var err error
		changed, err = s.apply(ctx, actor, p, in)
		return len(changed) > 0, err
	})
	if err != nil || len(changed) == 0 {
		return p, err
	}
	if err := s.audit(ctx, actor, "participant_updated", p.ID, strings.Join(changed, ",")); err != nil {
		return p, err
	}
	s.replan(ctx, p.ID)
	return p, nil
}

// saveTries is how often a caseworker's change is redone on a fresh read
// when the person's record keeps changing under it (their own messages).
const saveTries = 5

// saveParticipant reads a participant the actor may see, lets change
// modify it, and saves it if change says it changed anything. When the
// record changed between the read and the save (a message from the person
// landed, say), the store refuses the save and it is done again on a fresh
// read, so neither the caseworker's change nor the person's is lost.
func (s *Server) saveParticipant(ctx context.Context, actor store.Account, id string, change func(*store.Participant) (bool, error)) (store.Participant, error) {
	for try := 1; ; try++ {
		p, err := s.participantFor(ctx, actor, id)
		if err != nil {
			return p, err
		}
		changed, err := change(&p)
		if err != nil || !changed {
			return p, err
		}
		p.UpdatedAt = s.now()
		err = s.deps.Store.UpdateParticipant(ctx, p)
		if errors.Is(err, store.ErrStale) && try < saveTries {
			continue
		}
		if errors.Is(err, store.ErrChildProtection) {
			return p, errChildProtection // the caseworker lost their training meanwhile
		}
		if err != nil {
			return p, fmt.Errorf("web: save %s: %w", p.ID, err)
		}
		p.Revision++
		return p, nil
	}
}

// setStatus pauses, resumes or exits a participant.
func (s *Server) setStatus(ctx context.Context, actor store.Account, id string, status store.ParticipantStatus) (store.Participant, error) {
	action := map[store.ParticipantStatus]string{store.Active: "participant_resumed", store.Paused: "participant_paused", store.Exited: "participant_exited"}[status]
	if action == "" {
		if _, err := s.participantFor(ctx, actor, id); err != nil {
			return store.Participant{}, err // someone else's: not found, before the bad status
		}
		return store.Participant{}, invalid("status: use active, paused or exited")
	}
	changed := false
	p, err := s.saveParticipant(ctx, actor, id, func(p *store.Participant) (bool, error) {
		if changed = p.Status != status; !changed {
			return false, nil
		}
		p.SetStatus(status, s.now()) // a pause is kept, so that no window it covered counts as missed
		p.ExitedAt = time.Time{}
		if status == store.Exited {
			p.ExitedAt = s.now() // retention erases the person exited_participants later
		}
		return true, nil
	})
	if err != nil || !changed {
		return p, err
	}
	if err := s.audit(ctx, actor, action, p.ID, ""); err != nil {
		return p, err
	}
	s.replan(ctx, p.ID)
	return p, nil
}

// erase deletes everything about a participant. The audit log keeps that
// it happened, who did it and when; nothing about the person.
func (s *Server) erase(ctx context.Context, actor store.Account, id string) error {
	p, err := s.participantFor(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.deps.Store.DeleteParticipant(ctx, p.ID); err != nil {
		return fmt.Errorf("web: erase %s: %w", p.ID, err)
	}
	return s.audit(ctx, actor, "participant_erased", p.ID, "")
}

// The ledger of check-in windows.

// maxWindowPage bounds the windows one read returns: a year of daily
// windows. schedule.Scheduler.History lists at least this many when there
// are more (it stops at 400), so a page of this size is never missing a
// window that opened before its last one.
const maxWindowPage = 366

// windowPage lists the person's windows that opened from since up to now,
// oldest first, at most maxWindowPage of them. When there are more, next
// is where the following page starts (pass it as since); else it is zero.
func (s *Server) windowPage(ctx context.Context, p store.Participant, since, now time.Time) (ws []store.Window, next time.Time, err error) {
	if s.deps.Windows != nil {
		ws, err = s.deps.Windows(ctx, p, since, now)
	} else {
		ws, err = s.deps.Store.WindowsOf(ctx, p.ID, since)
	}
	if err != nil || len(ws) <= maxWindowPage {
		return ws, time.Time{}, err
	}
	// Cut before the first window left out, and before any that opened at
	// the same moment, so that the next page starts with all of them.
	next = ws[maxWindowPage].OpensAt
	n := maxWindowPage
	for n > 0 && !ws[n-1].OpensAt.Before(next) {
		n--
	}
	return ws[:n], next, nil
}

// outcomeOf is a window's outcome, "open" while none is recorded.
func outcomeOf(w store.Window) store.WindowOutcome {
	if w.Outcome == "" {
		return store.WindowOpen
	}
	return w.Outcome
}

// Attention.

// resolutions are what a caseworker can do about an attention item.
var resolutions = []string{"contacted", "excused", "rescheduled", "paused", "resolved"}

// attentionFor finds an item whose participant the account may see.
func (s *Server) attentionFor(ctx context.Context, a store.Account, id string) (store.AttentionItem, store.Participant, error) {
	it, err := s.deps.Store.GetAttention(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return it, store.Participant{}, notFound("attention item")
	}
	if err != nil {
		return it, store.Participant{}, err
	}
	p, err := s.participantFor(ctx, a, it.ParticipantID)
	if _, ok := errors.AsType[*opError](err); ok {
		return it, p, notFound("attention item")
	}
	return it, p, err
}

// resolve closes an attention item; "paused" also pauses the person.
func (s *Server) resolve(ctx context.Context, actor store.Account, id, resolution string) (store.AttentionItem, error) {
	return s.resolveIf(ctx, actor, id, resolution, nil)
}

// resolveIf is resolve with a check of the item first (the pages offer
// only the actions that fit its kind).
func (s *Server) resolveIf(ctx context.Context, actor store.Account, id, resolution string, check func(store.AttentionItem) error) (store.AttentionItem, error) {
	if !slices.Contains(resolutions, resolution) {
		return store.AttentionItem{}, invalid("resolution: use one of %s", strings.Join(resolutions, ", "))
	}
	it, p, err := s.attentionFor(ctx, actor, id)
	if err != nil {
		return it, err
	}
	if !it.Open() {
		return it, conflict("this item was already dealt with (" + resolutionLabel(it.Resolution) + ")")
	}
	if check != nil {
		if err := check(it); err != nil {
			return it, err
		}
	}
	now := s.now()
	if resolution == "excused" && strings.HasPrefix(it.Ref, "win:") && s.deps.Excuse != nil {
		// The window's record says so first: an item closed as excused
		// with its window still "missed" would tell two stories.
		if err := s.deps.Excuse(ctx, p.ID, it.Ref, actor.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return it, fmt.Errorf("web: excuse %s: %w", it.Ref, err)
		}
	}
	if err := s.deps.Store.ResolveAttention(ctx, it.ID, actor.ID, resolution, now); err != nil {
		return it, fmt.Errorf("web: resolve %s: %w", it.ID, err)
	}
	it.ResolvedAt, it.ResolvedBy, it.Resolution = now, actor.ID, resolution
	if err := s.audit(ctx, actor, "attention_"+resolution, p.ID, it.ID+" "+string(it.Kind)); err != nil {
		return it, err
	}
	if resolution == "paused" {
		if _, err := s.setStatus(ctx, actor, p.ID, store.Paused); err != nil {
			return it, err
		}
	}
	return it, nil
}

// reopen undoes a caseworker's action on an item: the item is raised
// again as it was (its kind, reason, what it is about and when it was
// first raised), and a pause made with it is lifted. An item is changed
// only by resolving it, so the undo is a new item that the audit log ties
// to the old one. An excused window stays excused: the record of a window
// only moves in the person's favour.
func (s *Server) reopen(ctx context.Context, actor store.Account, id string) (store.AttentionItem, error) {
	it, p, err := s.attentionFor(ctx, actor, id)
	if err != nil {
		return it, err
	}
	if it.Open() {
		return it, conflict("this item is still open")
	}
	if it.ResolvedBy == store.ResolvedBySystem {
		return it, conflict("this item closed by itself because the fact behind it changed; there is nothing to undo")
	}
	mine, err := s.deps.Store.AttentionOf(ctx, p.ID)
	if err != nil {
		return it, err
	}
	for _, o := range mine {
		if o.Open() && o.Kind == it.Kind && o.Ref == it.Ref {
			return it, conflict("this item is open again already")
		}
	}
	again := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: it.Kind, Reason: it.Reason, Ref: it.Ref, CreatedAt: it.CreatedAt}
	if err := s.deps.Store.AddAttention(ctx, again); err != nil {
		return it, fmt.Errorf("web: reopen %s: %w", it.ID, err)
	}
	if err := s.audit(ctx, actor, "attention_reopened", p.ID, again.ID+" reopens "+it.ID+" "+string(it.Kind)); err != nil {
		return again, err
	}
	if it.Resolution == "paused" && p.Status == store.Paused {
		if _, err := s.setStatus(ctx, actor, p.ID, store.Active); err != nil {
			return again, err
		}
	}
	return again, nil
}

// Appointments.

type appointmentInput struct {
	Kind, Place, Date, Time *string
	Status                  *store.AppointmentStatus
}

func (s *Server) checkAppointment(a *store.Appointment, in appointmentInput) ([]string, error) {
	var changed []string
	set := func(name string, v *string, dst *string, check func(string) error) error {
		if v == nil || *v == *dst {
			return nil
		}
		val := strings.TrimSpace(*v)
		if err := check(val); err != nil {
			return err
		}
		*dst = val
		changed = append(changed, name)
		return nil
	}
	err := errors.Join(
		set("kind", in.Kind, &a.Kind, func(v string) error {
			if !validKind(v) {
				return invalid("kind: a short code of a-z and _, e.g. caseworker_meeting or hearing")
			}
			return nil
		}),
		set("place", in.Place, &a.Place, func(v string) error {
			if n := utf8.RuneCountInString(v); n == 0 || n > 80 || strings.ContainsFunc(v, unicode.IsControl) {
				return invalid("place: a short label of 1 to 80 characters")
			}
			return nil
		}),
		set("date", in.Date, &a.Date, func(v string) error {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return invalid("date: use YYYY-MM-DD")
			}
			return nil
		}),
		set("time", in.Time, &a.Time, func(v string) error {
			if _, err := flow.ParseClock(v); err != nil || len(v) != 5 {
				return invalid("time: use HH:MM on a 24-hour clock")
			}
			return nil
		}),
	)
	if err != nil {
		if oe, ok := errors.AsType[*opError](err); ok {
			return nil, oe // the first problem is enough to act on
		}
		return nil, err
	}
	if in.Status != nil && *in.Status != a.Status {
		switch *in.Status {
		case store.AppointmentScheduled, store.AppointmentConfirmed, store.AppointmentAttended, store.AppointmentMissed:
		default:
			return nil, invalid("status: use scheduled, confirmed, attended or missed (cancel with the cancel call)")
		}
		a.Status = *in.Status
		changed = append(changed, "status")
	}
	if a.Kind == "" || a.Place == "" || a.Date == "" || a.Time == "" {
		return nil, invalid("kind, place, date and time are all required")
	}
	// What the planner needs, in its own words.
	if err := schedule.ValidateAppointment(*a); err != nil {
		msg, _ := refusal.Message(err)
		return nil, invalid("%s", msg)
	}
	return changed, nil
}

func validKind(v string) bool {
	if v == "" || len(v) > 40 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Server) addAppointment(ctx context.Context, actor store.Account, pid string, in appointmentInput) (store.Appointment, error) {
	p, err := s.participantFor(ctx, actor, pid)
	if err != nil {
		return store.Appointment{}, err
	}
	now := s.now()
	a := store.Appointment{ID: store.NewID("ap_"), ParticipantID: p.ID, Status: store.AppointmentScheduled, CreatedAt: now, UpdatedAt: now}
	if _, err := s.checkAppointment(&a, in); err != nil {
		return a, err
	}
	if err := s.deps.Store.PutAppointment(ctx, a); err != nil {
		return a, fmt.Errorf("web: add appointment: %w", err)
	}
	if err := s.audit(ctx, actor, "appointment_added", p.ID, a.ID+" "+a.Kind+" "+a.Date+" "+a.Time); err != nil {
		return a, err
	}
	s.replan(ctx, p.ID)
	return a, nil
}

// appointmentFor finds an appointment of a participant the account sees.
func (s *Server) appointmentFor(ctx context.Context, actor store.Account, pid, aid string) (store.Appointment, error) {
	p, err := s.participantFor(ctx, actor, pid)
	if err != nil {
		return store.Appointment{}, err
	}
	a, err := s.deps.Store.GetAppointment(ctx, aid)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.ParticipantID != p.ID {
		return store.Appointment{}, notFound("appointment")
	}
	return a, err
}

func (s *Server) changeAppointment(ctx context.Context, actor store.Account, pid, aid string, in appointmentInput) (store.Appointment, error) {
	a, err := s.appointmentFor(ctx, actor, pid, aid)
	if err != nil {
		return a, err
	}
	if a.Status == store.AppointmentCancelled {
		return a, conflict("this appointment is cancelled; add a new one")
	}
	changed, err := s.checkAppointment(&a, in)
	if err != nil || len(changed) == 0 {
		return a, err
	}
	a.UpdatedAt = s.now()
	if err := s.deps.Store.PutAppointment(ctx, a); err != nil {
		return a, fmt.Errorf("web: change appointment: %w", err)
	}
	if err := s.audit(ctx, actor, "appointment_changed", a.ParticipantID, a.ID+" "+strings.Join(changed, ",")); err != nil {
		return a, err
	}
	s.replan(ctx, a.ParticipantID)
	return a, nil
}

func (s *Server) cancelAppointment(ctx context.Context, actor store.Account, pid, aid string) (store.Appointment, error) {
	a, err := s.appointmentFor(ctx, actor, pid, aid)
	if err != nil || a.Status == store.AppointmentCancelled {
		return a, err
	}
	a.Status, a.UpdatedAt = store.AppointmentCancelled, s.now()
	if err := s.deps.Store.PutAppointment(ctx, a); err != nil {
		return a, fmt.Errorf("web: cancel appointment: %w", err)
	}
	if err := s.audit(ctx, actor, "appointment_cancelled", a.ParticipantID, a.ID); err != nil {
		return a, err
	}
	s.replan(ctx, a.ParticipantID)
	return a, nil
}

// accountNames maps account IDs to usernames, for pages.
func (s *Server) accountNames(ctx context.Context) (map[string]string, []store.Account, error) {
	accts, err := s.deps.Store.ListAccounts(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(accts))
	for _, a := range accts {
		names[a.ID] = a.Username
		if a.Disabled {
			names[a.ID] += " (disabled)"
		}
	}
	return names, accts, nil
}
