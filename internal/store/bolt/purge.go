package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	bbolt "go.etcd.io/bbolt"
	"math"
	"slices"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// ListLinks returns every link, ordered by index (bolt keeps keys sorted).
func (s *Store) ListLinks(_ context.Context) ([]store.Link, error) {
	var out []store.Link
	err := s.view("list links", func(t *txn) error {
		return t.Bucket(bLinks).ForEach(func(k, v []byte) error {
			var l store.Link
			if err := decodeAt(k, v, &l); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	return out, err
}

// OutboundOf returns a participant's messages, oldest first.
func (s *Store) OutboundOf(_ context.Context, participantID string) ([]store.OutboundMessage, error) {
	var out []store.OutboundMessage
	err := s.view("outbound of "+participantID, func(t *txn) (err error) {
		out, err = t.outboundOf(participantID)
		return err
	})
	return out, err
}

func (t *txn) outboundOf(participantID string) ([]store.OutboundMessage, error) {
	var out []store.OutboundMessage
	pfx := idPrefix(participantID)
	for _, k := range prefixKeys(t.Bucket(bOutboxByP), pfx) {
		r, ok, err := t.getOutbound(k[len(pfx):])
		if err != nil || !ok {
			return nil, orMissingIndex(err, ok)
		}
		out = append(out, r.Message)
	}
	sortOutbound(out)
	return out, nil
}

func sortOutbound(ms []store.OutboundMessage) {
	slices.SortFunc(ms, func(a, b store.OutboundMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// PurgeCheckIns deletes check-ins older than before. Check-ins are keyed
// by participant first, so this reads the time in every key; a daily job
// can afford one pass over the bucket.
func (s *Store) PurgeCheckIns(_ context.Context, before time.Time) (int, error) {
	n := 0
	end := timeKey(before)
	err := s.update("purge check-ins", func(t *txn) error {
		var err error
		n, err = deleteWhere(t.Bucket(bCheckIns), func(k, _ []byte) (bool, error) {
			tk := checkInTime(k)
			return tk != nil && bytes.Compare(tk, end) < 0, nil
		})
		return err
	})
	return n, err
}

// deleteWhere deletes every record of b that doomed picks, in one pass
// over the bucket, and returns how many it deleted.
func deleteWhere(b *bbolt.Bucket, doomed func(k, v []byte) (bool, error)) (int, error) {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		yes, err := doomed(k, v)
		if yes {
			keys = append(keys, bytes.Clone(k))
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// checkInTime returns the time part of a check-in key (participant ID with
// its length, time, ID), or nil for a key not of that shape.
func checkInTime(k []byte) []byte {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n+timeKeyLen {
		return nil
	}
	start := w + int(n)
	return k[start : start+timeKeyLen]
}

// PurgeAudit deletes audit entries older than before, oldest first through
// the time index.
func (s *Store) PurgeAudit(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update("purge audit", func(t *txn) error {
		for _, k := range readyKeys(t.Bucket(bAuditByTime), before.Add(-time.Nanosecond), math.MaxInt) {
			if err := t.deleteAudit(k[timeKeyLen:], k[:timeKeyLen]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// deleteAudit removes one entry and its index entries.
func (t *txn) deleteAudit(id, tk []byte) error {
	b := t.Bucket(bAudit)
	var e store.AuditEntry
	ok, err := getJSON(b, id, &e)
	if err != nil {
		return err
	}
	if ok && e.ParticipantID != "" {
		if err := t.Bucket(bAuditByP).Delete(key(idPrefix(e.ParticipantID), tk, id)); err != nil {
			return err
		}
	}
	if err := t.Bucket(bAuditByTime).Delete(key(tk, id)); err != nil {
		return err
	}
	return b.Delete(id)
}

// deleteAuditOf removes every audit entry naming a participant: erasure
// leaves only the entry its caller writes next.
func (t *txn) deleteAuditOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bAuditByP), pfx) {
		rest := k[len(pfx):]
		if len(rest) < timeKeyLen {
			continue
		}
		if err := t.deleteAudit(rest[timeKeyLen:], rest[:timeKeyLen]); err != nil {
			return err
		}
	}
	return nil
}

// PurgeOutbound deletes messages at a final status last updated before
// before.
func (s *Store) PurgeOutbound(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update("purge outbound", func(t *txn) error {
		var doomed [][]byte
		err := t.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			var r outboxRecord
			if err := unmarshal(v, &r); err != nil {
				return err
			}
			if r.Message.Status.Final() && r.Message.UpdatedAt.Before(before) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range doomed {
			if err := t.deleteOutbound(id); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

// PurgeAttention deletes attention items resolved before before.
func (s *Store) PurgeAttention(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update("purge attention", func(t *txn) error {
		var doomed [][]byte
		err := t.Bucket(bAttention).ForEach(func(k, v []byte) error {
			var a store.AttentionItem
			if err := unmarshal(v, &a); err != nil {
				return err
			}
			if !a.Open() && a.ResolvedAt.Before(before) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range doomed {
			if err := t.deleteAttention(id); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

// PurgeOutboundText drops the text of messages out of the queue and last
// updated before before. Only the record changes: its indexes depend on
// the status and times, which stay.
func (s *Store) PurgeOutboundText(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update("purge outbound text", func(t *txn) error {
		b := t.Bucket(bOutbox)
		var changed []outboxRecord
		err := b.ForEach(func(_, v []byte) error {
			var r outboxRecord
			if err := unmarshal(v, &r); err != nil {
				return err
			}
			m := r.Message
			if m.Status != store.Pending && m.HasWords() && m.UpdatedAt.Before(before) {
				r.Message.DropWords()
				changed = append(changed, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range changed {
			if err := putJSON(b, []byte(r.Message.ID), r); err != nil {
				return err
			}
		}
		n = len(changed)
		return nil
	})
	return n, err
}
