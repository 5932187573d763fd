package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// ApplyTurn applies everything in t in one bolt transaction: all of it lands
// or none of it does. A turn whose DedupeKey is recorded already is refused
// with store.ErrConflict.
func (s *Store) ApplyTurn(_ context.Context, turn store.Turn) error {
	if err := store.CheckTurn(turn); err != nil {
		return fmt.Errorf("bolt: apply turn: %w", err)
	}
	return s.batch("apply turn of "+turn.ParticipantID, func(t *txn) error { return t.applyTurn(turn) })
}

// applyTurn writes everything in turn, or returns the error that refuses
// it; the caller's transaction then takes none of it.
func (t *txn) applyTurn(turn store.Turn) error {
	if p := turn.Participant; p != nil {
		if err := t.saveParticipant(*p); err != nil {
			return err
		}
	}
	switch {
	case turn.Session != nil:
		if err := t.saveSession(*turn.Session); err != nil {
			return err
		}
	case turn.EndSession:
		if err := t.deleteSession(turn.ParticipantID); err != nil {
			return err
		}
	}
	for _, c := range turn.CheckIns {
		if err := t.recordCheckIn(c); err != nil {
			return err
		}
	}
	for _, a := range turn.Attention {
		if err := t.addAttention(a); err != nil {
			return err
		}
	}
	for _, a := range turn.Resolved {
		if err := t.resolveInTurn(a); err != nil {
			return err
		}
	}
	for _, w := range turn.Windows {
		if err := t.putWindow(w); err != nil {
			return err
		}
	}
	for _, e := range turn.Audit {
		if err := t.appendAudit(e); err != nil {
			return err
		}
	}
	if err := t.enqueue(turn.Outbound); err != nil {
		return err
	}
	if err := t.linkSeen(turn.ParticipantID, turn.SeenOn, turn.SeenAt); err != nil {
		return err
	}
	if turn.DedupeKey == "" {
		return nil
	}
	// The key lands with the turn: a retry of a message whose turn
	// failed is handled again, and a concurrent duplicate of one whose
	// turn lands first is refused whole.
	recorded, err := t.recordDedupe(turn.DedupeKey, turn.DedupeUntil)
	if err == nil && !recorded {
		err = fmt.Errorf("dedupe key: %w", store.ErrConflict)
	}
	return err
}

// linkSeen sets a link's LastSeenAt, if the link is still the
// participant's; nothing else of it changes.
func (t *txn) linkSeen(pid, index string, at time.Time) error {
	if index == "" {
		return nil
	}
	var l store.Link
	ok, err := getJSON(t.Bucket(bLinks), []byte(index), &l)
	if err != nil || !ok || l.ParticipantID != pid {
		return err
	}
	l.LastSeenAt = at
	return putJSON(t.Bucket(bLinks), []byte(index), l)
}

// LoadTurn reads a participant, their session and the dedupe key in one
// read transaction.
func (s *Store) LoadTurn(_ context.Context, pid, dedupeKey string) (store.TurnState, error) {
	var st store.TurnState
	err := s.view("load turn of "+pid, func(t *txn) (err error) {
		st, err = t.loadTurn(pid, dedupeKey)
		return err
	})
	return st, err
}

// LoadLinkedTurn reads a link and the turn state of its participant in one
// read transaction.
func (s *Store) LoadLinkedTurn(_ context.Context, index, dedupeKey string) (store.Link, store.TurnState, error) {
	var l store.Link
	var st store.TurnState
	err := s.view("load linked turn", func(t *txn) error {
		ok, err := getJSON(t.Bucket(bLinks), []byte(index), &l)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		st, err = t.loadTurn(l.ParticipantID, dedupeKey)
		return err
	})
	return l, st, err
}

// loadTurn reads what LoadTurn reads; ErrNotFound with no participant.
func (t *txn) loadTurn(pid, dedupeKey string) (store.TurnState, error) {
	var st store.TurnState
	ok, err := getJSON(t.Bucket(bParticipants), []byte(pid), &st.Participant)
	if err != nil {
		return st, err
	}
	if !ok {
		return st, store.ErrNotFound
	}
	var ss store.Session
	ok, err = getJSON(t.Bucket(bSessions), []byte(pid), &ss)
	if err != nil {
		return st, err
	}
	if ok && ss.ExpiresAt.After(t.now) {
		st.Session = &ss
	}
	if dedupeKey != "" {
		raw := t.Bucket(bDedupe).Get([]byte(dedupeKey))
		st.Seen = raw != nil && parseTimeKey(raw).After(t.now)
	}
	return st, nil
}
