package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// Kinds of expiring records in the expiry index.
const (
	expSession byte = 's'
	expCode    byte = 'c'
	expDedupe  byte = 'd'
	expCounter byte = 'n'
)

func expiryKey(kind byte, k string, at time.Time) []byte {
	return key(timeKey(at), []byte{kind}, []byte(k))
}

// expireAt moves k's entry in the expiry index from old (when it had one) to
// at, so the sweeper finds it.
func (t *txn) expireAt(kind byte, k string, old *time.Time, at time.Time) error {
	b := t.Bucket(bExpiry)
	if old != nil {
		if err := b.Delete(expiryKey(kind, k, *old)); err != nil {
			return err
		}
	}
	return b.Put(expiryKey(kind, k, at), nil)
}

func (t *txn) unexpire(kind byte, k string, at time.Time) error {
	return t.Bucket(bExpiry).Delete(expiryKey(kind, k, at))
}

// Participants.

func (s *Store) CreateParticipant(_ context.Context, p store.Participant) error {
	if err := store.CheckParticipant(p); err != nil {
		return fmt.Errorf("bolt: create participant: %w", err)
	}
	return s.update("create participant "+p.ID, func(t *txn) error {
		b := t.Bucket(bParticipants)
		if b.Get([]byte(p.ID)) != nil {
			return store.ErrConflict
		}
		if err := t.checkChildProtection(nil, p); err != nil {
			return err
		}
		p.Revision = 1
		if err := t.indexParticipant(nil, &p); err != nil {
			return err
		}
		return putJSON(b, []byte(p.ID), p)
	})
}

func (s *Store) GetParticipant(_ context.Context, id string) (store.Participant, error) {
	var p store.Participant
	err := s.view("get participant "+id, func(t *txn) error {
		ok, err := getJSON(t.Bucket(bParticipants), []byte(id), &p)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return p, err
}

func (s *Store) UpdateParticipant(_ context.Context, p store.Participant) error {
	if err := store.CheckParticipant(p); err != nil {
		return fmt.Errorf("bolt: update participant: %w", err)
	}
	return s.update("update participant "+p.ID, func(t *txn) error {
		if t.Bucket(bParticipants).Get([]byte(p.ID)) == nil {
			return store.ErrNotFound
		}
		return t.saveParticipant(p)
	})
}

func (s *Store) ListParticipants(_ context.Context) ([]store.Participant, error) {
	var out []store.Participant
	err := s.view("list participants", func(t *txn) error {
		return t.Bucket(bParticipants).ForEach(func(k, v []byte) error {
			var p store.Participant
			if err := decodeAt(k, v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// DeleteParticipant erases the person and every record keyed by them, in
// one transaction, their audit entries included: the caller then records
// only that the erasure happened.
func (s *Store) DeleteParticipant(_ context.Context, id string) error {
	return s.update("delete participant "+id, func(t *txn) error {
		pfx := idPrefix(id)
		steps := []func() error{
			func() error { return t.unindexParticipant(id) },
			func() error { return t.Bucket(bParticipants).Delete([]byte(id)) },
			func() error { return t.deleteSession(id) },
			func() error { return t.deleteLinksOf(pfx) },
			func() error { return deletePrefix(t.Bucket(bCheckIns), pfx) },
			func() error { return deletePrefix(t.Bucket(bWindows), pfx) },
			func() error { return t.deleteAttentionOf(pfx) },
			func() error { return t.deleteAppointmentsOf(pfx) },
			func() error { return t.deleteDueOf(pfx) },
			func() error { return t.deleteOutboundOf(pfx) },
			func() error { return t.deleteCodesOf(id) },
			func() error { return t.deleteAuditOf(pfx) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	for _, k := range prefixKeys(b, prefix) {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Links.

func (s *Store) PutLink(_ context.Context, l store.Link) error {
	if err := store.CheckLink(l); err != nil {
		return fmt.Errorf("bolt: put link: %w", err)
	}
	return s.update("put link of "+l.ParticipantID, func(t *txn) error {
		if err := t.deleteLink([]byte(l.Index)); err != nil {
			return err
		}
		if err := putJSON(t.Bucket(bLinks), []byte(l.Index), l); err != nil {
			return err
		}
		return t.Bucket(bLinksByP).Put(key(idPrefix(l.ParticipantID), []byte(l.Index)), nil)
	})
}

// The link index is a blind index of an address: it stays out of errors.

func (s *Store) GetLink(_ context.Context, index string) (store.Link, error) {
	var l store.Link
	err := s.view("get link", func(t *txn) error {
		ok, err := getJSON(t.Bucket(bLinks), []byte(index), &l)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return l, err
}

func (s *Store) LinksOf(_ context.Context, participantID string) ([]store.Link, error) {
	var out []store.Link
	err := s.view("links of "+participantID, func(t *txn) (err error) {
		out, err = t.linksOf(participantID)
		return err
	})
	return out, err
}

func (t *txn) linksOf(participantID string) ([]store.Link, error) {
	return recordsOf[store.Link](t, bLinksByP, bLinks, participantID)
}

func (s *Store) DeleteLink(_ context.Context, index string) error {
	return s.update("delete link", func(t *txn) error { return t.deleteLink([]byte(index)) })
}

// deleteLink removes a link and its index entry; a missing link is fine.
func (t *txn) deleteLink(index []byte) error {
	links := t.Bucket(bLinks)
	var old store.Link
	ok, err := getJSON(links, index, &old)
	if err != nil || !ok {
		return err
	}
	if err := t.Bucket(bLinksByP).Delete(key(idPrefix(old.ParticipantID), index)); err != nil {
		return err
	}
	return links.Delete(index)
}

func (t *txn) deleteLinksOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bLinksByP), pfx) {
		if err := t.deleteLink(k[len(pfx):]); err != nil {
			return err
		}
	}
	return nil
}

// Enrolment codes. The code is a secret until used: it stays out of errors.

func (s *Store) PutEnrolmentCode(_ context.Context, c store.EnrolmentCode) error {
	if err := store.CheckCode(c); err != nil {
		return fmt.Errorf("bolt: put enrolment code: %w", err)
	}
	return s.update("put enrolment code for "+c.ParticipantID, func(t *txn) error {
		b := t.Bucket(bCodes)
		var old store.EnrolmentCode
		ok, err := getJSON(b, []byte(c.Code), &old)
		if err != nil {
			return err
		}
		var prev *time.Time
		if ok {
			if old.ExpiresAt.After(t.now) {
				return store.ErrConflict
			}
			prev = &old.ExpiresAt
		}
		if err := putJSON(b, []byte(c.Code), c); err != nil {
			return err
		}
		return t.expireAt(expCode, c.Code, prev, c.ExpiresAt)
	})
}

func (s *Store) TakeEnrolmentCode(_ context.Context, code string) (store.EnrolmentCode, error) {
	var c store.EnrolmentCode
	err := s.update("take enrolment code", func(t *txn) error {
		b := t.Bucket(bCodes)
		ok, err := getJSON(b, []byte(code), &c)
		if err != nil {
			return err
		}
		if !ok || !c.ExpiresAt.After(t.now) {
			// An expired code is as good as gone; the sweeper drops it.
			return store.ErrNotFound
		}
		if err := b.Delete([]byte(code)); err != nil {
			return err
		}
		return t.unexpire(expCode, code, c.ExpiresAt)
	})
	if err != nil {
		return store.EnrolmentCode{}, err
	}
	return c, nil
}

func (t *txn) deleteCodesOf(pid string) error {
	b := t.Bucket(bCodes)
	var doomed []store.EnrolmentCode
	err := b.ForEach(func(_, v []byte) error {
		var c store.EnrolmentCode
		if err := unmarshal(v, &c); err != nil {
			return err
		}
		if c.ParticipantID == pid {
			doomed = append(doomed, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range doomed {
		if err := b.Delete([]byte(c.Code)); err != nil {
			return err
		}
		if err := t.unexpire(expCode, c.Code, c.ExpiresAt); err != nil {
			return err
		}
	}
	return nil
}

// Sessions.

func (s *Store) GetSession(_ context.Context, participantID string) (store.Session, error) {
	var ss store.Session
	err := s.view("get session of "+participantID, func(t *txn) error {
		ok, err := getJSON(t.Bucket(bSessions), []byte(participantID), &ss)
		if err != nil {
			return err
		}
		if !ok || !ss.ExpiresAt.After(t.now) {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return store.Session{}, err
	}
	return ss, nil
}

func (s *Store) SaveSession(_ context.Context, ss store.Session) error {
	if err := store.CheckSession(ss); err != nil {
		return fmt.Errorf("bolt: save session: %w", err)
	}
	return s.update("save session of "+ss.ParticipantID, func(t *txn) error { return t.saveSession(ss) })
}

func (s *Store) DeleteSession(_ context.Context, participantID string) error {
	return s.update("delete session of "+participantID, func(t *txn) error { return t.deleteSession(participantID) })
}

func (t *txn) saveSession(ss store.Session) error {
	b := t.Bucket(bSessions)
	var old store.Session
	ok, err := getJSON(b, []byte(ss.ParticipantID), &old)
	if err != nil {
		return err
	}
	var prev *time.Time
	if ok {
		prev = &old.ExpiresAt
	}
	if err := putJSON(b, []byte(ss.ParticipantID), ss); err != nil {
		return err
	}
	return t.expireAt(expSession, ss.ParticipantID, prev, ss.ExpiresAt)
}

func (t *txn) deleteSession(pid string) error {
	b := t.Bucket(bSessions)
	var old store.Session
	ok, err := getJSON(b, []byte(pid), &old)
	if err != nil || !ok {
		return err
	}
	if err := t.unexpire(expSession, pid, old.ExpiresAt); err != nil {
		return err
	}
	return b.Delete([]byte(pid))
}

// saveParticipant saves p one revision higher if the stored record is
// still at p's revision, and refuses with ErrStale if not. With no record,
// p is saved only at revision 0: a record that went away after it was read
// stays gone.
func (t *txn) saveParticipant(p store.Participant) error {
	b := t.Bucket(bParticipants)
	var cur store.Participant
	found, err := getJSON(b, []byte(p.ID), &cur)
	switch {
	case err != nil:
		return err
	case found && cur.Revision != p.Revision, !found && p.Revision != 0:
		return store.ErrStale
	}
	var old *store.Participant
	if found {
		old = &cur
	}
	if err := t.checkChildProtection(old, p); err != nil {
		return err
	}
	p.Revision++
	if err := t.indexParticipant(old, &p); err != nil {
		return err
	}
	return putJSON(b, []byte(p.ID), p)
}
