package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The writes in this file each check a rule and change what the rule is
// about in one step, so that two writers at once can never both pass a
// check that only one of them may pass, and a failure half-way leaves
// nothing half-done.

// ErrChildProtection refuses a write that would leave a child
// (Participant.Child) with a caseworker who is not trained in child
// protection (Account.ChildProtectionTrained): a child assigned to such a
// caseworker, a person assigned to one marked a child, or the training of
// a caseworker with children in their caseload taken away. The store
// checks it in the same step as the write, so a caseworker's training
// removed while a child is being assigned to them leaves exactly one of
// the two done.
var ErrChildProtection = errors.New("store: a child's case needs a caseworker trained in child protection")

// NeedsTrainedCaseworker reports whether saving p over the stored record
// old (nil when there is none) assigns a child to a caseworker: then the
// caseworker's account, if there is one, must be trained in child
// protection. A record that keeps its child and caseworker as they were
// is not checked again. A caseworker ID that names no account (deleted,
// say) is no caseworker: the person shows as having none, which callers
// that assign (internal/web) refuse on their own.
func NeedsTrainedCaseworker(old *Participant, p Participant) bool {
	if !p.Child || p.CaseworkerID == "" {
		return false
	}
	return old == nil || !old.Child || old.CaseworkerID != p.CaseworkerID
}

// LosesTraining reports whether saving a over old takes away the
// caseworker's child-protection training: then no child may be in their
// caseload.
func LosesTraining(old, a Account) bool {
	return old.ChildProtectionTrained && !a.ChildProtectionTrained
}

// Unreachable is a link found unreachable, with what caseworkers are to
// see of it: their "can't reach" item and the audit entry.
type Unreachable struct {
	Index         string // the link's blind index
	ParticipantID string
	Reason        string // saved as the link's Reason: a provider's error code, "blocked"
	Attention     AttentionItem
	Audit         AuditEntry
}

// CantReach is the Unreachable for link l refused with code (a provider's
// error code, "blocked") at now, as actor ("system", "participant") saw
// it: the item and the entry give the reason as "<channel>:<code>".
func CantReach(l Link, code, actor string, now time.Time) Unreachable {
	reason := string(l.Channel) + ":" + code
	pid := l.ParticipantID
	return Unreachable{
		Index: l.Index, ParticipantID: pid, Reason: code,
		Attention: AttentionItem{
			ID: NewID("n_"), ParticipantID: pid, Kind: AttentionCantReach,
			Reason: reason, CreatedAt: now,
		},
		Audit: AuditEntry{
			ID: NewID("au_"), At: now, Actor: actor, Action: "link_unreachable",
			ParticipantID: pid, Detail: reason,
		},
	}
}

// LinkMarks changes a link's state together with what it means to a
// caseworker.
type LinkMarks interface {
	// MarkUnreachable marks the link unreachable, saves its reason, adds
	// the attention item and appends the audit entry, all in one step, and
	// reports true. It reports false and writes nothing when the link is
	// gone, belongs to another participant, or is unreachable already:
	// the item raised then is the one caseworkers see.
	MarkUnreachable(ctx context.Context, u Unreachable) (bool, error)
}

// KeyChecks keeps the key check value: something sealed with the key the
// data is sealed with, written when the store is first used, so that a
// process started with another key can tell at once instead of failing on
// every link it opens (internal/seal).
type KeyChecks interface {
	// KeyCheck returns the stored value; ErrNotFound if none is stored.
	KeyCheck(ctx context.Context) ([]byte, error)
	// PutKeyCheck stores v in place of any value stored before.
	PutKeyCheck(ctx context.Context, v []byte) error
}

// CheckUnreachable refuses an Unreachable that lacks what it must have.
func CheckUnreachable(u Unreachable) error {
	if err := errors.Join(Need("link index", u.Index), Need("participant ID", u.ParticipantID)); err != nil {
		return err
	}
	if u.Attention.ParticipantID != u.ParticipantID || u.Audit.ParticipantID != u.ParticipantID {
		return fmt.Errorf("unreachable link of %s carries an item or an entry of another participant", u.ParticipantID)
	}
	return errors.Join(CheckAttention(u.Attention), CheckAudit(u.Audit))
}
