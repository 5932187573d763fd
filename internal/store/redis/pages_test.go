package redis

import (
	"maps"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// withPeople opens a store of its own with a participant for each
// caseworker given, p_a, p_b and so on; p_a is a child.
func withPeople(t *testing.T, caseworkers ...string) (*Store, Options) {
	opts := testOptions(t)
	opts.Prefix = uniquePrefix()
	s := openTest(t, opts)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, cw := range caseworkers {
		p := store.Participant{ID: "p_" + string(rune('a'+i)), Label: "x", Language: "en", TimeZone: "UTC", CaseworkerID: cw,
			Status: store.Active, Child: i == 0, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateParticipant(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	return s, opts
}

// A Redis written before the caseload index gets it on the next Open,
// built from the participant records.
func TestOpenBuildsTheCaseloadIndex(t *testing.T) {
	s, opts := withPeople(t, "cw_a", "cw_a", "cw_b")
	ctx := t.Context()
	// Make the data look as an earlier version left it.
	c := s.k.caseloads()
	if err := s.rdb.Del(ctx, c.built(), c.ids(), c.of("cw_a"), c.of("cw_b"), c.children("cw_a")).Err(); err != nil {
		t.Fatal(err)
	}
	again := openTest(t, opts)
	ps, err := again.ParticipantsOf(ctx, "cw_a")
	if err != nil || len(ps) != 2 || ps[0].ID != "p_a" || ps[1].ID != "p_b" {
		t.Fatalf("cw_a's caseload after Open: %v %v", ps, err)
	}
	loads, err := again.Caseloads(ctx)
	if err != nil || loads["cw_a"] != (store.Caseload{People: 2, Children: 1}) || loads["cw_b"] != (store.Caseload{People: 1}) {
		t.Fatalf("caseloads after Open: %v %v", loads, err)
	}
}

// A Redis written before the count of who has open items gets it on the
// next Open, counted from the open items' records; a second process
// opening at the same time does not count them twice.
func TestOpenCountsWhoHasOpenItems(t *testing.T) {
	s, opts := withPeople(t, "cw_a", "cw_a")
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	items := []store.AttentionItem{
		{ID: "at_1", ParticipantID: "p_a", Kind: store.AttentionMissed, CreatedAt: now},
		{ID: "at_2", ParticipantID: "p_a", Kind: store.AttentionMissed, CreatedAt: now.Add(time.Minute)},
		{ID: "at_3", ParticipantID: "p_b", Kind: store.AttentionCallback, CreatedAt: now},
		{ID: "at_4", ParticipantID: "p_b", Kind: store.AttentionMissed, CreatedAt: now, ResolvedAt: now, ResolvedBy: "cw_a", Resolution: "contacted"},
	}
	for _, a := range items {
		if err := s.AddAttention(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.TallyAttention(ctx)
	if err != nil || want.People != 2 || want.Children != 1 || want.ByKind[store.AttentionMissed] != 1 {
		t.Fatalf("tally as kept: %+v %v", want, err)
	}
	ix := s.k.attentionIndex()
	if err := s.rdb.Del(ctx, ix.people, ix.tally, ix.built).Err(); err != nil {
		t.Fatal(err)
	}
	again, twice := openTest(t, opts), openTest(t, opts)
	for _, st := range []*Store{again, twice} {
		got, err := st.TallyAttention(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.People != want.People || got.Children != want.Children || !maps.Equal(got.ByKind, want.ByKind) || !maps.Equal(got.ChildrenByKind, want.ChildrenByKind) {
			t.Fatalf("tally after Open %+v, want %+v", got, want)
		}
	}
}
