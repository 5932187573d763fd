package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Windows: keyed participant, ref, each in the short form both backends
// keep (store.EncodeWindow), which reads several times faster than JSON:
// a year's report reads every window of the programme. A person has a
// few hundred at most, so WindowsOf reads them all and sorts.

func (t *txn) putWindow(w store.Window) error {
	return t.Bucket(bWindows).Put(key(idPrefix(w.ParticipantID), []byte(w.Ref)), []byte(store.EncodeWindow(w)))
}

func decodeWindow(pid string, v []byte) (store.Window, error) {
	w, err := store.DecodeWindow(pid, string(v))
	if err != nil {
		return w, fmt.Errorf("window of %s: %w", pid, err)
	}
	return w, nil
}

func (s *Store) WindowsOf(_ context.Context, participantID string, since time.Time) ([]store.Window, error) {
	var out []store.Window
	err := s.view("windows of "+participantID, func(t *txn) (err error) {
		out, err = t.windowsOf(participantID, since)
		return err
	})
	return out, err
}

func (t *txn) windowsOf(participantID string, since time.Time) ([]store.Window, error) {
	var out []store.Window
	pfx := idPrefix(participantID)
	c := t.Bucket(bWindows).Cursor()
	for k, v := c.Seek(pfx); k != nil && bytes.HasPrefix(k, pfx); k, v = c.Next() {
		// The short form starts with the opening: windows before since
		// are passed over without being decoded.
		if opens, ok := store.ParseTimeKey(string(v)); ok && opens.Before(since) {
			continue
		}
		w, err := decodeWindow(participantID, v)
		if err != nil {
			return nil, err
		}
		if !w.OpensAt.Before(since) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b store.Window) int {
		return cmp.Or(a.OpensAt.Compare(b.OpensAt), cmp.Compare(a.Ref, b.Ref))
	})
	return out, nil
}

func (s *Store) GetWindow(_ context.Context, participantID, ref string) (store.Window, error) {
	var w store.Window
	err := s.view("window "+ref, func(t *txn) error {
		v := t.Bucket(bWindows).Get(key(idPrefix(participantID), []byte(ref)))
		if v == nil {
			return fmt.Errorf("window %s: %w", ref, store.ErrNotFound)
		}
		var err error
		w, err = decodeWindow(participantID, v)
		return err
	})
	return w, err
}

// PurgeWindows deletes windows that closed before before, in one pass
// over the bucket, as PurgeCheckIns does.
func (s *Store) PurgeWindows(_ context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update("purge windows", func(t *txn) error {
		var err error
		n, err = deleteWhere(t.Bucket(bWindows), func(k, v []byte) (bool, error) {
			w, err := decodeWindow(keyParticipant(k), v)
			if err != nil {
				return false, err
			}
			return w.ClosesAt.Before(before), nil
		})
		return err
	})
	return n, err
}

// AttentionOf reads the participant's items through the by-participant
// index.
func (s *Store) AttentionOf(_ context.Context, participantID string) ([]store.AttentionItem, error) {
	var out []store.AttentionItem
	err := s.view("attention of "+participantID, func(t *txn) (err error) {
		out, err = t.attentionOf(participantID)
		return err
	})
	return out, err
}

func (t *txn) attentionOf(participantID string) ([]store.AttentionItem, error) {
	out, err := recordsOf[store.AttentionItem](t, bAttentionByP, bAttention, participantID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.AttentionItem) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// resolveInTurn saves a resolved item over the stored one, if it is still
// stored.
func (t *txn) resolveInTurn(a store.AttentionItem) error {
	b := t.Bucket(bAttention)
	var old store.AttentionItem
	if ok, err := getJSON(b, []byte(a.ID), &old); err != nil || !ok {
		return err
	}
	if err := t.indexOpen(&old, &a); err != nil {
		return err
	}
	return putJSON(b, []byte(a.ID), a)
}

// keyParticipant reads the participant ID at the start of a per-participant
// key (idPrefix), or "" when the key is not of that shape.
func keyParticipant(k []byte) string {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return ""
	}
	return string(k[w : w+int(n)])
}

// HistoryOf reads every part in one transaction, as the scheduler's batch
// reads it beside a person's turn (LoadTurns).
func (s *Store) HistoryOf(_ context.Context, pid string, since time.Time) (store.History, error) {
	var h store.History
	err := s.view("history of "+pid, func(t *txn) (err error) {
		h, err = t.historyOf(pid, since)
		return err
	})
	return h, err
}

func (t *txn) historyOf(pid string, since time.Time) (store.History, error) {
	var h store.History
	var err error
	if h.Windows, err = t.windowsOf(pid, since); err != nil {
		return h, err
	}
	if h.CheckIns, err = t.checkInsOf(pid, since); err != nil {
		return h, err
	}
	if h.Messages, err = t.outboundOf(pid); err != nil {
		return h, err
	}
	if h.Attention, err = t.attentionOf(pid); err != nil {
		return h, err
	}
	h.Appointments, err = t.appointmentsOf(pid)
	return h, err
}
