package bolt

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// A data file written before the caseload and open-queue indexes gets
// them on the next Open, built from its records.
func TestOpenBuildsMissingIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, cw := range []string{"cw_a", "cw_a", "cw_b"} {
		p := store.Participant{ID: "p_" + string(rune('a'+i)), Label: "x", Language: "en", TimeZone: "UTC", CaseworkerID: cw,
			Status: store.Active, Child: i == 0, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
		a := store.AttentionItem{ID: "at_" + p.ID, ParticipantID: p.ID, Kind: store.AttentionMissed, CreatedAt: now.Add(time.Duration(i) * time.Minute)}
		if err := s.AddAttention(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ResolveAttention(ctx, "at_p_b", "cw_a", "contacted", now); err != nil {
		t.Fatal(err)
	}
	// Make the file look as an earlier version left it.
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bParticipantsByCW, bCaseloads, bAttentionOpen, bAttentionPeople, bAttentionTally, bMeta} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.ParticipantsOf(ctx, "cw_a")
	if err != nil || len(ps) != 2 || ps[0].ID != "p_a" || ps[1].ID != "p_b" {
		t.Fatalf("cw_a's caseload after Open: %v %v", ps, err)
	}
	loads, err := s.Caseloads(ctx)
	if err != nil || loads["cw_a"] != (store.Caseload{People: 2, Children: 1}) || loads["cw_b"] != (store.Caseload{People: 1}) {
		t.Fatalf("caseloads after Open: %v %v", loads, err)
	}
	open, _, err := s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 10})
	if err != nil || len(open) != 2 || open[0].ID != "at_p_c" || open[1].ID != "at_p_a" {
		t.Fatalf("open items after Open: %v %v", open, err)
	}
	tally, err := s.TallyAttention(ctx)
	want := store.AttentionTally{People: 2, Children: 1,
		ByKind: map[store.AttentionKind]int{store.AttentionMissed: 2}, ChildrenByKind: map[store.AttentionKind]int{store.AttentionMissed: 1}}
	if err != nil || !reflect.DeepEqual(tally, want) {
		t.Fatalf("who has open items after Open: %+v %v, want %+v", tally, err, want)
	}
}

// A file another program wrote after Waymark closed it (an earlier
// version, which keeps no caseload index) gets its indexes built again.
func TestOpenRebuildsIndexesAfterAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waymark.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bParticipants).Put([]byte("p_old"), []byte(`{"id":"p_old","label":"x","language":"en","time_zone":"UTC","caseworker_id":"cw_a","status":"active","rev":1}`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.ParticipantsOf(t.Context(), "cw_a")
	if err != nil || len(ps) != 1 || ps[0].ID != "p_old" {
		t.Fatalf("cw_a's caseload after another writer: %v %v", ps, err)
	}
}
