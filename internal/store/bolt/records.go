package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// Check-ins: keyed participant, time, ID, so that CheckInsOf is one seek and
// a forward scan.

func (s *Store) RecordCheckIn(_ context.Context, c store.CheckIn) error {
	if err := store.CheckCheckIn(c); err != nil {
		return fmt.Errorf("bolt: record check-in: %w", err)
	}
	return s.batch("record check-in "+c.ID, func(t *txn) error { return t.recordCheckIn(c) })
}

func (t *txn) recordCheckIn(c store.CheckIn) error {
	return putJSON(t.Bucket(bCheckIns), key(idPrefix(c.ParticipantID), timeKey(c.At), []byte(c.ID)), c)
}

func (s *Store) CheckInsOf(_ context.Context, participantID string, since time.Time) ([]store.CheckIn, error) {
	var out []store.CheckIn
	err := s.view("check-ins of "+participantID, func(t *txn) (err error) {
		out, err = t.checkInsOf(participantID, since)
		return err
	})
	return out, err
}

func (t *txn) checkInsOf(participantID string, since time.Time) ([]store.CheckIn, error) {
	var out []store.CheckIn
	pfx := idPrefix(participantID)
	c := t.Bucket(bCheckIns).Cursor()
	for k, v := c.Seek(key(pfx, timeKey(since))); k != nil && bytes.HasPrefix(k, pfx); k, v = c.Next() {
		var ci store.CheckIn
		if err := unmarshal(v, &ci); err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	return out, nil
}

func (s *Store) LastCheckIns(_ context.Context, participantIDs []string) (map[string]store.CheckIn, error) {
	out := make(map[string]store.CheckIn, len(participantIDs))
	err := s.view("last check-ins", func(t *txn) error {
		c := t.Bucket(bCheckIns).Cursor()
		for _, pid := range participantIDs {
			// The person's keys sort by time: the last is the one just
			// before the first key past their prefix.
			pfx := idPrefix(pid)
			var k, v []byte
			if past, _ := c.Seek(append(bytes.Clone(pfx), 0xff)); past == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			if k == nil || !bytes.HasPrefix(k, pfx) {
				continue
			}
			var ci store.CheckIn
			if err := unmarshal(v, &ci); err != nil {
				return err
			}
			out[pid] = ci
		}
		return nil
	})
	return out, err
}

// Attention: the items by ID, with indexes by creation time (for the
// newest-first queue) and by participant (for erasure).

func (s *Store) AddAttention(_ context.Context, a store.AttentionItem) error {
	if err := store.CheckAttention(a); err != nil {
		return fmt.Errorf("bolt: add attention: %w", err)
	}
	return s.batch("add attention "+a.ID, func(t *txn) error { return t.addAttention(a) })
}

// addAttention refuses an ID in use: an item once raised is changed only by
// ResolveAttention.
func (t *txn) addAttention(a store.AttentionItem) error {
	if t.Bucket(bAttention).Get([]byte(a.ID)) != nil {
		return fmt.Errorf("attention item %s: %w", a.ID, store.ErrConflict)
	}
	if err := putJSON(t.Bucket(bAttention), []byte(a.ID), a); err != nil {
		return err
	}
	if err := t.Bucket(bAttentionByTime).Put(key(timeKey(a.CreatedAt), []byte(a.ID)), nil); err != nil {
		return err
	}
	if err := t.indexOpen(nil, &a); err != nil {
		return err
	}
	return t.Bucket(bAttentionByP).Put(key(idPrefix(a.ParticipantID), []byte(a.ID)), nil)
}

func (t *txn) deleteAttention(id []byte) error {
	b := t.Bucket(bAttention)
	var old store.AttentionItem
	ok, err := getJSON(b, id, &old)
	if err != nil || !ok {
		return err
	}
	if err := t.Bucket(bAttentionByTime).Delete(key(timeKey(old.CreatedAt), id)); err != nil {
		return err
	}
	if err := t.indexOpen(&old, nil); err != nil {
		return err
	}
	if err := t.Bucket(bAttentionByP).Delete(key(idPrefix(old.ParticipantID), id)); err != nil {
		return err
	}
	return b.Delete(id)
}

func (t *txn) deleteAttentionOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bAttentionByP), pfx) {
		if err := t.deleteAttention(k[len(pfx):]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ListAttention(_ context.Context, openOnly bool) ([]store.AttentionItem, error) {
	var out []store.AttentionItem
	err := s.view("list attention", func(t *txn) error {
		items := t.Bucket(bAttention)
		c := t.Bucket(bAttentionByTime).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			var a store.AttentionItem
			if ok, err := getJSON(items, k[timeKeyLen:], &a); err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			if openOnly && !a.Open() {
				continue
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func (s *Store) ResolveAttention(_ context.Context, id, by, resolution string, at time.Time) error {
	return s.update("resolve attention "+id, func(t *txn) error {
		b := t.Bucket(bAttention)
		var a store.AttentionItem
		ok, err := getJSON(b, []byte(id), &a)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		old := a
		a.ResolvedAt, a.ResolvedBy, a.Resolution = at, by, resolution
		// CreatedAt and ParticipantID are unchanged, so only the open
		// index changes.
		if err := t.indexOpen(&old, &a); err != nil {
			return err
		}
		return putJSON(b, []byte(id), a)
	})
}

// Audit: append-only. Entries by ID (to refuse a second write of an ID),
// indexed by time and by participant and time.

func (s *Store) AppendAudit(_ context.Context, e store.AuditEntry) error {
	if err := store.CheckAudit(e); err != nil {
		return fmt.Errorf("bolt: append audit: %w", err)
	}
	return s.update("append audit "+e.ID, func(t *txn) error { return t.appendAudit(e) })
}

func (t *txn) appendAudit(e store.AuditEntry) error {
	b := t.Bucket(bAudit)
	if b.Get([]byte(e.ID)) != nil {
		return fmt.Errorf("audit entry %s: %w", e.ID, store.ErrConflict)
	}
	if err := putJSON(b, []byte(e.ID), e); err != nil {
		return err
	}
	tk := timeKey(e.At)
	if err := t.Bucket(bAuditByTime).Put(key(tk, []byte(e.ID)), nil); err != nil {
		return err
	}
	if e.ParticipantID == "" {
		return nil
	}
	return t.Bucket(bAuditByP).Put(key(idPrefix(e.ParticipantID), tk, []byte(e.ID)), nil)
}

func (s *Store) ListAudit(_ context.Context, participantID string, limit int) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	err := s.view("list audit", func(t *txn) error {
		index, pfx := t.Bucket(bAuditByTime), []byte(nil)
		if participantID != "" {
			index, pfx = t.Bucket(bAuditByP), idPrefix(participantID)
		}
		entries := t.Bucket(bAudit)
		return reversePrefix(index, pfx, func(k []byte) (bool, error) {
			var e store.AuditEntry
			if ok, err := getJSON(entries, k[len(pfx)+timeKeyLen:], &e); err != nil || !ok {
				return false, orMissingIndex(err, ok)
			}
			out = append(out, e)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	return out, err
}

// reversePrefix calls fn for the keys of b that start with prefix, last
// first, until fn returns false or an error.
func reversePrefix(b *bbolt.Bucket, prefix []byte, fn func(k []byte) (bool, error)) error {
	c := b.Cursor()
	var k []byte
	if end := prefixEnd(prefix); end == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(end); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		more, err := fn(k)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// prefixEnd returns the first key after every key starting with prefix, or
// nil when there is none (an empty or all-0xff prefix).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
