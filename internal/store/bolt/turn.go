package bolt

import (
	"context"
	"fmt"

	"github.com/waymark-atd/waymark/internal/store"
)

// ApplyTurn applies everything in t in one bolt transaction: all of it lands
// or none of it does. A turn whose DedupeKey is recorded already is refused
// with store.ErrConflict.
func (s *Store) ApplyTurn(_ context.Context, turn store.Turn) error {
	if err := store.CheckTurn(turn); err != nil {
		return fmt.Errorf("bolt: apply turn: %w", err)
	}
	return s.update("apply turn of "+turn.ParticipantID, func(t *txn) error {
		if p := turn.Participant; p != nil {
			if err := putJSON(t.Bucket(bParticipants), []byte(p.ID), *p); err != nil {
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
		for _, e := range turn.Audit {
			if err := t.appendAudit(e); err != nil {
				return err
			}
		}
		if err := t.enqueue(turn.Outbound); err != nil {
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
	})
}
