package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// ApplyTurn applies everything one inbound message or scheduled event
// changes.
//
// How atomic it is: every record of the turn (participant, session,
// check-ins, attention items, audit entries, outbound messages and the
// dedupe marker) is written by one script in the participant's slot
// (turn.lua), so they land together or not at all. What cannot share that
// slot are the global indexes that make some of them findable: the
// attention queue, the audit log, the outbox shards and the participant
// list. Those are written first, as hints (keys.go), and every reader
// checks the record a hint points at. So:
//
//   - a crash before the script leaves hints to nothing, which readers
//     skip and the outbox drops after orphanGrace; the provider retries the
//     webhook and the turn is applied again;
//   - a crash after the script leaves a complete turn, fully indexed;
//   - a refused turn (its dedupe key already recorded, or an ID in use)
//     takes its hints back.
//
// The dedupe key is recorded twice: as a marker inside the participant's
// slot, written by the same script, which is what refuses a second
// application of the turn; and as the global key that Seen reads. On a
// single Redis the script checks and writes that key too. On a cluster it
// lives in another slot and is written after the script; if the process
// dies between the two, a retry passes Seen (LoadTurn reads the marker as
// well) but is refused by the marker with ErrConflict, and the global key
// is written then.
//
// A turn whose dedupe key is already recorded is refused with ErrConflict,
// and so is one whose attention, audit or message ID is in use; nothing of
// a refused turn lands. Two deliveries of one message race safely because
// both are the same participant's turns and meet at the marker; on a
// cluster, a key recorded by FirstSeen is checked before the turn starts,
// not atomically with it, since it has no participant slot to share.
//
// On a single Redis, where one script may touch keys of any slot, the
// script writes the messages' outbox hints with the records, and checks
// and writes the global dedupe key: a step 1 is needed only for the
// other hints (attention items, audit entries, a new person's list
// entries), which most turns have none of.
//
// Round trips: the hints and the global key's check (one pipeline; on a
// single Redis, only when there are hints other than the messages'), the
// script and the link's last-seen time (one pipeline), and on a cluster
// the global key; a turn that saves a child's record reads it first, and
// one that gives a child a caseworker claims them (childGuard).
func (s *Store) ApplyTurn(ctx context.Context, t store.Turn) error {
	if err := store.CheckTurn(t); err != nil {
		return fmt.Errorf("redis: apply turn: %w", err)
	}
	pid := t.ParticipantID
	op := "apply turn of " + pid
	w, err := s.slotWriteOf(t)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}

	// Before all, for a turn saving a child's record: the claim on their
	// caseworker, which the child-protection rule needs (guarded.go).
	var undo undoList
	landed := func(context.Context) {}
	if t.Participant != nil {
		if landed, err = s.guardChild(ctx, op, "turn", *t.Participant, &undo); err != nil {
			return err
		}
	}

	// Step 1, one round trip: the hints, and whether the dedupe key is
	// recorded already (by FirstSeen: a turn's own is checked by turn.lua).
	if err := s.writeHints(ctx, t, &undo); err != nil {
		return s.refused(ctx, op, err, &undo)
	}

	// Step 2, one round trip: the records, all at once, and the link's
	// last-seen time. On a single Redis the global dedupe key is written by
	// the same script; a cluster keeps it in another slot.
	cluster := s.isCluster()
	calls := []call{s.turnCall(w, !cluster)}
	if t.SeenOn != "" {
		calls = append(calls, call{sc: luaLinkSeen, keys: []string{s.k.link(t.SeenOn)},
			args: []any{pid, compact.TimeText(t.SeenAt)}})
	}
	cmds, _ := s.pipeline(ctx, calls)
	err = turnResult(cmds[0])
	if errors.Is(err, errDuplicateTurn) {
		// Repairs a global key that was lost (a cluster's step 3 that
		// never ran); rare, and harmless when the key is there.
		s.recordDedupe(ctx, pid, t.DedupeKey, t.DedupeUntil)
		return s.refused(ctx, op, fmt.Errorf("dedupe key already recorded: %w", store.ErrConflict), &undo)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrStale) {
		return s.refused(ctx, op, err, &undo)
	}
	if err != nil {
		// The script may or may not have run: keep the hints, which are
		// harmless either way.
		return s.fail(op, err)
	}
	landed(ctx)
	if len(cmds) > 1 && cmds[1].Err() != nil {
		// The turn landed; only a last-seen time is out of date.
		slog.Warn("redis: a turn landed but its link's last-seen time was not saved", "participant", pid, "err", cmds[1].Err())
	}

	// Items the turn resolved leave the open queue's index; if this fails,
	// ListAttention drops them from it when it meets their records.
	if len(t.Resolved) > 0 {
		if err := s.closeAttention(ctx, t.Resolved); err != nil {
			slog.Warn("redis: a turn resolved attention items but they stay in the open index until listed", "participant", pid, "err", err)
		}
	}

	// Step 3, on a cluster only: the dedupe key Seen reads.
	if cluster && t.DedupeKey != "" {
		s.recordDedupe(ctx, pid, t.DedupeKey, t.DedupeUntil)
	}
	return nil
}

// writeHints writes step 1 of a turn in one pipeline: the participant-list
// entry and the attention, audit and outbox hints, and a check of the
// global dedupe key. A dedupe key already recorded takes back the hints
// and is ErrConflict.
func (s *Store) writeHints(ctx context.Context, t store.Turn, undo *undoList) error {
	pre, hints := s.hintsOf(t, !s.isCluster())
	if len(pre) == 0 && len(hints) == 0 {
		return nil
	}
	cmds, err := s.writeHintsWith(ctx, pre, hints, undo)
	if err != nil {
		return err
	}
	return dedupeFree(t, cmds)
}

// dedupeFree reads the answers to a turn's step 1 before its hints
// (hintsOf), whose first is the check of its dedupe key when there is one:
// a dedupe key recorded already is ErrConflict.
func dedupeFree(t store.Turn, pre []*goredis.Cmd) error {
	if t.DedupeKey != "" && len(pre) > 0 {
		if n, _ := pre[0].Int(); n > 0 {
			return fmt.Errorf("dedupe key already recorded: %w", store.ErrConflict)
		}
	}
	return nil
}

// hintsOf lists step 1 of a turn: the check of its dedupe key first (when
// it has one), then the participant-list entries, then its hints. With
// inTurn (a single Redis) the messages' hints are left to the turn's own
// script (turnCall), and when nothing else is left step 1 is empty: the
// turn's script checks the dedupe key itself.
func (s *Store) hintsOf(t store.Turn, inTurn bool) (pre []call, hints []hint) {
	pid := t.ParticipantID
	if t.Participant != nil && t.Participant.Revision == 0 {
		// Only the turn that creates the record lists it (a record read at
		// revision 0 is missing): one already there was listed when it was
		// made, by CreateParticipant or such a turn, or by the index built
		// on Open, and a turn never moves a person to another caseload.
		// Never taken back: an entry for a participant who is there anyway,
		// or one whose record is missing, which readers skip.
		pre = append(pre, call{args: []any{"zadd", s.k.participants(), 0, pid}})
		c, cw := s.k.caseloads(), t.Participant.CaseworkerID
		pre = append(pre, call{args: []any{"zadd", c.of(cw), 0, pid}}, call{args: []any{"sadd", c.ids(), cw}})
		if t.Participant.Child {
			pre = append(pre, call{args: []any{"zadd", c.children(cw), 0, pid}})
		}
	}
	hints = append(hints, s.attentionHints(pid, t.Attention)...)
	hints = append(hints, s.auditHints(pid, t.Audit)...)
	if !inTurn {
		hints = append(hints, s.outboxHints(pid, t.Outbound)...)
	}
	// The dedupe key's check comes first, so that a turn applied already
	// writes no hint. A cluster's turn script cannot read that key, so
	// there it is checked whatever else step 1 holds; a single Redis's
	// checks it in the turn, and leaves out a step 1 with nothing else.
	if t.DedupeKey != "" && (!inTurn || len(pre) > 0 || len(hints) > 0) {
		pre = append([]call{{args: []any{"exists", s.k.dedupe(t.DedupeKey)}}}, pre...)
	}
	return pre, hints
}

// writeHintsWith sends the calls pre and then hints in one pipeline, and
// adds the undo of every hint that was written to undo. A hint refused for
// an ID in use is ErrConflict. It returns pre's answers.
func (s *Store) writeHintsWith(ctx context.Context, pre []call, hints []hint, undo *undoList) ([]*goredis.Cmd, error) {
	calls := append(slices.Clip(pre), make([]call, 0, len(hints))...)
	for _, h := range hints {
		calls = append(calls, h.do)
	}
	cmds, err := s.pipeline(ctx, calls)
	clash := s.hintsWritten(hints, cmds[len(pre):], undo)
	if err != nil {
		return cmds[:len(pre)], err
	}
	return cmds[:len(pre)], clash
}

// hintsWritten reads the answers to hints: the undo of each one written
// joins undo, and one refused for an ID in use is ErrConflict.
func (s *Store) hintsWritten(hints []hint, cmds []*goredis.Cmd, undo *undoList) error {
	var clash error
	for i, h := range hints {
		id, herr := cmds[i].Text()
		switch {
		case herr != nil:
			// Unknown whether it landed: left, and harmless.
		case id != "":
			clash = fmt.Errorf("%s %s: %w", h.what, id, store.ErrConflict) // refused whole: nothing to take back
		default:
			undo.add(func(ctx context.Context) error { return s.run(ctx, h.undo.sc, h.undo.keys, h.undo.args...).Err() })
		}
	}
	return clash
}

// writeSlot runs turn.lua on its own, for writes that are not a whole turn
// (a message enqueued, an attention item added).
func (s *Store) writeSlot(ctx context.Context, w slotWrite) error {
	c := s.turnCall(w, false)
	return turnResult(s.run(ctx, c.sc, c.keys, c.args...))
}

// isCluster reports whether the store talks to a Redis Cluster, where one
// script may touch only one slot.
func (s *Store) isCluster() bool {
	_, ok := s.rdb.(*goredis.ClusterClient)
	return ok
}

// LoadTurn reads a participant, their session and whether dedupeKey is
// recorded (as the participant's turn marker or as the global key) in one
// round trip.
func (s *Store) LoadTurn(ctx context.Context, pid, dedupeKey string) (store.TurnState, error) {
	if err := store.Need("participant ID", pid); err != nil {
		return store.TurnState{}, fmt.Errorf("redis: load turn: %w", err)
	}
	op := "load turn of " + pid
	calls := []call{{args: []any{"hget", s.k.person(pid), recordField}}, {args: []any{"get", s.k.session(pid)}}}
	if dedupeKey != "" {
		calls = append(calls,
			call{args: []any{"zscore", s.k.turnDedupe(pid), dedupeKey}},
			call{args: []any{"exists", s.k.dedupe(dedupeKey)}})
	}
	cmds, err := s.pipeline(ctx, calls)
	if err != nil {
		return store.TurnState{}, s.fail(op, err)
	}
	loaded := loadedTurn{participant: cmds[0].Val(), session: cmds[1].Val()}
	if dedupeKey != "" {
		loaded.marker, loaded.global = cmds[2].Val(), cmds[3].Val()
	}
	return loaded.state(op, pid)
}

// LoadLinkedTurn reads a link and its participant's turn state. On a
// single Redis that is one round trip (linked_turn.lua follows the link);
// on a cluster the link and the participant's slot are on different
// slots, so the link is read first.
func (s *Store) LoadLinkedTurn(ctx context.Context, index, dedupeKey string) (store.Link, store.TurnState, error) {
	if s.isCluster() {
		l, err := s.GetLink(ctx, index)
		if err != nil {
			return l, store.TurnState{}, err
		}
		st, err := s.LoadTurn(ctx, l.ParticipantID, dedupeKey)
		return l, st, err
	}
	const op = "load linked turn"
	keys := []string{s.k.link(index)}
	if dedupeKey != "" {
		keys = append(keys, s.k.dedupe(dedupeKey))
	}
	before, person := aroundID(s.k.person)
	_, session := aroundID(s.k.session)
	_, marker := aroundID(s.k.turnDedupe)
	res, err := s.run(ctx, luaLinkedTurn, keys, dedupeKey, before, person, session, marker).Slice()
	if err != nil {
		return store.Link{}, store.TurnState{}, s.fail(op, err)
	}
	if len(res) == 0 {
		return store.Link{}, store.TurnState{}, fmt.Errorf("redis: %s: link: %w", op, store.ErrNotFound)
	}
	if len(res) != 5 {
		return store.Link{}, store.TurnState{}, fmt.Errorf("redis: %s: unexpected answer from linked_turn.lua: %d values", op, len(res))
	}
	doc, _ := res[0].(string)
	l, err := compact.DecodeLink(index, []byte(doc))
	if err != nil {
		return store.Link{}, store.TurnState{}, fmt.Errorf("redis: %s: link: %w", op, err)
	}
	loaded := loadedTurn{participant: res[1], session: res[2]}
	if dedupeKey != "" {
		loaded.marker, loaded.global = res[3], res[4]
	}
	st, err := loaded.state(op+" of "+l.ParticipantID, l.ParticipantID)
	return l, st, err
}

// aroundID splits a participant-slot key name into what comes before and
// after the participant ID, for a script that learns the ID itself.
func aroundID(key func(pid string) string) (before, after string) {
	const id = "\x00"
	before, after, _ = strings.Cut(key(id), id)
	return before, after
}

// loadedTurn is what Redis answered for a turn's state, each value as
// go-redis reads it: nil for a missing key, a string for a string or a
// score, an integer for EXISTS.
type loadedTurn struct {
	participant, session any
	marker, global       any // nil unless a dedupe key was asked about
}

func (r loadedTurn) state(op, pid string) (store.TurnState, error) {
	var st store.TurnState
	doc, ok := r.participant.(string)
	if !ok {
		return st, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	var err error
	if st.Participant, err = compact.DecodeParticipant(pid, []byte(doc)); err != nil {
		return st, fmt.Errorf("redis: %s: %w", op, err)
	}
	if doc, ok := r.session.(string); ok {
		ss, err := compact.DecodeSession(pid, []byte(doc))
		if err != nil {
			return st, fmt.Errorf("redis: %s: session: %w", op, err)
		}
		st.Session = &ss
	}
	// The marker is kept in a sorted set past its expiry until a turn
	// prunes it, so its score is checked; the global key expires by itself.
	// A score comes as a float over RESP3 and as a string from a script.
	until := -1.0
	switch v := r.marker.(type) {
	case float64:
		until = v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			until = f
		}
	}
	st.Seen = int64(until) > time.Now().UnixMilli()
	if n, ok := r.global.(int64); ok && n > 0 {
		st.Seen = true
	}
	return st, nil
}

// recordDedupe writes the global dedupe key of a turn that landed. A
// failure is only logged: the turn has landed, and the marker in the
// participant's slot still refuses a second application.
func (s *Store) recordDedupe(ctx context.Context, pid, key string, until time.Time) {
	err := s.rdb.Do(ctx, "set", s.k.dedupe(key), "1", "pxat", ms(until)).Err()
	if err != nil {
		slog.Warn("redis: a turn landed but its dedupe key was not recorded; the participant's marker still refuses a retry",
			"participant", pid, "err", err)
	}
}

// errDuplicateTurn is turn.lua's answer when the dedupe marker is there.
var errDuplicateTurn = errors.New("turn already applied")

// slotWrite is the input of turn.lua: what one call writes in one
// participant's slot.
type slotWrite struct {
	pid         string
	participant []byte // nil: leave the record alone
	revision    int64  // the participant's revision when it was read
	sessionMode string // "set", "end" or ""
	session     []byte
	sessionAt   int64
	dedupeKey   string
	dedupeAt    int64
	checkIns    []any // checkInMember
	attention   []any // ID, JSON
	resolved    []any // ID, JSON
	windows     []any // member prefix (the opening), member
	audit       []any // ID, JSON
	outbound    []any // ID, JSON
	queued      []any // IDs of the Pending messages among outbound, in the order made
	hints       []messageHint
}

// messageHint is a message's entry in its outbox shard, as outboxHints
// writes it before a turn on a cluster and turn.lua writes it with the
// turn on a single Redis.
type messageHint struct {
	shard   int
	id      string
	timeKey string // of when it may be claimed; "" when it is not Pending
}

func (s *Store) slotWriteOf(t store.Turn) (slotWrite, error) {
	w := slotWrite{pid: t.ParticipantID}
	var err error
	if t.Participant != nil {
		p := *t.Participant
		w.revision = p.Revision
		p.Revision++
		if w.participant, err = compact.EncodeParticipant(p); err != nil {
			return w, err
		}
	}
	switch {
	case t.Session != nil && ms(t.Session.ExpiresAt) > 0:
		w.sessionMode, w.sessionAt = "set", ms(t.Session.ExpiresAt)
		if w.session, err = compact.EncodeSession(*t.Session); err != nil {
			return w, err
		}
	case t.Session != nil || t.EndSession:
		w.sessionMode = "end" // an already expired session is no session
	}
	if t.DedupeKey != "" {
		w.dedupeKey, w.dedupeAt = t.DedupeKey, ms(t.DedupeUntil)
	}
	for _, c := range t.CheckIns {
		if err := w.addCheckIn(c); err != nil {
			return w, err
		}
	}
	for _, a := range t.Attention {
		if err := w.addAttention(a); err != nil {
			return w, err
		}
	}
	for _, a := range t.Resolved {
		doc, err := json.Marshal(a)
		if err != nil {
			return w, err
		}
		w.resolved = append(w.resolved, a.ID, doc)
	}
	for _, win := range t.Windows {
		w.windows = append(w.windows, windowPrefix(win.OpensAt), windowMember(win))
	}
	for _, e := range t.Audit {
		doc, err := encodeAudit(t.ParticipantID, e)
		if err != nil {
			return w, err
		}
		w.audit = append(w.audit, e.ID, doc)
	}
	for _, m := range t.Outbound {
		if err := w.addOutbound(m); err != nil {
			return w, err
		}
	}
	w.hints = messageHints(t.Outbound)
	return w, nil
}

// messageHints are the outbox shard entries of msgs: each message's shard
// and, for a Pending one, its place in the queue, spread a little so that
// messages made together are claimed in the order made.
func messageHints(msgs []store.OutboundMessage) []messageHint {
	hints := make([]messageHint, 0, len(msgs))
	queued := 0
	for _, m := range msgs {
		h := messageHint{shard: shardOf(m.ID), id: m.ID}
		if m.Status == store.Pending {
			h.timeKey = timeKey(queuedAt(m.NotBefore, queued))
			queued++
		}
		hints = append(hints, h)
	}
	return hints
}

func (w *slotWrite) addCheckIn(c store.CheckIn) error {
	w.checkIns = append(w.checkIns, checkInMember(c))
	return nil
}

func (w *slotWrite) addAttention(a store.AttentionItem) error {
	doc, err := json.Marshal(a)
	w.attention = append(w.attention, a.ID, doc)
	return err
}

func (w *slotWrite) addOutbound(m store.OutboundMessage) error {
	if m.Status.Final() {
		m.DropWords()
	}
	doc, err := json.Marshal(m)
	w.outbound = append(w.outbound, m.ID, doc)
	if m.Status == store.Pending {
		w.queued = append(w.queued, m.ID)
	}
	return err
}

// turnCall is the run of turn.lua that writes w. With global set (a
// single Redis, where a script may touch any key) it also writes the global
// dedupe key Seen reads, and refuses a turn whose key FirstSeen recorded,
// and it writes the messages' outbox hints, which hintsOf then leaves out.
func (s *Store) turnCall(w slotWrite, global bool) call {
	k := s.k
	keys := []string{
		k.person(w.pid), k.session(w.pid), k.checkIns(w.pid),
		k.attention(w.pid), k.turnAudit(w.pid), k.outbox(w.pid), k.turnDedupe(w.pid),
		k.windows(w.pid), k.sendOrder(w.pid),
	}
	if global && w.dedupeKey != "" {
		keys = append(keys, k.dedupe(w.dedupeKey))
	}
	args := make([]any, 0, 13+len(w.checkIns)+len(w.attention)+len(w.resolved)+len(w.windows)+len(w.audit)+len(w.outbound)+len(w.queued))
	participant := ""
	if w.participant != nil {
		participant = string(w.participant)
	}
	args = append(args, participant, w.sessionMode, string(w.session), w.sessionAt, w.dedupeKey, w.dedupeAt, w.revision)
	args = append(args, len(w.checkIns))
	args = append(args, w.checkIns...)
	args = append(args, len(w.attention)/2)
	args = append(args, w.attention...)
	args = append(args, len(w.resolved)/2)
	args = append(args, w.resolved...)
	args = append(args, len(w.windows)/2)
	args = append(args, w.windows...)
	args = append(args, len(w.audit)/2)
	args = append(args, w.audit...)
	args = append(args, len(w.outbound)/2)
	args = append(args, w.outbound...)
	args = append(args, len(w.queued))
	args = append(args, w.queued...)
	if !global || len(w.hints) == 0 {
		return call{sc: luaTurn, keys: keys, args: append(args, 0)}
	}
	args = append(args, len(w.hints), w.pid)
	where := map[int]int{} // shard: the index of its "where" key in KEYS, from 1
	for _, h := range w.hints {
		if where[h.shard] == 0 {
			sh := s.k.outShard(h.shard)
			keys = append(keys, sh.where, sh.ready, sh.pos)
			where[h.shard] = len(keys) - 2
		}
		args = append(args, where[h.shard], h.id, h.timeKey)
	}
	return call{sc: luaTurn, keys: keys, args: args}
}

// turnResult reads turn.lua's answer: errDuplicateTurn when the dedupe
// key is recorded, an error matching ErrConflict when an ID is in use.
func turnResult(cmd *goredis.Cmd) error {
	res, err := cmd.StringSlice()
	if err != nil {
		return err
	}
	switch {
	case len(res) == 1 && res[0] == "ok":
		return nil
	case len(res) == 1 && res[0] == "dedupe":
		return errDuplicateTurn
	case len(res) == 1 && res[0] == "stale":
		return fmt.Errorf("participant: %w", store.ErrStale)
	case len(res) == 3 && res[0] == "exists":
		return fmt.Errorf("%s %s: %w", res[1], res[2], store.ErrConflict)
	}
	return fmt.Errorf("unexpected answer from turn.lua: %q", res)
}

// undoList takes back the hints of a refused write, newest first.
type undoList []func(context.Context) error

func (u *undoList) add(f func(context.Context) error) { *u = append(*u, f) }

// refused takes back the hints of a write that Redis definitely refused
// (never of one whose outcome is unknown: its records may have landed) and
// returns err wrapped for op.
func (s *Store) refused(ctx context.Context, op string, err error, undo *undoList) error {
	s.takeBack(ctx, op, undo)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrEmpty) || errors.Is(err, store.ErrStale) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return s.fail(op, err)
}

// takeBack takes back the hints of a write that did not land.
func (s *Store) takeBack(ctx context.Context, op string, undo *undoList) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var undoErr error
	for i := range slices.Backward(*undo) {
		undoErr = errors.Join(undoErr, (*undo)[i](ctx))
	}
	if undoErr != nil {
		// Left-over hints point at nothing; readers skip them.
		slog.Warn("redis: could not take back the index entries of a refused write", "op", op, "err", undoErr)
	}
}

// hint is one index entry of step 1, with the call that takes it back.
// Its script answers "" when it was written, or the ID already in use.
type hint struct {
	what     string // the kind of ID, for the conflict error
	do, undo call
}

// attentionHints list items in the attention queue's indexes.
func (s *Store) attentionHints(pid string, items []store.AttentionItem) []hint {
	if len(items) == 0 {
		return nil
	}
	ix := s.k.attentionIndex()
	args := []any{pid}
	drop := []any{pid}
	for _, a := range items {
		open := "0"
		if a.Open() {
			open = "1"
		}
		args = append(args, a.ID, timeKey(a.CreatedAt), open, string(a.Kind))
		drop = append(drop, a.ID, timeKey(a.CreatedAt), string(a.Kind))
	}
	return []hint{{what: "attention item",
		do:   call{sc: luaAttentionHint, keys: ix.keys(), args: args},
		undo: call{sc: luaHintDrop, keys: ix.keys(), args: drop}}}
}

// auditHints list a turn's audit entries in the audit log's indexes; the
// entries themselves are written with the turn.
func (s *Store) auditHints(pid string, entries []store.AuditEntry) []hint {
	if len(entries) == 0 {
		return nil
	}
	ix := s.k.auditIndex()
	args := []any{pid}
	drop := []any{pid}
	for _, e := range entries {
		names := "0"
		if e.ParticipantID == pid {
			names = "1"
		}
		args = append(args, e.ID, timeKey(e.At), names, "")
		drop = append(drop, e.ID, timeKey(e.At))
	}
	return []hint{{what: "audit entry",
		do:   call{sc: luaAuditAdd, keys: []string{ix.rec, ix.where, ix.all, s.k.auditOf(pid)}, args: args},
		undo: call{sc: luaHintDrop, keys: []string{ix.where, ix.all, s.k.auditOf(pid)}, args: drop}}}
}

// outboxHints make messages findable in their outbox shards and queue the
// Pending ones: one hint per shard.
func (s *Store) outboxHints(pid string, msgs []store.OutboundMessage) []hint {
	byShard := map[int][]messageHint{}
	var shards []int
	for _, h := range messageHints(msgs) {
		if byShard[h.shard] == nil {
			shards = append(shards, h.shard)
		}
		byShard[h.shard] = append(byShard[h.shard], h)
	}
	var hints []hint
	for _, n := range shards {
		sh := s.k.outShard(n)
		args := []any{pid}
		drop := []any{pid}
		for _, h := range byShard[n] {
			args = append(args, h.id, h.timeKey)
			drop = append(drop, h.id)
		}
		hints = append(hints, hint{what: "message",
			do:   call{sc: luaOutboxHint, keys: []string{sh.where, sh.ready, sh.pos}, args: args},
			undo: call{sc: luaOutboxDrop, keys: sh.keys(), args: drop}})
	}
	return hints
}
