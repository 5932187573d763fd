package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// A batch handles many claimed items in a few store round trips instead
// of a dozen an item: it reads every item's person at once
// (store.LoadTurns, which also takes each person's planning lease, and
// reads the person's history where the item judges a window), runs the
// flow or judges the window for each in memory, and writes every turn,
// plan and item's end at once (store.ApplyDueSteps). What a batch cannot
// read for up front (a missed appointment's follow-up mark, a consent
// question, a second item of one person) or do in one turn (a miss
// recorded and then told to the person) is handled one at a time, as is
// an item whose step the store refused (its person changed since the
// batch read them): it is tried again on its own at once.

// errOwnHandling means an item needs reads or writes a batch does not
// make, and is handled on its own.
var errOwnHandling = errors.New("schedule: the item is handled on its own")

// batchLease is how long a batch holds each person's planning lease if
// the process dies before giving it up: long beyond any batch.
const batchLease = 30 * time.Second

// inBatch answers from what the batch read for one item, and keeps the
// turn the item's handling makes for the batch to apply.
type inBatch struct {
	conv  *conversation.Service
	in    store.TurnInputs
	key   string    // the dedupe key the batch asked about
	since time.Time // when the history the batch asked for begins
	turn  *store.Turn
}

func (b *inBatch) appointment(_ context.Context, id string) (store.Appointment, error) {
	for _, a := range b.in.Appointments {
		if a.ID == id {
			return a, nil
		}
	}
	return store.Appointment{}, store.ErrNotFound
}

func (b *inBatch) start(ctx context.Context, _, flowID string, vars map[string]string, once conversation.Once) error {
	return b.prepared(once, func() (*store.Turn, error) { return b.conv.PrepareStart(ctx, b.in, flowID, vars, once) })
}

func (b *inBatch) notify(ctx context.Context, _, messageID string, vars map[string]string, once conversation.Once) error {
	return b.prepared(once, func() (*store.Turn, error) { return b.conv.PrepareNotify(ctx, b.in, messageID, vars, once) })
}

// prepared keeps the turn prepare makes; an event under another key than
// the one the batch asked about cannot know whether it acted before.
func (b *inBatch) prepared(once conversation.Once, prepare func() (*store.Turn, error)) error {
	if once.Key != b.key {
		return errOwnHandling
	}
	t, err := prepare()
	b.turn = t
	return err
}

// facts are what the batch read, when it read the history from since.
func (b *inBatch) facts(_ context.Context, p store.Participant, since time.Time) (personFacts, error) {
	if b.in.History == nil || !since.Equal(b.since) {
		return personFacts{}, errOwnHandling
	}
	return factsOf(p, *b.in.History, b.in.Links), nil
}

// record keeps t for the batch to apply, refusing it as ApplyTurn would
// when its dedupe key is recorded already.
func (b *inBatch) record(_ context.Context, t store.Turn) error {
	if t.DedupeKey != b.key {
		return errOwnHandling
	}
	if b.in.Seen {
		return store.ErrConflict
	}
	b.turn = &t
	return nil
}

// batchable reports whether an item of kind can be handled in a batch:
// a window's items and an appointment's reminder.
func batchable(kind string) bool {
	switch kind {
	case KindWindowOpen, KindClosingSoon, KindMissCheck, KindAppointment:
		return true
	}
	return false
}

// askKey is the dedupe key a batch asks about for it: the one its turn
// records.
func askKey(it store.DueItem) string {
	if it.Kind == KindMissCheck {
		return recordedKey(it)
	}
	return dueKey(it)
}

// handleBatch handles what it can of items in one batch, and returns how
// many it dealt with and the items left to handle one at a time.
func (s *Scheduler) handleBatch(ctx context.Context, owner string, items []store.DueItem, now time.Time) (handled int, rest []store.DueItem, err error) {
	var batch []store.DueItem
	people := map[string]bool{}
	for _, it := range items {
		if batchable(it.Kind) && !people[it.ParticipantID] {
			people[it.ParticipantID] = true
			batch = append(batch, it)
		} else {
			rest = append(rest, it)
		}
	}
	if len(batch) == 0 {
		return 0, rest, nil
	}
	// The claim's owner holds the leases too: no other batch has it, and a
	// step ends its item and gives its lease up as one.
	asks := make([]store.TurnAsk, len(batch))
	for i, it := range batch {
		asks[i] = store.TurnAsk{ParticipantID: it.ParticipantID, DedupeKey: askKey(it),
			Lease: "plan:" + it.ParticipantID, Owner: owner, LeaseTTL: batchLease, HistorySince: factsSince(it, now)}
	}
	ins, err := s.store.LoadTurns(ctx, asks)
	if err != nil {
		// Leases it may have taken end by themselves; until then the
		// items wait for them one at a time.
		return 0, append(rest, batch...), fmt.Errorf("schedule: load a batch: %w", err)
	}
	steps := make([]store.DueStep, len(batch))
	outs := make([]outcome, len(batch))
	alone := make([]bool, len(batch))
	for i, it := range batch {
		steps[i] = store.DueStep{ParticipantID: it.ParticipantID, Owner: owner, Lease: asks[i].Lease}
		if errors.Is(ins[i].Err, store.ErrLeaseBusy) {
			steps[i].Lease = "" // another's: someone is planning the person now
			alone[i] = true
			continue
		}
		outs[i], err = s.prepareStep(ctx, ins[i], it, now, &steps[i])
		if err != nil {
			// Handled on its own next, where a real failure is reported;
			// the step only gives the lease up.
			steps[i] = store.DueStep{ParticipantID: it.ParticipantID, Owner: owner, Lease: asks[i].Lease}
			alone[i] = true
		}
	}
	errs := s.store.ApplyDueSteps(ctx, steps)
	for i, it := range batch {
		if alone[i] || errs[i] != nil {
			rest = append(rest, it)
			continue
		}
		handled++
		if outs[i] != "" {
			s.acted(ins[i].Participant, it, outs[i], now)
		}
	}
	return handled, rest, nil
}

// prepareStep makes step the item's work from in, what the batch read: the
// turn, the person's next items, the item's end, as handle does one at a
// time. It returns the outcome to log ("" for none), or errOwnHandling
// (or conversation.ErrOwnTurn) when the item must be handled on its own.
func (s *Scheduler) prepareStep(ctx context.Context, in store.TurnInputs, it store.DueItem, now time.Time, step *store.DueStep) (outcome, error) {
	if errors.Is(in.Err, store.ErrNotFound) {
		step.Complete = it.ID // erased, and their items with them
		return "", nil
	}
	if in.Err != nil {
		return "", in.Err
	}
	p := in.Participant
	if s.quietNow(p, now) {
		// As handle: left for its claim to end, and handled after the night.
		return "", nil
	}
	if slices.ContainsFunc(in.Appointments, func(a store.Appointment) bool { return a.Status == store.AppointmentMissed }) {
		return "", errOwnHandling // planning reads whether the follow-up went
	}
	via := &inBatch{conv: s.conv, in: in, key: askKey(it), since: factsSince(it, now)}
	pl := s.plannerFor(it, now)
	var out outcome
	var err error
	switch it.Kind {
	case KindWindowOpen, KindClosingSoon, KindMissCheck:
		out, err = s.handleWindow(ctx, via, pl, p, it, now)
	case KindAppointment:
		out, err = s.handleAppointment(ctx, via, pl, p, it, now)
	default:
		return "", errOwnHandling
	}
	if err != nil {
		return "", err
	}
	if via.turn != nil {
		step.Turn = via.turn
		p = *via.turn.Participant // the plan is made from the record the turn saves
	}
	put, drop, planErr := s.change(pl, p, in.Appointments, nil, in.Due, now)
	if planErr != nil {
		// As after an item handled alone: the rest of the plan is written,
		// and planning is tried again with the next item or change.
		s.log.Warn("replan after due item", "participant", p.ID, "err", planErr)
	}
	step.Put, step.Drop, step.Complete = put, drop, it.ID
	return out, nil
}
