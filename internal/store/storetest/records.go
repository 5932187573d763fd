package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

var checkInTests = []namedTest{
	{"OldestFirstSinceInclusiveOnlyThatParticipant", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		// Recorded out of order: the backend orders by At.
		for _, c := range []store.CheckIn{
			checkIn("c_2", "p_a", at(2*time.Hour)),
			checkIn("c_0", "p_a", at(0)),
			checkIn("c_1", "p_a", at(time.Hour)),
			checkIn("c_x", "p_b", at(time.Hour)),
		} {
			must(t, "record", s.RecordCheckIn(ctx, c))
		}
		all, err := s.CheckInsOf(ctx, "p_a", time.Time{})
		must(t, "all", err)
		mustIDs(t, "all check-ins", ids(all, func(c store.CheckIn) string { return c.ID }), []string{"c_0", "c_1", "c_2"})
		mustSame(t, "stored check-in", all[1], checkIn("c_1", "p_a", at(time.Hour)))
		since, err := s.CheckInsOf(ctx, "p_a", at(time.Hour))
		must(t, "since", err)
		mustIDs(t, "check-ins at or after since", ids(since, func(c store.CheckIn) string { return c.ID }), []string{"c_1", "c_2"})
		after, err := s.CheckInsOf(ctx, "p_a", at(3*time.Hour))
		must(t, "after all", err)
		if len(after) != 0 {
			t.Fatalf("check-ins after the last one: %d", len(after))
		}
	}},
	{"RecordedTwiceKeptOnce", func(t *testing.T, s store.Store) {
		// A check-in recorded again (a retried step) is not counted twice.
		ctx := ctxOf(t)
		c := checkIn("c_1", "p_a", at(0))
		must(t, "record", s.RecordCheckIn(ctx, c))
		must(t, "record again", s.RecordCheckIn(ctx, c))
		got, err := s.CheckInsOf(ctx, "p_a", time.Time{})
		must(t, "list", err)
		mustIDs(t, "check-ins", ids(got, func(c store.CheckIn) string { return c.ID }), []string{"c_1"})
	}},
	{"SameInstantBothKept", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "record", s.RecordCheckIn(ctx, checkIn("c_1", "p_a", at(0))))
		must(t, "record", s.RecordCheckIn(ctx, checkIn("c_2", "p_a", at(0))))
		got, err := s.CheckInsOf(ctx, "p_a", at(0))
		must(t, "list", err)
		mustIDs(t, "two check-ins at one instant", sortedCopy(ids(got, func(c store.CheckIn) string { return c.ID })), []string{"c_1", "c_2"})
	}},
	{"LastCheckInsOfManyPeople", func(t *testing.T, s store.Store) {
		// The latest of each person's, whatever order they were recorded
		// in; people with none, or whose IDs only begin alike, are apart.
		ctx := ctxOf(t)
		for _, c := range []store.CheckIn{
			checkIn("c_a2", "p_a", at(2*time.Hour)),
			checkIn("c_a0", "p_a", at(0)),
			checkIn("c_ab", "p_ab", at(time.Hour)),
			checkIn("c_c", "p_c", at(5*time.Hour)),
		} {
			must(t, "record", s.RecordCheckIn(ctx, c))
		}
		got, err := s.LastCheckIns(ctx, []string{"p_a", "p_ab", "p_none", "p_c"})
		must(t, "last check-ins", err)
		if len(got) != 3 || got["p_a"].ID != "c_a2" || got["p_ab"].ID != "c_ab" || got["p_c"].ID != "c_c" {
			t.Fatalf("last check-ins = %+v", got)
		}
		mustSame(t, "stored check-in", got["p_a"], checkIn("c_a2", "p_a", at(2*time.Hour)))
		none, err := s.LastCheckIns(ctx, nil)
		must(t, "of nobody", err)
		if len(none) != 0 {
			t.Fatalf("of nobody: %+v", none)
		}
	}},
}

var attentionTests = []namedTest{
	{"ListNewestFirst", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, a := range []store.AttentionItem{
			attention("att_1", "p_a", at(time.Hour)),
			attention("att_0", "p_b", at(0)),
			attention("att_2", "p_a", at(2*time.Hour)),
		} {
			must(t, "add", s.AddAttention(ctx, a))
		}
		got, err := s.ListAttention(ctx, false)
		must(t, "list", err)
		mustIDs(t, "newest first", ids(got, func(a store.AttentionItem) string { return a.ID }), []string{"att_2", "att_1", "att_0"})
		mustSame(t, "stored item", got[2], attention("att_0", "p_b", at(0)))
	}},
	{"ResolveSetsFieldsAndLeavesOpenList", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "add", s.AddAttention(ctx, attention("att_0", "p_a", at(0))))
		must(t, "add", s.AddAttention(ctx, attention("att_1", "p_a", at(time.Hour))))
		must(t, "resolve", s.ResolveAttention(ctx, "att_0", "cw_7", "contacted", at(3*time.Hour)))

		open, err := s.ListAttention(ctx, true)
		must(t, "list open", err)
		mustIDs(t, "open items", ids(open, func(a store.AttentionItem) string { return a.ID }), []string{"att_1"})

		all, err := s.ListAttention(ctx, false)
		must(t, "list all", err)
		mustIDs(t, "all items", ids(all, func(a store.AttentionItem) string { return a.ID }), []string{"att_1", "att_0"})
		want := attention("att_0", "p_a", at(0))
		want.ResolvedAt, want.ResolvedBy, want.Resolution = at(3*time.Hour), "cw_7", "contacted"
		mustSame(t, "resolved item", all[1], want)
		if all[1].Open() {
			t.Fatalf("resolved item still open")
		}
	}},
	{"DuplicateIDRefused", func(t *testing.T, s store.Store) {
		// An item once raised changes only through ResolveAttention.
		ctx := ctxOf(t)
		a := attention("att_0", "p_a", at(0))
		must(t, "add", s.AddAttention(ctx, a))
		other := attention("att_0", "p_b", at(time.Hour))
		mustBe(t, "add same ID", s.AddAttention(ctx, other), store.ErrConflict)
		got, err := s.ListAttention(ctx, false)
		must(t, "list", err)
		if len(got) != 1 {
			t.Fatalf("%d items, want 1", len(got))
		}
		mustSame(t, "original item", got[0], a)
	}},
	{"ResolveMissingIsNotFound", func(t *testing.T, s store.Store) {
		mustBe(t, "resolve missing", s.ResolveAttention(ctxOf(t), "att_missing", "cw_7", "contacted", at(0)), store.ErrNotFound)
		got, err := s.ListAttention(ctxOf(t), false)
		must(t, "list", err)
		if len(got) != 0 {
			t.Fatalf("resolving a missing item created one")
		}
	}},
}

func auditIDs(es []store.AuditEntry) []string {
	return ids(es, func(e store.AuditEntry) string { return e.ID })
}

var auditTests = []namedTest{
	{"ListNewestFirstWithLimitAndFilter", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, e := range []store.AuditEntry{
			audit("au_2", "p_b", at(2*time.Minute)),
			audit("au_0", "p_a", at(0)),
			audit("au_3", "", at(3*time.Minute)),
			audit("au_1", "p_a", at(time.Minute)),
			audit("au_4", "p_a", at(4*time.Minute)),
		} {
			must(t, "append", s.AppendAudit(ctx, e))
		}
		all, err := s.ListAudit(ctx, "", 0)
		must(t, "list all", err)
		mustIDs(t, "all, newest first (limit 0 means all)", auditIDs(all), []string{"au_4", "au_3", "au_2", "au_1", "au_0"})
		mustSame(t, "stored entry", all[4], audit("au_0", "p_a", at(0)))

		top, err := s.ListAudit(ctx, "", 2)
		must(t, "list limit", err)
		mustIDs(t, "two newest", auditIDs(top), []string{"au_4", "au_3"})

		mine, err := s.ListAudit(ctx, "p_a", 0)
		must(t, "list p_a", err)
		mustIDs(t, "p_a newest first", auditIDs(mine), []string{"au_4", "au_1", "au_0"})

		mineTop, err := s.ListAudit(ctx, "p_a", 2)
		must(t, "list p_a limit", err)
		mustIDs(t, "p_a two newest", auditIDs(mineTop), []string{"au_4", "au_1"})

		more, err := s.ListAudit(ctx, "p_b", 10)
		must(t, "list p_b", err)
		mustIDs(t, "limit above count", auditIDs(more), []string{"au_2"})

		none, err := s.ListAudit(ctx, "p_nobody", 10)
		must(t, "list nobody", err)
		if len(none) != 0 {
			t.Fatalf("unknown participant has audit entries")
		}
	}},
	{"AppendOnlyDuplicateIDRefused", func(t *testing.T, s store.Store) {
		// No method changes a written entry: appending the same ID again is
		// a conflict and the original stays as written.
		ctx := ctxOf(t)
		e := audit("au_0", "p_a", at(0))
		must(t, "append", s.AppendAudit(ctx, e))
		forged := e
		forged.Actor, forged.Action, forged.At = "someone", "forged", at(time.Hour)
		mustBe(t, "append same ID", s.AppendAudit(ctx, forged), store.ErrConflict)
		got, err := s.ListAudit(ctx, "", 0)
		must(t, "list", err)
		if len(got) != 1 {
			t.Fatalf("audit has %d entries, want 1", len(got))
		}
		mustSame(t, "original entry", got[0], e)
	}},
}
