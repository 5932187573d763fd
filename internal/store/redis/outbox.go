package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// An outbound message's record lives in its participant's slot, where a
// turn writes it; its outbox shard ({o<n>}, by message ID) knows where it
// is and, while it is Pending, when it may be claimed (keys.go).

// orphanGrace is how long a queued message may point at no record before a
// claimer forgets it. A record is missing only between the two steps of a
// write (milliseconds) or after a crash between them (for ever), so the
// grace is far longer than any write and short enough to keep the queue
// clean.
const orphanGrace = 10 * time.Minute

// orphanRetry is how soon a claimer looks again at a message whose record
// it did not find; orphanFirstRetry, the first time. A record is missing
// mostly because a turn's two steps are a round trip apart and a claimer
// came in between: the message is then sent at the next pass, not seconds
// later.
const (
	orphanRetry      = 5 * time.Second
	orphanFirstRetry = 100 * time.Millisecond
)

// claimRounds bounds how often one claim goes back to the shards when other
// claimers took what it aimed for.
const claimRounds = 16

// queueSpread is how far apart, at most, the queue entries of a person's
// messages queued together are spread (queuedAt); a claim reads the queue
// that far past now, and hands out only what its record says is due.
const queueSpread = time.Microsecond

// queuedAt is when the place-th of a person's messages queued together (0
// for the first) enters its shard's queue: its NotBefore, a nanosecond
// later for each one before it. Entries due at one moment are claimed in
// the order of their IDs, and a claim that took a person's later message
// without the earlier one would have to park it (outbox_gate.lua); spread
// so, a claim takes a person's messages together or the earlier first.
func queuedAt(notBefore time.Time, place int) time.Time {
	return notBefore.Add(min(time.Duration(place), queueSpread))
}

// EnqueueOutbound stores messages for the dispatcher. Each message's
// location is recorded in its shard first, then the records are written in
// their participants' slots, one script per participant. An ID already in
// use is refused with ErrConflict.
func (s *Store) EnqueueOutbound(ctx context.Context, msgs ...store.OutboundMessage) error {
	var errs []error
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		errs = append(errs, store.CheckOutbound(m))
		ids[i] = m.ID
	}
	errs = append(errs, store.Unique("message", ids))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis: enqueue: %w", err)
	}
	byParticipant := map[string][]store.OutboundMessage{}
	var order []string
	for _, m := range msgs {
		if _, ok := byParticipant[m.ParticipantID]; !ok {
			order = append(order, m.ParticipantID)
		}
		byParticipant[m.ParticipantID] = append(byParticipant[m.ParticipantID], m)
	}
	writes := make([]slotWrite, len(order))
	for i, pid := range order {
		writes[i].pid = pid
		for _, m := range byParticipant[pid] {
			if err := writes[i].addOutbound(m); err != nil {
				return fmt.Errorf("redis: enqueue for %s: %w", pid, err)
			}
		}
	}

	undos := make([]undoList, len(order))
	var all undoList
	for i, pid := range order {
		if _, err := s.writeHintsWith(ctx, nil, s.outboxHints(pid, byParticipant[pid]), &undos[i]); err != nil {
			for _, u := range undos {
				all = append(all, u...)
			}
			return s.refused(ctx, "enqueue for "+pid, err, &all)
		}
	}
	for i, w := range writes {
		err := s.writeSlot(ctx, w)
		if errors.Is(err, store.ErrConflict) {
			// Participants before this one have landed; take back the
			// hints of this one and those after it.
			for _, u := range undos[i:] {
				all = append(all, u...)
			}
			return s.refused(ctx, "enqueue for "+w.pid, err, &all)
		}
		if err != nil {
			return s.fail("enqueue for "+w.pid, err)
		}
	}
	return nil
}

// GetOutbound returns a message; ErrNotFound if there is none.
func (s *Store) GetOutbound(ctx context.Context, id string) (store.OutboundMessage, error) {
	var m store.OutboundMessage
	pid, err := s.rdb.HGet(ctx, s.k.outShard(shardOf(id)).where, id).Result()
	if err != nil {
		return m, s.wrapGet("get message "+id, err)
	}
	doc, err := s.rdb.HGet(ctx, s.k.outbox(pid), id).Bytes()
	if err != nil {
		return m, s.wrapGet("get message "+id, err)
	}
	if err := json.Unmarshal(doc, &m); err != nil {
		return m, fmt.Errorf("redis: get message %s: %w", id, err)
	}
	return m, nil
}

// UpdateOutbound saves m and ends any claim on it: a Pending message is
// claimable again from its NotBefore, any other leaves the queue. The text
// is dropped at a final status. The record is saved first; if the second
// step (the queue) does not happen, the next claimer sees the record and
// repairs the queue.
//
// Two round trips. The record is found in m's participant's slot by its
// ID, with no lookup of its location first: a message ID is used once
// (EnqueueOutbound), so when m's participant holds no record of that ID
// there is none of m anywhere, and the update is refused with ErrNotFound.
func (s *Store) UpdateOutbound(ctx context.Context, m store.OutboundMessage) error {
	if err := store.CheckOutbound(m); err != nil {
		return fmt.Errorf("redis: update message: %w", err)
	}
	if err := s.saveOutbound(ctx, m); err != nil {
		return err
	}
	return s.placeOutbound(ctx, m)
}

// ChangeOutbound reads the record, runs change on it, and swaps the result
// in only if the record is still what was read (swap.lua); if another
// update landed meanwhile, it reads again and runs change on that. The
// queue is then placed as UpdateOutbound places it.
func (s *Store) ChangeOutbound(ctx context.Context, id string, change func(*store.OutboundMessage) bool) (store.OutboundMessage, bool, error) {
	op := "change message " + id
	pid, err := s.rdb.HGet(ctx, s.k.outShard(shardOf(id)).where, id).Result()
	if err != nil {
		return store.OutboundMessage{}, false, s.wrapGet(op, err)
	}
	key := s.k.outbox(pid)
	for range 20 {
		old, err := s.rdb.HGet(ctx, key, id).Result()
		if err != nil {
			return store.OutboundMessage{}, false, s.wrapGet(op, err)
		}
		var m store.OutboundMessage
		if err := json.Unmarshal([]byte(old), &m); err != nil {
			return m, false, fmt.Errorf("redis: %s: %w", op, err)
		}
		kept := m
		if !change(&m) {
			return kept, false, nil
		}
		if err := store.CheckOutbound(m); err != nil || m.ID != id || m.ParticipantID != pid {
			return kept, false, fmt.Errorf("redis: %s: %w", op, errors.Join(err, errors.New("a change may not alter the message's ID or participant")))
		}
		if m.Status.Final() {
			m.DropWords() // the text and a template's filled values alike
		}
		doc, err := json.Marshal(m)
		if err != nil {
			return kept, false, fmt.Errorf("redis: %s: %w", op, err)
		}
		n, err := s.run(ctx, luaSwap, []string{key}, id, old, doc).Int()
		switch {
		case err != nil:
			return kept, false, s.fail(op, err)
		case n < 0:
			return kept, false, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		case n == 1:
			return m, true, s.placeOutbound(ctx, m)
		}
	}
	return store.OutboundMessage{}, false, fmt.Errorf("redis: %s: %w", op, store.ErrConflict)
}

// saveOutbound is the first step of a message's update: its record,
// replaced only if it is there, without the text at a final status.
func (s *Store) saveOutbound(ctx context.Context, m store.OutboundMessage) error {
	if m.Status.Final() {
		m.DropWords()
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("redis: update message %s: %w", m.ID, err)
	}
	n, err := s.run(ctx, luaOutboxReplace, []string{s.k.outbox(m.ParticipantID)}, m.ID, doc).Int()
	if err != nil {
		return s.fail("update message "+m.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: update message %s: %w", m.ID, store.ErrNotFound)
	}
	return nil
}

// BeginSend reads the participant and the link, records the dedupe key
// (SET NX PXAT, as FirstSeen) and, when it was new, counts count. On a
// single Redis that is one script (begin_send.lua), one round trip; on a
// cluster, where the keys lie in different slots, the reads and the key
// go in one pipeline (split per node) and the count, when there is one,
// follows. If the call fails, the key may or may not have been recorded,
// as when FirstSeen fails.
func (s *Store) BeginSend(ctx context.Context, pid, linkIndex, dedupeKey string, expiresAt time.Time, count store.SendCount) (store.SendCheck, error) {
	if err := store.CheckBeginSend(pid, dedupeKey, expiresAt, count); err != nil {
		return store.SendCheck{}, fmt.Errorf("redis: begin send: %w", err)
	}
	op := "begin send to " + pid
	linkKey := s.k.link("\x00") // no link index: a key that cannot exist
	if linkIndex != "" {
		linkKey = s.k.link(linkIndex)
	}
	if s.isCluster() {
		return s.beginSendInSteps(ctx, op, pid, linkIndex, linkKey, dedupeKey, expiresAt, count)
	}
	keys := []string{s.k.person(pid), s.k.dedupe(dedupeKey), linkKey}
	until := ""
	if count.Key != "" {
		keys = append(keys, s.k.counter(count.Key))
		until = strconv.FormatInt(ms(count.ExpiresAt), 10)
	}
	res, err := s.run(ctx, luaBeginSend, keys, ms(expiresAt), until).Slice()
	if err != nil {
		return store.SendCheck{}, s.fail(op, err)
	}
	first, _ := res[1].(int64)
	n, _ := res[3].(int64)
	person, _ := res[0].(string)
	link, _ := res[2].(string)
	return sendCheck(op, pid, linkIndex, person, link, first == 1, int(n))
}

// beginSendInSteps is BeginSend on a cluster: the reads and the dedupe key
// in one pipeline, then the count when the key was new.
func (s *Store) beginSendInSteps(ctx context.Context, op, pid, linkIndex, linkKey, dedupeKey string, expiresAt time.Time, count store.SendCount) (store.SendCheck, error) {
	cmds, err := s.pipeline(ctx, []call{
		{args: []any{"hget", s.k.person(pid), recordField}},
		{args: []any{"set", s.k.dedupe(dedupeKey), "1", "pxat", ms(expiresAt), "nx"}},
		{args: []any{"get", linkKey}},
	})
	if err != nil {
		return store.SendCheck{}, s.fail(op, err)
	}
	first := cmds[1].Err() == nil // SET NX answers nil when the key is there
	n := 0
	if first && count.Key != "" {
		if n, err = s.Increment(ctx, count.Key, count.ExpiresAt); err != nil {
			return store.SendCheck{}, err
		}
	}
	person, _ := cmds[0].Text()
	link, _ := cmds[2].Text()
	return sendCheck(op, pid, linkIndex, person, link, first, n)
}

// sendCheck decodes what BeginSend read: the participant's and the link's
// JSON, "" where there is none.
func sendCheck(op, pid, linkIndex, person, link string, first bool, count int) (store.SendCheck, error) {
	c := store.SendCheck{FirstSeen: first, Count: count}
	if person != "" {
		p, err := compact.DecodeParticipant(pid, []byte(person))
		if err != nil {
			return store.SendCheck{}, fmt.Errorf("redis: %s: %w", op, err)
		}
		c.Participant = &p
	}
	if link != "" {
		l, err := compact.DecodeLink(linkIndex, []byte(link))
		if err != nil {
			return store.SendCheck{}, fmt.Errorf("redis: %s: link: %w", op, err)
		}
		c.Link = &l
	}
	return c, nil
}

// MarkSent records a provider's acceptance of m and ends its claim. The
// record and the person's hold on the message go in one script
// (outbox_sent.lua, which keeps a later status reported meanwhile), then
// the shard's queue, which the message leaves: as in UpdateOutbound, the
// record first. On a single Redis both are sent in one pipeline, which
// Redis runs in order, so a send is recorded in one round trip; on a
// cluster they may lie on two nodes, and go one after the other.
func (s *Store) MarkSent(ctx context.Context, m store.OutboundMessage) error {
	if err := store.CheckOutbound(m); err != nil {
		return fmt.Errorf("redis: mark message sent: %w", err)
	}
	op := "mark message sent " + m.ID
	queued := store.Accepted(m)
	doc, err := json.Marshal(queued)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	sent := call{sc: luaOutboxSent, keys: s.sendGateKeys(m.ParticipantID), args: []any{m.ID, doc}}
	sh := s.k.outShard(shardOf(m.ID))
	leaveQueue := call{sc: luaOutboxPlace, keys: []string{sh.ready, sh.pos, sh.owner, sh.orphan, sh.where}, args: []any{m.ID, "", m.ParticipantID}}
	calls := []call{sent}
	if !s.isCluster() {
		calls = append(calls, leaveQueue)
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return s.fail(op, err)
	}
	res, err := cmds[0].Slice()
	if err != nil {
		return s.fail(op, err)
	}
	if n, _ := res[0].(int64); n == 0 {
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	if s.isCluster() {
		if err := s.run(ctx, leaveQueue.sc, leaveQueue.keys, leaveQueue.args...).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	if stored, _ := res[1].(string); stored != "" {
		if err := s.keepLaterStatus(ctx, m, stored); err != nil {
			return err
		}
	}
	woken := make([]string, 0, len(res)-2)
	for _, v := range res[2:] {
		w, _ := v.(string)
		woken = append(woken, w)
	}
	return s.wake(ctx, op, woken)
}

// keepLaterStatus saves the record of a message its provider accepted
// after a later status came first: the stored record, given m's send
// details, swapped in only if it has not changed again meanwhile.
func (s *Store) keepLaterStatus(ctx context.Context, m store.OutboundMessage, stored string) error {
	op := "mark message sent " + m.ID
	key := s.k.outbox(m.ParticipantID)
	for range 10 {
		var cur store.OutboundMessage
		if err := json.Unmarshal([]byte(stored), &cur); err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		rec := store.AcceptedOver(cur, m)
		if rec.Status.Final() {
			rec.DropWords()
		}
		merged, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
		n, err := s.run(ctx, luaSwap, []string{key}, m.ID, stored, merged).Int()
		switch {
		case err != nil:
			return s.fail(op, err)
		case n == 1:
			return nil
		case n == -1:
			return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		}
		// Another status landed meanwhile: look again.
		if stored, err = s.rdb.HGet(ctx, key, m.ID).Result(); err != nil {
			return s.wrapGet(op, err)
		}
	}
	return fmt.Errorf("redis: %s: the record kept changing; try again", op)
}

// MarkSending saves m, with its attempt and the moment its send began,
// over the record in m's participant's slot while that is still pending
// (outbox_sending.lua): one round trip. The shard's queue is not touched,
// so the claim stands.
func (s *Store) MarkSending(ctx context.Context, m store.OutboundMessage) error {
	op := "mark message sending " + m.ID
	if err := errors.Join(store.CheckOutbound(m), store.NeedTime("send began", m.SendBegan)); err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	n, err := s.run(ctx, luaOutboxSending, []string{s.k.outbox(m.ParticipantID)}, m.ID, doc).Int()
	switch {
	case err != nil:
		return s.fail(op, err)
	case n == 0:
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case n < 0:
		return fmt.Errorf("redis: %s: the message is no longer pending: %w", op, store.ErrConflict)
	}
	return nil
}

// placeOutbound is the second step of a message's update: its shard's
// queue follows the record just saved, and any claim on it ends, in its
// shard and in its person's send gate, in one round trip. When the message
// has left the queue, the messages of the person parked behind it are put
// back in their shards' queues: a second round trip, only then.
func (s *Store) placeOutbound(ctx context.Context, m store.OutboundMessage) error {
	op := "update message " + m.ID
	sh := s.k.outShard(shardOf(m.ID))
	tk := ""
	if m.Status == store.Pending {
		tk = timeKey(m.NotBefore)
	}
	cmds, err := s.pipeline(ctx, []call{
		{sc: luaOutboxPlace, keys: []string{sh.ready, sh.pos, sh.owner, sh.orphan}, args: []any{m.ID, tk}},
		{sc: luaOutboxLeave, keys: s.sendGateKeys(m.ParticipantID), args: []any{m.ID}},
	})
	if err != nil {
		return s.fail(op, err)
	}
	woken, err := cmds[1].StringSlice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return s.fail(op, err)
	}
	return s.wake(ctx, op, woken)
}

// wake puts the messages a leave step woke (pairs of ID and record) back
// in their shards' queues, in the order they were made: one round trip,
// none when there are none.
func (s *Store) wake(ctx context.Context, op string, woken []string) error {
	if len(woken) == 0 {
		return nil
	}
	perShard := map[int][]any{}
	for j := 0; j+1 < len(woken); j += 2 {
		var p store.OutboundMessage
		if err := json.Unmarshal([]byte(woken[j+1]), &p); err != nil {
			return fmt.Errorf("redis: %s: message %s: %w", op, woken[j], err)
		}
		n := shardOf(woken[j])
		perShard[n] = append(perShard[n], woken[j], timeKey(queuedAt(p.NotBefore, j/2)))
	}
	calls := make([]call, 0, len(perShard))
	for n, args := range perShard {
		w := s.k.outShard(n)
		calls = append(calls, call{sc: luaOutboxWake, keys: []string{w.ready, w.pos, w.owner}, args: args})
	}
	if _, err := s.pipeline(ctx, calls); err != nil {
		return s.fail(op+": wake the messages after it", err)
	}
	return nil
}

// candidate is an entry of a shard's ready index that a claim aims for.
type candidate struct {
	member string
	shard  int
}

// peek returns up to limit claimable entries over all shards, earliest
// first.
func (s *Store) peek(ctx context.Context, ready func(int) string, nowKey string, limit int) ([]candidate, error) {
	cmds := make([]*goredis.StringSliceCmd, shardCount)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for n := range shardCount {
			cmds[n] = p.ZRangeByLex(ctx, ready(n), &goredis.ZRangeBy{
				Min: "-", Max: "(" + nowKey + "~", Count: int64(limit),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []candidate
	for n, c := range cmds {
		for _, m := range c.Val() {
			all = append(all, candidate{member: m, shard: n})
		}
	}
	slices.SortFunc(all, func(a, b candidate) int { return cmp.Compare(a.member, b.member) })
	return all[:min(limit, len(all))], nil
}

// claimed is what claim.lua gave back for one entry.
type claimed struct {
	member string // "<time key it became claimable at>|<ID>"
	data   string
	shard  int
}

// claimInRounds claims up to limit entries from the shards ready names,
// earliest first, in at most claimRounds rounds: each round peeks at as
// many as are still wanted, claims them with claim.lua on keysOf's keys
// from fromKey to endKey, and hands them to take, which answers how many
// it kept (the others it put back, or will never hand out). What was
// claimed before an error stays leased and comes back after the lease.
func (s *Store) claimInRounds(ctx context.Context, op string, limit int, ready func(int) string, keysOf func(int) []string,
	fromKey, endKey, owner string, take func([]claimed) (int, error)) error {
	kept := 0
	for range claimRounds {
		need := limit - kept
		if need <= 0 {
			return nil
		}
		cands, err := s.peek(ctx, ready, fromKey, need)
		if err != nil {
			return s.fail(op, err)
		}
		if len(cands) == 0 {
			return nil
		}
		cl, err := s.claimShards(ctx, cands, keysOf, fromKey, endKey, owner)
		if err != nil {
			return s.fail(op, err)
		}
		n, err := take(cl)
		if err != nil {
			return err
		}
		kept += n
	}
	return nil
}

// claimShards claims, in each shard, as many entries as the candidates
// name there.
func (s *Store) claimShards(ctx context.Context, cands []candidate, keysOf func(int) []string, nowKey, endKey, owner string) ([]claimed, error) {
	var perShard [shardCount]int
	for _, c := range cands {
		perShard[c.shard]++
	}
	var calls []call
	var shards []int
	for n, count := range perShard {
		if count > 0 {
			calls = append(calls, call{sc: luaClaim, keys: keysOf(n), args: []any{nowKey, endKey, owner, count}})
			shards = append(shards, n)
		}
	}
	cmds, err := s.pipeline(ctx, calls)
	var out []claimed
	for i, cmd := range cmds {
		res, cerr := cmd.StringSlice()
		if cerr != nil {
			continue // not run, or failed: err says so
		}
		for j := 0; j+1 < len(res); j += 2 {
			out = append(out, claimed{member: res[j], data: res[j+1], shard: shards[i]})
		}
	}
	return out, err
}

// ClaimOutbound leases up to limit Pending messages whose NotBefore has
// come to owner, oldest first. Each claim is one script on one shard, so a
// message goes to one owner only; the records are then read from the
// participants' slots, and a message whose record says it cannot be sent
// (not Pending any more, a later NotBefore, no record) is put right in its
// shard instead of being returned.
func (s *Store) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	if err := store.CheckClaim(owner, lease); err != nil {
		return nil, fmt.Errorf("redis: claim messages: %w", err)
	}
	nowKey, endKey := timeKey(now), timeKey(now.Add(lease))
	reachKey := timeKey(now.Add(queueSpread)) // see queuedAt
	ready := func(n int) string { return s.k.outShard(n).ready }
	keysOf := func(n int) []string {
		sh := s.k.outShard(n)
		return []string{sh.ready, sh.pos, sh.owner, sh.where}
	}
	var out []got
	err := s.claimInRounds(ctx, "claim messages", limit, ready, keysOf, reachKey, endKey, owner, func(cl []claimed) (int, error) {
		docs, err := s.outboundRecords(ctx, cl)
		if err != nil {
			return 0, s.fail("claim messages", err)
		}
		verdicts := map[int][]any{}
		var sendable []got
		for i, c := range cl {
			id := memberID(c.member)
			verdict := ""
			var m store.OutboundMessage
			switch {
			case docs[i] == nil:
				verdict = "missing"
			case json.Unmarshal([]byte(*docs[i]), &m) != nil:
				return 0, fmt.Errorf("redis: claim messages: message %s: unreadable record", id)
			case m.Status != store.Pending:
				verdict = "final"
			case m.NotBefore.After(now):
				verdict = "at:" + timeKey(m.NotBefore)
			}
			if verdict != "" {
				verdicts[c.shard] = append(verdicts[c.shard], id, verdict)
				continue
			}
			sendable = append(sendable, got{member: c.member, msg: m, shard: c.shard})
		}
		going, err := s.passGates(ctx, sendable, owner, nowKey, endKey)
		if err != nil {
			return 0, s.fail("claim messages", err)
		}
		kept := 0
		for _, g := range sendable {
			if rank, ok := going[g.msg.ID]; ok {
				g.rank = rank
				out = append(out, g)
				kept++
				continue
			}
			// Parked behind an earlier message of the person: woken when
			// that has gone (outbox_leave.lua), and looked at again when
			// this claim would have ended in case the wake never comes.
			verdicts[g.shard] = append(verdicts[g.shard], g.msg.ID, "at:"+endKey)
		}
		for n, v := range verdicts {
			sh := s.k.outShard(n)
			args := append([]any{owner, endKey, nowKey, timeKey(now.Add(-orphanGrace)), timeKey(now.Add(orphanRetry)), timeKey(now.Add(orphanFirstRetry))}, v...)
			if err := s.run(ctx, luaOutboxSettle, []string{sh.ready, sh.pos, sh.owner, sh.where, sh.orphan}, args...).Err(); err != nil {
				return 0, s.fail("claim messages", err)
			}
		}
		return kept, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b got) int { return cmp.Compare(a.member, b.member) })
	msgs := make([]store.OutboundMessage, len(out))
	rank := make(map[string]int, len(out))
	for i, g := range out {
		msgs[i] = g.msg
		rank[g.msg.ID] = g.rank
	}
	store.InSendOrder(msgs, func(m store.OutboundMessage) int { return rank[m.ID] })
	return msgs, nil
}

// got is a message a claim hands out: its shard's queue entry, and its
// place in its person's send order, by which a claim hands them out.
type got struct {
	member string
	msg    store.OutboundMessage
	shard  int
	rank   int
}

// passGates asks each person's send gate (outbox_gate.lua) which of their
// claimed messages may go now, in one pipeline, and returns those with
// their place in the person's send order.
func (s *Store) passGates(ctx context.Context, msgs []got, owner, nowKey, endKey string) (map[string]int, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	byPerson := map[string][]any{}
	var people []string
	for _, g := range msgs {
		pid := g.msg.ParticipantID
		if _, ok := byPerson[pid]; !ok {
			people = append(people, pid)
			byPerson[pid] = []any{owner, nowKey, endKey}
		}
		byPerson[pid] = append(byPerson[pid], g.msg.ID)
	}
	calls := make([]call, len(people))
	for i, pid := range people {
		calls[i] = call{sc: luaOutboxGate, keys: s.sendGateKeys(pid), args: byPerson[pid]}
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return nil, err
	}
	going := map[string]int{}
	for _, cmd := range cmds {
		ids, err := cmd.StringSlice()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, err
		}
		for j := 0; j+1 < len(ids); j += 2 {
			seq, err := strconv.ParseFloat(ids[j+1], 64) // a sorted set's score
			if err != nil {
				return nil, fmt.Errorf("send gate: place of %s: %w", ids[j], err)
			}
			going[ids[j]] = int(seq)
		}
	}
	return going, nil
}

// sendGateKeys are the keys of a person's slot that order their sends.
func (s *Store) sendGateKeys(pid string) []string {
	return []string{s.k.outbox(pid), s.k.sendOrder(pid), s.k.sendGate(pid)}
}

// outboundRecords reads the records of claimed messages from their
// participants' slots; nil where there is none.
func (s *Store) outboundRecords(ctx context.Context, cl []claimed) ([]*string, error) {
	return s.readOptional(ctx, len(cl), func(p goredis.Pipeliner, i int) *goredis.StringCmd {
		pid := cl[i].data
		if pid == "" {
			pid = "\x00" // no location: read a key that cannot exist
		}
		return p.HGet(ctx, s.k.outbox(pid), memberID(cl[i].member))
	})
}
