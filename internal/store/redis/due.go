package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// A person's due items live in their person hash (keys.person, itemField),
// each with its claim state, so that planning, ending and reading a
// person's items are each one command or script there, beside the rest of
// them. A due shard's index (keys.dueIndex) holds one entry a person,
// scored at or before their earliest item no claim holds, so that a
// claimer finds who has work without an entry for every item; and one an
// item a claim holds, at its lease's end, until it is ended, so that a
// claimer that dies is taken over then.
//
// Every writer of a person's entry only lowers it (ZADD LT), after
// writing the items it is for. A claim takes the people whose entry (or
// held item's entry) is due out of the index, leaving a guard that falls
// due when its lease ends; claims their items in their slot, which
// answers the earliest time of those no claim holds; then puts each
// person's entry back at that time, again only lowering, the entries of
// the items it holds at its lease's end, and drops its guard. So a put
// that lands while a claim is in flight is never hidden by it: the claim
// can only keep the earlier of the two. A claim that dies half-way leaves
// its guard, which a later claim takes as it would the entry. Ending an
// item drops its entry, so a person's handled items cost no claim later;
// an entry earlier than needed (its item deleted or replanned) costs one
// claim that finds nothing and puts it right.

// dueRecord is a due item as its person's hash keeps it: the ID is the
// field and the participant the key, so neither is repeated, and the names
// are short because a programme has many thousands of participants. The
// shards of the layout before held it with "p" (migrate.go).
type dueRecord struct {
	ParticipantID string            `json:"p,omitempty"`
	Kind          string            `json:"k"`
	Ref           string            `json:"r,omitempty"`
	RefLen        string            `json:"rn,omitempty"`   // the reference as the length of the ID it begins (compact.RefLen)
	DueAt         compact.Time      `json:"t"`              // in UTC, as Unix seconds
	Data          map[string]string `json:"data,omitempty"` // named as docs/privacy.md's walk expects of a map of variables
}

func encodeDue(d store.DueItem) ([]byte, error) {
	ref, n := compact.RefLen(d.ID, d.Ref)
	return json.Marshal(dueRecord{Kind: compact.KindCode(d.Kind), Ref: ref, RefLen: n, DueAt: compact.Time(d.DueAt.UTC()), Data: d.Data})
}

// A person's due items are fields of their person hash (hints.go), each
// named by itemField: "w" and what follows "win:<participant>:" for the
// items of a check-in window, which are named after it (store.Window.Ref),
// and "i" and the whole ID for any other. So no item's field is the
// record's or a hint's, and the window's items do not spell out the
// person the key already names.
func itemField(pid, id string) string {
	if rest, ok := strings.CutPrefix(id, "win:"+pid+":"); ok {
		return "w" + rest
	}
	return "i" + id
}

// itemID is the ID of the item a field names; false for a field that is
// not an item's.
func itemID(pid, field string) (string, bool) {
	switch {
	case strings.HasPrefix(field, "w"):
		return "win:" + pid + ":" + field[1:], true
	case strings.HasPrefix(field, "i"):
		return field[1:], true
	}
	return "", false
}

// A value in a person's hash is "<time key it is claimable at><the
// owner's length, three digits><owner of the current or last claim><the
// record>"; an item no claim has held since it was put, claimable at its
// due time, is its record alone (restingKey). lua/lib/pdue.lua reads and
// writes both forms. store.CheckClaim keeps an owner's name shorter than
// three digits can count.
const maxOwnerLen = 999

func dueValue(readyKey, owner string, rec []byte) string {
	if owner == "" {
		if k, ok := restingKey(string(rec)); ok && k == readyKey {
			return string(rec)
		}
	}
	return readyKey + fmt.Sprintf("%03d", len(owner)) + owner + string(rec)
}

// parseDueValue splits a value into its claimable time key, owner and
// record.
func parseDueValue(v string) (readyKey, owner, rec string, ok bool) {
	if strings.HasPrefix(v, "{") {
		k, ok := restingKey(v)
		return k, "", v, ok
	}
	if len(v) < timeKeyLen+3 {
		return "", "", "", false
	}
	n, err := strconv.Atoi(v[timeKeyLen : timeKeyLen+3])
	if err != nil || n < 0 || len(v) < timeKeyLen+3+n {
		return "", "", "", false
	}
	return v[:timeKeyLen], v[timeKeyLen+3 : timeKeyLen+3+n], v[timeKeyLen+3+n:], true
}

// restingKey is the time key of the due time a record gives, read as
// pdue_rest in lua/lib/pdue.lua reads it: at the first "t" (encodeDue
// writes it before the data, and a quote inside a string value is always
// escaped), as Unix seconds of up to eleven digits (before the year 5000,
// so within what a time key holds) with up to nine digits of fraction.
// False for anything else (a time before 1970, or RFC 3339 as older
// records have it): such an item's value keeps its time key in front.
func restingKey(rec string) (string, bool) {
	_, after, ok := strings.Cut(rec, `"t":"`)
	end := strings.IndexByte(after, '"')
	if !ok || end < 0 {
		return "", false
	}
	sec, frac, _ := strings.Cut(after[:end], ".")
	if len(sec) > 11 || len(frac) > 9 {
		return "", false
	}
	n, err := strconv.ParseUint(sec, 10, 64) // digits only: no sign
	ns := uint64(0)
	if err == nil && frac != "" {
		ns, err = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if err != nil {
		return "", false
	}
	return timeKey(time.Unix(int64(n), int64(ns))), true
}

// decodeDueValue reads item id of pid from its value.
func decodeDueValue(pid, id, v string) (store.DueItem, error) {
	_, _, rec, ok := parseDueValue(v)
	if !ok {
		return store.DueItem{}, fmt.Errorf("due item %s: unreadable value", id)
	}
	d, err := decodeDue(id, rec)
	d.ParticipantID = pid
	return d, err
}

// dueItemsOf decodes a person's hash, ordered as DueOf orders them.
func dueItemsOf(pid string, values map[string]string) ([]store.DueItem, error) {
	out := make([]store.DueItem, 0, len(values))
	for f, v := range values {
		id, ok := itemID(pid, f)
		if !ok {
			continue // the record, or a hint
		}
		d, err := decodeDueValue(pid, id, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b store.DueItem) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// An entry in a due shard's index is "P<participant ID>", a held item's
// "I<the participant ID's length>:<participant ID><item ID>", or a claim's
// guard "G<the participant ID's length>:<participant ID><the claim's own
// name>".
func personEntry(pid string) string { return "P" + pid }

func itemEntry(pid, id string) string {
	return "I" + strconv.Itoa(len(pid)) + ":" + pid + id
}

func guardEntry(pid, claim string) string {
	return "G" + strconv.Itoa(len(pid)) + ":" + pid + claim
}

// entryPerson is the participant an entry names.
func entryPerson(m string) (string, bool) {
	switch {
	case strings.HasPrefix(m, "P"):
		return m[1:], len(m) > 1
	case strings.HasPrefix(m, "I"), strings.HasPrefix(m, "G"):
		n, rest, ok := strings.Cut(m[1:], ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l <= 0 || l > len(rest) {
			return "", false
		}
		return rest[:l], true
	}
	return "", false
}

// readyMs is the score of an entry for time key k: its millisecond,
// rounded down, so that the entry is never due after the item.
func readyMs(k string) (int64, bool) {
	t, ok := parseTimeKey(k)
	return t.UnixMilli(), ok
}

// lowerCalls lower each person's entry to their time key in at (only
// lowering: see above).
func (s *Store) lowerCalls(at map[string]string) []call {
	calls := make([]call, 0, len(at))
	for pid, k := range at {
		if score, ok := readyMs(k); ok {
			calls = append(calls, call{args: []any{"zadd", s.k.dueIndex(shardOf(pid)), "lt", score, personEntry(pid)}})
		}
	}
	return calls
}

// earliest keeps, for each person, the earliest time key given.
func earliest(at map[string]string, pid, k string) {
	if cur, ok := at[pid]; !ok || k < cur {
		at[pid] = k
	}
}

// PutDue inserts or replaces items by their person and ID. A replaced item
// is new work: any claim on it ends, and it is claimable from its new
// DueAt.
func (s *Store) PutDue(ctx context.Context, items ...store.DueItem) error {
	var errs []error
	names := make([]string, len(items))
	for i, d := range items {
		errs = append(errs, store.CheckDue(d))
		names[i] = d.ParticipantID + " " + d.ID
	}
	errs = append(errs, store.Unique("due item of a person", names))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis: put due: %w", err)
	}
	fields := map[string][]any{}
	first := map[string]string{}
	for _, d := range items {
		rec, err := encodeDue(d)
		if err != nil {
			return fmt.Errorf("redis: put due %s: %w", d.ID, err)
		}
		k := timeKey(d.DueAt)
		fields[d.ParticipantID] = append(fields[d.ParticipantID], itemField(d.ParticipantID, d.ID), dueValue(k, "", rec))
		earliest(first, d.ParticipantID, k)
	}
	var writes []call
	for pid, f := range fields {
		writes = append(writes, call{args: append([]any{"hset", s.k.person(pid)}, f...)})
	}
	// The items first, their entries after: on a cluster a pipeline's
	// nodes answer in any order. The entries are lowered even when a write
	// failed, since it may have landed: an entry lowered for nothing costs
	// only a claim that finds nothing, and an item without one would wait
	// for its person's next.
	_, werr := s.pipeline(ctx, writes)
	_, lerr := s.pipeline(ctx, s.lowerCalls(first))
	if err := cmp.Or(werr, lerr); err != nil {
		return s.fail("put due", err)
	}
	return nil
}

// DeleteDue deletes the person's items by ID, claimed or not; missing
// IDs are ignored. Their entry is left: a claim that finds nothing puts
// it right.
func (s *Store) DeleteDue(ctx context.Context, participantID string, ids ...string) error {
	if err := store.Need("participant ID", participantID); err != nil {
		return fmt.Errorf("redis: delete due: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = itemField(participantID, id)
	}
	if err := s.rdb.HDel(ctx, s.k.person(participantID), fields...).Err(); err != nil {
		return s.fail("delete due", err)
	}
	return nil
}

// DueOf returns a participant's items, ordered by DueAt.
func (s *Store) DueOf(ctx context.Context, participantID string) ([]store.DueItem, error) {
	values, err := s.rdb.HGetAll(ctx, s.k.person(participantID)).Result()
	if err != nil {
		return nil, s.fail("due of "+participantID, err)
	}
	out, err := dueItemsOf(participantID, values)
	if err != nil {
		return nil, fmt.Errorf("redis: due of %s: %w", participantID, err)
	}
	return out, nil
}

// claimedDue is an item a claim took, with the time key it was claimable
// at (the order claims go in) and the owner it had.
type claimedDue struct {
	pid, id, at, was, rec string
}

// ClaimDue leases up to limit items whose DueAt has come to owner,
// earliest first; an item whose lease ended without CompleteDue is
// claimable again from the end of that lease. Each round peeks at the
// shards' indexes for the people due earliest, takes them (pdue_take.lua),
// claims their items (pdue_claim.lua), gives back what a person had beyond
// the round's need (pdue_unclaim.lua), and puts their entries back.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.DueItem, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("redis: claim due: %w", err)
	}
	guard := owner + "|" + store.NewID("")
	r := claimRound{s: s, owner: owner, guard: guard, nowKey: timeKey(now), endKey: timeKey(now.Add(lease)),
		nowMs: now.UnixMilli(), endMs: now.Add(lease).UnixMilli()}
	var all []claimedDue
	for range claimRounds {
		need := limit - len(all)
		if need <= 0 {
			break
		}
		got, more, err := r.run(ctx, need)
		all = append(all, got...)
		if err != nil {
			return nil, s.fail("claim due", err)
		}
		if !more {
			break
		}
	}
	slices.SortFunc(all, func(a, b claimedDue) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.pid, b.pid), cmp.Compare(a.id, b.id))
	})
	out := make([]store.DueItem, 0, len(all))
	for _, c := range all {
		d, err := decodeDue(c.id, c.rec)
		if err != nil {
			return nil, fmt.Errorf("redis: claim due: item %s: unreadable record", c.id)
		}
		d.ParticipantID = c.pid
		out = append(out, d)
	}
	return out, nil
}

// claimRound is one ClaimDue's rounds.
type claimRound struct {
	s              *Store
	owner, guard   string
	nowKey, endKey string
	nowMs, endMs   int64
}

// run claims up to need items. more says whether entries were due, so
// that another round may find what this one did not.
func (r claimRound) run(ctx context.Context, need int) (kept []claimedDue, more bool, err error) {
	s := r.s
	// Peek: the earliest due entries of every shard.
	peeks := make([]*goredis.ZSliceCmd, shardCount)
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for n := range shardCount {
			peeks[n] = p.ZRangeByScoreWithScores(ctx, s.k.dueIndex(n), &goredis.ZRangeBy{
				Min: "-inf", Max: strconv.FormatInt(r.nowMs, 10), Count: int64(need),
			})
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	type entry struct {
		member string
		score  float64
		shard  int
	}
	var due []entry
	for n, c := range peeks {
		for _, z := range c.Val() {
			due = append(due, entry{z.Member.(string), z.Score, n})
		}
	}
	if len(due) == 0 {
		return nil, false, nil
	}
	slices.SortFunc(due, func(a, b entry) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.member, b.member)) })
	due = due[:min(need, len(due))]

	// Take: the people out of the index, a guard in their place.
	byShard := map[int][]any{}
	for _, e := range due {
		pid, ok := entryPerson(e.member)
		if !ok {
			// Not an entry this store writes: drop it rather than
			// meet it at every claim.
			byShard[e.shard] = append(byShard[e.shard], e.member, "", "")
			continue
		}
		byShard[e.shard] = append(byShard[e.shard], e.member, pid, guardEntry(pid, r.guard))
	}
	var takes []call
	for n, args := range byShard {
		takes = append(takes, call{sc: luaPdueTake, keys: []string{s.k.dueIndex(n)}, args: append([]any{r.nowMs, r.endMs}, args...)})
	}
	answers, err := s.pipeline(ctx, takes)
	var people []string
	for _, a := range answers {
		taken, _ := a.StringSlice()
		for _, pid := range taken {
			if pid != "" {
				people = append(people, pid)
			}
		}
	}
	if err != nil || len(people) == 0 {
		return nil, true, err
	}

	// Claim: each person's items in their slot.
	claims := make([]call, len(people))
	for i, pid := range people {
		claims[i] = call{sc: luaPdueClaim, keys: []string{s.k.person(pid)}, args: []any{r.nowKey, r.endKey, r.owner, need}}
	}
	answers, err = s.pipeline(ctx, claims)
	next := map[string]string{}
	var got []claimedDue
	for i, a := range answers {
		res, aerr := a.StringSlice()
		if aerr != nil || len(res) == 0 {
			continue // unknown: the guard brings the person back when the lease ends
		}
		for j := 0; j+3 < len(res)-1; j += 4 {
			if id, ok := itemID(people[i], res[j]); ok {
				got = append(got, claimedDue{pid: people[i], id: id, at: res[j+1], was: res[j+2], rec: res[j+3]})
			}
		}
		next[people[i]] = res[len(res)-1]
	}
	if err != nil {
		// What was claimed stays leased and comes back after the lease,
		// through the guards.
		return nil, true, err
	}

	// Keep the earliest need; give the rest back.
	slices.SortFunc(got, func(a, b claimedDue) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.pid, b.pid), cmp.Compare(a.id, b.id))
	})
	kept = got[:min(need, len(got))]
	back := map[string][]any{}
	for _, c := range got[len(kept):] {
		back[c.pid] = append(back[c.pid], itemField(c.pid, c.id), c.at, c.was)
	}
	if len(back) > 0 {
		var unclaims []call
		var whose []string
		for pid, args := range back {
			unclaims = append(unclaims, call{sc: luaPdueUnclaim, keys: []string{s.k.person(pid)}, args: append([]any{r.endKey, r.owner}, args...)})
			whose = append(whose, pid)
		}
		answers, err = s.pipeline(ctx, unclaims)
		for i, a := range answers {
			if k, aerr := a.Text(); aerr == nil {
				next[whose[i]] = k
			}
		}
		if err != nil {
			return kept, true, err
		}
	}

	// Put back: each person's entry at the earliest time of their items no
	// claim holds, the entries of the items it holds at the lease's end
	// (the same entry a claim before left for an item, moved later), and
	// of an item given back to another claim's owner where it was; then
	// the guard goes. A person with nothing to claim has no entry.
	at := map[string]string{}
	for pid, k := range next {
		if k != "" {
			at[pid] = k
		}
	}
	puts := s.lowerCalls(at)
	for _, c := range kept {
		puts = append(puts, call{args: []any{"zadd", s.k.dueIndex(shardOf(c.pid)), r.endMs, itemEntry(c.pid, c.id)}})
	}
	for _, c := range got[len(kept):] {
		if ms, ok := readyMs(c.at); ok && c.was != "" {
			puts = append(puts, call{args: []any{"zadd", s.k.dueIndex(shardOf(c.pid)), "lt", ms, itemEntry(c.pid, c.id)}})
		}
	}
	for _, pid := range people {
		puts = append(puts, call{args: []any{"zrem", s.k.dueIndex(shardOf(pid)), guardEntry(pid, r.guard)}})
	}
	if _, err := s.pipeline(ctx, puts); err != nil {
		return kept, true, err
	}
	return kept, true, nil
}

// CompleteDue deletes the person's claimed item if owner still holds it,
// and its index entry: ErrNotFound when they have no such item,
// ErrConflict when owner does not hold it.
func (s *Store) CompleteDue(ctx context.Context, participantID, id, owner string) error {
	op := "complete due " + id
	if err := s.settleDue(ctx, op, participantID, id, owner, ""); err != nil {
		return err
	}
	if err := s.rdb.ZRem(ctx, s.k.dueIndex(shardOf(participantID)), itemEntry(participantID, id)).Err(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// ReleaseDue hands back the person's claimed item that owner has not
// begun: it is read for its due time, released by pdue_settle.lua, which
// checks the owner, and the person's entry lowered to it. Used at shutdown
// only, so three round trips do not matter.
func (s *Store) ReleaseDue(ctx context.Context, participantID, id, owner string) error {
	op := "release due " + id
	v, err := s.rdb.HGet(ctx, s.k.person(participantID), itemField(participantID, id)).Result()
	if err != nil {
		return s.wrapGet(op, err)
	}
	d, err := decodeDueValue(participantID, id, v)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	k := timeKey(d.DueAt)
	if err := s.settleDue(ctx, op, participantID, id, owner, k); err != nil {
		return err
	}
	calls := append(s.lowerCalls(map[string]string{participantID: k}),
		call{args: []any{"zrem", s.k.dueIndex(shardOf(participantID)), itemEntry(participantID, id)}})
	if _, err := s.pipeline(ctx, calls); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// settleDue runs pdue_settle.lua: to complete the item (releaseKey "") or
// release it to releaseKey.
func (s *Store) settleDue(ctx context.Context, op, pid, id, owner, releaseKey string) error {
	n, err := s.run(ctx, luaPdueSettle, []string{s.k.person(pid)}, itemField(pid, id), owner, releaseKey).Int()
	switch {
	case err != nil:
		return s.fail(op, err)
	case n < 0:
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case n == 0:
		return fmt.Errorf("redis: %s: not held by this owner: %w", op, store.ErrConflict)
	}
	return nil
}

// stringMap reads a hash's fields and values from an answer to HGETALL,
// in either protocol's form.
func stringMap(c *goredis.Cmd) (map[string]string, error) {
	switch v := c.Val().(type) {
	case nil:
		return nil, c.Err()
	case map[any]any:
		out := make(map[string]string, len(v))
		for f, x := range v {
			fs, ok1 := f.(string)
			xs, ok2 := x.(string)
			if !ok1 || !ok2 {
				return nil, errors.New("redis: a hash answered with other than strings")
			}
			out[fs] = xs
		}
		return out, nil
	case []any:
		out := make(map[string]string, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			fs, ok1 := v[i].(string)
			xs, ok2 := v[i+1].(string)
			if !ok1 || !ok2 {
				return nil, errors.New("redis: a hash answered with other than strings")
			}
			out[fs] = xs
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: a hash answered %T", c.Val())
}
