package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

var _ store.DueBatches = (*Store)(nil)

// LoadTurns answers every ask in three round trips whatever their number:
// the leases; each person's record, session, dedupe key, refs, due
// items and history when asked; the records the refs name. The leases go first and alone, so that on a
// cluster, where a pipeline's nodes answer in any order, nothing of a
// person is read before their lease is held.
func (s *Store) LoadTurns(ctx context.Context, asks []store.TurnAsk) ([]store.TurnInputs, error) {
	if err := store.CheckTurnAsks(asks); err != nil {
		return nil, fmt.Errorf("redis: load turns: %w", err)
	}
	out := make([]store.TurnInputs, len(asks))
	if err := s.takeLeases(ctx, asks, out); err != nil {
		return nil, s.fail("load turns", err)
	}

	// Round 2: what lives in each person's slot.
	const perAsk = 4 // the person hash (record, hints, due items), session, marker, dedupe key; then the history asked for
	var calls []call
	for i, a := range asks {
		if out[i].Err != nil {
			continue
		}
		pid := a.ParticipantID
		marker, global := call{args: []any{"echo", ""}}, call{args: []any{"echo", ""}}
		if a.DedupeKey != "" {
			marker = call{args: []any{"zscore", s.k.turnDedupe(pid), a.DedupeKey}}
			global = call{args: []any{"exists", s.k.dedupe(a.DedupeKey)}}
		}
		calls = append(calls, call{args: []any{"hgetall", s.k.person(pid)}}, call{args: []any{"get", s.k.session(pid)}}, marker, global)
		if !a.HistorySince.IsZero() {
			calls = append(calls, s.historyCalls(pid, a.HistorySince)...)
		}
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return nil, s.fail("load turns", err)
	}

	// Round 3: the links and appointments the refs name.
	var more []call
	names := make([]named, len(asks))
	now := time.Now().UnixMilli()
	j := 0
	for i, a := range asks {
		if out[i].Err != nil {
			continue
		}
		c := cmds[j : j+perAsk]
		j += perAsk
		person, err := stringMap(c[0])
		if err != nil {
			return nil, s.fail("load turns", err)
		}
		if err := s.readTurnState(person, c[1:], a, now, &out[i]); err != nil {
			return nil, fmt.Errorf("redis: load turns: %s: %w", a.ParticipantID, err)
		}
		if !a.HistorySince.IsZero() {
			if out[i].Err == nil {
				h, err := decodeHistory(a.ParticipantID, cmds[j:j+historyReads])
				if err != nil {
					return nil, fmt.Errorf("redis: load turns: %w", err)
				}
				out[i].History = &h
			}
			j += historyReads
		}
		if out[i].Err != nil {
			continue
		}
		fields := slices.Collect(maps.Keys(person))
		names[i].links, names[i].appts = refsOf(fields, refLink), refsOf(fields, refAppointment)
		names[i].due = person
		for _, l := range names[i].links {
			more = append(more, call{args: []any{"get", s.k.link(l)}})
		}
		for _, id := range names[i].appts {
			more = append(more, call{args: []any{"get", s.k.appointment(id)}})
		}
	}
	recs, err := s.pipeline(ctx, more)
	if err != nil {
		return nil, s.fail("load turns", err)
	}
	j = 0
	for i, a := range asks {
		if out[i].Err != nil {
			continue
		}
		n := names[i]
		links, appts := docsOf(recs[j:j+len(n.links)]), docsOf(recs[j+len(n.links):j+len(n.links)+len(n.appts)])
		j += len(n.links) + len(n.appts)
		if err := readHinted(a.ParticipantID, n, links, appts, &out[i]); err != nil {
			return nil, fmt.Errorf("redis: load turns: %s: %w", a.ParticipantID, err)
		}
		if h := out[i].History; h != nil {
			h.Appointments = out[i].Appointments
		}
	}
	return out, nil
}

// takeLeases takes the asks' leases in one round trip; an ask whose lease
// another holds is answered ErrLeaseBusy.
func (s *Store) takeLeases(ctx context.Context, asks []store.TurnAsk, out []store.TurnInputs) error {
	var calls []call
	var of []int
	for i, a := range asks {
		if a.Lease != "" {
			ttl := (a.LeaseTTL + time.Millisecond - 1).Milliseconds() // never shorter than asked
			calls = append(calls, call{sc: luaLeaseAcquire, keys: []string{s.k.lease(a.Lease)}, args: []any{a.Owner, ttl}})
			of = append(of, i)
		}
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return err
	}
	for j, i := range of {
		if n, _ := cmds[j].Int(); n != 1 {
			out[i].Err = store.ErrLeaseBusy
		}
	}
	return nil
}

// readTurnState reads round 2's answers about one person into in, as
// LoadTurn reads them: their person hash, then the answers about their
// session, dedupe marker and dedupe key. A missing person is in.Err.
func (s *Store) readTurnState(person map[string]string, c []*goredis.Cmd, a store.TurnAsk, now int64, in *store.TurnInputs) error {
	doc, ok := person[recordField]
	if !ok {
		in.Err = store.ErrNotFound
		return nil
	}
	var err error
	if in.Participant, err = compact.DecodeParticipant(a.ParticipantID, []byte(doc)); err != nil {
		return err
	}
	if doc, err := c[0].Text(); err == nil {
		ss, err := compact.DecodeSession(a.ParticipantID, []byte(doc))
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		in.Session = &ss
	}
	if a.DedupeKey != "" {
		until, err := c[1].Float64()
		n, _ := c[2].Int()
		in.Seen = err == nil && int64(until) > now || n > 0
	}
	return nil
}

// docsOf is round 3's answers as fromHints takes them: nil where gone.
func docsOf(cmds []*goredis.Cmd) []*string {
	docs := make([]*string, len(cmds))
	for i, c := range cmds {
		if doc, err := c.Text(); err == nil {
			docs[i] = &doc
		}
	}
	return docs
}

// named is what a person's hints and due items name, read in round 2:
// the due items as their person hash holds them, with its other fields.
type named struct {
	links, appts []string
	due          map[string]string
}

// readHinted decodes one person's links, appointments and due items (their
// hash's fields and values), ordered as LinksOf, AppointmentsOf and DueOf
// order them.
func readHinted(pid string, n named, links, appts []*string, in *store.TurnInputs) error {
	var err error
	if in.Links, err = owned(links, pid, keyedBy(n.links, compact.DecodeLink), func(l store.Link) string { return l.ParticipantID }); err != nil {
		return err
	}
	slices.SortFunc(in.Links, func(a, b store.Link) int { return cmp.Compare(a.Index, b.Index) })
	if in.Appointments, err = decodeAppointments(pid, n.appts, appts); err != nil {
		return err
	}
	in.Due, err = dueItemsOf(pid, n.due)
	return err
}

// ApplyDueSteps applies many steps in four round trips whatever their
// number, each turn as ApplyTurn applies it:
//
//  1. every turn's hints and dedupe check;
//  2. every turn's script (turn.lua), each in its person's slot;
//  3. for each step whose turn landed or that has none: its items planned,
//     dropped and ended (pdue_step.lua, in the person's slot), the
//     resolved items out of the open index, and on a cluster the global
//     dedupe keys;
//  4. the due shard's entry of each person whose items were planned, the
//     entry of each item a step ended, and every step's lease.
//
// On a single Redis, where one script may touch any key, round 1 holds
// only the hints other than the messages' (turn.lua writes those), and
// pdue_step.lua does round 4's work for its step: a batch of reminders
// takes rounds 2 and 3 alone.
//
// A refused turn takes its own hints back, and its step goes no further.
// A step whose turn saves a child's record goes alone, through ApplyTurn
// and the rest, since the child-protection claim must come first.
func (s *Store) ApplyDueSteps(ctx context.Context, steps []store.DueStep) []error {
	errs := make([]error, len(steps))
	type plan struct {
		undo  undoList
		write slotWrite
		hints []hint
		pre   int  // index of the step's first answer in round 1
		npre  int  // how many answers come before its hints'
		going bool // checked, and not gone alone
	}
	plans := make([]plan, len(steps))
	cluster := s.isCluster()
	var r1 []call
	for i, st := range steps {
		if err := store.CheckDueStep(st); err != nil {
			errs[i] = fmt.Errorf("redis: apply due step: %w", err)
			continue
		}
		if st.Turn != nil && st.Turn.Participant != nil && st.Turn.Participant.Child {
			errs[i] = s.applyStepAlone(ctx, st)
			continue
		}
		plans[i].going = true
		if st.Turn != nil {
			w, err := s.slotWriteOf(*st.Turn)
			if err != nil {
				errs[i] = fmt.Errorf("redis: apply due step: %w", err)
				continue
			}
			pre, hints := s.hintsOf(*st.Turn, !cluster)
			plans[i] = plan{write: w, hints: hints, pre: len(r1), npre: len(pre), going: true}
			r1 = append(r1, pre...)
			for _, h := range hints {
				r1 = append(r1, h.do)
			}
		}
	}
	var a1 []*goredis.Cmd
	var err1 error
	if len(r1) > 0 { // on a single Redis, most steps' turns write their own hints
		a1, err1 = s.pipeline(ctx, r1)
	}
	if err1 != nil {
		// Unknown which hints were written: no step goes on (a step with a
		// turn takes its hints back below).
		for i, st := range steps {
			if plans[i].going && st.Turn == nil {
				errs[i] = s.fail("apply due step", err1)
			}
		}
	}

	// Round 2: the turns.
	var r2 []call
	var turnOf []int
	for i, st := range steps {
		p := &plans[i]
		if !p.going || st.Turn == nil {
			continue
		}
		clash := s.hintsWritten(p.hints, a1[p.pre+p.npre:p.pre+p.npre+len(p.hints)], &p.undo)
		switch {
		case err1 != nil:
			errs[i] = s.refused(ctx, "apply due step", err1, &p.undo)
		case dedupeFree(*st.Turn, a1[p.pre:p.pre+p.npre]) != nil:
			errs[i] = s.refused(ctx, "apply due step", fmt.Errorf("dedupe key already recorded: %w", store.ErrConflict), &p.undo)
		case clash != nil:
			errs[i] = s.refused(ctx, "apply due step", clash, &p.undo)
		default:
			r2 = append(r2, s.turnCall(p.write, !cluster))
			turnOf = append(turnOf, i)
		}
	}
	a2, _ := s.pipeline(ctx, r2)
	for j, i := range turnOf {
		t := steps[i].Turn
		err := turnResult(a2[j])
		switch {
		case errors.Is(err, errDuplicateTurn):
			s.recordDedupe(ctx, t.ParticipantID, t.DedupeKey, t.DedupeUntil)
			errs[i] = s.refused(ctx, "apply due step", fmt.Errorf("dedupe key already recorded: %w", store.ErrConflict), &plans[i].undo)
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrStale):
			errs[i] = s.refused(ctx, "apply due step", err, &plans[i].undo)
		case err != nil:
			errs[i] = s.fail("apply due step", err) // may have landed: the hints stay
		}
	}

	// Round 3: the plans and the items' ends, for the steps still going,
	// each step's in one script in its person's slot.
	var r3 []call
	var of3 []int
	lower := make([]map[string]string, len(steps))
	stepAt := make([]int, len(steps))  // the answer of each step's pdue_step.lua in r3, -1 for none
	inStep := make([]bool, len(steps)) // its entries and lease are in that script (a single Redis)
	for i := range stepAt {
		stepAt[i] = -1
	}
	for i, st := range steps {
		if !plans[i].going || errs[i] != nil {
			continue
		}
		if len(st.Put) > 0 || len(st.Drop) > 0 || st.Complete != "" {
			var items []any
			for _, id := range st.Drop {
				items = append(items, itemField(st.ParticipantID, id))
			}
			for _, d := range st.Put {
				rec, err := encodeDue(d)
				if err != nil {
					errs[i] = fmt.Errorf("redis: apply due step: put %s: %w", d.ID, err)
					break
				}
				k := timeKey(d.DueAt)
				items = append(items, itemField(st.ParticipantID, d.ID), dueValue(k, "", rec))
				if lower[i] == nil {
					lower[i] = map[string]string{}
				}
				earliest(lower[i], st.ParticipantID, k)
			}
			if errs[i] != nil {
				continue
			}
			stepAt[i] = len(r3)
			r3 = append(r3, s.stepCall(st, lower[i], !cluster, items))
			of3 = append(of3, i)
			inStep[i] = !cluster
		}
		if t := st.Turn; t != nil {
			if len(t.Resolved) > 0 {
				r3 = append(r3, s.closeAttentionCall(t.Resolved))
				of3 = append(of3, i)
			}
			if cluster && t.DedupeKey != "" {
				r3 = append(r3, call{args: []any{"set", s.k.dedupe(t.DedupeKey), "1", "pxat", ms(t.DedupeUntil)}})
				of3 = append(of3, i)
			}
		}
	}
	a3, _ := s.pipeline(ctx, r3)

	// Round 4: the entries of the people whose items were planned, after
	// the items (PutDue says why), and every lease.
	var r4 []call
	var of4 []int
	for j, i := range of3 {
		if err := a3[j].Err(); err != nil && !errors.Is(err, goredis.Nil) && errs[i] == nil {
			errs[i] = s.fail("apply due step", err)
		}
	}
	for i, st := range steps {
		if inStep[i] && a3[stepAt[i]].Err() == nil {
			continue // pdue_step.lua did all of it
		}
		// Even after an error: the items may have landed, and an entry
		// lowered for nothing costs only a claim that finds nothing.
		if lower[i] != nil {
			for _, c := range s.lowerCalls(lower[i]) {
				r4 = append(r4, c)
				of4 = append(of4, i)
			}
		}
		// The ended item's entry goes only when this step ended it: one
		// taken over is another claim's to end.
		if j := stepAt[i]; j >= 0 {
			if n, err := a3[j].Int(); err == nil && n == 1 {
				r4 = append(r4, call{args: []any{"zrem", s.k.dueIndex(shardOf(st.ParticipantID)), itemEntry(st.ParticipantID, st.Complete)}})
				of4 = append(of4, i)
			}
		}
		if st.Lease != "" && plans[i].going {
			r4 = append(r4, call{sc: luaLeaseRelease, keys: []string{s.k.lease(st.Lease)}, args: []any{st.Owner}})
			of4 = append(of4, i)
		}
	}
	if len(r4) == 0 {
		return errs
	}
	a4, _ := s.pipeline(ctx, r4)
	for j, i := range of4 {
		if err := a4[j].Err(); err != nil && !errors.Is(err, goredis.Nil) && errs[i] == nil {
			errs[i] = s.fail("apply due step", err)
		}
	}
	return errs
}

// stepCall is the run of pdue_step.lua for st, given its items (the
// fields of those to drop, then field and value pairs to put) and the
// earliest time key of those put (lower). With single (a single Redis) the script also lowers
// the person's entry, takes the ended item's entry out and gives the
// step's lease up, which ApplyDueSteps otherwise does after it.
func (s *Store) stepCall(st store.DueStep, lower map[string]string, single bool, items []any) call {
	pid := st.ParticipantID
	keys := []string{s.k.person(pid)}
	score := ""
	if single {
		keys = append(keys, s.k.dueIndex(shardOf(pid)))
		if ms, ok := readyMs(lower[pid]); ok {
			score = strconv.FormatInt(ms, 10)
		}
		if st.Lease != "" {
			keys = append(keys, s.k.lease(st.Lease))
		}
	}
	complete := ""
	if st.Complete != "" {
		complete = itemField(pid, st.Complete)
	}
	args := append([]any{st.Owner, complete, score, personEntry(pid), itemEntry(pid, st.Complete), len(st.Drop)}, items...)
	return call{sc: luaPdueStep, keys: keys, args: args}
}

// applyStepAlone applies one step a write at a time.
func (s *Store) applyStepAlone(ctx context.Context, st store.DueStep) (err error) {
	if st.Lease != "" {
		defer func() { err = errors.Join(err, s.ReleaseLease(ctx, st.Lease, st.Owner)) }()
	}
	if err := s.ApplyTurn(ctx, *st.Turn); err != nil {
		return err
	}
	if err := s.PutDue(ctx, st.Put...); err != nil {
		return err
	}
	if err := s.DeleteDue(ctx, st.ParticipantID, st.Drop...); err != nil {
		return err
	}
	if st.Complete == "" {
		return nil
	}
	if err := s.CompleteDue(ctx, st.ParticipantID, st.Complete, st.Owner); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}
