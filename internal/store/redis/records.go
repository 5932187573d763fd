package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// RecordCheckIn stores a check-in in its participant's slot. Recording
// the same check-in twice keeps one.
func (s *Store) RecordCheckIn(ctx context.Context, c store.CheckIn) error {
	if err := store.CheckCheckIn(c); err != nil {
		return fmt.Errorf("redis: record check-in: %w", err)
	}
	w := slotWrite{pid: c.ParticipantID}
	if err := w.addCheckIn(c); err != nil {
		return fmt.Errorf("redis: record check-in of %s: %w", c.ParticipantID, err)
	}
	if err := s.writeSlot(ctx, w); err != nil {
		return s.wrapWrite("record check-in of "+c.ParticipantID, err)
	}
	return nil
}

// CheckInsOf returns a participant's check-ins at or after since, oldest
// first.
func (s *Store) CheckInsOf(ctx context.Context, participantID string, since time.Time) ([]store.CheckIn, error) {
	members, err := s.rdb.ZRangeByLex(ctx, s.k.checkIns(participantID), &goredis.ZRangeBy{Min: "[" + timeKey(since), Max: "+"}).Result()
	if err != nil {
		return nil, s.fail("check-ins of "+participantID, err)
	}
	out := make([]store.CheckIn, len(members))
	for i, m := range members {
		if out[i], err = parseCheckIn(participantID, m); err != nil {
			return nil, fmt.Errorf("redis: check-ins of %s: %w", participantID, err)
		}
	}
	return out, nil
}

func (s *Store) LastCheckIns(ctx context.Context, participantIDs []string) (map[string]store.CheckIn, error) {
	out := make(map[string]store.CheckIn, len(participantIDs))
	if len(participantIDs) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.StringSliceCmd, len(participantIDs))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, pid := range participantIDs {
			cmds[i] = p.ZRevRangeByLex(ctx, s.k.checkIns(pid), &goredis.ZRangeBy{Min: "-", Max: "+", Count: 1})
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, s.fail("last check-ins", err)
	}
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		ci, err := parseCheckIn(participantIDs[i], c.Val()[0])
		if err != nil {
			return nil, fmt.Errorf("redis: last check-in of %s: %w", participantIDs[i], err)
		}
		out[participantIDs[i]] = ci
	}
	return out, nil
}

// A check-in is kept whole as one member of its participant's time index:
// "<time key of At>|<channel>|<outcome>|<ID>", with | and % escaped in the
// channel and outcome. Short members keep a person's check-ins in Redis's
// compact encoding: 12 weeks of daily check-ins take about 5 KB, against
// 24 KB as JSON in a hash beside a time index. At comes back in UTC; the
// participant is
// the key's. A field added to store.CheckIn must be added here too (the
// contract suite's round trip fails until it is).
func checkInMember(c store.CheckIn) string {
	return timeKey(c.At) + "|" + memberEscaper.Replace(string(c.Channel)) + "|" +
		memberEscaper.Replace(string(c.Outcome)) + "|" + c.ID
}

var (
	memberEscaper   = strings.NewReplacer("%", "%25", "|", "%7C")
	memberUnescaper = strings.NewReplacer("%7C", "|", "%25", "%")
)

func parseCheckIn(pid, m string) (store.CheckIn, error) {
	at, ok := parseTimeKey(m)
	parts := strings.SplitN(m[min(len(m), timeKeyLen+1):], "|", 3)
	if !ok || len(parts) != 3 || m[timeKeyLen] != '|' {
		return store.CheckIn{}, errors.New("unreadable check-in")
	}
	return store.CheckIn{
		ID:            parts[2],
		ParticipantID: pid,
		At:            at,
		Channel:       store.Channel(memberUnescaper.Replace(parts[0])),
		Outcome:       store.CheckInOutcome(memberUnescaper.Replace(parts[1])),
	}, nil
}

// AddAttention puts an item in the caseworkers' queue: its index entries
// first, then the record in the participant's slot. ErrConflict if the ID
// is in use.
func (s *Store) AddAttention(ctx context.Context, a store.AttentionItem) error {
	if err := store.CheckAttention(a); err != nil {
		return fmt.Errorf("redis: add attention: %w", err)
	}
	op := "add attention for " + a.ParticipantID
	w := slotWrite{pid: a.ParticipantID}
	if err := w.addAttention(a); err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	var undo undoList
	if _, err := s.writeHintsWith(ctx, nil, s.attentionHints(a.ParticipantID, []store.AttentionItem{a}), &undo); err != nil {
		return s.refused(ctx, op, err, &undo)
	}
	err := s.writeSlot(ctx, w)
	if errors.Is(err, store.ErrConflict) {
		return s.refused(ctx, op, err, &undo)
	}
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

// ListAttention returns the queue, newest first; only open items when
// openOnly.
func (s *Store) ListAttention(ctx context.Context, openOnly bool) ([]store.AttentionItem, error) {
	ix := s.k.attentionIndex()
	index := ix.all
	if openOnly {
		index = ix.open
	}
	members, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: "-", Max: "+"}).Result()
	if err != nil {
		return nil, s.fail("list attention", err)
	}
	docs, _, err := s.fromSlots(ctx, members, ix.where, s.k.attention)
	if err != nil {
		return nil, s.fail("list attention", err)
	}
	var out []store.AttentionItem
	var closed []store.AttentionItem
	for _, doc := range docs {
		if doc == "" {
			continue // a hint whose record never landed
		}
		var a store.AttentionItem
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("redis: list attention: %w", err)
		}
		if openOnly && !a.Open() {
			closed = append(closed, a) // resolved, but the open index was not told
			continue
		}
		out = append(out, a)
	}
	// Resolved items never reopen, so this repair is always right.
	if err := s.closeAttention(ctx, closed); err != nil {
		return nil, s.fail("list attention", err)
	}
	return out, nil
}

// closeAttention takes resolved items out of the open index and the count
// of who has open items; an item already out is not counted again.
func (s *Store) closeAttention(ctx context.Context, resolved []store.AttentionItem) error {
	if len(resolved) == 0 {
		return nil
	}
	c := s.closeAttentionCall(resolved)
	return s.run(ctx, c.sc, c.keys, c.args...).Err()
}

// closeAttentionCall is the script run of closeAttention, for a pipeline.
func (s *Store) closeAttentionCall(resolved []store.AttentionItem) call {
	ix := s.k.attentionIndex()
	args := make([]any, 0, 3*len(resolved))
	for _, a := range resolved {
		args = append(args, member(a.CreatedAt, a.ID), a.ParticipantID, string(a.Kind))
	}
	return call{sc: luaAttentionClose, keys: []string{ix.open, ix.people, ix.tally}, args: args}
}

// ResolveAttention closes an item; ErrNotFound if missing. The record is
// changed first, then the item leaves the open index (ListAttention
// finishes that step if it did not happen).
func (s *Store) ResolveAttention(ctx context.Context, id, by, resolution string, at time.Time) error {
	op := "resolve attention " + id
	ix := s.k.attentionIndex()
	pid, err := s.rdb.HGet(ctx, ix.where, id).Result()
	if err != nil {
		return s.wrapGet(op, err)
	}
	for range 10 {
		old, err := s.rdb.HGet(ctx, s.k.attention(pid), id).Result()
		if err != nil {
			return s.wrapGet(op, err)
		}
		var a store.AttentionItem
		if err := json.Unmarshal([]byte(old), &a); err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		a.ResolvedAt, a.ResolvedBy, a.Resolution = at, by, resolution
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		n, err := s.run(ctx, luaSwap, []string{s.k.attention(pid)}, id, old, doc).Int()
		if err != nil {
			return s.fail(op, err)
		}
		if n < 0 {
			return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		}
		if n == 1 {
			if err := s.closeAttention(ctx, []store.AttentionItem{a}); err != nil {
				return s.fail(op, err)
			}
			return nil
		}
	}
	return fmt.Errorf("redis: %s: the item kept changing; try again", op)
}

// auditRecord is an audit entry as it is kept: in the audit log's record
// hash, or in the slot of the participant whose turn wrote it. The ID is
// the field it is kept under, so it is not repeated. In a participant's
// slot an entry that names that participant leaves ParticipantID out (nil);
// one that names nobody, or someone else, says so. Names are short: the log
// keeps 730 days of entries, one or more a day for every participant.
type auditRecord struct {
	OldID         string    `json:"id,omitempty"` // only in a record written whole, before this format
	At            time.Time `json:"t"`
	Actor         string    `json:"by"`
	Action        string    `json:"act"`
	ParticipantID *string   `json:"p,omitempty"`
	Detail        string    `json:"d,omitempty"`
}

// encodeAudit writes e as the slot of participant slotOwner keeps it, or as
// the log's record hash does when slotOwner is "".
func encodeAudit(slotOwner string, e store.AuditEntry) ([]byte, error) {
	r := auditRecord{At: e.At, Actor: e.Actor, Action: e.Action, Detail: e.Detail}
	if e.ParticipantID != slotOwner {
		r.ParticipantID = &e.ParticipantID
	}
	return json.Marshal(r)
}

// decodeAudit reads entry id as encodeAudit wrote it for slotOwner, or as
// it was written before (the whole store.AuditEntry, with its ID).
func decodeAudit(id, slotOwner, doc string) (store.AuditEntry, error) {
	var r auditRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return store.AuditEntry{}, err
	}
	if r.OldID != "" {
		var e store.AuditEntry
		err := json.Unmarshal([]byte(doc), &e)
		return e, err
	}
	e := store.AuditEntry{ID: id, At: r.At, Actor: r.Actor, Action: r.Action, ParticipantID: slotOwner, Detail: r.Detail}
	if r.ParticipantID != nil {
		e.ParticipantID = *r.ParticipantID
	}
	return e, nil
}

// AppendAudit adds an entry to the audit log; ErrConflict if the ID is in
// use, so that no written entry can be changed.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if err := store.CheckAudit(e); err != nil {
		return fmt.Errorf("redis: append audit: %w", err)
	}
	doc, err := encodeAudit("", e)
	if err != nil {
		return fmt.Errorf("redis: append audit %s: %w", e.ID, err)
	}
	ix := s.k.auditIndex()
	names := "0"
	if e.ParticipantID != "" {
		names = "1"
	}
	keys := []string{ix.rec, ix.where, ix.all, s.k.auditOf(e.ParticipantID)}
	clash, err := s.run(ctx, luaAuditAdd, keys, "", e.ID, timeKey(e.At), names, doc).Text()
	if err != nil {
		return s.fail("append audit "+e.ID, err)
	}
	if clash != "" {
		return fmt.Errorf("redis: append audit %s: %w", e.ID, store.ErrConflict)
	}
	return nil
}

// ListAudit returns up to limit entries, newest first (every entry when
// limit <= 0); all participants' when participantID is empty.
func (s *Store) ListAudit(ctx context.Context, participantID string, limit int) ([]store.AuditEntry, error) {
	ix := s.k.auditIndex()
	index := ix.all
	if participantID != "" {
		index = s.k.auditOf(participantID)
	}
	page := int64(limit)
	if limit <= 0 {
		page = 0 // no LIMIT: everything in one read
	}
	var out []store.AuditEntry
	for offset := int64(0); ; offset += page {
		members, err := s.rdb.ZRevRangeByLex(ctx, index, &goredis.ZRangeBy{Min: "-", Max: "+", Offset: offset, Count: page}).Result()
		if err != nil {
			return nil, s.fail("list audit", err)
		}
		entries, err := s.auditRecords(ctx, members)
		if err != nil {
			return nil, s.fail("list audit", err)
		}
		for _, e := range entries {
			if e == nil {
				continue // a hint whose turn never landed
			}
			out = append(out, *e)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if page == 0 || int64(len(members)) < page {
			return out, nil
		}
	}
}

// auditRecords finds the entries of index members: in the log's own
// record hash, or else in the participant slot the entry's turn wrote; nil
// where there is none.
func (s *Store) auditRecords(ctx context.Context, members []string) ([]*store.AuditEntry, error) {
	if len(members) == 0 {
		return nil, nil
	}
	ix := s.k.auditIndex()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = memberID(m)
	}
	recs, err := s.rdb.HMGet(ctx, ix.rec, ids...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]*store.AuditEntry, len(members))
	read := func(i int, owner, doc string) error {
		e, err := decodeAudit(ids[i], owner, doc)
		if err != nil {
			return fmt.Errorf("audit entry %s: %w", ids[i], err)
		}
		out[i] = &e
		return nil
	}
	var rest []string
	var restAt []int
	for i, v := range recs {
		if doc, ok := v.(string); ok {
			if err := read(i, "", doc); err != nil {
				return nil, err
			}
		} else {
			rest = append(rest, members[i])
			restAt = append(restAt, i)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	docs, owners, err := s.fromSlots(ctx, rest, ix.where, s.k.turnAudit)
	if err != nil {
		return nil, err
	}
	for j, doc := range docs {
		if doc == "" {
			continue
		}
		if err := read(restAt[j], owners[j], doc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fromSlots reads the records that time index members point at: where
// maps each ID to its participant, and hash names the participant's hash of
// records. The answer is in the order of members: each record and the
// participant whose slot holds it; "" where there is none.
func (s *Store) fromSlots(ctx context.Context, members []string, where string, hash func(string) string) (docs, owners []string, err error) {
	if len(members) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = memberID(m)
	}
	pids, err := s.rdb.HMGet(ctx, where, ids...).Result()
	if err != nil {
		return nil, nil, err
	}
	byPid := map[string][]int{}
	for i, v := range pids {
		if pid, ok := v.(string); ok {
			byPid[pid] = append(byPid[pid], i)
		}
	}
	docs, owners = make([]string, len(members)), make([]string, len(members))
	if len(byPid) == 0 {
		return docs, owners, nil
	}
	cmds := map[string]*goredis.SliceCmd{}
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for pid, at := range byPid {
			fields := make([]string, len(at))
			for j, i := range at {
				fields[j] = ids[i]
			}
			cmds[pid] = p.HMGet(ctx, hash(pid), fields...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for pid, at := range byPid {
		for j, v := range cmds[pid].Val() {
			if doc, ok := v.(string); ok {
				docs[at[j]], owners[at[j]] = doc, pid
			}
		}
	}
	return docs, owners, nil
}

// wrapWrite wraps an error of writeSlot.
func (s *Store) wrapWrite(op string, err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, errDuplicateTurn) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return s.fail(op, err)
}
