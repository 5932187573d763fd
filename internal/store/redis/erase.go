package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// DeleteParticipant erases a participant and everything keyed by them:
// links, session, check-ins, attention items, outbound messages whatever
// their status, appointments, due items, enrolment codes and their audit
// entries; the caller then records only that the erasure happened.
//
// It cannot be one step on a cluster, so it goes in an order that can be
// run again: first everything outside the participant's slot (the entries
// that point into it, and the records kept under their own IDs), read from
// the lists in the slot; then the slot itself, in one DEL; then the
// participant list's hint. An erasure cut short leaves the slot and its
// lists, and running it again finishes the job.
func (s *Store) DeleteParticipant(ctx context.Context, id string) error {
	if err := store.Need("participant ID", id); err != nil {
		return fmt.Errorf("redis: delete participant: %w", err)
	}
	op := "delete participant " + id
	k := s.k
	var (
		record                   *goredis.StringCmd
		outbox, attention, audit *goredis.MapStringStringCmd
		refs, codes              *goredis.StringSliceCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		outbox = p.HGetAll(ctx, k.outbox(id))
		attention = p.HGetAll(ctx, k.attention(id))
		audit = p.HGetAll(ctx, k.turnAudit(id))
		refs = p.HKeys(ctx, k.person(id))
		codes = p.SMembers(ctx, k.codesOf(id))
		record = p.HGet(ctx, k.person(id), recordField) // last: a missing one is no error
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return s.fail(op, err)
	}

	// Their audit entries go too: the caller records the erasure itself.
	// Entries their turns wrote that name no one are kept, moved to the
	// audit log's own slot.
	if err := s.eraseAudit(ctx, id); err != nil {
		return s.fail(op, err)
	}
	if entries := audit.Val(); len(entries) > 0 {
		ix := k.auditIndex()
		args := []any{id}
		for eid, doc := range entries {
			e, err := decodeAudit(eid, id, doc)
			if err != nil {
				return fmt.Errorf("redis: %s: audit entry %s: %w", op, eid, err)
			}
			if e.ParticipantID == "" {
				// Rewritten for the log's record hash, where no
				// participant's slot says whom it names.
				rec, err := encodeAudit("", e)
				if err != nil {
					return fmt.Errorf("redis: %s: audit entry %s: %w", op, eid, err)
				}
				args = append(args, eid, rec)
			}
		}
		if len(args) > 1 {
			if err := s.run(ctx, luaAuditArchive, []string{ix.rec, ix.where}, args...).Err(); err != nil {
				return s.fail(op, err)
			}
		}
	}

	byShard := map[int][]any{}
	for mid := range outbox.Val() {
		byShard[shardOf(mid)] = append(byShard[shardOf(mid)], mid)
	}
	for n, ids := range byShard {
		if err := s.run(ctx, luaOutboxDrop, k.outShard(n).keys(), append([]any{id}, ids...)...).Err(); err != nil {
			return s.fail(op, err)
		}
	}

	if items := attention.Val(); len(items) > 0 {
		args := []any{id}
		for aid, doc := range items {
			var a store.AttentionItem
			if err := json.Unmarshal([]byte(doc), &a); err != nil {
				return fmt.Errorf("redis: %s: attention item %s: %w", op, aid, err)
			}
			args = append(args, aid, timeKey(a.CreatedAt), string(a.Kind))
		}
		if err := s.run(ctx, luaHintDrop, k.attentionIndex().keys(), args...).Err(); err != nil {
			return s.fail(op, err)
		}
	}

	for _, ix := range refsOf(refs.Val(), refLink) {
		if err := s.run(ctx, luaDeleteOwned, []string{k.link(ix)}, id).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	for _, aid := range refsOf(refs.Val(), refAppointment) {
		if err := s.run(ctx, luaDeleteOwned, []string{k.appointment(aid)}, id).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	for _, c := range codes.Val() {
		if err := s.run(ctx, luaDeleteOwned, []string{k.enrolmentCode(c)}, id).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	if err := s.rdb.Del(ctx, k.participantSlot(id)...).Err(); err != nil {
		return s.fail(op, err)
	}
	if err := s.rdb.ZRem(ctx, k.participants(), id).Err(); err != nil {
		return s.fail(op, err)
	}
	// Their due items went with the slot; a guard of a claim in flight
	// finds nothing when it falls due, and goes then.
	if err := s.rdb.ZRem(ctx, k.dueIndex(shardOf(id)), personEntry(id)).Err(); err != nil {
		return s.fail(op, err)
	}
	// A child's claim on their caseworker goes with them: with the record
	// gone, no write that needed the claim can land any more.
	var p store.Participant
	if doc, err := record.Result(); err == nil {
		p, _ = compact.DecodeParticipant(id, []byte(doc)) // unreadable: no child claim or caseload entry to drop
	}
	if p.Child && p.CaseworkerID != "" {
		if err := s.rdb.ZRem(ctx, k.accounts().childrenOf(p.CaseworkerID), id).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	if p.ID != "" {
		// Out of the caseload last, as every hint goes after its record.
		if err := s.dropFromCaseload(ctx, id, p.CaseworkerID); err != nil {
			return s.fail(op, err)
		}
	}
	return nil
}
