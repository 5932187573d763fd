package store

import (
	"errors"
	"fmt"
	"time"
)

// Validation shared by every backend: bad input is refused before anything
// is written, so that a refused call stores nothing, and both backends
// refuse exactly the same things. Messages name the field, never its value.

// ErrEmpty is wrapped by every refusal of an empty required field.
var ErrEmpty = errors.New("required field is empty")

// Need refuses an empty required field.
func Need(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s: %w", field, ErrEmpty)
	}
	return nil
}

// NeedTime refuses a zero time or one before 1970.
func NeedTime(field string, t time.Time) error {
	if t.IsZero() || t.UnixMilli() <= 0 {
		return fmt.Errorf("%s: must be a time after 1970", field)
	}
	return nil
}

// CheckBeginSend validates what BeginSend is asked: the participant, the
// dedupe key and its expiry, and a counter's window end when it counts.
func CheckBeginSend(participantID, dedupeKey string, expiresAt time.Time, count SendCount) error {
	errs := []error{Need("participant ID", participantID), Need("dedupe key", dedupeKey), NeedTime("dedupe expiry", expiresAt)}
	if count.Key != "" {
		errs = append(errs, NeedTime("counter expiry", count.ExpiresAt))
	}
	return errors.Join(errs...)
}

// NeedPositive refuses a duration that is not above zero.
func NeedPositive(field string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: must be positive", field)
	}
	return nil
}

// CheckParticipant validates a record before it is stored.
func CheckParticipant(p Participant) error { return Need("participant ID", p.ID) }

// CheckLink validates a record before it is stored.
func CheckLink(l Link) error {
	return errors.Join(Need("link index", l.Index), Need("link participant ID", l.ParticipantID))
}

// CheckCode validates a record before it is stored.
func CheckCode(c EnrolmentCode) error {
	return errors.Join(Need("enrolment code", c.Code), Need("enrolment participant ID", c.ParticipantID),
		NeedTime("enrolment code expiry", c.ExpiresAt))
}

// CheckSession validates a record before it is stored.
func CheckSession(s Session) error { return Need("session participant ID", s.ParticipantID) }

// CheckCheckIn validates a record before it is stored.
func CheckCheckIn(c CheckIn) error {
	return errors.Join(Need("check-in ID", c.ID), Need("check-in participant ID", c.ParticipantID))
}

// CheckAttention validates a record before it is stored.
func CheckAttention(a AttentionItem) error {
	return errors.Join(Need("attention ID", a.ID), Need("attention participant ID", a.ParticipantID))
}

// CheckWindow validates a ledger record before it is stored.
func CheckWindow(w Window) error {
	return errors.Join(Need("window ref", w.Ref), Need("window participant ID", w.ParticipantID),
		NeedTime("window opening", w.OpensAt))
}

// CheckAudit validates a record before it is stored.
func CheckAudit(e AuditEntry) error { return Need("audit ID", e.ID) }

// CheckOutbound validates a record before it is stored.
func CheckOutbound(m OutboundMessage) error {
	return errors.Join(Need("message ID", m.ID), Need("message participant ID", m.ParticipantID))
}

// CheckAppointment validates a record before it is stored.
func CheckAppointment(a Appointment) error {
	return errors.Join(Need("appointment ID", a.ID), Need("appointment participant ID", a.ParticipantID))
}

// CheckDue also needs the participant: DueOf finds items through it. A
// kind may not begin with a digit: the stores write the scheduler's kinds
// as numbers (internal/store/compact).
func CheckDue(d DueItem) error {
	errs := []error{Need("due item ID", d.ID), Need("due item participant ID", d.ParticipantID)}
	if d.Kind != "" && d.Kind[0] >= '0' && d.Kind[0] <= '9' {
		errs = append(errs, fmt.Errorf("due item kind %q: may not begin with a digit", d.Kind))
	}
	return errors.Join(errs...)
}

// CheckClaim validates a record before it is stored.
func CheckClaim(owner string, lease time.Duration) error {
	errs := []error{Need("claim owner", owner), NeedPositive("claim lease", lease)}
	if len(owner) > MaxOwnerLen {
		errs = append(errs, fmt.Errorf("claim owner: longer than %d bytes", MaxOwnerLen))
	}
	return errors.Join(errs...)
}

// MaxOwnerLen is the longest name a claim's owner may have: a process's
// name, kept with every item it claims.
const MaxOwnerLen = 200

// Unique refuses a batch that names one ID twice: the second would
// silently replace the first.
func Unique(what string, ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("%s %s appears twice in one call", what, id)
		}
		seen[id] = true
	}
	return nil
}

// CheckDueStep refuses a step whose turn or items CheckTurn or CheckDue
// refuse, that names no person or whose turn or items are another's, or
// that ends an item or gives up a lease for no owner.
func CheckDueStep(st DueStep) error {
	errs := []error{Need("step's participant ID", st.ParticipantID)}
	if st.Turn != nil {
		errs = append(errs, CheckTurn(*st.Turn))
		if st.Turn.ParticipantID != st.ParticipantID {
			errs = append(errs, fmt.Errorf("the step of %s has a turn of %s", st.ParticipantID, st.Turn.ParticipantID))
		}
	}
	for _, d := range st.Put {
		errs = append(errs, CheckDue(d))
		if d.ParticipantID != st.ParticipantID {
			errs = append(errs, fmt.Errorf("the step of %s puts item %s of %s", st.ParticipantID, d.ID, d.ParticipantID))
		}
	}
	if st.Complete != "" || st.Lease != "" {
		errs = append(errs, Need("owner", st.Owner))
	}
	return errors.Join(errs...)
}

// CheckTurnAsks refuses asks with no participant, or a lease with no
// owner or time.
func CheckTurnAsks(asks []TurnAsk) error {
	var errs []error
	for _, a := range asks {
		errs = append(errs, Need("participant ID", a.ParticipantID))
		if a.Lease != "" {
			errs = append(errs, Need("lease owner", a.Owner), NeedPositive("lease TTL", a.LeaseTTL))
		}
	}
	return errors.Join(errs...)
}

// CheckTurn refuses a turn whose records belong to someone other than
// Turn.ParticipantID: a turn is one person's, and this backend writes it in
// that person's slot (Redis) or transaction (bolt).
func CheckTurn(t Turn) error {
	pid := t.ParticipantID
	if err := Need("turn participant ID", pid); err != nil {
		return err
	}
	mismatch := func(what, got string) error {
		if got != pid {
			return fmt.Errorf("turn of %s carries a %s of another participant", pid, what)
		}
		return nil
	}
	var errs []error
	if t.DedupeKey != "" {
		errs = append(errs, NeedTime("turn dedupe expiry", t.DedupeUntil))
	}
	if t.SeenOn != "" {
		errs = append(errs, NeedTime("turn's link seen time", t.SeenAt))
	}
	if t.Participant != nil {
		errs = append(errs, CheckParticipant(*t.Participant), mismatch("participant", t.Participant.ID))
	}
	if t.Session != nil {
		errs = append(errs, CheckSession(*t.Session), mismatch("session", t.Session.ParticipantID))
	}
	var ciIDs, atIDs, auIDs, obIDs []string
	for _, c := range t.CheckIns {
		errs = append(errs, CheckCheckIn(c), mismatch("check-in", c.ParticipantID))
		ciIDs = append(ciIDs, c.ID)
	}
	for _, a := range t.Attention {
		errs = append(errs, CheckAttention(a), mismatch("attention item", a.ParticipantID))
		atIDs = append(atIDs, a.ID)
	}
	var reIDs, wIDs []string
	for _, a := range t.Resolved {
		errs = append(errs, CheckAttention(a), mismatch("resolved attention item", a.ParticipantID))
		reIDs = append(reIDs, a.ID)
	}
	for _, w := range t.Windows {
		errs = append(errs, CheckWindow(w), mismatch("window", w.ParticipantID))
		wIDs = append(wIDs, w.Ref)
	}
	for _, e := range t.Audit {
		errs = append(errs, CheckAudit(e))
		if e.ParticipantID != "" {
			errs = append(errs, mismatch("audit entry", e.ParticipantID))
		}
		auIDs = append(auIDs, e.ID)
	}
	for _, m := range t.Outbound {
		errs = append(errs, CheckOutbound(m), mismatch("message", m.ParticipantID))
		obIDs = append(obIDs, m.ID)
	}
	errs = append(errs, Unique("check-in", ciIDs), Unique("attention item", atIDs),
		Unique("audit entry", auIDs), Unique("message", obIDs),
		Unique("resolved attention item", reIDs), Unique("window", wIDs))
	return errors.Join(errs...)
}

// CheckProgrammeVersion validates a version before it is published.
func CheckProgrammeVersion(basis int, v ProgrammeVersion) error {
	var errs []error
	if basis < 0 {
		errs = append(errs, errors.New("programme basis: must not be negative"))
	}
	if len(v.Files) == 0 {
		errs = append(errs, fmt.Errorf("programme files: %w", ErrEmpty))
	}
	for name := range v.Files {
		if name == "" {
			errs = append(errs, fmt.Errorf("programme file name: %w", ErrEmpty))
		}
	}
	errs = append(errs, Need("programme published by", v.By), Need("programme source", v.Source), NeedTime("programme published at", v.At))
	return errors.Join(errs...)
}

// CheckProgrammeDraft validates a draft before it is saved.
func CheckProgrammeDraft(d ProgrammeDraft) error {
	var errs []error
	if d.Basis < 0 || d.Revision < 0 {
		errs = append(errs, errors.New("programme draft: basis and revision must not be negative"))
	}
	if len(d.Files) == 0 {
		errs = append(errs, fmt.Errorf("programme draft files: %w", ErrEmpty))
	}
	errs = append(errs, Need("programme draft by", d.By), NeedTime("programme draft at", d.At))
	return errors.Join(errs...)
}
