package bolt

import (
	"context"
	"fmt"

	"github.com/waymark-atd/waymark/internal/store"
)

// bMeta holds the few values that describe the data file as a whole.
var bMeta = []byte("meta") // name → value

// keyCheckName is the key check value's name in bMeta.
var keyCheckName = []byte("key_check")

func init() { allBuckets = append(allBuckets, bMeta) }

// MarkUnreachable marks the link and records what caseworkers see of it
// in one transaction.
func (s *Store) MarkUnreachable(_ context.Context, u store.Unreachable) (bool, error) {
	if err := store.CheckUnreachable(u); err != nil {
		return false, fmt.Errorf("bolt: mark unreachable: %w", err)
	}
	var marked bool
	err := s.batch("mark link of "+u.ParticipantID+" unreachable", func(t *txn) error {
		marked = false
		var l store.Link
		ok, err := getJSON(t.Bucket(bLinks), []byte(u.Index), &l)
		if err != nil || !ok || l.ParticipantID != u.ParticipantID || l.Unreachable {
			return err
		}
		l.Unreachable, l.Reason = true, u.Reason
		if err := putJSON(t.Bucket(bLinks), []byte(u.Index), l); err != nil {
			return err
		}
		if err := t.addAttention(u.Attention); err != nil {
			return err
		}
		if err := t.appendAudit(u.Audit); err != nil {
			return err
		}
		marked = true
		return nil
	})
	return marked, err
}

// checkChildProtection refuses saving p over old (nil when new) when it
// assigns a child to a caseworker whose account is untrained.
func (t *txn) checkChildProtection(old *store.Participant, p store.Participant) error {
	if !store.NeedsTrainedCaseworker(old, p) {
		return nil
	}
	var a store.Account
	ok, err := getJSON(t.Bucket(bAccounts), []byte(p.CaseworkerID), &a)
	if err != nil {
		return err
	}
	if ok && !a.ChildProtectionTrained {
		return store.ErrChildProtection
	}
	return nil
}

// checkNoChildrenOf refuses taking the training of accountID away while a
// child is in their caseload. It reads every participant: training is
// taken away rarely, and a caseload index would be one more thing to keep
// true.
func (t *txn) checkNoChildrenOf(accountID string) error {
	return t.Bucket(bParticipants).ForEach(func(k, raw []byte) error {
		var p store.Participant
		if err := decodeAt(k, raw, &p); err != nil {
			return err
		}
		if p.Child && p.CaseworkerID == accountID {
			return store.ErrChildProtection
		}
		return nil
	})
}

func (s *Store) KeyCheck(_ context.Context) ([]byte, error) {
	var v []byte
	err := s.view("read key check", func(t *txn) error {
		raw := t.Bucket(bMeta).Get(keyCheckName)
		if raw == nil {
			return store.ErrNotFound
		}
		v = append([]byte(nil), raw...)
		return nil
	})
	return v, err
}

func (s *Store) PutKeyCheck(_ context.Context, v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("bolt: put key check: key check value: %w", store.ErrEmpty)
	}
	return s.update("put key check", func(t *txn) error {
		return t.Bucket(bMeta).Put(keyCheckName, v)
	})
}
