package bolt

import (
	"context"
	"errors"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

var _ store.DueBatches = (*Store)(nil)

// LoadTurns answers every ask in at most two transactions: the leases
// first, in a write the committer groups with others, then the reads in a
// read-only transaction of their own. Reading there keeps the decoding of
// a whole batch of people out of the single writer's turn, where every
// other write would wait for it. A lease another holds fails only its own
// ask, and its person is not read.
func (s *Store) LoadTurns(_ context.Context, asks []store.TurnAsk) ([]store.TurnInputs, error) {
	if err := store.CheckTurnAsks(asks); err != nil {
		return nil, fmt.Errorf("bolt: load turns: %w", err)
	}
	out := make([]store.TurnInputs, len(asks))
	if slices.ContainsFunc(asks, func(a store.TurnAsk) bool { return a.Lease != "" }) {
		err := s.batch("load turns", func(t *txn) error {
			for i, a := range asks {
				out[i].Err = nil // set afresh: the committer may run this twice
				if a.Lease == "" {
					continue
				}
				got, err := t.acquireLease(a.Lease, a.Owner, a.LeaseTTL)
				if err != nil {
					return err
				}
				if !got {
					out[i].Err = store.ErrLeaseBusy
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err := s.view("load turns", func(t *txn) error {
		for i, a := range asks {
			if out[i].Err != nil {
				continue
			}
			in := store.TurnInputs{}
			if err := t.loadInputs(a, &in); err != nil {
				return err
			}
			out[i] = in
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// loadInputs reads what one ask asks for into in: an error of the ask's
// own (a missing person) goes in in.Err; one returned is the
// transaction's.
func (t *txn) loadInputs(a store.TurnAsk, in *store.TurnInputs) error {
	st, err := t.loadTurn(a.ParticipantID, a.DedupeKey)
	if errors.Is(err, store.ErrNotFound) {
		in.Err = err
		return nil
	}
	if err != nil {
		return err
	}
	in.TurnState = st
	if in.Links, err = t.linksOf(a.ParticipantID); err != nil {
		return err
	}
	if in.Appointments, err = t.appointmentsOf(a.ParticipantID); err != nil {
		return err
	}
	if !a.HistorySince.IsZero() {
		h, err := t.historyOf(a.ParticipantID, a.HistorySince)
		if err != nil {
			return err
		}
		in.History = &h
	}
	in.Due, err = t.dueOf(a.ParticipantID)
	return err
}

// ApplyDueSteps hands every step to the committer at once, so that they
// share one transaction and one fsync; a step that is refused is rolled
// back and answered from a transaction of its own, as any write the
// committer groups is, and the others commit without it. A refused step's
// lease is still given up, in a transaction of its own.
func (s *Store) ApplyDueSteps(_ context.Context, steps []store.DueStep) []error {
	errs := make([]error, len(steps))
	var fns []func(*bbolt.Tx) error
	var at []int // the step of each of fns
	now := s.now()
	for i, st := range steps {
		if err := store.CheckDueStep(st); err != nil {
			errs[i] = fmt.Errorf("bolt: apply due step: %w", err)
			continue
		}
		fns = append(fns, func(tx *bbolt.Tx) error { return (&txn{tx, now}).applyStep(st) })
		at = append(at, i)
	}
	for j, err := range s.commits.updateEach(fns) {
		i := at[j]
		errs[i] = s.wrap("apply due step of "+steps[i].Complete, err)
	}
	for i, st := range steps {
		if errs[i] != nil && st.Lease != "" {
			if err := s.ReleaseLease(context.Background(), st.Lease, st.Owner); err != nil {
				errs[i] = errors.Join(errs[i], err)
			}
		}
	}
	return errs
}

// applyStep writes one step: its turn, its plan, the item's end and the
// lease given up. An item gone or held by another is no error: re-planning
// replaced it, or it was taken over, and there is nothing left to end.
func (t *txn) applyStep(st store.DueStep) error {
	if st.Turn != nil {
		if err := t.applyTurn(*st.Turn); err != nil {
			return err
		}
	}
	if err := t.replaceDue(st.Put); err != nil {
		return err
	}
	if err := t.deleteDueIDs(st.ParticipantID, st.Drop); err != nil {
		return err
	}
	if st.Complete != "" {
		err := t.completeDue(st.ParticipantID, st.Complete, st.Owner)
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	if st.Lease != "" {
		return t.releaseLease(st.Lease, st.Owner)
	}
	return nil
}
