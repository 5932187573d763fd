package redis

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// A Redis written before the caseload index gets it on the next Open,
// built from the participant records.
func TestOpenBuildsTheCaseloadIndex(t *testing.T) {
	opts := testOptions(t)
	opts.Prefix = uniquePrefix()
	s := openTest(t, opts)
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, cw := range []string{"cw_a", "cw_a", "cw_b"} {
		p := store.Participant{ID: "p_" + string(rune('a'+i)), Label: "x", Language: "en", TimeZone: "UTC", CaseworkerID: cw,
			Status: store.Active, Child: i == 0, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
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
