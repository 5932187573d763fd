package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// The outbox and the due queue work alike. Each record carries its claim
// (owner, lease end, in the caller's time) and the moment it becomes
// claimable; a ready index keyed by that moment lets a claim read only what
// is due, earliest first. Claiming moves the index entry to the lease end, so
// an unfinished claim comes round again without any extra bookkeeping.

type outboxRecord struct {
	Message store.OutboundMessage `json:"message"`
	Owner   string                `json:"owner,omitempty"`
	Until   time.Time             `json:"until,omitzero"`
	Ready   time.Time             `json:"ready"` // index time; meaningful only while Pending
}

func (r outboxRecord) readyKey() []byte {
	return key(timeKey(r.Ready), []byte(r.Message.ID))
}

func (s *Store) EnqueueOutbound(_ context.Context, msgs ...store.OutboundMessage) error {
	for _, m := range msgs {
		if err := store.CheckOutbound(m); err != nil {
			return fmt.Errorf("bolt: enqueue outbound: %w", err)
		}
	}
	return s.batch("enqueue outbound", func(t *txn) error { return t.enqueue(msgs) })
}

// enqueue refuses an ID already in the outbox: a message is queued once.
func (t *txn) enqueue(msgs []store.OutboundMessage) error {
	b := t.Bucket(bOutbox)
	for _, m := range msgs {
		if b.Get([]byte(m.ID)) != nil {
			return fmt.Errorf("message %s: %w", m.ID, store.ErrConflict)
		}
		if err := t.putOutbound(outboxRecord{Message: m, Ready: m.NotBefore}); err != nil {
			return err
		}
	}
	return nil
}

// putOutbound writes r with its indexes, after any old version is removed.
func (t *txn) putOutbound(r outboxRecord) error {
	m := &r.Message
	if m.Status.Final() {
		m.DropWords()
	}
	if err := putJSON(t.Bucket(bOutbox), []byte(m.ID), r); err != nil {
		return err
	}
	if err := t.Bucket(bOutboxByP).Put(key(idPrefix(m.ParticipantID), []byte(m.ID)), nil); err != nil {
		return err
	}
	if m.Status != store.Pending {
		return nil
	}
	return t.Bucket(bOutboxReady).Put(r.readyKey(), nil)
}

func (t *txn) getOutbound(id []byte) (outboxRecord, bool, error) {
	var r outboxRecord
	ok, err := getJSON(t.Bucket(bOutbox), id, &r)
	return r, ok, err
}

func (t *txn) deleteOutbound(id []byte) error {
	r, ok, err := t.getOutbound(id)
	if err != nil || !ok {
		return err
	}
	if r.Message.Status == store.Pending {
		if err := t.Bucket(bOutboxReady).Delete(r.readyKey()); err != nil {
			return err
		}
	}
	if err := t.Bucket(bOutboxByP).Delete(key(idPrefix(r.Message.ParticipantID), id)); err != nil {
		return err
	}
	return t.Bucket(bOutbox).Delete(id)
}

func (t *txn) deleteOutboundOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bOutboxByP), pfx) {
		if err := t.deleteOutbound(k[len(pfx):]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ClaimOutbound(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("bolt: claim outbound: %w", err)
	}
	var out []store.OutboundMessage
	err := s.update("claim outbound", func(t *txn) error {
		for _, k := range readyKeys(t.Bucket(bOutboxReady), now, limit) {
			r, ok, err := t.getOutbound(k[timeKeyLen:])
			if err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			if err := t.Bucket(bOutboxReady).Delete(k); err != nil {
				return err
			}
			r.Owner, r.Until = owner, now.Add(lease)
			r.Ready = r.Until
			if err := t.putOutbound(r); err != nil {
				return err
			}
			out = append(out, r.Message)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) GetOutbound(_ context.Context, id string) (store.OutboundMessage, error) {
	var m store.OutboundMessage
	err := s.view("get outbound "+id, func(t *txn) error {
		r, ok, err := t.getOutbound([]byte(id))
		if err == nil && !ok {
			return store.ErrNotFound
		}
		m = r.Message
		return err
	})
	return m, err
}

// UpdateOutbound saves m with no claim: a Pending message is claimable again
// at its NotBefore.
func (s *Store) UpdateOutbound(_ context.Context, m store.OutboundMessage) error {
	if err := store.CheckOutbound(m); err != nil {
		return fmt.Errorf("bolt: update outbound: %w", err)
	}
	return s.batch("update outbound "+m.ID, func(t *txn) error {
		_, ok, err := t.getOutbound([]byte(m.ID))
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if err := t.deleteOutbound([]byte(m.ID)); err != nil {
			return err
		}
		return t.putOutbound(outboxRecord{Message: m, Ready: m.NotBefore})
	})
}

func (s *Store) ChangeOutbound(_ context.Context, id string, change func(*store.OutboundMessage) bool) (store.OutboundMessage, bool, error) {
	var m store.OutboundMessage
	var saved bool
	err := s.batch("change outbound "+id, func(t *txn) error {
		r, ok, err := t.getOutbound([]byte(id))
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		m, saved = r.Message, false
		if !change(&m) {
			m = r.Message
			return nil
		}
		if err := store.CheckOutbound(m); err != nil || m.ID != id {
			return errors.Join(err, errors.New("a change may not alter the message's ID"))
		}
		saved = true
		if m.Status.Final() {
			m.DropWords() // the text and a template's filled values alike
		}
		if err := t.deleteOutbound([]byte(id)); err != nil {
			return err
		}
		return t.putOutbound(outboxRecord{Message: m, Ready: m.NotBefore})
	})
	return m, saved, err
}

// BeginSend reads the participant and the link and records the dedupe key
// in one transaction.
func (s *Store) BeginSend(_ context.Context, pid, linkIndex, dedupeKey string, expiresAt time.Time) (store.SendCheck, error) {
	var c store.SendCheck
	if err := errors.Join(store.Need("participant ID", pid), store.Need("dedupe key", dedupeKey), store.NeedTime("dedupe expiry", expiresAt)); err != nil {
		return c, fmt.Errorf("bolt: begin send: %w", err)
	}
	err := s.batch("begin send to "+pid, func(t *txn) error {
		c = store.SendCheck{} // run again when a batch is retried: start clean
		var err error
		if c.FirstSeen, err = t.recordDedupe(dedupeKey, expiresAt); err != nil {
			return err
		}
		var p store.Participant
		if ok, err := getJSON(t.Bucket(bParticipants), []byte(pid), &p); err != nil {
			return err
		} else if ok {
			c.Participant = &p
		}
		if linkIndex == "" {
			return nil
		}
		var l store.Link
		if ok, err := getJSON(t.Bucket(bLinks), []byte(linkIndex), &l); err != nil {
			return err
		} else if ok {
			c.Link = &l
		}
		return nil
	})
	if err != nil {
		return store.SendCheck{}, err
	}
	return c, nil
}

// MarkSent records a provider's acceptance of m and ends its claim, in one
// transaction with the read of the stored status, so that a status
// reported at the same moment is never undone.
func (s *Store) MarkSent(_ context.Context, m store.OutboundMessage) error {
	if err := store.CheckOutbound(m); err != nil {
		return fmt.Errorf("bolt: mark outbound sent: %w", err)
	}
	return s.batch("mark outbound sent "+m.ID, func(t *txn) error {
		r, ok, err := t.getOutbound([]byte(m.ID))
		if err != nil {
			return err
		}
		if !ok || r.Message.ParticipantID != m.ParticipantID {
			return store.ErrNotFound // not m's: IDs are unique over all participants
		}
		rec := store.AcceptedOver(r.Message, m)
		if err := t.deleteOutbound([]byte(m.ID)); err != nil {
			return err
		}
		return t.putOutbound(outboxRecord{Message: rec, Ready: rec.NotBefore})
	})
}

// MarkSending saves m, with its attempt and the moment its send began,
// over the stored record while that is Pending, keeping the claim: the
// record keeps its owner, lease end and place in the ready index.
func (s *Store) MarkSending(_ context.Context, m store.OutboundMessage) error {
	if err := errors.Join(store.CheckOutbound(m), store.NeedTime("send began", m.SendBegan)); err != nil {
		return fmt.Errorf("bolt: mark outbound sending: %w", err)
	}
	return s.batch("mark outbound sending "+m.ID, func(t *txn) error {
		r, ok, err := t.getOutbound([]byte(m.ID))
		switch {
		case err != nil:
			return err
		case !ok || r.Message.ParticipantID != m.ParticipantID:
			return store.ErrNotFound
		case r.Message.Status != store.Pending:
			return fmt.Errorf("message %s is %s: %w", m.ID, r.Message.Status, store.ErrConflict)
		}
		r.Message = m
		return t.putOutbound(r)
	})
}

// takeBackClaims ends every claim on the outbox and the due queue: run
// when the file is opened, because only one process can hold it, so the
// process that made them is gone. Its claims come round at once instead
// of when their leases end; a message whose send it began keeps that mark,
// and the dispatcher decides what to do with it.
func (t *txn) takeBackClaims() error {
	// Every Pending message and every due item is in its ready index, a
	// claimed one at its lease end: the whole index, not just what is due.
	for _, k := range prefixKeys(t.Bucket(bOutboxReady), nil) {
		r, ok, err := t.getOutbound(k[timeKeyLen:])
		if err != nil || !ok {
			return orMissingIndex(err, ok)
		}
		if r.Owner == "" {
			continue
		}
		if err := t.Bucket(bOutboxReady).Delete(k); err != nil {
			return err
		}
		r.Owner, r.Until, r.Ready = "", time.Time{}, r.Message.NotBefore
		if err := t.putOutbound(r); err != nil {
			return err
		}
	}
	for _, k := range prefixKeys(t.Bucket(bDueReady), nil) {
		r, ok, err := t.getDue(k[timeKeyLen:])
		if err != nil || !ok {
			return orMissingIndex(err, ok)
		}
		if r.Owner == "" {
			continue
		}
		if err := t.Bucket(bDueReady).Delete(k); err != nil {
			return err
		}
		r.Owner, r.Until, r.Ready = "", time.Time{}, r.Item.DueAt
		if err := t.putDue(r); err != nil {
			return err
		}
	}
	return nil
}

// Due items.

type dueRecord struct {
	Item  store.DueItem `json:"item"`
	Owner string        `json:"owner,omitempty"`
	Until time.Time     `json:"until,omitzero"`
	Ready time.Time     `json:"ready"`
}

func (r dueRecord) readyKey() []byte { return key(timeKey(r.Ready), []byte(r.Item.ID)) }

func (r dueRecord) byPKey() []byte {
	return key(idPrefix(r.Item.ParticipantID), timeKey(r.Item.DueAt), []byte(r.Item.ID))
}

func (t *txn) getDue(id []byte) (dueRecord, bool, error) {
	var r dueRecord
	ok, err := getJSON(t.Bucket(bDue), id, &r)
	return r, ok, err
}

func (t *txn) putDue(r dueRecord) error {
	if err := putJSON(t.Bucket(bDue), []byte(r.Item.ID), r); err != nil {
		return err
	}
	if err := t.Bucket(bDueReady).Put(r.readyKey(), nil); err != nil {
		return err
	}
	return t.Bucket(bDueByP).Put(r.byPKey(), nil)
}

func (t *txn) deleteDue(id []byte) error {
	r, ok, err := t.getDue(id)
	if err != nil || !ok {
		return err
	}
	for _, del := range []struct {
		b *bbolt.Bucket
		k []byte
	}{{t.Bucket(bDueReady), r.readyKey()}, {t.Bucket(bDueByP), r.byPKey()}, {t.Bucket(bDue), id}} {
		if err := del.b.Delete(del.k); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) deleteDueOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bDueByP), pfx) {
		if err := t.deleteDue(k[len(pfx)+timeKeyLen:]); err != nil {
			return err
		}
	}
	return nil
}

// PutDue inserts or replaces items by ID. A replaced item loses any claim:
// re-planning makes it new work.
func (s *Store) PutDue(_ context.Context, items ...store.DueItem) error {
	for _, d := range items {
		if err := store.CheckDue(d); err != nil {
			return fmt.Errorf("bolt: put due: %w", err)
		}
	}
	return s.update("put due", func(t *txn) error { return t.replaceDue(items) })
}

// replaceDue inserts or replaces items by ID, as new work: unclaimed.
func (t *txn) replaceDue(items []store.DueItem) error {
	for _, d := range items {
		if err := t.deleteDue([]byte(d.ID)); err != nil {
			return err
		}
		if err := t.putDue(dueRecord{Item: d, Ready: d.DueAt}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) DeleteDue(_ context.Context, ids ...string) error {
	return s.update("delete due", func(t *txn) error { return t.deleteDueIDs(ids) })
}

func (t *txn) deleteDueIDs(ids []string) error {
	for _, id := range ids {
		if err := t.deleteDue([]byte(id)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) DueOf(_ context.Context, participantID string) ([]store.DueItem, error) {
	var out []store.DueItem
	err := s.view("due of "+participantID, func(t *txn) (err error) {
		out, err = t.dueOf(participantID)
		return err
	})
	return out, err
}

func (t *txn) dueOf(participantID string) ([]store.DueItem, error) {
	var out []store.DueItem
	pfx := idPrefix(participantID)
	for _, k := range prefixKeys(t.Bucket(bDueByP), pfx) {
		r, ok, err := t.getDue(k[len(pfx)+timeKeyLen:])
		if err != nil || !ok {
			return nil, orMissingIndex(err, ok)
		}
		out = append(out, r.Item)
	}
	return out, nil
}

func (s *Store) ClaimDue(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.DueItem, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("bolt: claim due: %w", err)
	}
	var out []store.DueItem
	err := s.update("claim due", func(t *txn) error {
		for _, k := range readyKeys(t.Bucket(bDueReady), now, limit) {
			r, ok, err := t.getDue(k[timeKeyLen:])
			if err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			if err := t.Bucket(bDueReady).Delete(k); err != nil {
				return err
			}
			r.Owner, r.Until = owner, now.Add(lease)
			r.Ready = r.Until
			if err := t.putDue(r); err != nil {
				return err
			}
			out = append(out, r.Item)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteDue deletes id if owner holds its claim. A lease that ran out
// still counts as held until someone else claims the item: the work is done
// either way.
func (s *Store) CompleteDue(_ context.Context, id, owner string) error {
	return s.update("complete due "+id, func(t *txn) error { return t.completeDue(id, owner) })
}

// completeDue deletes item id if owner holds it: ErrNotFound if it is
// gone, ErrConflict if it is not owner's.
func (t *txn) completeDue(id, owner string) error {
	if _, err := t.heldDue(id, owner); err != nil {
		return err
	}
	return t.deleteDue([]byte(id))
}

// heldDue returns the item if owner holds its claim: ErrNotFound if it
// is gone, ErrConflict if it is unclaimed or another owner's.
func (t *txn) heldDue(id, owner string) (dueRecord, error) {
	r, ok, err := t.getDue([]byte(id))
	switch {
	case err != nil:
		return r, err
	case !ok:
		return r, store.ErrNotFound
	case r.Owner == "" || r.Owner != owner:
		return r, store.ErrConflict
	}
	return r, nil
}

// ReleaseDue ends owner's claim on id; the item is claimable again at its
// DueAt.
func (s *Store) ReleaseDue(_ context.Context, id, owner string) error {
	return s.update("release due "+id, func(t *txn) error {
		r, err := t.heldDue(id, owner)
		if err != nil {
			return err
		}
		if err := t.Bucket(bDueReady).Delete(r.readyKey()); err != nil {
			return err
		}
		r.Owner, r.Until, r.Ready = "", time.Time{}, r.Item.DueAt
		return t.putDue(r)
	})
}
