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
// application of the turn; and as the global key that Seen reads, written
// after the script. If the process dies between the two, a retry passes
// Seen but is refused by the marker with ErrConflict, and the global key is
// written then.
//
// A turn whose dedupe key is already recorded is refused with ErrConflict,
// and so is one whose attention, audit or message ID is in use; nothing of
// a refused turn lands. Two deliveries of one message race safely because
// both are the same participant's turns and meet at the marker; a key
// recorded by FirstSeen is checked before the turn starts, not atomically
// with it, since it has no participant slot to share.
func (s *Store) ApplyTurn(ctx context.Context, t store.Turn) error {
	if err := store.CheckTurn(t); err != nil {
		return fmt.Errorf("redis: apply turn: %w", err)
	}
	pid := t.ParticipantID
	w, err := s.slotWriteOf(t)
	if err != nil {
		return fmt.Errorf("redis: apply turn of %s: %w", pid, err)
	}
	if t.DedupeKey != "" {
		n, err := s.rdb.Exists(ctx, s.k.dedupe(t.DedupeKey)).Result()
		if err != nil {
			return s.fail("apply turn of "+pid, err)
		}
		if n > 0 {
			return fmt.Errorf("redis: apply turn of %s: dedupe key already recorded: %w", pid, store.ErrConflict)
		}
	}

	// Step 1: the hints.
	var undo undoList
	if t.Participant != nil {
		if err := s.rdb.ZAdd(ctx, s.k.participants(), goredis.Z{Member: pid}).Err(); err != nil {
			return s.fail("apply turn of "+pid, err)
		}
	}
	if err := s.hintAttention(ctx, pid, t.Attention, &undo); err != nil {
		return s.refused(ctx, "apply turn of "+pid, err, &undo)
	}
	if err := s.hintTurnAudit(ctx, pid, t.Audit, &undo); err != nil {
		return s.refused(ctx, "apply turn of "+pid, err, &undo)
	}
	if err := s.hintOutbound(ctx, pid, t.Outbound, &undo); err != nil {
		return s.refused(ctx, "apply turn of "+pid, err, &undo)
	}

	// Step 2: the records, all at once.
	err = s.writeSlot(ctx, w)
	if errors.Is(err, errDuplicateTurn) {
		s.recordDedupe(ctx, pid, t.DedupeKey, t.DedupeUntil)
		return s.refused(ctx, "apply turn of "+pid, fmt.Errorf("dedupe key already recorded: %w", store.ErrConflict), &undo)
	}
	if errors.Is(err, store.ErrConflict) {
		return s.refused(ctx, "apply turn of "+pid, err, &undo)
	}
	if err != nil {
		// The script may or may not have run: keep the hints, which are
		// harmless either way.
		return s.fail("apply turn of "+pid, err)
	}

	// Step 3: the dedupe key Seen reads.
	if t.DedupeKey != "" {
		s.recordDedupe(ctx, pid, t.DedupeKey, t.DedupeUntil)
	}
	return nil
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
	sessionMode string // "set", "end" or ""
	session     []byte
	sessionAt   int64
	dedupeKey   string
	dedupeAt    int64
	checkIns    []any // checkInMember
	attention   []any // ID, JSON
	audit       []any // ID, JSON
	outbound    []any // ID, JSON
}

func (s *Store) slotWriteOf(t store.Turn) (slotWrite, error) {
	w := slotWrite{pid: t.ParticipantID}
	var err error
	if t.Participant != nil {
		if w.participant, err = json.Marshal(t.Participant); err != nil {
			return w, err
		}
	}
	switch {
	case t.Session != nil && ms(t.Session.ExpiresAt) > 0:
		w.sessionMode, w.sessionAt = "set", ms(t.Session.ExpiresAt)
		if w.session, err = json.Marshal(t.Session); err != nil {
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
	return w, nil
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
		m.Text = ""
	}
	doc, err := json.Marshal(m)
	w.outbound = append(w.outbound, m.ID, doc)
	return err
}

// writeSlot runs turn.lua. It returns errDuplicateTurn when the dedupe
// marker is there, and an error matching ErrConflict when an ID is in use.
func (s *Store) writeSlot(ctx context.Context, w slotWrite) error {
	k := s.k
	keys := []string{
		k.participant(w.pid), k.session(w.pid), k.checkIns(w.pid),
		k.attention(w.pid), k.turnAudit(w.pid), k.outbox(w.pid), k.turnDedupe(w.pid),
	}
	args := make([]any, 0, 10+len(w.checkIns)+len(w.attention)+len(w.audit)+len(w.outbound))
	participant := ""
	if w.participant != nil {
		participant = string(w.participant)
	}
	args = append(args, participant, w.sessionMode, string(w.session), w.sessionAt, w.dedupeKey, w.dedupeAt)
	args = append(args, len(w.checkIns))
	args = append(args, w.checkIns...)
	args = append(args, len(w.attention)/2)
	args = append(args, w.attention...)
	args = append(args, len(w.audit)/2)
	args = append(args, w.audit...)
	args = append(args, len(w.outbound)/2)
	args = append(args, w.outbound...)
	res, err := s.run(ctx, luaTurn, keys, args...).StringSlice()
	if err != nil {
		return err
	}
	switch {
	case len(res) == 1 && res[0] == "ok":
		return nil
	case len(res) == 1 && res[0] == "dedupe":
		return errDuplicateTurn
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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var undoErr error
	for i := len(*undo) - 1; i >= 0; i-- {
		undoErr = errors.Join(undoErr, (*undo)[i](ctx))
	}
	if undoErr != nil {
		// Left-over hints point at nothing; readers skip them.
		slog.Warn("redis: could not take back the index entries of a refused write", "op", op, "err", undoErr)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrEmpty) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return s.fail(op, err)
}

// hintAttention lists items in the attention queue's indexes.
func (s *Store) hintAttention(ctx context.Context, pid string, items []store.AttentionItem, undo *undoList) error {
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
		args = append(args, a.ID, timeKey(a.CreatedAt), open)
		drop = append(drop, a.ID, timeKey(a.CreatedAt))
	}
	clash, err := s.run(ctx, luaAttentionHint, ix.keys(), args...).Text()
	if err != nil {
		return err
	}
	if clash != "" {
		return fmt.Errorf("attention item %s: %w", clash, store.ErrConflict)
	}
	undo.add(func(ctx context.Context) error {
		return s.run(ctx, luaAttentionDrop, ix.keys(), drop...).Err()
	})
	return nil
}

// hintTurnAudit lists a turn's audit entries in the audit log's indexes;
// the entries themselves are written with the turn.
func (s *Store) hintTurnAudit(ctx context.Context, pid string, entries []store.AuditEntry, undo *undoList) error {
	if len(entries) == 0 {
		return nil
	}
	ix := s.k.auditIndex()
	keys := []string{ix.rec, ix.where, ix.all, s.k.auditOf(pid)}
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
	clash, err := s.run(ctx, luaAuditAdd, keys, args...).Text()
	if err != nil {
		return err
	}
	if clash != "" {
		return fmt.Errorf("audit entry %s: %w", clash, store.ErrConflict)
	}
	undo.add(func(ctx context.Context) error {
		return s.run(ctx, luaAuditDrop, []string{ix.where, ix.all, s.k.auditOf(pid)}, drop...).Err()
	})
	return nil
}

// hintOutbound makes messages findable in their outbox shards and queues
// the Pending ones, shard by shard.
func (s *Store) hintOutbound(ctx context.Context, pid string, msgs []store.OutboundMessage, undo *undoList) error {
	byShard := map[int][]store.OutboundMessage{}
	for _, m := range msgs {
		byShard[shardOf(m.ID)] = append(byShard[shardOf(m.ID)], m)
	}
	for n, ms := range byShard {
		sh := s.k.outShard(n)
		args := []any{pid}
		drop := []any{pid}
		for _, m := range ms {
			tk := ""
			if m.Status == store.Pending {
				tk = timeKey(m.NotBefore)
			}
			args = append(args, m.ID, tk)
			drop = append(drop, m.ID)
		}
		clash, err := s.run(ctx, luaOutboxHint, []string{sh.where, sh.ready, sh.pos}, args...).Text()
		if err != nil {
			return err
		}
		if clash != "" {
			return fmt.Errorf("message %s: %w", clash, store.ErrConflict)
		}
		undo.add(func(ctx context.Context) error {
			return s.run(ctx, luaOutboxDrop, sh.keys(), drop...).Err()
		})
	}
	return nil
}
