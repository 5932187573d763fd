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

// A participant's windows are one sorted set in their slot, each window
// whole in one member (windowMember), ordered by opening; turns write them
// (turn.lua), replacing the member of the same opening. A person has a few
// hundred at most, so GetWindow reads the set and finds the ref.

func (s *Store) WindowsOf(ctx context.Context, participantID string, since time.Time) ([]store.Window, error) {
	op := "windows of " + participantID
	members, err := s.rdb.ZRangeByLex(ctx, s.k.windows(participantID), &goredis.ZRangeBy{Min: "[" + timeKey(since), Max: "+"}).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	return decodeWindows(participantID, members)
}

// decodeWindows reads the members of a person's window set, by opening.
func decodeWindows(participantID string, members []string) ([]store.Window, error) {
	op := "windows of " + participantID
	out := make([]store.Window, 0, len(members))
	for _, m := range members {
		w, err := parseWindow(participantID, m)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b store.Window) int { return a.OpensAt.Compare(b.OpensAt) })
	return out, nil
}

func (s *Store) GetWindow(ctx context.Context, participantID, ref string) (store.Window, error) {
	all, err := s.WindowsOf(ctx, participantID, time.Time{})
	if err != nil {
		return store.Window{}, err
	}
	for _, w := range all {
		if w.Ref == ref {
			return w, nil
		}
	}
	return store.Window{}, fmt.Errorf("redis: window %s: %w", ref, store.ErrNotFound)
}

// PurgeWindows deletes the windows that closed before before: only
// windows that opened before it can have, so each participant's set is
// read up to there, a batch of participants per round trip.
func (s *Store) PurgeWindows(ctx context.Context, before time.Time) (int, error) {
	const op = "purge windows"
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return 0, s.fail(op, err)
	}
	total := 0
	err = inBatches(pids, func(batch []string) error {
		reads := make([]*goredis.StringSliceCmd, len(batch))
		if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				reads[i] = p.ZRangeByLex(ctx, s.k.windows(pid), &goredis.ZRangeBy{Min: "-", Max: "(" + timeKey(before)})
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				var doomed []any
				for _, m := range reads[i].Val() {
					w, err := parseWindow(pid, m)
					if err != nil {
						return err
					}
					if w.ClosesAt.Before(before) {
						doomed = append(doomed, m)
					}
				}
				if len(doomed) > 0 {
					p.ZRem(ctx, s.k.windows(pid), doomed...)
					total += len(doomed)
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return total, s.fail(op, err)
	}
	return total, nil
}

// A window is kept whole as one member of its participant's set, in the
// short form both backends use (store.EncodeWindow), which sorts by
// opening.
func windowMember(w store.Window) string { return store.EncodeWindow(w) }

// windowPrefix is what every member of the window opening at opens starts
// with: turn.lua removes the members with it before adding the new one.
func windowPrefix(opens time.Time) string { return store.WindowPrefix(opens) }

func parseWindow(pid, m string) (store.Window, error) { return store.DecodeWindow(pid, m) }

// AttentionOf reads the participant's items from their slot.
func (s *Store) AttentionOf(ctx context.Context, participantID string) ([]store.AttentionItem, error) {
	op := "attention of " + participantID
	all, err := s.rdb.HVals(ctx, s.k.attention(participantID)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	return decodeAttention(participantID, all)
}

// decodeAttention reads the records of a person's attention hash, oldest
// first.
func decodeAttention(participantID string, all []string) ([]store.AttentionItem, error) {
	out := make([]store.AttentionItem, 0, len(all))
	for _, doc := range all {
		var a store.AttentionItem
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("redis: attention of %s: %w", participantID, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.AttentionItem) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// historyReads is how many calls historyCalls makes.
const historyReads = 4

// historyCalls read a person's windows and check-ins from since, their
// messages and attention items; decodeHistory reads the answers.
func (s *Store) historyCalls(pid string, since time.Time) []call {
	from := "[" + timeKey(since)
	return []call{
		{args: []any{"zrangebylex", s.k.windows(pid), from, "+"}},
		{args: []any{"zrangebylex", s.k.checkIns(pid), from, "+"}},
		{args: []any{"hvals", s.k.outbox(pid)}},
		{args: []any{"hvals", s.k.attention(pid)}},
	}
}

// decodeHistory reads the answers to historyCalls (the first
// historyReads of cmds); the appointments are the caller's.
func decodeHistory(pid string, cmds []*goredis.Cmd) (store.History, error) {
	var h store.History
	docs := make([][]string, historyReads)
	for i := range docs {
		var err error
		if docs[i], err = cmds[i].StringSlice(); err != nil && !errors.Is(err, goredis.Nil) {
			return h, fmt.Errorf("redis: history of %s: %w", pid, err)
		}
	}
	var err error
	if h.Windows, err = decodeWindows(pid, docs[0]); err != nil {
		return h, err
	}
	for _, m := range docs[1] {
		c, err := parseCheckIn(pid, m)
		if err != nil {
			return h, fmt.Errorf("redis: history of %s: %w", pid, err)
		}
		h.CheckIns = append(h.CheckIns, c)
	}
	if h.Messages, err = decodeOutbound(pid, docs[2]); err != nil {
		return h, err
	}
	h.Attention, err = decodeAttention(pid, docs[3])
	return h, err
}

// HistoryOf reads the person's windows, check-ins, messages, attention
// items and refs in one pipeline, and the appointments the refs point at
// in a second round trip: two instead of six, for the
// report, which reads everyone's.
func (s *Store) HistoryOf(ctx context.Context, pid string, since time.Time) (store.History, error) {
	op := "history of " + pid
	calls := append(s.historyCalls(pid, since), call{args: []any{"hkeys", s.k.person(pid)}})
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return store.History{}, s.fail(op, err)
	}
	h, err := decodeHistory(pid, cmds)
	if err != nil {
		return h, err
	}
	refs, _ := cmds[historyReads].StringSlice()
	if ids := refsOf(refs, refAppointment); len(ids) > 0 {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = s.k.appointment(id)
		}
		docs, err := s.getMany(ctx, keys)
		if err != nil {
			return h, s.fail(op, err)
		}
		if h.Appointments, err = decodeAppointments(pid, ids, docs); err != nil {
			return h, err
		}
	}
	return h, nil
}
