package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

var _ store.DueBatches = (*Store)(nil)

// LoadTurns answers every ask in three round trips whatever their number:
// the leases; each person's record, session, dedupe key, hint sets and
// history when asked; the records the hint sets name. The leases go first and alone, so that on a
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
	const perAsk = 7 // participant, session, marker, dedupe key, links, appointments, due; then the history asked for
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
		calls = append(calls,
			call{args: []any{"get", s.k.participant(pid)}}, call{args: []any{"get", s.k.session(pid)}}, marker, global,
			call{args: []any{"smembers", s.k.linksOf(pid)}}, call{args: []any{"smembers", s.k.appointmentsOf(pid)}},
			call{args: []any{"smembers", s.k.dueOf(pid)}})
		if !a.HistorySince.IsZero() {
			calls = append(calls, s.historyCalls(pid, a.HistorySince)...)
		}
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return nil, s.fail("load turns", err)
	}

	// Round 3: the links, appointments and due items the hint sets name.
	var more []call
	type named struct{ links, appts, due []string }
	names := make([]named, len(asks))
	now := time.Now().UnixMilli()
	j := 0
	for i, a := range asks {
		if out[i].Err != nil {
			continue
		}
		c := cmds[j : j+perAsk]
		j += perAsk
		if err := s.readTurnState(c, a, now, &out[i]); err != nil {
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
		names[i].links, _ = c[4].StringSlice()
		names[i].appts, _ = c[5].StringSlice()
		names[i].due, _ = c[6].StringSlice()
		for _, l := range names[i].links {
			more = append(more, call{args: []any{"get", s.k.link(l)}})
		}
		for _, id := range names[i].appts {
			more = append(more, call{args: []any{"get", s.k.appointment(id)}})
		}
		for _, id := range names[i].due {
			more = append(more, call{args: []any{"hget", s.k.dueShard(shardOf(id)).items, id}})
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
		links, appts, due := docsOf(recs[j:j+len(n.links)]), docsOf(recs[j+len(n.links):j+len(n.links)+len(n.appts)]), docsOf(recs[j+len(n.links)+len(n.appts):j+len(n.links)+len(n.appts)+len(n.due)])
		j += len(n.links) + len(n.appts) + len(n.due)
		if err := readHinted(a.ParticipantID, n.due, links, appts, due, &out[i]); err != nil {
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
// LoadTurn reads them; a missing person is in.Err.
func (s *Store) readTurnState(c []*goredis.Cmd, a store.TurnAsk, now int64, in *store.TurnInputs) error {
	doc, err := c[0].Text()
	if errors.Is(err, goredis.Nil) {
		in.Err = store.ErrNotFound
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(doc), &in.Participant); err != nil {
		return err
	}
	if doc, err := c[1].Text(); err == nil {
		var ss store.Session
		if err := json.Unmarshal([]byte(doc), &ss); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		in.Session = &ss
	}
	if a.DedupeKey != "" {
		until, err := c[2].Float64()
		n, _ := c[3].Int()
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

// readHinted decodes one person's links, appointments and due items (due
// holding the records of dueIDs), ordered as LinksOf, AppointmentsOf and
// DueOf order them.
func readHinted(pid string, dueIDs []string, links, appts, due []*string, in *store.TurnInputs) error {
	var err error
	if in.Links, err = owned(links, pid, jsonRecord[store.Link], func(l store.Link) string { return l.ParticipantID }); err != nil {
		return err
	}
	slices.SortFunc(in.Links, func(a, b store.Link) int { return cmp.Compare(a.Index, b.Index) })
	if in.Appointments, err = decodeAppointments(pid, appts); err != nil {
		return err
	}
	in.Due, err = owned(due, pid,
		func(i int, doc string) (store.DueItem, error) { return decodeDue(dueIDs[i], doc) },
		func(d store.DueItem) string { return d.ParticipantID })
	slices.SortFunc(in.Due, func(a, b store.DueItem) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	return err
}

// ApplyDueSteps applies many steps in four round trips whatever their
// number, each turn as ApplyTurn applies it:
//
//  1. every turn's hints and dedupe check, and the due items' hints;
//  2. every turn's script (turn.lua), each in its person's slot;
//  3. for each step whose turn landed or that has none: its items planned,
//     dropped and ended (one script a shard), the resolved items out of
//     the open index, and on a cluster the global dedupe keys;
//  4. the hints of items that moved or ended, and every step's lease.
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
			pre, hints := s.hintsOf(*st.Turn)
			plans[i] = plan{write: w, hints: hints, pre: len(r1), npre: len(pre), going: true}
			r1 = append(r1, pre...)
			for _, h := range hints {
				r1 = append(r1, h.do)
			}
		}
		// Hints first, as PutDue writes them: one naming an item its step
		// never wrote is skipped by DueOf.
		for _, d := range st.Put {
			r1 = append(r1, call{args: []any{"sadd", s.k.dueOf(d.ParticipantID), d.ID}})
		}
	}
	a1, err1 := s.pipeline(ctx, r1)
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
	cluster := s.isCluster()
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
		case dedupeFree(*st.Turn, a1[p.pre:]) != nil:
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

	// Round 3: the plans and the items' ends, for the steps still going.
	var r3 []call
	type answer struct {
		step int
		kind string // "put", "drop", "settle" or "" (nothing to read)
		ids  []string
	}
	var answers []answer
	for i, st := range steps {
		if !plans[i].going || errs[i] != nil {
			continue
		}
		puts, putIDs := map[int][]any{}, map[int][]string{}
		for _, d := range st.Put {
			doc, err := encodeDue(d)
			if err != nil {
				errs[i] = fmt.Errorf("redis: apply due step: put %s: %w", d.ID, err)
				break
			}
			n := shardOf(d.ID)
			puts[n] = append(puts[n], d.ID, timeKey(d.DueAt), doc)
			putIDs[n] = append(putIDs[n], d.ID)
		}
		if errs[i] != nil {
			continue
		}
		for n, args := range puts {
			r3 = append(r3, call{sc: luaDuePut, keys: s.k.dueShard(n).keys(), args: args})
			answers = append(answers, answer{step: i, kind: "put", ids: putIDs[n]})
		}
		byShard := map[int][]any{}
		for _, id := range st.Drop {
			byShard[shardOf(id)] = append(byShard[shardOf(id)], id)
		}
		for n, ids := range byShard {
			r3 = append(r3, call{sc: luaDueDelete, keys: s.k.dueShard(n).keys(), args: append([]any{st.ParticipantID}, ids...)})
			answers = append(answers, answer{step: i, kind: "drop"})
		}
		if st.Complete != "" {
			r3 = append(r3, call{sc: luaDueSettle, keys: s.k.dueShard(shardOf(st.Complete)).keys(), args: []any{st.Complete, st.Owner, "", st.ParticipantID}})
			answers = append(answers, answer{step: i, kind: "settle", ids: []string{st.Complete}})
		}
		if t := st.Turn; t != nil {
			if len(t.Resolved) > 0 {
				r3 = append(r3, s.closeAttentionCall(t.Resolved))
				answers = append(answers, answer{step: i})
			}
			if cluster && t.DedupeKey != "" {
				r3 = append(r3, call{args: []any{"set", s.k.dedupe(t.DedupeKey), "1", "pxat", ms(t.DedupeUntil)}})
				answers = append(answers, answer{step: i})
			}
		}
	}
	a3, _ := s.pipeline(ctx, r3)

	// Round 4: hints of items moved to another person, deleted or ended,
	// and every lease.
	var r4 []call
	var of4 []int
	for j, an := range answers {
		cmd := a3[j]
		if err := cmd.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			errs[an.step] = s.fail("apply due step", err)
			continue
		}
		gone := map[string][]any{}
		switch an.kind {
		case "put":
			was, _ := cmd.StringSlice()
			// An item that was another person's leaves their hint set.
			for k, pid := range was {
				if pid != "" && k < len(an.ids) && pid != ownerOf(steps[an.step].Put, an.ids[k]) {
					gone[pid] = append(gone[pid], an.ids[k])
				}
			}
		case "drop":
			res, _ := cmd.StringSlice()
			for k := 0; k+1 < len(res); k += 2 {
				gone[res[k+1]] = append(gone[res[k+1]], res[k])
			}
		case "settle":
			if n, err := cmd.Int(); err == nil && n > 0 {
				pid := steps[an.step].ParticipantID
				gone[pid] = append(gone[pid], an.ids[0])
			}
		}
		for pid, ids := range gone {
			r4 = append(r4, call{args: append([]any{"srem", s.k.dueOf(pid)}, ids...)})
			of4 = append(of4, an.step)
		}
	}
	for i, st := range steps {
		if st.Lease != "" && plans[i].going {
			r4 = append(r4, call{sc: luaLeaseRelease, keys: []string{s.k.lease(st.Lease)}, args: []any{st.Owner}})
			of4 = append(of4, i)
		}
	}
	a4, _ := s.pipeline(ctx, r4)
	for j, i := range of4 {
		if err := a4[j].Err(); err != nil && !errors.Is(err, goredis.Nil) && errs[i] == nil {
			errs[i] = s.fail("apply due step", err)
		}
	}
	return errs
}

// ownerOf is the person the item of items with ID id is for.
func ownerOf(items []store.DueItem, id string) string {
	for _, d := range items {
		if d.ID == id {
			return d.ParticipantID
		}
	}
	return ""
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
