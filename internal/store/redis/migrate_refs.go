package redis

import (
	"context"
	"log/slog"
)

// The layout before kept a person's link indexes and appointment IDs in
// two sets ({p:<pid>}:links and :appointments). Open moves them into the
// person's refs hash (hints.go), the participant list's people a batch at
// a time, one script a person, and then records that it is done, so that
// later starts only read that mark. Processes that start together may move
// the same people; a move only adds hints, so that does no harm, and a
// move cut short is done again by the next Open.

// refsLayout is the mark's value once every person's hints are in refs.
const refsLayout = "refs"

func (k keys) layout() string                         { return k.prefix + "layout" } // string: refsLayout once the hint sets are moved
func (k keys) legacyLinksOf(pid string) string        { return k.p(pid, "links") }
func (k keys) legacyAppointmentsOf(pid string) string { return k.p(pid, "appointments") }

func (s *Store) migrateRefs(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.k.layout()).Result()
	if err == nil && v == refsLayout {
		return nil
	}
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return err
	}
	moved := 0
	err = inBatches(pids, func(batch []string) error {
		calls := make([]call, len(batch))
		for i, pid := range batch {
			calls[i] = call{sc: luaRefsMove, keys: []string{s.k.legacyLinksOf(pid), s.k.legacyAppointmentsOf(pid), s.k.refs(pid)}}
		}
		cmds, err := s.pipeline(ctx, calls)
		if err != nil {
			return err
		}
		for _, c := range cmds {
			n, _ := c.Int()
			moved += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	if moved > 0 {
		slog.Info("redis: moved link and appointment hints into each person's refs", "participants", len(pids), "hints", moved)
	}
	return s.rdb.Set(ctx, s.k.layout(), refsLayout, 0).Err()
}
