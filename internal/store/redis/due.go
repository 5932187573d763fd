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

// A due item lives whole in its shard ({d<n>}, by item ID), next to its
// claim state, so that claiming, completing and replacing it are each one
// script. Its participant's slot holds a hint set for DueOf.

// dueRecord is a due item as its shard's items hash keeps it: the ID is
// the field it is kept under, so it is not repeated, and the names are
// short because a participant has about ten items at any time and a
// programme many thousands of participants. due_put.lua and due_delete.lua
// read "p".
type dueRecord struct {
	ParticipantID string            `json:"p"`
	Kind          string            `json:"k"`
	Ref           string            `json:"r,omitempty"`
	DueAt         time.Time         `json:"t"`              // in UTC: "Z" is shorter than an offset
	Data          map[string]string `json:"data,omitempty"` // named as docs/privacy.md's walk expects of a map of variables
}

func encodeDue(d store.DueItem) ([]byte, error) {
	return json.Marshal(dueRecord{ParticipantID: d.ParticipantID, Kind: d.Kind, Ref: d.Ref, DueAt: d.DueAt.UTC(), Data: d.Data})
}

// PutDue inserts or replaces items by ID. A replaced item is new work: any
// claim on it ends, and it is claimable from its new DueAt.
func (s *Store) PutDue(ctx context.Context, items ...store.DueItem) error {
	var errs []error
	ids := make([]string, len(items))
	for i, d := range items {
		errs = append(errs, store.CheckDue(d))
		ids[i] = d.ID
	}
	errs = append(errs, store.Unique("due item", ids))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis: put due: %w", err)
	}
	byShard := map[int][]any{}
	newOwner := map[string]string{}
	hints := map[string][]any{}
	for _, d := range items {
		doc, err := encodeDue(d)
		if err != nil {
			return fmt.Errorf("redis: put due %s: %w", d.ID, err)
		}
		n := shardOf(d.ID)
		byShard[n] = append(byShard[n], d.ID, timeKey(d.DueAt), doc)
		newOwner[d.ID] = d.ParticipantID
		hints[d.ParticipantID] = append(hints[d.ParticipantID], d.ID)
	}
	if err := s.addToSets(ctx, hints, s.k.dueOf); err != nil {
		return s.fail("put due", err)
	}
	stale := map[string][]any{}
	for n, args := range byShard {
		was, err := s.run(ctx, luaDuePut, s.k.dueShard(n).keys(), args...).StringSlice()
		if err != nil {
			return s.fail("put due", err)
		}
		for i, pid := range was {
			id := args[i*3].(string)
			if pid != "" && pid != newOwner[id] {
				stale[pid] = append(stale[pid], id)
			}
		}
	}
	if err := s.removeFromSets(ctx, stale, s.k.dueOf); err != nil {
		return s.fail("put due", err)
	}
	return nil
}

// DeleteDue deletes the person's items by ID, claimed or not; missing
// IDs, and another person's, are ignored.
func (s *Store) DeleteDue(ctx context.Context, participantID string, ids ...string) error {
	if err := store.Need("participant ID", participantID); err != nil {
		return fmt.Errorf("redis: delete due: %w", err)
	}
	if err := s.deleteDue(ctx, participantID, ids); err != nil {
		return s.fail("delete due", err)
	}
	return nil
}

// deleteDue deletes the items of ids that belong to pid, then their
// hints.
func (s *Store) deleteDue(ctx context.Context, pid string, ids []string) error {
	byShard := map[int][]any{}
	for _, id := range ids {
		byShard[shardOf(id)] = append(byShard[shardOf(id)], id)
	}
	hints := map[string][]any{}
	for n, shardIDs := range byShard {
		gone, err := s.run(ctx, luaDueDelete, s.k.dueShard(n).keys(), append([]any{pid}, shardIDs...)...).StringSlice()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(gone); i += 2 {
			hints[gone[i+1]] = append(hints[gone[i+1]], gone[i])
		}
	}
	return s.removeFromSets(ctx, hints, s.k.dueOf)
}

// DueOf returns a participant's items, ordered by DueAt.
func (s *Store) DueOf(ctx context.Context, participantID string) ([]store.DueItem, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.dueOf(participantID)).Result()
	if err != nil {
		return nil, s.fail("due of "+participantID, err)
	}
	byShard := map[int][]string{}
	for _, id := range ids {
		byShard[shardOf(id)] = append(byShard[shardOf(id)], id)
	}
	cmds := map[int]*goredis.SliceCmd{}
	if len(byShard) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for n, shardIDs := range byShard {
				cmds[n] = p.HMGet(ctx, s.k.dueShard(n).items, shardIDs...)
			}
			return nil
		})
		if err != nil {
			return nil, s.fail("due of "+participantID, err)
		}
	}
	var out []store.DueItem
	for n, c := range cmds {
		docs := make([]*string, len(c.Val()))
		for i, v := range c.Val() {
			if doc, ok := v.(string); ok {
				docs[i] = &doc
			}
		}
		items, err := owned(docs, participantID,
			func(i int, doc string) (store.DueItem, error) { return decodeDue(byShard[n][i], doc) },
			func(d store.DueItem) string { return d.ParticipantID })
		if err != nil {
			return nil, fmt.Errorf("redis: due of %s: %w", participantID, err)
		}
		out = append(out, items...)
	}
	slices.SortFunc(out, func(a, b store.DueItem) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// ClaimDue leases up to limit items whose DueAt has come to owner,
// earliest first; an item whose lease ended without CompleteDue is
// claimable again from the end of that lease.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.DueItem, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("redis: claim due: %w", err)
	}
	nowKey, endKey := timeKey(now), timeKey(now.Add(lease))
	ready := func(n int) string { return s.k.dueShard(n).ready }
	keysOf := func(n int) []string {
		sh := s.k.dueShard(n)
		return []string{sh.ready, sh.pos, sh.owner, sh.items}
	}
	var all []claimed
	err := s.claimInRounds(ctx, "claim due", limit, ready, keysOf, nowKey, endKey, owner, func(cl []claimed) (int, error) {
		all = append(all, cl...)
		return len(cl), nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b claimed) int { return cmp.Compare(a.member, b.member) })
	out := make([]store.DueItem, 0, len(all))
	for _, c := range all {
		d, err := decodeDue(memberID(c.member), c.data)
		if err != nil {
			return nil, fmt.Errorf("redis: claim due: item %s: unreadable record", memberID(c.member))
		}
		out = append(out, d)
	}
	return out, nil
}

// CompleteDue deletes the person's claimed item if owner still holds it:
// ErrNotFound when they have no such item, ErrConflict when owner does not
// hold it.
func (s *Store) CompleteDue(ctx context.Context, participantID, id, owner string) error {
	n, err := s.run(ctx, luaDueSettle, s.k.dueShard(shardOf(id)).keys(), id, owner, "", participantID).Int()
	switch {
	case err != nil:
		return s.fail("complete due "+id, err)
	case n < 0:
		return fmt.Errorf("redis: complete due %s: %w", id, store.ErrNotFound)
	case n == 0:
		return fmt.Errorf("redis: complete due %s: not held by this owner: %w", id, store.ErrConflict)
	}
	if err := s.rdb.SRem(ctx, s.k.dueOf(participantID), id).Err(); err != nil {
		return s.fail("complete due "+id, err)
	}
	return nil
}

// ReleaseDue hands back the person's claimed item that owner has not
// begun: it is read for its due time, then released by due_settle.lua,
// which checks the person and the owner. Used at shutdown only, so two
// round trips do not matter.
func (s *Store) ReleaseDue(ctx context.Context, participantID, id, owner string) error {
	sh := s.k.dueShard(shardOf(id))
	doc, err := s.rdb.HGet(ctx, sh.items, id).Result()
	if err != nil {
		return s.wrapGet("release due "+id, err)
	}
	d, err := decodeDue(id, doc)
	if err != nil {
		return fmt.Errorf("redis: release due %s: %w", id, err)
	}
	n, err := s.run(ctx, luaDueSettle, sh.keys(), id, owner, timeKey(d.DueAt), participantID).Int()
	switch {
	case err != nil:
		return s.fail("release due "+id, err)
	case n < 0:
		return fmt.Errorf("redis: release due %s: %w", id, store.ErrNotFound)
	case n == 0:
		return fmt.Errorf("redis: release due %s: not held by this owner: %w", id, store.ErrConflict)
	}
	return nil
}

// addToSets adds members to sets named by participant, one pipeline.
func (s *Store) addToSets(ctx context.Context, members map[string][]any, key func(string) string) error {
	if len(members) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for pid, ms := range members {
			p.SAdd(ctx, key(pid), ms...)
		}
		return nil
	})
	return err
}

// removeFromSets removes members from sets named by participant.
func (s *Store) removeFromSets(ctx context.Context, members map[string][]any, key func(string) string) error {
	if len(members) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for pid, ms := range members {
			p.SRem(ctx, key(pid), ms...)
		}
		return nil
	})
	return err
}
