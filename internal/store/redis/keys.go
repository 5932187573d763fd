package redis

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Key layout. Every key starts with the configured prefix, which may not
// contain a brace, so that the hash tag of a key is always the one written
// here.
//
// Redis Cluster runs a script or a MULTI only when all its keys hash to one
// slot. The layout follows from that:
//
//   - Everything one turn writes lives in the participant's slot, tagged
//     {p:<participantID>}: the record, session, check-ins, attention items,
//     turn audit entries, outbound messages and the turn dedupe markers.
//     ApplyTurn writes all of it in one script (turn.lua), so a crash never
//     leaves a check-in without its reply or the reverse.
//
//   - Things found by their own ID alone (a link by its blind index, an
//     appointment, an enrolment code, a dedupe key, a lease, a rate budget,
//     a counter) are one key each and need no other key to change
//     atomically.
//
//   - A person's record, their hints (below) and their due items are one
//     hash in their slot, the person hash: a few hundred bytes less than a
//     key each. Each item keeps its claim state, so that an item is leased
//     to exactly one owner however many processes claim at once. Who has work is found through due shards,
//     tagged {d<n>} by a hash of the participant ID: one entry a person,
//     at or before their earliest item no claim holds, and one a held
//     item, at its lease's end (due.go says how claims keep them so).
//
//   - The outbox's queue is sharded by a hash of the message ID into
//     shardCount slots, tagged {o<n>}. Each shard holds its messages'
//     claim state together (ready index, position, owner), so that a claim
//     is one script on one shard. A claim moves the message's entry to the
//     time its lease ends, so if the owner dies it becomes claimable again
//     then, and is taken over. A claimer peeks at every shard, merges by
//     time and claims from the shards holding the earliest entries, so
//     claims come earliest first. Shards spread a large backlog over the
//     nodes of a cluster; the count is fixed because it decides where an
//     ID lives.
//
//   - Global lists that point into participant slots (the participant list,
//     the attention queue, the audit log, the outbox shards' message
//     locations) cannot change in the same step as the participant slot.
//     They are hints, written before the record they point at and removed
//     after it is gone; every reader checks the record and skips a hint
//     whose record is missing. A crash between the two steps therefore
//     leaves at worst a hint to nothing, never a record nobody can find: a
//     queued message is never lost, and an orphaned outbox hint is dropped
//     by a claimer once it has pointed at nothing for orphanGrace. On a
//     single Redis a turn's script writes its messages' outbox hints with
//     their records, since one script may touch every key there.
//
//   - The reverse pointers from a participant to things kept by their own
//     ID (links, appointments) are hints in the hash that holds the
//     participant's record, kept the same way: added before the record is
//     written, removed after it is gone or moved, and checked against the
//     record on read.
//
// Time-ordered indexes are sorted sets whose members all have score 0 and
// read "<timeKey>|<id>" (a check-in's member carries the whole check-in,
// see checkInMember): ordered lexicographically, exact to the nanosecond (a
// float score would round a 2026 instant to a quarter of a microsecond),
// and ranged with ZRANGEBYLEX.

// shardCount is the number of due and outbox shards. Changing it moves IDs
// to other shards, so it is a constant of the data format.
const shardCount = 16

// keys builds every key name from one prefix.
type keys struct{ prefix string }

func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % shardCount)
}

func (k keys) p(pid, name string) string { return k.prefix + "{p:" + pid + "}:" + name }

// Participant slot: {p:<pid>}.

func (k keys) person(pid string) string     { return k.p(pid, "person") }    // hash: recordField → Participant JSON without its ID (internal/store/compact); "l:<link index>", "a:<appointment ID>" → "" (hints, hints.go); itemField → a due item's claim state and record (due.go)
func (k keys) session(pid string) string    { return k.p(pid, "session") }   // string: Session JSON without its participant (internal/store/compact), PEXPIREAT ExpiresAt
func (k keys) checkIns(pid string) string   { return k.p(pid, "checkins") }  // zset (lex): whole check-ins, see checkInMember
func (k keys) attention(pid string) string  { return k.p(pid, "attention") } // hash: item ID → AttentionItem JSON
func (k keys) turnAudit(pid string) string  { return k.p(pid, "audit") }     // hash: entry ID → auditRecord JSON (written by turns, records.go)
func (k keys) outbox(pid string) string     { return k.p(pid, "outbox") }    // hash: message ID → OutboundMessage JSON
func (k keys) turnDedupe(pid string) string { return k.p(pid, "dedupe") }    // zset: dedupe key, score = expiry (Unix ms)
func (k keys) windows(pid string) string    { return k.p(pid, "windows") }   // zset (lex): whole windows, see windowMember
func (k keys) sendOrder(pid string) string  { return k.p(pid, "sendorder") } // zset: IDs of Pending messages, score = order made (outbox_gate.lua)
func (k keys) sendGate(pid string) string   { return k.p(pid, "sendgate") }  // hash: message ID → "h|<lease end time key>|<owner>" (held) or "p" (parked)
func (k keys) codesOf(pid string) string    { return k.p(pid, "codes") }     // set (hint): enrolment codes, PEXPIREAT the latest code's expiry

// participantSlot lists every key of a participant's slot, for erasure.
func (k keys) participantSlot(pid string) []string {
	return []string{
		k.person(pid), k.session(pid), k.checkIns(pid),
		k.attention(pid), k.turnAudit(pid), k.outbox(pid), k.turnDedupe(pid), k.windows(pid),
		k.sendOrder(pid), k.sendGate(pid),
		k.codesOf(pid),
		// Left only by a migration cut short (migrate.go, migrate_people.go).
		k.legacyDueOf(pid), k.legacyLinksOf(pid), k.legacyAppointmentsOf(pid),
		k.legacyParticipant(pid), k.legacyRefs(pid), k.legacyDueItems(pid),
	}
}

// One key per thing, found by its own ID.

func (k keys) participants() string          { return k.prefix + "participants" }      // zset (lex, hint): participant IDs
func (k keys) link(index string) string      { return k.prefix + "link:" + index }     // string: Link JSON without its index (internal/store/compact)
func (k keys) appointment(id string) string  { return k.prefix + "appointment:" + id } // string: Appointment JSON without its ID (internal/store/compact)
func (k keys) enrolmentCode(c string) string { return k.prefix + "code:" + c }         // string: EnrolmentCode JSON, PEXPIREAT ExpiresAt
func (k keys) dedupe(key string) string      { return k.prefix + "dedupe:" + key }     // string: "1", PEXPIREAT the key's expiry
func (k keys) lease(name string) string      { return k.prefix + "lease:" + name }     // string: owner, PX ttl
func (k keys) rate(key string) string        { return k.prefix + "rate:" + key }       // string: next free moment "sec:nsec", PX until it has passed
func (k keys) counter(key string) string     { return k.prefix + "counter:" + key }    // string: integer, PEXPIREAT the window's end

// Due shard {d<n>}, by participant ID.

// dueIndex is a due shard's index of people: zset, score = Unix ms, of
// each person at or before their earliest item no claim holds, of each
// held item at its lease's end, and of the guards of claims in flight
// (due.go).
func (k keys) dueIndex(n int) string { return fmt.Sprintf("%sdue:{d%d}:people", k.prefix, n) }

// Outbox shard {o<n>}.

type outShard struct{ where, ready, pos, owner, orphan string }

func (k keys) outShard(n int) outShard {
	b := fmt.Sprintf("%soutbox:{o%d}:", k.prefix, n)
	return outShard{
		where:  b + "where",  // hash (hint): message ID → participant ID
		ready:  b + "ready",  // zset (lex): timeKey(claimable at)|ID, Pending messages only
		pos:    b + "pos",    // hash: message ID → its timeKey in ready
		owner:  b + "owner",  // hash: message ID → owner of the current claim
		orphan: b + "orphan", // hash: message ID → timeKey when a claimer first found no record
	}
}

func (o outShard) keys() []string { return []string{o.where, o.ready, o.pos, o.owner, o.orphan} }

// Attention queue, one slot {attention}.

type attentionIndex struct{ where, all, open, people, tally, built string }

func (k keys) attentionIndex() attentionIndex {
	b := k.prefix + "attention:{attention}:"
	return attentionIndex{
		where: b + "where", // hash (hint): item ID → participant ID
		all:   b + "all",   // zset (lex, hint): timeKey(CreatedAt)|ID
		open:  b + "open",  // zset (lex, hint): timeKey(CreatedAt)|ID of open items
		// Who has open items, counted as the open index changes
		// (lua/lib/tally.lua).
		people: b + "people",      // hash: kind|participant ID → their open items of it ("" kind: of any)
		tally:  b + "tally",       // hash: kind → people with an open item of it ("": of any)
		built:  b + "tally-built", // string: the tally's version, once built from the records
	}
}

// keys are the keys a script that lists or drops items changes.
func (a attentionIndex) keys() []string {
	return []string{a.where, a.all, a.open, a.people, a.tally}
}

// Caseloads, one slot {caseload}: hint sets of participant IDs by
// caseworker, read by ParticipantsOf (which checks each record) and
// counted by Caseloads.

type caseloadKeys struct{ prefix string }

func (k keys) caseloads() caseloadKeys { return caseloadKeys{k.prefix + "caseload:{caseload}:"} }

func (c caseloadKeys) of(cw string) string       { return c.prefix + "by:" + cw }       // zset (lex, hint): participant IDs
func (c caseloadKeys) children(cw string) string { return c.prefix + "children:" + cw } // zset (lex, hint): the children among them
func (c caseloadKeys) ids() string               { return c.prefix + "ids" }            // set: caseworker IDs that have had a caseload
func (c caseloadKeys) built() string             { return c.prefix + "built" }          // string: the index version, once built from the records

// Audit log, one slot {audit}.

type auditIndex struct{ rec, where, all string }

func (k keys) auditIndex() auditIndex {
	b := k.prefix + "audit:{audit}:"
	return auditIndex{
		rec:   b + "rec",   // hash: entry ID → auditRecord JSON (appended alone, or kept after erasure)
		where: b + "where", // hash (hint): entry ID → participant slot holding it (written by a turn)
		all:   b + "all",   // zset (lex): timeKey(At)|ID
	}
}

// auditOf is the per-participant audit index; it stays after erasure.
func (k keys) auditOf(pid string) string { return k.prefix + "audit:{audit}:by:" + pid } // zset (lex): timeKey(At)|ID

// Caseworker accounts, one slot {accounts}: few records, and creating an
// account or a session must check and write more than one key atomically.
// Tokens are named by their hash; the tokens themselves are never stored.

type accountKeys struct{ prefix string }

func (k keys) accounts() accountKeys { return accountKeys{k.prefix + "accounts:{accounts}:"} }

func (a accountKeys) records() string                     { return a.prefix + "rec" }                   // hash: account ID → Account JSON
func (a accountKeys) byName() string                      { return a.prefix + "name" }                  // hash: username → account ID
func (a accountKeys) session(hash string) string          { return a.prefix + "session:" + hash }       // string: WebSession JSON, PEXPIREAT ExpiresAt
func (a accountKeys) sessionsOf(accountID string) string  { return a.prefix + "sessions:" + accountID } // zset (hint): token hashes, score 0
func (a accountKeys) apiToken(hash string) string         { return a.prefix + "token:" + hash }         // string: APIToken JSON
func (a accountKeys) apiTokensOf(accountID string) string { return a.prefix + "tokens:" + accountID }   // zset (lex, hint): timeKey(CreatedAt)|hash
func (a accountKeys) setup() string                       { return a.prefix + "setup" }                 // string: the token's hash, PEXPIREAT its expiry

// childrenOf lists the children a caseworker was given, each claimed (by
// its score, Redis time in Unix ms) before the child's record names them,
// so that their training cannot be taken away in between: a participant
// record lives in another slot (guarded.go).
func (a accountKeys) childrenOf(accountID string) string { return a.prefix + "children:" + accountID } // zset: participant IDs, score = claimed at (Unix ms)

// keyCheck is the key check value (store.KeyChecks).
func (k keys) keyCheck() string { return k.prefix + "keycheck" } // string: sealed bytes

// The programme's versions and draft, one slot {programme}: a publish
// checks the live number and writes the version in one script.

type programmeKeys struct{ prefix string }

func (k keys) programme() programmeKeys { return programmeKeys{k.prefix + "programme:{programme}:"} }

func (p programmeKeys) current() string       { return p.prefix + "current" }        // string: the live version's number
func (p programmeKeys) versions() string      { return p.prefix + "versions" }       // hash: number → ProgrammeVersion JSON with files
func (p programmeKeys) headers() string       { return p.prefix + "headers" }        // hash: number → ProgrammeVersion JSON without files
func (p programmeKeys) draft() string         { return p.prefix + "draft" }          // string: ProgrammeDraft JSON
func (p programmeKeys) draftRevision() string { return p.prefix + "draft_revision" } // string: the draft's Revision

// timeKey encodes t as 21 digits that sort as the instants do
// (store.TimeKey).
func timeKey(t time.Time) string { return store.TimeKey(t) }

const timeKeyLen = store.TimeKeyLen

// parseTimeKey reads the instant at the start of s, in UTC.
func parseTimeKey(s string) (time.Time, bool) { return store.ParseTimeKey(s) }

// member is a time index entry.
func member(t time.Time, id string) string { return timeKey(t) + "|" + id }

// memberID returns the ID part of a time index entry.
func memberID(m string) string {
	if len(m) <= timeKeyLen+1 {
		return ""
	}
	return m[timeKeyLen+1:]
}

// validPrefix reports whether p can prefix keys without changing any
// key's hash slot.
func validPrefix(p string) bool { return !strings.ContainsAny(p, "{}") }
