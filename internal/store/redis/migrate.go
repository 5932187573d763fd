package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// The layout before kept due items in shards by item ID ({d<n>}: items,
// ready, pos, owner), with a hint set a person ({p:<pid>}:due) for DueOf.
// Open moves whatever it finds there into the people's hashes, a shard at
// a time and a few hundred items at a time: each item is written to its
// person first (unless they already have one under its ID, which is
// newer), their entry lowered, and only then is it taken out of the shard.
// A migration cut short is finished by the next Open and loses nothing;
// an item moved twice is the same item.

type legacyDueShard struct{ items, ready, pos, owner string }

func (k keys) legacyDueShard(n int) legacyDueShard {
	b := fmt.Sprintf("%sdue:{d%d}:", k.prefix, n)
	return legacyDueShard{items: b + "items", ready: b + "ready", pos: b + "pos", owner: b + "owner"}
}

// legacyDueOf is a person's hint set of the layout before.
func (k keys) legacyDueOf(pid string) string { return k.p(pid, "due") }

// migrateBatch is how many items one step of the migration moves.
const migrateBatch = 500

// migrateLease is held by the process moving the items, renewed at each
// batch: processes started together take turns, and none serves before
// the move is done, so none can end an item that another, still moving,
// would then write again. A process waits for another's move at most
// migrateWait, then fails to open (and is started again).
const (
	migrateLease    = "migrate-due"
	migrateLeaseTTL = 30 * time.Second
	migrateWait     = 10 * time.Minute
)

func (s *Store) migrateDue(ctx context.Context) error {
	left, err := s.legacyDueLeft(ctx)
	if err != nil || !left {
		return err
	}
	owner := store.NewID("open_")
	return store.WithLease(ctx, s, migrateLease, owner, migrateWait, slog.Default(), func() error {
		return s.moveLegacyDue(ctx, owner)
	})
}

// moveLegacyDue moves every item of the shards before, a batch at a time,
// renewing owner's lease.
func (s *Store) moveLegacyDue(ctx context.Context, owner string) error {
	for n := range shardCount {
		sh := s.k.legacyDueShard(n)
		for {
			left, err := s.rdb.HLen(ctx, sh.items).Result()
			if err != nil {
				return err
			}
			if left == 0 {
				break
			}
			// A pass of the whole hash, moving what it meets; deleting
			// while scanning misses nothing that stays.
			for cursor := uint64(0); ; {
				docs, next, err := s.rdb.HScan(ctx, sh.items, cursor, "", migrateBatch).Result()
				if err != nil {
					return err
				}
				if len(docs) > 0 {
					if err := s.migrateDueBatch(ctx, sh, docs); err != nil {
						return err
					}
					if _, err := s.AcquireLease(ctx, migrateLease, owner, migrateLeaseTTL); err != nil {
						return err
					}
				}
				if cursor = next; cursor == 0 {
					break
				}
			}
		}
		if err := s.rdb.Del(ctx, sh.ready, sh.pos, sh.owner).Err(); err != nil {
			return err
		}
	}
	return nil
}

// legacyDueLeft reports whether any shard of the layout before is left.
func (s *Store) legacyDueLeft(ctx context.Context) (bool, error) {
	cmds := make([]*goredis.IntCmd, shardCount)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for n := range shardCount {
			sh := s.k.legacyDueShard(n)
			cmds[n] = p.Exists(ctx, sh.items, sh.ready, sh.pos, sh.owner)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// migrateDueBatch moves the items of docs (field, value, field, value…).
func (s *Store) migrateDueBatch(ctx context.Context, sh legacyDueShard, docs []string) error {
	ids := make([]string, 0, len(docs)/2)
	for i := 0; i+1 < len(docs); i += 2 {
		ids = append(ids, docs[i])
	}
	var posCmd, ownerCmd *goredis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		posCmd = p.HMGet(ctx, sh.pos, ids...)
		ownerCmd = p.HMGet(ctx, sh.owner, ids...)
		return nil
	})
	if err != nil {
		return err
	}
	pos, owners := posCmd.Val(), ownerCmd.Val()
	var writes, held, cleanup []call
	first := map[string]string{}
	for i, id := range ids {
		d, err := decodeLegacyDue(id, docs[2*i+1])
		if err != nil {
			return fmt.Errorf("due item %s of the layout before: %w", id, err)
		}
		rec, err := encodeDue(d)
		if err != nil {
			return fmt.Errorf("due item %s: %w", id, err)
		}
		ready, owner := timeKey(d.DueAt), ""
		if p, ok := pos[i].(string); ok && len(p) == timeKeyLen {
			ready = p
		}
		if o, ok := owners[i].(string); ok && len(o) <= maxOwnerLen {
			owner = o
		}
		writes = append(writes, call{args: []any{"hsetnx", s.k.person(d.ParticipantID), itemField(d.ParticipantID, id), dueValue(ready, owner, rec)}})
		if owner == "" {
			earliest(first, d.ParticipantID, ready)
		} else if ms, ok := readyMs(ready); ok {
			held = append(held, call{args: []any{"zadd", s.k.dueIndex(shardOf(d.ParticipantID)), "lt", ms, itemEntry(d.ParticipantID, id)}})
		}
		cleanup = append(cleanup,
			call{args: []any{"zrem", sh.ready, ready + "|" + id}},
			call{args: []any{"srem", s.k.legacyDueOf(d.ParticipantID), id}})
	}
	if _, err := s.pipeline(ctx, writes); err != nil {
		return err
	}
	if _, err := s.pipeline(ctx, append(s.lowerCalls(first), held...)); err != nil {
		return err
	}
	fields := make([]any, len(ids))
	for i, id := range ids {
		fields[i] = id
	}
	cleanup = append(cleanup,
		call{args: append([]any{"hdel", sh.pos}, fields...)},
		call{args: append([]any{"hdel", sh.owner}, fields...)},
		call{args: append([]any{"hdel", sh.items}, fields...)}) // last: what is left is found again
	_, err = s.pipeline(ctx, cleanup)
	return err
}

// decodeLegacyDue reads a record of the layout before: the short form with
// its participant ("p"), or, older, the whole store.DueItem as JSON.
func decodeLegacyDue(id, doc string) (store.DueItem, error) {
	var r dueRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return store.DueItem{}, err
	}
	if r.ParticipantID != "" {
		return r.item(id)
	}
	var d store.DueItem
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return d, err
	}
	if d.ParticipantID == "" {
		return d, errors.New("names no participant")
	}
	d.ID = id
	return d, nil
}
