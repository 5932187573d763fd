package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// A participant's windows are one hash in their slot, written by turns
// (turn.lua). A person has a few hundred at most, so WindowsOf reads the
// hash whole and sorts.

func (s *Store) WindowsOf(ctx context.Context, participantID string, since time.Time) ([]store.Window, error) {
	op := "windows of " + participantID
	all, err := s.rdb.HGetAll(ctx, s.k.windows(participantID)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.Window, 0, len(all))
	for _, doc := range all {
		var w store.Window
		if err := json.Unmarshal([]byte(doc), &w); err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		if !w.OpensAt.Before(since) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b store.Window) int {
		return cmp.Or(a.OpensAt.Compare(b.OpensAt), cmp.Compare(a.Ref, b.Ref))
	})
	return out, nil
}

func (s *Store) GetWindow(ctx context.Context, participantID, ref string) (store.Window, error) {
	op := "window " + ref
	var w store.Window
	doc, err := s.rdb.HGet(ctx, s.k.windows(participantID), ref).Result()
	if err != nil {
		return w, s.wrapGet(op, err)
	}
	if err := json.Unmarshal([]byte(doc), &w); err != nil {
		return w, fmt.Errorf("redis: %s: %w", op, err)
	}
	return w, nil
}

// PurgeWindows reads every participant's windows and deletes those that
// closed before before, a batch of participants per round trip.
func (s *Store) PurgeWindows(ctx context.Context, before time.Time) (int, error) {
	const op = "purge windows"
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return 0, s.fail(op, err)
	}
	total := 0
	err = inBatches(pids, func(batch []string) error {
		reads := make([]*goredis.MapStringStringCmd, len(batch))
		if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				reads[i] = p.HGetAll(ctx, s.k.windows(pid))
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				var doomed []string
				for ref, doc := range reads[i].Val() {
					var w store.Window
					if err := json.Unmarshal([]byte(doc), &w); err != nil {
						return fmt.Errorf("window %s: %w", ref, err)
					}
					if w.ClosesAt.Before(before) {
						doomed = append(doomed, ref)
					}
				}
				if len(doomed) > 0 {
					p.HDel(ctx, s.k.windows(pid), doomed...)
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

// AttentionOf reads the participant's items from their slot.
func (s *Store) AttentionOf(ctx context.Context, participantID string) ([]store.AttentionItem, error) {
	op := "attention of " + participantID
	all, err := s.rdb.HGetAll(ctx, s.k.attention(participantID)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.AttentionItem, 0, len(all))
	for _, doc := range all {
		var a store.AttentionItem
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.AttentionItem) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
