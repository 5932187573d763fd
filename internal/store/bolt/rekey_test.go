package bolt

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestRekeysDueItemsOfTheLayoutBefore writes a file as the layout before
// kept due items (by ID alone, with an index by person; records of the
// short and of the long form, one claimed), opens it, and checks that
// every item is its person's, claimable from its due time (the claim ended
// with the process that made it), and that the old index is gone.
func TestRekeysDueItemsOfTheLayoutBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	at := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	a := store.DueItem{ID: "win:p_a:1:open", ParticipantID: "p_a", Kind: "checkin_open", Ref: "win:p_a:1", DueAt: at,
		Data: map[string]string{"opens": "x"}}
	b := store.DueItem{ID: "win:p_a:2:open", ParticipantID: "p_a", Kind: "checkin_open", DueAt: at.Add(time.Hour)}
	c := store.DueItem{ID: "appt:a_1:1d", ParticipantID: "p_b", Kind: "appointment", Ref: "a_1", DueAt: at}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		byP, err := tx.CreateBucket(legacyDueByP)
		if err != nil {
			return err
		}
		put := func(d store.DueItem, raw []byte, ready time.Time) error {
			if err := tx.Bucket(bDue).Put([]byte(d.ID), raw); err != nil {
				return err
			}
			if err := tx.Bucket(bDueReady).Put(key(timeKey(ready), []byte(d.ID)), nil); err != nil {
				return err
			}
			return byP.Put(key(idPrefix(d.ParticipantID), timeKey(d.DueAt), []byte(d.ID)), nil)
		}
		// The short form as that layout wrote it: with the person's ID,
		// which its key did not hold.
		short, err := encodeDueRecord(dueRecord{Item: a, Ready: a.DueAt})
		if err != nil {
			return err
		}
		short = append([]byte(`{"p":"p_a",`), short[1:]...)
		claimed, err := encodeDueRecord(dueRecord{Item: b, Owner: "gone", Until: at.Add(2 * time.Hour), Ready: at.Add(2 * time.Hour)})
		if err != nil {
			return err
		}
		claimed = append([]byte(`{"p":"p_a",`), claimed[1:]...)
		long, err := json.Marshal(dueRecord{Item: c, Ready: c.DueAt})
		if err != nil {
			return err
		}
		return errors.Join(put(a, short, a.DueAt), put(b, claimed, at.Add(2*time.Hour)), put(c, long, c.DueAt))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("open the file of the layout before: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	for pid, want := range map[string][]store.DueItem{"p_a": {a, b}, "p_b": {c}} {
		got, err := s.DueOf(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("DueOf(%s) = %+v; want %+v", pid, got, want)
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].ParticipantID != pid || !got[i].DueAt.Equal(want[i].DueAt) || got[i].Ref != want[i].Ref {
				t.Errorf("DueOf(%s)[%d] = %+v; want %+v", pid, i, got[i], want[i])
			}
		}
	}
	claimed, err := s.ClaimDue(ctx, "w1", at.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 3 || claimed[2].ID != b.ID {
		t.Errorf("claimed %+v; want all three, %s last", claimed, b.ID)
	}
	if err := s.CompleteDue(ctx, "p_a", b.ID, "w1"); err != nil {
		t.Errorf("complete the item whose claim ended with its process: %v", err)
	}
	err = s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(legacyDueByP) != nil {
			t.Error("the index of the layout before is still there")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
