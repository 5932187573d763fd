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

// MarkUnreachable marks a link unreachable together with the caseworker's
// item and the audit entry. The hints that make the item and the entry
// findable are written first, as for a turn, and taken back when nothing
// is marked. On a single Redis the rest is one script
// (link_unreachable.lua). On a cluster the link lives in another slot than
// the participant's records, so the records land first and the link after
// them: a failure in between leaves the item without its mark (the next
// refusal may raise a second one), never the mark without its item.
func (s *Store) MarkUnreachable(ctx context.Context, u store.Unreachable) (bool, error) {
	if err := store.CheckUnreachable(u); err != nil {
		return false, fmt.Errorf("redis: mark unreachable: %w", err)
	}
	pid := u.ParticipantID
	op := "mark link of " + pid + " unreachable"
	item, err := json.Marshal(u.Attention)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	entry, err := encodeAudit(pid, u.Audit)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	var undo undoList
	hints := append(s.attentionHints(pid, []store.AttentionItem{u.Attention}), s.auditHints(pid, []store.AuditEntry{u.Audit})...)
	if _, err := s.writeHintsWith(ctx, nil, hints, &undo); err != nil {
		return false, s.refused(ctx, op, err, &undo)
	}
	args := []any{pid, u.Reason, u.Attention.ID, item, u.Audit.ID, entry}
	if !s.isCluster() {
		keys := []string{s.k.link(u.Index), s.k.attention(pid), s.k.turnAudit(pid)}
		n, err := s.run(ctx, luaLinkUnreachable, keys, args...).Int()
		switch {
		case err != nil:
			return false, s.fail(op, err) // it may have landed: the hints stay
		case n < 0:
			return false, s.refused(ctx, op, fmt.Errorf("attention item or audit entry: %w", store.ErrConflict), &undo)
		case n == 0:
			s.takeBack(ctx, op, &undo)
			return false, nil
		}
		return true, nil
	}

	w := slotWrite{pid: pid, attention: []any{u.Attention.ID, item}, audit: []any{u.Audit.ID, entry}}
	if err := s.writeSlot(ctx, w); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, s.refused(ctx, op, err, &undo)
		}
		return false, s.fail(op, err)
	}
	n, err := s.run(ctx, luaLinkUnreachable, []string{s.k.link(u.Index)}, args...).Int()
	if err != nil {
		return false, s.fail(op, err) // the item stands: caseworkers see it
	}
	if n == 1 {
		return true, nil
	}
	// The link was marked by someone else meanwhile, or is gone: its item
	// is theirs, so this one is taken back.
	cmds, _ := s.pipeline(ctx, []call{
		{args: []any{"hdel", s.k.attention(pid), u.Attention.ID}},
		{args: []any{"hdel", s.k.turnAudit(pid), u.Audit.ID}},
	})
	for _, c := range cmds {
		if c.Err() != nil {
			slog.Warn("redis: a can't-reach item raised twice could not be taken back", "participant", pid, "err", c.Err())
			return false, nil
		}
	}
	s.takeBack(ctx, op, &undo)
	return false, nil
}

// guardChild runs childGuard for a write of p: its undo joins undo, and
// the returned function is to run once the write has landed. Its error is
// wrapped for op.
func (s *Store) guardChild(ctx context.Context, op, mode string, p store.Participant, undo *undoList) (func(context.Context), error) {
	g, err := s.childGuard(ctx, mode, p)
	switch {
	case errors.Is(err, store.ErrChildProtection):
		return nil, fmt.Errorf("redis: %s: %w", op, err)
	case err != nil:
		return nil, s.fail(op, err)
	}
	if g.undo != nil {
		undo.add(func(ctx context.Context) error { g.undo(ctx); return nil })
	}
	if g.landed == nil {
		return func(context.Context) {}, nil
	}
	return g.landed, nil
}

// childWrite is what a write of a participant does about child claims
// besides the write: undo takes back a claim it made, if the write is
// refused; landed takes back the claim of the caseworker a child leaves,
// once the write has landed. Either may be nil.
type childWrite struct{ undo, landed func(context.Context) }

// childGuard claims p's caseworker for p when saving p assigns a child to
// them (store.NeedsTrainedCaseworker), refusing with ErrChildProtection
// when their account is untrained. The record is read first to tell an
// assignment from a record that keeps it, and to see which caseworker a
// child leaves; mode is "create", "update" or "turn" (which may create,
// and reads the record only when p is a child with a caseworker, since
// turns do not move children: a claim a turn leaves behind is settled
// later by settleChildClaims).
func (s *Store) childGuard(ctx context.Context, mode string, p store.Participant) (childWrite, error) {
	var g childWrite
	assigns := p.Child && p.CaseworkerID != ""
	if mode == "create" && !assigns || mode == "turn" && !assigns {
		return g, nil
	}
	var old *store.Participant
	if mode != "create" {
		cur, err := s.participantRecord(ctx, p.ID)
		switch {
		case errors.Is(err, goredis.Nil):
			if mode == "update" {
				return g, nil // the write finds it gone
			}
		case err != nil:
			return g, err
		case cur.Revision != p.Revision:
			return g, nil // the write is refused as stale
		default:
			old = &cur
		}
	}
	ak := s.k.accounts()
	if old != nil && old.Child && old.CaseworkerID != "" && (!p.Child || p.CaseworkerID != old.CaseworkerID) {
		left := ak.childrenOf(old.CaseworkerID)
		score, err := s.rdb.ZScore(ctx, left, p.ID).Result()
		if err == nil {
			g.landed = s.releaser(left, p.ID, int64(score))
		}
	}
	if !store.NeedsTrainedCaseworker(old, p) {
		return g, nil
	}
	claims := ak.childrenOf(p.CaseworkerID)
	res, err := s.run(ctx, luaChildClaim, []string{ak.records(), claims}, p.CaseworkerID, p.ID).Int64Slice()
	switch {
	case err != nil:
		return g, err
	case len(res) != 2:
		return g, fmt.Errorf("unexpected answer from child_claim.lua: %v", res)
	case res[0] < 0:
		return g, store.ErrChildProtection
	case res[0] == 1:
		g.undo = s.releaser(claims, p.ID, res[1])
	}
	// Otherwise claimed before, and kept whatever this write does; or no
	// such account, and nothing to claim.
	return g, nil
}

// releaser takes back the claim of pid in claims if it still has the
// score seen (child_release.lua).
func (s *Store) releaser(claims, pid string, score int64) func(context.Context) {
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.run(ctx, luaChildRelease, []string{claims}, pid, score).Err(); err != nil {
			// A claim left over only holds up taking the caseworker's
			// training away until settleChildClaims finds it stale.
			slog.Warn("redis: could not take back a child claim", "participant", pid, "err", err)
		}
	}
}

// claimGrace is how old a child claim must be before settleChildClaims
// may take it back for not being borne out by the child's record: far
// longer than a write takes between its claim and its record.
const claimGrace = 10 * time.Minute

// settleChildClaims makes the caseworker's child claims match the
// records before their training is taken away: every child whose record
// names them is claimed (records written before claims existed), and a
// claim older than claimGrace that no record bears out (the child moved
// on, or a write died between its claim and its record) is taken back.
// The update that takes the training away is then refused, in one step
// with the change, while any claim stands.
func (s *Store) settleChildClaims(ctx context.Context, accountID string) error {
	ak := s.k.accounts()
	acct, err := s.rdb.HGet(ctx, ak.records(), accountID).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil // account_put.lua finds it gone
	}
	if err != nil {
		return err
	}
	var before store.Account
	if err := json.Unmarshal(acct, &before); err != nil {
		return err
	}
	if !before.ChildProtectionTrained {
		return nil
	}
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return err
	}
	people, err := s.ListParticipants(ctx)
	if err != nil {
		return err
	}
	claims := ak.childrenOf(accountID)
	theirs := map[string]bool{}
	var add []goredis.Z
	for _, p := range people {
		if p.Child && p.CaseworkerID == accountID {
			theirs[p.ID] = true
			add = append(add, goredis.Z{Score: float64(now.UnixMilli()), Member: p.ID})
		}
	}
	if len(add) > 0 {
		if err := s.rdb.ZAddNX(ctx, claims, add...).Err(); err != nil {
			return err
		}
	}
	held, err := s.rdb.ZRangeWithScores(ctx, claims, 0, -1).Result()
	if err != nil {
		return err
	}
	var stale []any
	cutoff := float64(now.Add(-claimGrace).UnixMilli())
	for _, z := range held {
		pid, _ := z.Member.(string)
		if !theirs[pid] && z.Score < cutoff {
			stale = append(stale, pid, int64(z.Score))
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return s.run(ctx, luaChildRelease, []string{claims}, stale...).Err()
}

func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	v, err := s.rdb.Get(ctx, s.k.keyCheck()).Bytes()
	if err != nil {
		return nil, s.wrapGet("read key check", err)
	}
	return v, nil
}

func (s *Store) PutKeyCheck(ctx context.Context, v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("redis: put key check: key check value: %w", store.ErrEmpty)
	}
	if err := s.rdb.Set(ctx, s.k.keyCheck(), v, 0).Err(); err != nil {
		return s.fail("put key check", err)
	}
	return nil
}
