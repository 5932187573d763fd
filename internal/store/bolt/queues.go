package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

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
	// Seq is the message's place in its person's send order (bOutboxOrder),
	// 0 for one queued before there was one.
	Seq uint64 `json:"seq,omitempty"`
	// Parked is set on a message waiting behind an earlier one of its
	// person (ClaimOutbound); it is woken when that one has gone.
	Parked bool `json:"parked,omitempty"`
}

func (r outboxRecord) readyKey() []byte {
	return key(timeKey(r.Ready), []byte(r.Message.ID))
}

func (r outboxRecord) orderKey() []byte {
	return key(idPrefix(r.Message.ParticipantID), binary.BigEndian.AppendUint64(nil, r.Seq))
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
		r := outboxRecord{Message: m, Ready: m.NotBefore}
		if m.Status == store.Pending {
			r.Seq = t.nextSeq(m.ParticipantID)
		}
		if err := t.putOutbound(r); err != nil {
			return err
		}
	}
	return nil
}

// nextSeq is the place in pid's send order after their last Pending
// message.
func (t *txn) nextSeq(pid string) uint64 {
	pfx := idPrefix(pid)
	c := t.Bucket(bOutboxOrder).Cursor()
	// The first key after every key of pid's: the prefix with its last
	// byte raised would do, but a prefix of 0xff bytes has none.
	k, _ := c.Seek(append(bytes.Clone(pfx), bytes.Repeat([]byte{0xff}, 9)...))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, pfx) || len(k) != len(pfx)+8 {
		return 1
	}
	return binary.BigEndian.Uint64(k[len(pfx):]) + 1
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
	if r.Seq > 0 {
		if err := t.Bucket(bOutboxOrder).Put(r.orderKey(), []byte(m.ID)); err != nil {
			return err
		}
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
		if err := t.Bucket(bOutboxOrder).Delete(r.orderKey()); err != nil {
			return err
		}
	}
	if err := t.Bucket(bOutboxByP).Delete(key(idPrefix(r.Message.ParticipantID), id)); err != nil {
		return err
	}
	return t.Bucket(bOutbox).Delete(id)
}

// replaceOutbound saves m over r, its stored record, with no claim: a
// Pending m is claimable again at its NotBefore and keeps its place in its
// person's send order. When no claim then holds a message of the person,
// the messages parked at the head of their send order have nothing left
// to wait for (the one before them has gone, or a later one whose claim
// kept them back was handed back) and are woken; the first one not parked
// and those after it stay as they are.
func (t *txn) replaceOutbound(r outboxRecord, m store.OutboundMessage) error {
	if err := t.deleteOutbound([]byte(m.ID)); err != nil {
		return err
	}
	if err := t.putOutbound(outboxRecord{Message: m, Ready: m.NotBefore, Seq: r.Seq}); err != nil {
		return err
	}
	var parked []outboxRecord
	waking := true
	for _, k := range prefixKeys(t.Bucket(bOutboxOrder), idPrefix(m.ParticipantID)) {
		e, ok, err := t.getOutbound(t.Bucket(bOutboxOrder).Get(k))
		if err != nil || !ok {
			return orMissingIndex(err, ok)
		}
		if e.Owner != "" {
			return nil
		}
		waking = waking && e.Parked
		if waking {
			parked = append(parked, e)
		}
	}
	for _, e := range parked {
		if err := t.Bucket(bOutboxReady).Delete(e.readyKey()); err != nil {
			return err
		}
		e.Parked, e.Ready = false, e.Message.NotBefore
		if err := t.putOutbound(e); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) deleteOutboundOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bOutboxByP), pfx) {
		if err := t.deleteOutbound(k[len(pfx):]); err != nil {
			return err
		}
	}
	return nil
}

// ClaimOutbound leases due messages to owner, earliest due first, each
// person's in the order they were made. A message goes only with every
// Pending message of its person made before it (in this claim, or held by
// owner from an earlier one), and not while another owner holds one of
// the person's; otherwise it is parked (out of the ready index but for a
// look when this claim's lease would end, in case) until the message it
// waits for has gone (replaceOutbound wakes it). The claim reads on past
// parked messages until it has limit or nothing due is left.
func (s *Store) ClaimOutbound(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("bolt: claim outbound: %w", err)
	}
	var out []store.OutboundMessage
	err := s.update("claim outbound", func(t *txn) error {
		inClaim := map[string]bool{}
		for len(out) < limit {
			keys := readyKeys(t.Bucket(bOutboxReady), now, limit-len(out))
			if len(keys) == 0 {
				return nil
			}
			cands := make([]outboxRecord, len(keys))
			for i, k := range keys {
				r, ok, err := t.getOutbound(k[timeKeyLen:])
				if err != nil || !ok {
					return orMissingIndex(err, ok)
				}
				cands[i] = r
			}
			// Each person's earliest made first, so that a later message
			// finds the earlier one already in this claim.
			inSeqOrder(cands)
			for _, r := range cands {
				goes, err := t.mayGo(&r, owner, now, inClaim)
				if err != nil {
					return err
				}
				if err := t.Bucket(bOutboxReady).Delete(r.readyKey()); err != nil {
					return err
				}
				r.Owner, r.Until, r.Parked = "", time.Time{}, !goes
				r.Ready = now.Add(lease)
				if goes {
					r.Owner, r.Until = owner, r.Ready
					inClaim[r.Message.ID] = true
					out = append(out, r.Message)
				}
				if err := t.putOutbound(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// inSeqOrder puts each person's records among recs in their send order, in
// the places that person's records already hold.
func inSeqOrder(recs []outboxRecord) {
	msgs := make([]store.OutboundMessage, len(recs))
	byID := make(map[string]outboxRecord, len(recs))
	for i, r := range recs {
		msgs[i] = r.Message
		byID[r.Message.ID] = r
	}
	store.InSendOrder(msgs, func(m store.OutboundMessage) int { return int(byID[m.ID].Seq) })
	for i, m := range msgs {
		recs[i] = byID[m.ID]
	}
}

// mayGo reports whether r may be handed out now to owner, with the
// messages already in this claim (inClaim): every Pending message of its
// person made before it is in the claim, and no other claim holds one of
// the person's messages. A record queued before there was a send order
// joins the end of its person's first.
func (t *txn) mayGo(r *outboxRecord, owner string, now time.Time, inClaim map[string]bool) (bool, error) {
	if r.Seq == 0 {
		r.Seq = t.nextSeq(r.Message.ParticipantID)
		if err := t.Bucket(bOutboxOrder).Put(r.orderKey(), []byte(r.Message.ID)); err != nil {
			return false, err
		}
	}
	goes := true
	pfx := idPrefix(r.Message.ParticipantID)
	c := t.Bucket(bOutboxOrder).Cursor()
	for k, v := c.Seek(pfx); k != nil && bytes.HasPrefix(k, pfx); k, v = c.Next() {
		id := string(v)
		if id == r.Message.ID || inClaim[id] {
			continue
		}
		e, ok, err := t.getOutbound(v)
		if err != nil || !ok {
			return false, orMissingIndex(err, ok)
		}
		held := e.Owner != "" && e.Until.After(now)
		if held && e.Owner == owner {
			// This owner's from an earlier claim: its dispatcher sends the
			// person's messages one after another, in the order claimed.
			continue
		}
		earlier := binary.BigEndian.Uint64(k[len(pfx):]) < r.Seq
		if earlier || held {
			goes = false
		}
	}
	return goes, nil
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
		r, ok, err := t.getOutbound([]byte(m.ID))
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		return t.replaceOutbound(r, m)
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
		return t.replaceOutbound(r, m)
	})
	return m, saved, err
}

// BeginSend reads the participant and the link, records the dedupe key
// and, when it was new, counts count, in one transaction.
func (s *Store) BeginSend(_ context.Context, pid, linkIndex, dedupeKey string, expiresAt time.Time, count store.SendCount) (store.SendCheck, error) {
	var c store.SendCheck
	if err := store.CheckBeginSend(pid, dedupeKey, expiresAt, count); err != nil {
		return c, fmt.Errorf("bolt: begin send: %w", err)
	}
	err := s.batch("begin send to "+pid, func(t *txn) error {
		c = store.SendCheck{} // run again when a batch is retried: start clean
		var err error
		if c.FirstSeen, err = t.recordDedupe(dedupeKey, expiresAt); err != nil {
			return err
		}
		if c.FirstSeen && count.Key != "" {
			if c.Count, err = t.increment(count.Key, count.ExpiresAt); err != nil {
				return err
			}
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
		return t.replaceOutbound(r, store.AcceptedOver(r.Message, m))
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

// dueRecord is a due item with its claim state. The store writes it in
// the short form (dueDoc, duecodec.go); the JSON names here are the long
// form it wrote before, which is still read.
type dueRecord struct {
	Item  store.DueItem `json:"item"`
	Owner string        `json:"owner,omitempty"`
	Until time.Time     `json:"until,omitzero"`
	Ready time.Time     `json:"ready"`
}

// dueKey names a person's item: their ID, length-prefixed, then the
// item's, so that a person's items are one range of the bucket and the
// same ID of two people is two items.
func dueKey(pid, id string) []byte { return key(idPrefix(pid), []byte(id)) }

// splitDueKey is dueKey's participant and item IDs.
func splitDueKey(k []byte) (pid, id string, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return "", "", false
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):]), true
}

func (r dueRecord) key() []byte      { return dueKey(r.Item.ParticipantID, r.Item.ID) }
func (r dueRecord) readyKey() []byte { return key(timeKey(r.Ready), r.key()) }

func (t *txn) getDue(k []byte) (dueRecord, bool, error) {
	raw := t.Bucket(bDue).Get(k)
	if raw == nil {
		return dueRecord{}, false, nil
	}
	pid, id, ok := splitDueKey(k)
	if !ok {
		return dueRecord{}, true, fmt.Errorf("due item key %q: unreadable", k)
	}
	r, err := decodeDueRecord([]byte(id), raw)
	r.Item.ParticipantID = pid
	return r, true, err
}

func (t *txn) putDue(r dueRecord) error {
	raw, err := encodeDueRecord(r)
	if err != nil {
		return err
	}
	if err := t.Bucket(bDue).Put(r.key(), raw); err != nil {
		return err
	}
	return t.Bucket(bDueReady).Put(r.readyKey(), nil)
}

func (t *txn) deleteDue(k []byte) error {
	r, ok, err := t.getDue(k)
	if err != nil || !ok {
		return err
	}
	return t.deleteDueRecord(r)
}

// deleteDueRecord deletes the item read as r and its ready entry.
func (t *txn) deleteDueRecord(r dueRecord) error {
	if err := t.Bucket(bDueReady).Delete(r.readyKey()); err != nil {
		return err
	}
	return t.Bucket(bDue).Delete(r.key())
}

// deleteDueOf deletes every item of the person whose dueKey prefix is pfx.
func (t *txn) deleteDueOf(pfx []byte) error {
	for _, k := range prefixKeys(t.Bucket(bDue), pfx) {
		if err := t.deleteDue(k); err != nil {
			return err
		}
	}
	return nil
}

// PutDue inserts or replaces items by their person and ID. A replaced item
// loses any claim: re-planning makes it new work.
func (s *Store) PutDue(_ context.Context, items ...store.DueItem) error {
	for _, d := range items {
		if err := store.CheckDue(d); err != nil {
			return fmt.Errorf("bolt: put due: %w", err)
		}
	}
	return s.update("put due", func(t *txn) error { return t.replaceDue(items) })
}

// replaceDue inserts or replaces items by their person and ID, as new
// work: unclaimed.
func (t *txn) replaceDue(items []store.DueItem) error {
	for _, d := range items {
		if err := t.deleteDue(dueKey(d.ParticipantID, d.ID)); err != nil {
			return err
		}
		if err := t.putDue(dueRecord{Item: d, Ready: d.DueAt}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) DeleteDue(_ context.Context, participantID string, ids ...string) error {
	if err := store.Need("participant ID", participantID); err != nil {
		return fmt.Errorf("bolt: delete due: %w", err)
	}
	return s.update("delete due", func(t *txn) error { return t.deleteDueIDs(participantID, ids) })
}

// deleteDueIDs deletes the items of ids that are participantID's.
func (t *txn) deleteDueIDs(participantID string, ids []string) error {
	for _, id := range ids {
		if err := t.deleteDue(dueKey(participantID, id)); err != nil {
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
	for _, k := range prefixKeys(t.Bucket(bDue), idPrefix(participantID)) {
		r, ok, err := t.getDue(k)
		if err != nil || !ok {
			return nil, orMissingIndex(err, ok)
		}
		out = append(out, r.Item)
	}
	slices.SortFunc(out, func(a, b store.DueItem) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
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

// CompleteDue deletes the person's item id if owner holds its claim. A
// lease that ran out still counts as held until someone else claims the
// item: the work is done either way.
func (s *Store) CompleteDue(_ context.Context, participantID, id, owner string) error {
	return s.update("complete due "+id, func(t *txn) error { return t.completeDue(participantID, id, owner) })
}

// completeDue deletes the person's item id if owner holds it: ErrNotFound
// if it is gone, ErrConflict if it is not owner's.
func (t *txn) completeDue(participantID, id, owner string) error {
	r, err := t.heldDue(participantID, id, owner)
	if err != nil {
		return err
	}
	return t.deleteDueRecord(r)
}

// heldDue returns the person's item if owner holds its claim: ErrNotFound
// if it is gone (or another person's), ErrConflict if it is unclaimed or
// another owner's.
func (t *txn) heldDue(participantID, id, owner string) (dueRecord, error) {
	r, ok, err := t.getDue(dueKey(participantID, id))
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
func (s *Store) ReleaseDue(_ context.Context, participantID, id, owner string) error {
	return s.update("release due "+id, func(t *txn) error {
		r, err := t.heldDue(participantID, id, owner)
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

// legacyDueByP is the bucket of the layout before, which named due items
// by their ID alone and found a person's through it (pid, time, id). A
// file that has it is rekeyed once, when it is opened.
var legacyDueByP = []byte("due_by_p")

// rekeyDue rewrites the due items of a file of the layout before under
// their person and ID, in the transaction that opens it: all or nothing.
func rekeyDue(tx *bbolt.Tx) error {
	if tx.Bucket(legacyDueByP) == nil {
		return nil
	}
	var records []dueRecord
	if old := tx.Bucket(bDue); old != nil {
		err := old.ForEach(func(id, raw []byte) error {
			r, err := decodeDueRecord(id, raw)
			if err != nil {
				return fmt.Errorf("due item %s: %w", id, err)
			}
			if r.Item.ParticipantID == "" { // that layout's records always name their person
				return fmt.Errorf("due item %s: no participant", id)
			}
			records = append(records, r)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bDue, bDueReady, legacyDueByP} {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
	}
	for _, name := range [][]byte{bDue, bDueReady} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	t := &txn{Tx: tx, now: time.Now()}
	for _, r := range records {
		if err := t.putDue(r); err != nil {
			return err
		}
	}
	return nil
}
