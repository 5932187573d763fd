package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// Reads for caseworker pages and the API, each through an index, so that
// no request reads a whole table: caseloads (hint sets by caseworker, in
// their own slot), the open attention index, and pages of the participant
// list, the queue and the audit log.

// caseloadVersion names the caseload index as this file keeps it. A
// Redis written before it gets it built on Open from the participant
// list (ensureCaseloads).
const caseloadVersion = "1"

// addToCaseload lists p in its caseworker's caseload, before the record
// that says so is written.
func (s *Store) addToCaseload(ctx context.Context, p store.Participant) error {
	c := s.k.caseloads()
	_, err := s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		pl.ZAdd(ctx, c.of(p.CaseworkerID), goredis.Z{Member: p.ID})
		if p.Child {
			pl.ZAdd(ctx, c.children(p.CaseworkerID), goredis.Z{Member: p.ID})
		}
		pl.SAdd(ctx, c.ids(), p.CaseworkerID)
		return nil
	})
	return err
}

// leaveCaseload takes back what no longer holds of a participant's
// caseload entry once the record moved from (oldCW, oldChild) to (cw,
// child).
func (s *Store) leaveCaseload(ctx context.Context, pid, oldCW string, oldChild bool, cw string, child bool) error {
	c := s.k.caseloads()
	var drop []string
	switch {
	case oldCW != cw:
		drop = append(drop, c.of(oldCW))
		if oldChild {
			drop = append(drop, c.children(oldCW))
		}
	case oldChild && !child:
		drop = append(drop, c.children(oldCW))
	}
	return s.zremAll(ctx, pid, drop)
}

// caseloadUndo takes back the caseload entry addToCaseload wrote for p
// when the write of p is refused: whatever the stored record does not
// bear out goes.
func (s *Store) caseloadUndo(p store.Participant) func(context.Context) error {
	return func(ctx context.Context) error {
		cur, err := s.GetParticipant(ctx, p.ID)
		switch {
		case err == nil:
			return s.leaveCaseload(ctx, p.ID, p.CaseworkerID, p.Child, cur.CaseworkerID, cur.Child)
		case errors.Is(err, store.ErrNotFound):
			return s.dropFromCaseload(ctx, p.ID, p.CaseworkerID)
		}
		return err
	}
}

// dropFromCaseload takes an erased participant out of their caseload,
// after the record is gone.
func (s *Store) dropFromCaseload(ctx context.Context, pid, cw string) error {
	c := s.k.caseloads()
	return s.zremAll(ctx, pid, []string{c.of(cw), c.children(cw)})
}

func (s *Store) zremAll(ctx context.Context, member string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for _, k := range keys {
			pl.ZRem(ctx, k, member)
		}
		return nil
	})
	return err
}

// ensureCaseloads builds the caseload index from the participant records
// when this Redis has none yet (data written by an earlier version). It
// may run in several processes at once: every step only adds what the
// records say.
func (s *Store) ensureCaseloads(ctx context.Context) error {
	c := s.k.caseloads()
	v, err := s.rdb.Get(ctx, c.built()).Result()
	if err == nil && v == caseloadVersion {
		return nil
	}
	const batch = 500
	n := 0
	for cursor := ""; ; {
		ps, next, err := s.PageParticipants(ctx, cursor, batch)
		if err != nil {
			return err
		}
		_, err = s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
			for _, p := range ps {
				pl.ZAdd(ctx, c.of(p.CaseworkerID), goredis.Z{Member: p.ID})
				if p.Child {
					pl.ZAdd(ctx, c.children(p.CaseworkerID), goredis.Z{Member: p.ID})
				}
				pl.SAdd(ctx, c.ids(), p.CaseworkerID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		n += len(ps)
		if next == "" {
			break
		}
		cursor = next
	}
	if n > 0 {
		slog.Info("redis: built the caseload index", "participants", n)
	}
	return s.rdb.Set(ctx, c.built(), caseloadVersion, 0).Err()
}

// participantsAt reads the records of ids, in order, skipping hints whose
// record is gone.
func (s *Store) participantsAt(ctx context.Context, ids []string) ([]store.Participant, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	docs, err := s.participantDocs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.Participant, 0, len(docs))
	for i, doc := range docs {
		if doc == nil {
			continue
		}
		p, err := compact.DecodeParticipant(ids[i], []byte(*doc))
		if err != nil {
			return nil, fmt.Errorf("decode participant: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// GetParticipants reads the records in one MGET (per slot on a cluster).
func (s *Store) GetParticipants(ctx context.Context, ids []string) ([]store.Participant, error) {
	ps, err := s.participantsAt(ctx, ids)
	if err != nil {
		return nil, s.fail("get participants", err)
	}
	return ps, nil
}

// PageParticipants reads the participant list from after cursor.
func (s *Store) PageParticipants(ctx context.Context, cursor string, limit int) ([]store.Participant, string, error) {
	ps, next, err := s.pageHinted(ctx, s.k.participants(), cursor, limit, func(store.Participant) bool { return true })
	if err != nil && !errors.Is(err, store.ErrBadCursor) {
		err = s.fail("page participants", err)
	}
	return ps, next, err
}

// pageHinted reads a sorted set of participant IDs (all scored 0) from
// after cursor, a batch at a time, until limit records that keep accepts
// are found (a hint to nothing, or to a record keep refuses, is skipped),
// and returns them with the cursor of the next page.
func (s *Store) pageHinted(ctx context.Context, key, cursor string, limit int, keep func(store.Participant) bool) ([]store.Participant, string, error) {
	if err := store.CheckIDCursor(cursor); err != nil {
		return nil, "", err
	}
	var out []store.Participant
	lo := "-"
	if cursor != "" {
		lo = "(" + cursor
	}
	for {
		count := int64(limit + 1 - len(out))
		if limit <= 0 {
			count = 0
		}
		ids, err := s.rdb.ZRangeByLex(ctx, key, &goredis.ZRangeBy{Min: lo, Max: "+", Count: count}).Result()
		if err != nil {
			return nil, "", err
		}
		ps, err := s.participantsAt(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		for _, p := range ps {
			if keep(p) {
				out = append(out, p)
			}
		}
		if limit > 0 && len(out) > limit {
			return out[:limit], out[limit-1].ID, nil
		}
		if count == 0 || int64(len(ids)) < count {
			return out, "", nil
		}
		lo = "(" + ids[len(ids)-1]
	}
}

// ParticipantsOf reads a caseload's hints and keeps the records that
// still name the caseworker.
func (s *Store) ParticipantsOf(ctx context.Context, caseworkerID string) ([]store.Participant, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.caseloads().of(caseworkerID), 0, -1).Result()
	if err != nil {
		return nil, s.fail("caseload", err)
	}
	ps, err := s.participantsAt(ctx, ids)
	if err != nil {
		return nil, s.fail("caseload", err)
	}
	out := ps[:0]
	for _, p := range ps {
		if p.CaseworkerID == caseworkerID {
			out = append(out, p)
		}
	}
	return out, nil
}

// PageCaseload reads a caseload's hints from after cursor, keeping the
// records that still name the caseworker.
func (s *Store) PageCaseload(ctx context.Context, caseworkerID, cursor string, limit int) ([]store.Participant, string, error) {
	ps, next, err := s.pageHinted(ctx, s.k.caseloads().of(caseworkerID), cursor, limit,
		func(p store.Participant) bool { return p.CaseworkerID == caseworkerID })
	if err != nil && !errors.Is(err, store.ErrBadCursor) {
		err = s.fail("page caseload", err)
	}
	return ps, next, err
}

// CaseloadIDs reads a caseload's hints alone: a hint left by a write cut
// short names someone whose record says otherwise, which the caller's
// check of the records it shows finds.
func (s *Store) CaseloadIDs(ctx context.Context, caseworkerID string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.caseloads().of(caseworkerID), 0, -1).Result()
	if err != nil {
		return nil, s.fail("caseload IDs", err)
	}
	return ids, nil
}

// Caseloads counts the hint sets; an entry left by a crash between a
// hint and its record counts until the caseload changes again.
func (s *Store) Caseloads(ctx context.Context) (map[string]store.Caseload, error) {
	c := s.k.caseloads()
	cws, err := s.rdb.SMembers(ctx, c.ids()).Result()
	if err != nil {
		return nil, s.fail("caseloads", err)
	}
	people := make([]*goredis.IntCmd, len(cws))
	children := make([]*goredis.IntCmd, len(cws))
	_, err = s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, cw := range cws {
			people[i] = pl.ZCard(ctx, c.of(cw))
			children[i] = pl.ZCard(ctx, c.children(cw))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("caseloads", err)
	}
	out := make(map[string]store.Caseload, len(cws))
	for i, cw := range cws {
		if n := people[i].Val(); n > 0 {
			out[cw] = store.Caseload{People: int(n), Children: int(children[i].Val())}
		}
	}
	return out, nil
}

// GetAttention finds the item's participant, then the item.
func (s *Store) GetAttention(ctx context.Context, id string) (store.AttentionItem, error) {
	var a store.AttentionItem
	op := "get attention " + id
	pid, err := s.rdb.HGet(ctx, s.k.attentionIndex().where, id).Result()
	if err != nil {
		return a, s.wrapGet(op, err)
	}
	doc, err := s.rdb.HGet(ctx, s.k.attention(pid), id).Result()
	if err != nil {
		return a, s.wrapGet(op, err)
	}
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return a, fmt.Errorf("redis: %s: %w", op, err)
	}
	return a, nil
}

// PageAttention reads the queue's index newest first from the cursor, a
// batch at a time until the page is full; hints to nothing, and items
// resolved since the open index was written, are skipped.
func (s *Store) PageAttention(ctx context.Context, q store.AttentionQuery) ([]store.AttentionItem, string, error) {
	ix := s.k.attentionIndex()
	index := ix.all
	if q.OpenOnly {
		index = ix.open
	}
	max := "+"
	if q.Cursor != "" {
		if _, _, err := store.ParseTimeCursor(q.Cursor); err != nil {
			return nil, "", err
		}
		max = "(" + q.Cursor
	}
	var out []store.AttentionItem
	scanned := 0
	for {
		count := int64(q.Limit + 1 - len(out))
		if q.Limit <= 0 {
			count = 0
		}
		if len(q.Kinds) > 0 {
			count = int64(min(q.Limit+1-len(out), store.AttentionScan-scanned))
		}
		members, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: "-", Max: max, Count: count}).Result()
		if err != nil {
			return nil, "", s.fail("page attention", err)
		}
		docs, _, err := s.fromSlots(ctx, members, ix.where, s.k.attention)
		if err != nil {
			return nil, "", s.fail("page attention", err)
		}
		for _, doc := range docs {
			if doc == "" {
				continue
			}
			var a store.AttentionItem
			if err := json.Unmarshal([]byte(doc), &a); err != nil {
				return nil, "", fmt.Errorf("redis: page attention: %w", err)
			}
			if q.OpenOnly && !a.Open() || !q.Matches(a) {
				continue // ListAttention repairs the open index; a page only reads
			}
			out = append(out, a)
		}
		scanned += len(members)
		if q.Limit > 0 && len(out) > q.Limit {
			last := out[q.Limit-1]
			return out[:q.Limit], store.TimeCursor(last.CreatedAt, last.ID), nil
		}
		if count == 0 || int64(len(members)) < count {
			return out, "", nil
		}
		max = "(" + members[len(members)-1]
		if len(q.Kinds) > 0 && (scanned >= store.AttentionScan || len(out) == q.Limit) {
			// Read as far as a call may: the next page starts after
			// the last item read, if any follows it.
			more, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: "-", Max: max, Count: 1}).Result()
			if err != nil {
				return nil, "", s.fail("page attention", err)
			}
			if len(more) == 0 {
				return out, "", nil
			}
			if len(out) == q.Limit {
				last := out[q.Limit-1]
				return out, store.TimeCursor(last.CreatedAt, last.ID), nil
			}
			return out, members[len(members)-1], nil
		}
	}
}

// AttentionOfMany reads the participants' item hashes in one pipeline.
func (s *Store) AttentionOfMany(ctx context.Context, participantIDs []string, openOnly bool) ([]store.AttentionItem, error) {
	if len(participantIDs) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(participantIDs))
	_, err := s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, pid := range participantIDs {
			cmds[i] = pl.HGetAll(ctx, s.k.attention(pid))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("attention of many", err)
	}
	var out []store.AttentionItem
	for _, cmd := range cmds {
		for _, doc := range cmd.Val() {
			var a store.AttentionItem
			if err := json.Unmarshal([]byte(doc), &a); err != nil {
				return nil, fmt.Errorf("redis: attention of many: %w", err)
			}
			if !openOnly || a.Open() {
				out = append(out, a)
			}
		}
	}
	store.SortNewestFirst(out)
	return out, nil
}

// PageAudit reads the log's time index (or the participant's) newest
// first, from the cursor or from q.To, a batch at a time, reading at most
// store.AuditScan entries.
func (s *Store) PageAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, string, error) {
	ix := s.k.auditIndex()
	index := ix.all
	if q.Participant != "" {
		index = s.k.auditOf(q.Participant)
	}
	hi, lo := "+", "-"
	switch {
	case q.Cursor != "":
		if _, _, err := store.ParseTimeCursor(q.Cursor); err != nil {
			return nil, "", err
		}
		hi = "(" + q.Cursor
	case !q.To.IsZero():
		hi = "(" + store.TimeKey(q.To)
	}
	if !q.From.IsZero() {
		lo = "[" + store.TimeKey(q.From)
	}
	var out []store.AuditEntry
	scanned := 0
	for {
		want := q.Limit - len(out)
		if q.Limit <= 0 {
			want = store.AuditScan
		}
		count := int64(min(want, store.AuditScan-scanned))
		members, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: lo, Max: hi, Count: count}).Result()
		if err != nil {
			return nil, "", s.fail("page audit", err)
		}
		entries, err := s.auditRecords(ctx, members)
		if err != nil {
			return nil, "", s.fail("page audit", err)
		}
		for _, e := range entries {
			if e != nil && q.Matches(*e) {
				out = append(out, *e)
			}
		}
		scanned += len(members)
		if int64(len(members)) < count {
			return out, "", nil // the index has no more
		}
		last := members[len(members)-1]
		if len(out) == q.Limit || scanned >= store.AuditScan {
			// More may follow; whether any does is the next page's to
			// find, so that this one reads no further than it must.
			if more, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: lo, Max: "(" + last, Count: 1}).Result(); err != nil {
				return nil, "", s.fail("page audit", err)
			} else if len(more) == 0 {
				return out, "", nil
			}
			return out, last, nil
		}
		hi = "(" + last
	}
}

// tallyVersion names the counts of who has open items as this file keeps
// them (lua/lib/tally.lua). A Redis written before them gets them built on
// Open from the open items' records (ensureTally).
const tallyVersion = "1"

// TallyAttention reads the kept counts of who has open items, then which
// of those people are children: the children of every caseload, from the
// caseload index, against the people hash.
func (s *Store) TallyAttention(ctx context.Context) (store.AttentionTally, error) {
	const op = "tally attention"
	tally := store.AttentionTally{ByKind: map[store.AttentionKind]int{}, ChildrenByKind: map[store.AttentionKind]int{}}
	ix, c := s.k.attentionIndex(), s.k.caseloads()
	counts, err := s.rdb.HGetAll(ctx, ix.tally).Result()
	if err != nil {
		return tally, s.fail(op, err)
	}
	for kind, v := range counts {
		n, err := strconv.Atoi(v)
		if err != nil {
			return tally, fmt.Errorf("redis: %s: %q: %w", op, kind, err)
		}
		if kind == "" {
			tally.People = n
		} else {
			tally.ByKind[store.AttentionKind(kind)] = n
		}
	}
	if tally.People == 0 {
		return tally, nil
	}
	cws, err := s.rdb.SMembers(ctx, c.ids()).Result()
	if err != nil {
		return tally, s.fail(op, err)
	}
	lists := make([]*goredis.StringSliceCmd, len(cws))
	_, err = s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, cw := range cws {
			lists[i] = pl.ZRange(ctx, c.children(cw), 0, -1)
		}
		return nil
	})
	if err != nil {
		return tally, s.fail(op, err)
	}
	var children []string
	for _, l := range lists {
		children = append(children, l.Val()...)
	}
	if len(children) == 0 {
		return tally, nil
	}
	kinds := []string{""}
	for k := range tally.ByKind {
		kinds = append(kinds, string(k))
	}
	fields := make([]string, 0, len(kinds)*len(children))
	for _, pid := range children {
		for _, k := range kinds {
			fields = append(fields, k+"|"+pid)
		}
	}
	vals, err := s.rdb.HMGet(ctx, ix.people, fields...).Result()
	if err != nil {
		return tally, s.fail(op, err)
	}
	for i, v := range vals {
		if v == nil {
			continue
		}
		if k := kinds[i%len(kinds)]; k == "" {
			tally.Children++
		} else {
			tally.ChildrenByKind[store.AttentionKind(k)]++
		}
	}
	return tally, nil
}

// ensureTally builds the counts of who has open items from the open
// items' records when this Redis has none yet. Items opened or closed by
// an earlier version running beside this one are not counted; see
// docs/operations.md for counting again once every process is upgraded.
func (s *Store) ensureTally(ctx context.Context) error {
	ix := s.k.attentionIndex()
	v, err := s.rdb.Get(ctx, ix.built).Result()
	if err == nil && v == tallyVersion {
		return nil
	}
	open, err := s.ListAttention(ctx, true)
	if err != nil {
		return err
	}
	people := map[string]int{}
	tally := map[string]int{}
	for _, a := range open {
		for _, k := range []string{string(a.Kind), ""} {
			f := k + "|" + a.ParticipantID
			if people[f]++; people[f] == 1 {
				tally[k]++
			}
		}
	}
	args := []any{tallyVersion, len(people)}
	for f, n := range people {
		args = append(args, f, n)
	}
	for k, n := range tally {
		args = append(args, k, n)
	}
	n, err := s.run(ctx, luaAttentionBuild, []string{ix.people, ix.tally, ix.built}, args...).Int()
	if err == nil && n == 1 && len(open) > 0 {
		slog.Info("redis: counted who has open attention items", "items", len(open))
	}
	return err
}
