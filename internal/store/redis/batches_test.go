package redis

import (
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestDueStepKeepsEachPersonsItems checks what the contract suite cannot
// see: after a step drops one of its person's items, plans one under an ID
// another person's item has too, and ends its own, each person's hash
// holds exactly their items, the person's entry in their due shard is no
// later than the item planned, the ended item has no entry left, and the
// step's lease is given up, on a single Redis and on a cluster.
func TestDueStepKeepsEachPersonsItems(t *testing.T) {
	onSingleAndCluster(t, func(t *testing.T, o Options) {
		s := openTest(t, o)
		ctx := t.Context()
		now := time.Now().Round(0)
		item := func(id, pid string, after time.Duration) store.DueItem {
			return store.DueItem{ID: id, ParticipantID: pid, Kind: "k", DueAt: now.Add(after)}
		}
		mustDo(t, s.PutDue(ctx, item("open:a", "p_a", 0), item("later:a", "p_a", time.Hour),
			item("open:b", "p_b", time.Hour), item("later:b", "p_b", 2*time.Hour)))
		claimed, err := s.ClaimDue(ctx, "sched", now, time.Minute, 10)
		mustDo(t, err)
		if len(claimed) != 1 || claimed[0].ID != "open:a" {
			t.Fatalf("claimed %v; want open:a", claimed)
		}
		held, err := s.AcquireLease(ctx, "plan:p_a", "sched", time.Minute)
		mustDo(t, err)
		if !held {
			t.Fatal("a free lease was refused")
		}

		planned := item("later:b", "p_a", 48*time.Hour)
		step := store.DueStep{ParticipantID: "p_a", Put: []store.DueItem{planned}, Drop: []string{"later:a"},
			Complete: "open:a", Owner: "sched", Lease: "plan:p_a"}
		mustDo(t, s.ApplyDueSteps(ctx, []store.DueStep{step})[0])

		for pid, want := range map[string][]string{"p_a": {"later:b"}, "p_b": {"later:b", "open:b"}} {
			got := storedDueIDs(t, s, pid)
			if !slices.Equal(got, want) {
				t.Errorf("%s's due items are %q; want %q", pid, got, want)
			}
		}
		// Nothing of p_a falls due when the ended item's lease ends (a
		// claim then would find nothing): their entry is at the item
		// the step dropped (in an hour) or later.
		soon := s.rdb.ZRangeByScore(ctx, s.k.dueIndex(shardOf("p_a")), &goredis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(now.Add(2*time.Minute).UnixMilli(), 10)}).Val()
		for _, m := range soon {
			if pid, _ := entryPerson(m); pid == "p_a" {
				t.Errorf("p_a's index entry %q falls due when the ended item's lease does", m)
			}
		}
		score, err := s.rdb.ZScore(ctx, s.k.dueIndex(shardOf("p_a")), personEntry("p_a")).Result()
		mustDo(t, err)
		if int64(score) > planned.DueAt.UnixMilli() {
			t.Errorf("p_a's entry is at %d ms, after the item planned at %d", int64(score), planned.DueAt.UnixMilli())
		}
		if free, err := s.AcquireLease(ctx, "plan:p_a", "another", time.Minute); err != nil || !free {
			t.Errorf("the step's lease is still held: %v, %v", free, err)
		}
	})
}

// storedDueIDs reads the IDs of the due items in pid's person hash, in
// order, from the fields their values are kept under.
func storedDueIDs(t *testing.T, s *Store, pid string) []string {
	t.Helper()
	fields, err := s.rdb.HKeys(t.Context(), s.k.person(pid)).Result()
	mustDo(t, err)
	var ids []string
	for _, f := range fields {
		if id, ok := itemID(pid, f); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
