// Package schedule runs the programme's calendar: check-in windows in each
// person's own time zone, appointment reminders, and what happens when a
// window passes without a check-in, which is a kind message and a line in
// the caseworker's list, never a sanction.
//
// Plan computes a participant's due items (pure); the Scheduler claims
// them from the store with leases, so that any number of processes may run
// it against one Redis, checks at the last moment that each is still
// wanted, and hands it to the conversation service.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// Options tune a Scheduler; zero values take the defaults.
type Options struct {
	Tick  time.Duration // how often Run looks for due items (WAYMARK_SCHEDULER_TICK); 15s
	Lease time.Duration // how long a claim lasts before another process may take the item over; 2m
	Batch int           // items claimed at once; 100
	// Workers is how many items are handled at once; 16. Each is a string
	// of store round trips, so more in flight use the store better.
	Workers int
	// Owner names this process in claims (each batch claims as
	// "<Owner>/<n>"); a fresh random ID by default.
	// Two processes must never share one.
	Owner string
	// Observe, when set, is told of each item acted on (a message handed
	// on or a miss recorded): its kind and how long after it fell due.
	// For metrics; it must not block.
	Observe func(kind string, lag time.Duration)
}

func (o Options) withDefaults() Options {
	if o.Tick <= 0 {
		o.Tick = 15 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Owner == "" {
		o.Owner = store.NewID("sched_")
	}
	return o
}

// Ledger keeps the record of check-in windows and each person's plan: it
// answers the conversation about windows (conversation.Windows), judges a
// window when a fact about it changes, and plans a person's due items
// again. It sends nothing, so it is made before the conversation service
// that asks it; the Scheduler, made after, sends through that service.
type Ledger struct {
	store Store
	live  *conversation.Live
	clock clock.Clock
	log   *slog.Logger
	owner string // names this process in planning leases
	// keepAll stores every planned item, not only the next of each kind:
	// the reference the tests hold kept to (export_test.go).
	keepAll bool
}

// Store is what the ledger and the scheduler read and write: people and
// their links, turns, windows and their history, appointments, due items
// (one at a time and a batch at once),
// dedupe keys and leases.
type Store interface {
	store.Participants
	store.Links
	store.Turns
	store.Windows
	store.Histories
	store.Appointments
	store.Due
	store.DueBatches
	store.Dedupe
	store.Leases
}

// NewLedger returns a Ledger over st, reading the programme from live.
func NewLedger(st Store, live *conversation.Live, clk clock.Clock, log *slog.Logger) *Ledger {
	return &Ledger{store: st, live: live, clock: clk, log: log, owner: store.NewID("plan_")}
}

// Scheduler hands due items to the conversation service, judging windows
// with its Ledger, the same one the conversation asks, so that check-ins
// are judged on time or late by the windows the reminders follow. It is
// safe for concurrent use, and several processes may run it on one store.
type Scheduler struct {
	*Ledger
	conv    *conversation.Service
	opts    Options
	batches atomic.Uint64 // numbers each batch's claims
}

// New returns a Scheduler that sends through conv and keeps l's ledger.
func New(conv *conversation.Service, l *Ledger, opts Options) *Scheduler {
	return &Scheduler{Ledger: l, conv: conv, opts: opts.withDefaults()}
}

// Run looks for due items every Tick until ctx ends, starting at once.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		n, err := s.RunOnce(ctx, s.clock.Now())
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler", "handled", n, "err", err)
		} else if n > 0 {
			s.log.Debug("scheduler", "handled", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxPerRun bounds one RunOnce, so that a fault that keeps making work due
// cannot hold it for ever; the rest waits for the next tick.
const maxPerRun = 1_000_000

// batchesAtOnce is how many claimed batches RunOnce handles at once: while
// one waits for the store, another is worked on in memory, so that
// neither the process nor the store sits idle.
const batchesAtOnce = 4

// RunOnce claims and handles every item due at now, batch after batch, and
// returns how many it dealt with (sent, recorded or found no longer
// wanted). An item that failed is left to its lease, after which any
// process takes it again; the failures are returned together.
//
// Handling an item can plan another that is already due: what a stopped
// scheduler catches up on (catchUp). So once a pass has handled what it
// claimed, RunOnce looks again, until a pass finds nothing due.
func (s *Scheduler) RunOnce(ctx context.Context, now time.Time) (handled int, err error) {
	var t tally
	for claimed := 0; claimed < maxPerRun && ctx.Err() == nil; {
		n := s.pass(ctx, now, maxPerRun-claimed, &t)
		if n == 0 {
			break
		}
		claimed += n
	}
	errs := t.errs
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("schedule: and %d more failures", len(errs)-10))
	}
	return t.handled, errors.Join(errs...)
}

// tally adds up what the batches of a run handled and the failures.
type tally struct {
	mu      sync.Mutex
	handled int
	errs    []error
}

func (t *tally) add(handled int, errs ...error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.handled += handled
	t.errs = append(t.errs, errs...)
}

// pass claims due items a batch at a time, batchesAtOnce batches in
// flight, until a claim finds none or limit are claimed, and returns how
// many it claimed once every batch is handled.
func (s *Scheduler) pass(ctx context.Context, now time.Time, limit int, t *tally) int {
	var wg sync.WaitGroup
	slots := make(chan struct{}, batchesAtOnce)
	claimed := 0
	for claimed < limit && ctx.Err() == nil {
		slots <- struct{}{}
		// Each batch claims under an owner of its own (the process's name
		// and a number), so that two batches in flight never take each
		// other's items or planning leases for their own.
		owner := s.opts.Owner + "/" + strconv.FormatUint(s.batches.Add(1), 10)
		items, err := s.store.ClaimDue(ctx, owner, now, s.opts.Lease, s.opts.Batch)
		if err != nil || len(items) == 0 {
			<-slots
			if err != nil {
				t.add(0, fmt.Errorf("schedule: claim due items: %w", err))
			}
			break
		}
		claimed += len(items)
		wg.Go(func() {
			defer func() { <-slots }()
			n, batchErrs := s.handleAll(ctx, owner, items, now)
			t.add(n, batchErrs...)
		})
	}
	wg.Wait()
	return claimed
}

// handleAll handles claimed items: what it can in one batch, then the
// rest with up to Workers at once.
func (s *Scheduler) handleAll(ctx context.Context, owner string, items []store.DueItem, now time.Time) (int, []error) {
	var (
		mu      sync.Mutex
		handled int
		errs    []error
		unbegun []store.DueItem
		wg      sync.WaitGroup
		next    = make(chan store.DueItem)
	)
	if ctx.Err() == nil {
		n, rest, err := s.handleBatch(ctx, owner, items, now)
		handled, items = n, rest
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Work already begun finishes even when ctx ends (a reminder half sent
	// would otherwise wait for its lease and be judged again); items not
	// begun are handed back, so that another process takes them at once.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Lease)
	defer cancel()
	complete := func(ctx context.Context, it store.DueItem) error { return s.complete(ctx, owner, it) }
	for range min(s.opts.Workers, len(items)) {
		wg.Go(func() {
			for it := range next {
				if ctx.Err() != nil {
					mu.Lock()
					unbegun = append(unbegun, it)
					mu.Unlock()
					continue
				}
				err := s.handle(work, it, now, complete)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					handled++
				}
				mu.Unlock()
			}
		})
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
	s.release(work, owner, unbegun)
	return handled, errs
}

// release hands back claimed items that were not begun. One that cannot
// be handed back (the store is away) returns when its lease ends.
func (s *Scheduler) release(ctx context.Context, owner string, items []store.DueItem) {
	for _, it := range items {
		if err := s.store.ReleaseDue(ctx, it.ParticipantID, it.ID, owner); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("schedule: could not hand back an item not begun; it returns when its lease ends", "item", it.ID, "err", err)
		}
	}
}

// complete ends a claimed item. Another owner holding it (its lease ran out
// and it was taken over) or the item gone (re-planning replaced or removed
// it) both mean there is nothing left to end.
func (s *Scheduler) complete(ctx context.Context, owner string, it store.DueItem) error {
	err := s.store.CompleteDue(ctx, it.ParticipantID, it.ID, owner)
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return nil
	}
	return fmt.Errorf("schedule: complete %s: %w", it.ID, err)
}

// RunParticipant handles one participant's items due at now, earliest
// first, without claiming them: for a store no other scheduler works on,
// such as the simulator's scratch store, whose people each live on their
// own clock. It returns how many it dealt with.
func (s *Scheduler) RunParticipant(ctx context.Context, participantID string, now time.Time) (int, error) {
	items, err := s.store.DueOf(ctx, participantID)
	if err != nil {
		return 0, fmt.Errorf("schedule: due items of %s: %w", participantID, err)
	}
	n := 0
	for _, it := range items {
		if it.DueAt.After(now) {
			break
		}
		if err := s.handle(ctx, it, now, s.remove); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// NextDue returns when the participant's earliest item is due.
func (s *Scheduler) NextDue(ctx context.Context, participantID string) (time.Time, bool, error) {
	items, err := s.store.DueOf(ctx, participantID)
	if err != nil || len(items) == 0 {
		return time.Time{}, false, err
	}
	return items[0].DueAt, true, nil
}

// remove ends an unclaimed item, unless re-planning has since put a new
// one under its ID.
func (s *Scheduler) remove(ctx context.Context, it store.DueItem) error {
	items, err := s.store.DueOf(ctx, it.ParticipantID)
	if err != nil {
		return fmt.Errorf("schedule: due items of %s: %w", it.ParticipantID, err)
	}
	for _, cur := range items {
		if cur.ID == it.ID && cur.DueAt.Equal(it.DueAt) {
			if err := s.store.DeleteDue(ctx, it.ParticipantID, it.ID); err != nil {
				return fmt.Errorf("schedule: delete %s: %w", it.ID, err)
			}
		}
	}
	return nil
}

// Replan recomputes a participant's due items now. Call it after enrolment
// and after any change to their schedule, time zone, status (pause,
// resume, exit) or appointments. It is idempotent.
func (s *Ledger) Replan(ctx context.Context, participantID string) error {
	return s.replan(ctx, participantID, s.clock.Now())
}

// ReplanAll replans every participant, e.g. after programme.yaml changed
// its reminder offsets. Failures are logged and counted, not fatal.
func (s *Ledger) ReplanAll(ctx context.Context) (failed int, err error) {
	ps, err := s.store.ListParticipants(ctx)
	if err != nil {
		return 0, fmt.Errorf("schedule: list participants: %w", err)
	}
	now := s.clock.Now()
	for _, p := range ps {
		if err := s.replan(ctx, p.ID, now); err != nil {
			failed++
			s.log.Warn("replan", "participant", p.ID, "err", err)
		}
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
	}
	return failed, nil
}

// replan writes what Plan wants and removes planned items it no longer
// wants. Items already due are left alone: the scheduler may be handling
// them, and checks them again before it acts. A lease keeps two replans of
// one person (a caseworker's edit and the scheduler's own) from
// interleaving; it is only taken when something is to change, which after
// most due items nothing is.
func (s *Ledger) replan(ctx context.Context, pid string, now time.Time) error {
	return s.replanFrom(ctx, pid, nil, newPlanner(s.live.Content().Flows.Programme), now)
}

// replanFrom is replan with the participant's record when the caller has
// just read it (nil: read it), planning with pl; under the lease it is
// read again.
func (s *Ledger) replanFrom(ctx context.Context, pid string, p *store.Participant, pl *planner, now time.Time) error {
	put, drop, err := s.diff(ctx, pid, p, pl, now)
	if err != nil || len(put) == 0 && len(drop) == 0 {
		return err
	}
	return s.withLease(ctx, "plan:"+pid, func() error {
		put, drop, planErr := s.diff(ctx, pid, nil, pl, now)
		if len(put) > 0 {
			if err := s.store.PutDue(ctx, put...); err != nil {
				return fmt.Errorf("schedule: replan %s: put: %w", pid, err)
			}
		}
		if len(drop) > 0 {
			if err := s.store.DeleteDue(ctx, pid, drop...); err != nil {
				return fmt.Errorf("schedule: replan %s: delete: %w", pid, err)
			}
		}
		return planErr
	})
}

// diff compares what Plan wants now with what is stored: the items to put
// (new or changed) and the IDs to drop (planned, not yet due, no longer
// wanted). An error from Plan about one bad appointment comes back with
// the rest of the plan; any other error with nothing.
func (s *Ledger) diff(ctx context.Context, pid string, known *store.Participant, pl *planner, now time.Time) (put []store.DueItem, drop []string, err error) {
	var p store.Participant
	if known != nil {
		p = *known
	} else if p, err = s.store.GetParticipant(ctx, pid); errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil // erased, due items with it
	} else if err != nil {
		return nil, nil, fmt.Errorf("schedule: replan %s: %w", pid, err)
	}
	appts, err := s.store.AppointmentsOf(ctx, pid)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule: replan %s: appointments: %w", pid, err)
	}
	followed := map[string]bool{}
	for _, a := range appts {
		if a.Status == store.AppointmentMissed {
			seen, err := s.store.Seen(ctx, followUpKey(a.ID))
			if err != nil {
				return nil, nil, fmt.Errorf("schedule: replan %s: %w", pid, err)
			}
			followed[a.ID] = seen
		}
	}
	have, err := s.store.DueOf(ctx, pid)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule: replan %s: due items: %w", pid, err)
	}
	put, drop, err = s.change(pl, p, appts, followed, have, now)
	return put, drop, err
}

// change compares what Plan wants for p now with have, the items stored:
// the items to put (new or changed) and the IDs to drop (planned, not yet
// due, no longer wanted). Only the next item of each kind is stored (see
// kept), with what a stopped scheduler must still catch up on. An error
// from Plan about one bad appointment comes back with the rest of the
// plan.
func (s *Ledger) change(pl *planner, p store.Participant, appts []store.Appointment, followed map[string]bool, have []store.DueItem, now time.Time) (put []store.DueItem, drop []string, err error) {
	in := PlanInput{Participant: p, Appointments: appts, Now: now, FollowedUp: followed}
	want, planErr := pl.plan(in)
	if !s.keepAll {
		want = kept(append(want, pl.catchUp(in, have)...), now)
	}
	current := make(map[string]store.DueItem, len(have))
	for _, it := range have {
		current[it.ID] = it
	}
	wanted := make(map[string]bool, len(want))
	for _, it := range want {
		wanted[it.ID] = true
		if cur, ok := current[it.ID]; !ok || !sameItem(cur, it) {
			put = append(put, it)
		}
	}
	for _, it := range have {
		if !wanted[it.ID] && it.DueAt.After(now) {
			drop = append(drop, it.ID)
		}
	}
	return put, drop, planErr
}

func sameItem(a, b store.DueItem) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Ref == b.Ref && a.ParticipantID == b.ParticipantID &&
		a.DueAt.Equal(b.DueAt) && maps.Equal(a.Data, b.Data)
}

// withLease runs fn holding the named lease, waiting a few seconds for
// another holder to finish.
func (s *Ledger) withLease(ctx context.Context, name string, fn func() error) error {
	err := store.WithLease(ctx, s.store, name, s.owner+":"+store.NewID(""), 8*time.Second, s.log, fn)
	if errors.Is(err, store.ErrLeaseBusy) {
		return fmt.Errorf("schedule: %s is busy, try again", name)
	}
	return err
}

// dueKey records that an item was acted on, so that an item handled again
// (its lease ran out while a slow handler still worked) sends nothing twice.
func dueKey(it store.DueItem) string {
	return "sched:" + it.ID + "@" + strconv.FormatInt(it.DueAt.Unix(), 10)
}

// followUpKey marks a missed appointment's follow-up as sent, so that
// re-planning does not send another.
func followUpKey(appointmentID string) string { return "sched:followup:" + appointmentID }
