package redis

import (
	"context"
	"log/slog"
)

// The layouts before this one kept a person's record, hints and due items
// apart: the record in {p:<pid>}:participant, the link indexes and
// appointment IDs in two sets ({p:<pid>}:links and :appointments), then in
// a hash of their own ({p:<pid>}:refs), and the due items in a hash keyed
// by their whole IDs ({p:<pid>}:dueitems). Open moves them into the person
// hash (keys.person, hints.go, itemField), the participant list's people a
// batch at a time, one script a person, and then records that it is done,
// so that later starts only read that mark. Processes that start together
// may move the same people; a move keeps a record already moved and only
// adds hints, so that does no harm, and a move cut short is done again by
// the next Open.

// personLayout is the mark's value once every person's record, hints and
// due items are in their person hash; the layout before had "refs" there.
const personLayout = "person"

func (k keys) layout() string                         { return k.prefix + "layout" } // string: personLayout once the records and hints are moved
func (k keys) legacyLinksOf(pid string) string        { return k.p(pid, "links") }
func (k keys) legacyAppointmentsOf(pid string) string { return k.p(pid, "appointments") }
func (k keys) legacyRefs(pid string) string           { return k.p(pid, "refs") }
func (k keys) legacyParticipant(pid string) string    { return k.p(pid, "participant") }
func (k keys) legacyDueItems(pid string) string       { return k.p(pid, "dueitems") }

func (s *Store) migratePeople(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.k.layout()).Result()
	if err == nil && v == personLayout {
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
			calls[i] = call{sc: luaPersonMove, keys: []string{s.k.legacyLinksOf(pid), s.k.legacyAppointmentsOf(pid),
				s.k.legacyRefs(pid), s.k.legacyParticipant(pid), s.k.legacyDueItems(pid), s.k.person(pid)}, args: []any{"win:" + pid + ":"}}
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
		slog.Info("redis: moved each person's record, hints and due items into their person hash", "participants", len(pids), "moved", moved)
	}
	return s.rdb.Set(ctx, s.k.layout(), personLayout, 0).Err()
}
