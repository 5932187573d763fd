package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// purgeBatch bounds how many participants or entries one purge step reads,
// so that a large programme is purged in steps that keep Redis responsive.
const purgeBatch = 500

// participantIDs returns every participant ID in the participant list.
func (s *Store) participantIDs(ctx context.Context) ([]string, error) {
	return s.rdb.ZRange(ctx, s.k.participants(), 0, -1).Result()
}

// inBatches calls fn with consecutive slices of ids, at most purgeBatch
// long.
func inBatches(ids []string, fn func([]string) error) error {
	for len(ids) > 0 {
		n := min(len(ids), purgeBatch)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// ListLinks returns every link, ordered by index. Links are kept under
// their own keys; the participants' refs name them all, so this
// reads no keyspace scan.
func (s *Store) ListLinks(ctx context.Context) ([]store.Link, error) {
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return nil, s.fail("list links", err)
	}
	var out []store.Link
	err = inBatches(pids, func(batch []string) error {
		sets := make([]*goredis.StringSliceCmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				sets[i] = p.HKeys(ctx, s.k.person(pid))
			}
			return nil
		})
		if err != nil {
			return err
		}
		var keys, indexes, owners []string
		for i, c := range sets {
			for _, ix := range refsOf(c.Val(), refLink) {
				keys = append(keys, s.k.link(ix))
				indexes = append(indexes, ix)
				owners = append(owners, batch[i])
			}
		}
		docs, err := s.getMany(ctx, keys)
		if err != nil {
			return err
		}
		links, err := fromHints(docs, func(i int) string { return owners[i] }, keyedBy(indexes, compact.DecodeLink),
			func(l store.Link) string { return l.ParticipantID })
		out = append(out, links...)
		return err
	})
	if err != nil {
		return nil, s.fail("list links", err)
	}
	slices.SortFunc(out, func(a, b store.Link) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// OutboundOf returns a participant's messages, oldest first.
func (s *Store) OutboundOf(ctx context.Context, participantID string) ([]store.OutboundMessage, error) {
	docs, err := s.rdb.HVals(ctx, s.k.outbox(participantID)).Result()
	if err != nil {
		return nil, s.fail("outbound of "+participantID, err)
	}
	return decodeOutbound(participantID, docs)
}

// decodeOutbound reads the records of a person's outbox hash, oldest first.
func decodeOutbound(participantID string, docs []string) ([]store.OutboundMessage, error) {
	out := make([]store.OutboundMessage, 0, len(docs))
	for _, doc := range docs {
		var m store.OutboundMessage
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("redis: outbound of %s: %w", participantID, err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b store.OutboundMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// PurgeCheckIns deletes check-ins older than before from every
// participant's time index: one ZREMRANGEBYLEX per participant, pipelined.
func (s *Store) PurgeCheckIns(ctx context.Context, before time.Time) (int, error) {
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return 0, s.fail("purge check-ins", err)
	}
	total := 0
	err = inBatches(pids, func(batch []string) error {
		cmds := make([]*goredis.IntCmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				cmds[i] = p.ZRemRangeByLex(ctx, s.k.checkIns(pid), "-", "("+timeKey(before))
			}
			return nil
		})
		for _, c := range cmds {
			total += int(c.Val())
		}
		return err
	})
	if err != nil {
		return total, s.fail("purge check-ins", err)
	}
	return total, nil
}

// PurgeAudit deletes audit entries older than before, oldest first, in
// batches: a turn's entry is deleted in its participant's slot first, then
// every index entry goes in one script on the audit log's slot.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	ix := s.k.auditIndex()
	total := 0
	for {
		members, err := s.rdb.ZRangeByLex(ctx, ix.all, &goredis.ZRangeBy{Min: "-", Max: "(" + timeKey(before), Count: purgeBatch}).Result()
		if err != nil {
			return total, s.fail("purge audit", err)
		}
		if len(members) == 0 {
			return total, nil
		}
		n, err := s.dropAudit(ctx, members)
		total += n
		if err != nil {
			return total, s.fail("purge audit", err)
		}
		if n == 0 {
			// Nothing left the index: another purger got there first, or
			// the entries cannot be taken out. Either way, stop.
			return total, nil
		}
	}
}

// dropAudit deletes the entries that audit time index members name.
func (s *Store) dropAudit(ctx context.Context, members []string) (int, error) {
	ix := s.k.auditIndex()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = memberID(m)
	}
	var r, w *goredis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		r = p.HMGet(ctx, ix.rec, ids...)
		w = p.HMGet(ctx, ix.where, ids...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	recs, slots := r.Val(), w.Val()
	// A lone entry names its participant in its record; a turn's entry
	// lives in its participant's slot, which where names.
	owners := make([]string, len(ids))
	turnEntries := map[string][]string{}
	for i := range ids {
		if i < len(recs) {
			if doc, ok := recs[i].(string); ok {
				if e, err := decodeAudit(ids[i], "", doc); err == nil {
					owners[i] = e.ParticipantID
				}
				continue
			}
		}
		if i < len(slots) {
			if pid, ok := slots[i].(string); ok {
				owners[i] = pid
				turnEntries[pid] = append(turnEntries[pid], ids[i])
			}
		}
	}
	if len(turnEntries) > 0 {
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for pid, eids := range turnEntries {
				p.HDel(ctx, s.k.turnAudit(pid), eids...)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	keys := []string{ix.rec, ix.where, ix.all}
	at := map[string]int{}
	args := make([]any, 0, 3*len(ids))
	for i, id := range ids {
		pos := 0
		if o := owners[i]; o != "" {
			if at[o] == 0 {
				keys = append(keys, s.k.auditOf(o))
				at[o] = len(keys)
			}
			pos = at[o]
		}
		args = append(args, id, members[i], strconv.Itoa(pos))
	}
	return s.run(ctx, luaAuditPurge, keys, args...).Int()
}

// eraseAudit deletes every audit entry that names a participant, through
// their own audit index.
func (s *Store) eraseAudit(ctx context.Context, pid string) error {
	for {
		members, err := s.rdb.ZRangeByLex(ctx, s.k.auditOf(pid), &goredis.ZRangeBy{Min: "-", Max: "+", Count: purgeBatch}).Result()
		if err != nil || len(members) == 0 {
			return err
		}
		if _, err := s.dropAudit(ctx, members); err != nil {
			return err
		}
		// Entries whose record is gone already are still in the index;
		// take them out so that the loop ends.
		if err := s.rdb.ZRem(ctx, s.k.auditOf(pid), anys(members)...).Err(); err != nil {
			return err
		}
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// PurgeOutbound deletes messages at a final status last updated before
// before: the record in its participant's slot first, then its location in
// its shard. Every message is found through its shard's locations, so a
// message whose participant is not in the participant list is purged too.
func (s *Store) PurgeOutbound(ctx context.Context, before time.Time) (int, error) {
	return s.eachOutboundOf(ctx, "purge outbound", func(n int, pid string, ids []string) (int, error) {
		return s.purgeOutboundOf(ctx, n, pid, ids, before)
	})
}

// eachOutboundOf walks every message through its shard's locations, a
// batch at a time, and hands fn the IDs of each participant's messages in
// shard n; it adds up what fn did. what names the work in errors.
func (s *Store) eachOutboundOf(ctx context.Context, what string, fn func(n int, pid string, ids []string) (int, error)) (int, error) {
	total := 0
	for n := range shardCount {
		sh := s.k.outShard(n)
		var cursor uint64
		for {
			kv, next, err := s.rdb.HScan(ctx, sh.where, cursor, "*", purgeBatch).Result()
			if err != nil {
				return total, s.fail(what, err)
			}
			byPid := map[string][]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				byPid[kv[i+1]] = append(byPid[kv[i+1]], kv[i])
			}
			for pid, ids := range byPid {
				done, err := fn(n, pid, ids)
				total += done
				if err != nil {
					return total, s.fail(what, err)
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return total, nil
}

// purgeOutboundOf purges those of one participant's messages in shard n
// that are final and older than before.
func (s *Store) purgeOutboundOf(ctx context.Context, n int, pid string, ids []string, before time.Time) (int, error) {
	docs, err := s.rdb.HMGet(ctx, s.k.outbox(pid), ids...).Result()
	if err != nil {
		return 0, err
	}
	var doomed []string
	for i, v := range docs {
		doc, ok := v.(string)
		if !ok {
			continue // a location whose record is missing: the claimers' orphan sweep deals with it
		}
		var m store.OutboundMessage
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return 0, fmt.Errorf("message %s: %w", ids[i], err)
		}
		if m.Status.Final() && m.UpdatedAt.Before(before) {
			doomed = append(doomed, ids[i])
		}
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	if err := s.rdb.HDel(ctx, s.k.outbox(pid), doomed...).Err(); err != nil {
		return 0, err
	}
	if err := s.run(ctx, luaOutboxDrop, s.k.outShard(n).keys(), append([]any{pid}, anys(doomed)...)...).Err(); err != nil {
		return 0, err
	}
	return len(doomed), nil
}

// PurgeAttention deletes attention items resolved before before: the
// record in its participant's slot first, then its index entries.
func (s *Store) PurgeAttention(ctx context.Context, before time.Time) (int, error) {
	ix := s.k.attentionIndex()
	members, err := s.rdb.ZRangeByLex(ctx, ix.all, &goredis.ZRangeBy{Min: "-", Max: "+"}).Result()
	if err != nil {
		return 0, s.fail("purge attention", err)
	}
	total := 0
	err = inBatches(members, func(batch []string) error {
		docs, _, err := s.fromSlots(ctx, batch, ix.where, s.k.attention)
		if err != nil {
			return err
		}
		byPid := map[string][]store.AttentionItem{}
		for _, doc := range docs {
			if doc == "" {
				continue
			}
			var a store.AttentionItem
			if err := json.Unmarshal([]byte(doc), &a); err != nil {
				return err
			}
			if !a.Open() && a.ResolvedAt.Before(before) {
				byPid[a.ParticipantID] = append(byPid[a.ParticipantID], a)
			}
		}
		for pid, items := range byPid {
			ids := make([]string, len(items))
			args := []any{pid}
			for i, a := range items {
				ids[i] = a.ID
				args = append(args, a.ID, timeKey(a.CreatedAt), string(a.Kind))
			}
			if err := s.rdb.HDel(ctx, s.k.attention(pid), ids...).Err(); err != nil {
				return err
			}
			if err := s.run(ctx, luaHintDrop, ix.keys(), args...).Err(); err != nil {
				return err
			}
			total += len(items)
		}
		return nil
	})
	if err != nil {
		return total, s.fail("purge attention", err)
	}
	return total, nil
}

// PurgeOutboundText drops the text of messages out of the queue and last
// updated before before. Each record is changed with a compare-and-set,
// so that a status arriving at the same moment is never overwritten; a
// record that changed meanwhile is left for the next run.
func (s *Store) PurgeOutboundText(ctx context.Context, before time.Time) (int, error) {
	return s.eachOutboundOf(ctx, "purge outbound text", func(_ int, pid string, ids []string) (int, error) {
		return s.dropTexts(ctx, pid, ids, before)
	})
}

func (s *Store) dropTexts(ctx context.Context, pid string, ids []string, before time.Time) (int, error) {
	key := s.k.outbox(pid)
	docs, err := s.rdb.HMGet(ctx, key, ids...).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for i, v := range docs {
		doc, ok := v.(string)
		if !ok {
			continue
		}
		var m store.OutboundMessage
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return n, fmt.Errorf("message %s: %w", ids[i], err)
		}
		if m.Status == store.Pending || !m.HasWords() || !m.UpdatedAt.Before(before) {
			continue
		}
		m.DropWords()
		clean, err := json.Marshal(m)
		if err != nil {
			return n, fmt.Errorf("message %s: %w", ids[i], err)
		}
		swapped, err := s.run(ctx, luaSwap, []string{key}, ids[i], doc, string(clean)).Int()
		if err != nil {
			return n, err
		}
		if swapped == 1 {
			n++
		}
	}
	return n, nil
}
