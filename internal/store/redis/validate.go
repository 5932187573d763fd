package redis

import (
	"errors"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Bad input is refused before anything is written, so that a refused call
// stores nothing. Messages name the field, never its value.

var errEmpty = errors.New("required field is empty")

func need(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s: %w", field, errEmpty)
	}
	return nil
}

func needTime(field string, t time.Time) error {
	if t.IsZero() || ms(t) <= 0 {
		return fmt.Errorf("%s: must be a time after 1970", field)
	}
	return nil
}

func needPositive(field string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: must be positive", field)
	}
	return nil
}

func checkParticipant(p store.Participant) error { return need("participant ID", p.ID) }

func checkLink(l store.Link) error {
	return errors.Join(need("link index", l.Index), need("link participant ID", l.ParticipantID))
}

func checkCode(c store.EnrolmentCode) error {
	return errors.Join(need("enrolment code", c.Code), need("enrolment participant ID", c.ParticipantID),
		needTime("enrolment code expiry", c.ExpiresAt))
}

func checkSession(s store.Session) error { return need("session participant ID", s.ParticipantID) }

func checkCheckIn(c store.CheckIn) error {
	return errors.Join(need("check-in ID", c.ID), need("check-in participant ID", c.ParticipantID))
}

func checkAttention(a store.AttentionItem) error {
	return errors.Join(need("attention ID", a.ID), need("attention participant ID", a.ParticipantID))
}

func checkAudit(e store.AuditEntry) error { return need("audit ID", e.ID) }

func checkOutbound(m store.OutboundMessage) error {
	return errors.Join(need("message ID", m.ID), need("message participant ID", m.ParticipantID))
}

func checkAppointment(a store.Appointment) error {
	return errors.Join(need("appointment ID", a.ID), need("appointment participant ID", a.ParticipantID))
}

// checkDue also needs the participant: DueOf finds items through it.
func checkDue(d store.DueItem) error {
	return errors.Join(need("due item ID", d.ID), need("due item participant ID", d.ParticipantID))
}

func checkClaim(owner string, lease time.Duration) error {
	return errors.Join(need("claim owner", owner), needPositive("claim lease", lease))
}

// unique refuses a batch that names one ID twice: the second would
// silently replace the first.
func unique(what string, ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("%s %s appears twice in one call", what, id)
		}
		seen[id] = true
	}
	return nil
}

// checkTurn refuses a turn whose records belong to someone other than
// Turn.ParticipantID: a turn is one person's, and this backend writes it in
// that person's slot.
func checkTurn(t store.Turn) error {
	pid := t.ParticipantID
	if err := need("turn participant ID", pid); err != nil {
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
		errs = append(errs, needTime("turn dedupe expiry", t.DedupeUntil))
	}
	if t.Participant != nil {
		errs = append(errs, checkParticipant(*t.Participant), mismatch("participant", t.Participant.ID))
	}
	if t.Session != nil {
		errs = append(errs, checkSession(*t.Session), mismatch("session", t.Session.ParticipantID))
	}
	var ciIDs, atIDs, auIDs, obIDs []string
	for _, c := range t.CheckIns {
		errs = append(errs, checkCheckIn(c), mismatch("check-in", c.ParticipantID))
		ciIDs = append(ciIDs, c.ID)
	}
	for _, a := range t.Attention {
		errs = append(errs, checkAttention(a), mismatch("attention item", a.ParticipantID))
		atIDs = append(atIDs, a.ID)
	}
	for _, e := range t.Audit {
		errs = append(errs, checkAudit(e))
		if e.ParticipantID != "" {
			errs = append(errs, mismatch("audit entry", e.ParticipantID))
		}
		auIDs = append(auIDs, e.ID)
	}
	for _, m := range t.Outbound {
		errs = append(errs, checkOutbound(m), mismatch("message", m.ParticipantID))
		obIDs = append(obIDs, m.ID)
	}
	errs = append(errs, unique("check-in", ciIDs), unique("attention item", atIDs),
		unique("audit entry", auIDs), unique("message", obIDs))
	return errors.Join(errs...)
}
