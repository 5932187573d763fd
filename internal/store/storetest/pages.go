package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The indexed reads of caseworker pages and the API: caseloads, one
// attention item, the items of some participants, and pages with stable
// cursors. A page's cursor names the last record shown, so records added
// or resolved between two pages are never shown twice nor skipped.

func participantIDs(ps []store.Participant) []string {
	return ids(ps, func(p store.Participant) string { return p.ID })
}

func attentionIDs(as []store.AttentionItem) []string {
	return ids(as, func(a store.AttentionItem) string { return a.ID })
}

// caseworkerOf is participant(id) with another caseworker and child flag.
func caseworkerOf(id, cw string, child bool) store.Participant {
	p := participant(id)
	p.CaseworkerID, p.Child = cw, child
	return p
}

func mustCaseloads(t *testing.T, s store.Store, want map[string]store.Caseload) {
	t.Helper()
	got, err := s.Caseloads(ctxOf(t))
	must(t, "caseloads", err)
	mustSame(t, "caseloads", got, want)
}

var pageTests = []namedTest{
	{"ParticipantsOfFollowsTheCaseworker", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, p := range []store.Participant{
			caseworkerOf("p_c", "cw_a", false), caseworkerOf("p_a", "cw_a", true),
			caseworkerOf("p_b", "cw_b", false), caseworkerOf("p_d", "", false),
		} {
			must(t, "create "+p.ID, s.CreateParticipant(ctx, p))
		}
		// A turn can create a record too; it joins its caseload.
		born := caseworkerOf("p_e", "cw_b", true)
		born.Revision = 0
		must(t, "turn creating p_e", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_e", Participant: &born}))
		// Later turns of people already there leave them where they are.
		for _, id := range []string{"p_e", "p_a"} {
			p, err := s.GetParticipant(ctx, id)
			must(t, "get "+id, err)
			must(t, "a later turn of "+id, s.ApplyTurn(ctx, store.Turn{ParticipantID: id, Participant: &p}))
		}

		of := func(cw string) []string {
			ps, err := s.ParticipantsOf(ctx, cw)
			must(t, "participants of "+cw, err)
			return participantIDs(ps)
		}
		mustIDs(t, "cw_a", of("cw_a"), []string{"p_a", "p_c"})
		mustIDs(t, "cw_b", of("cw_b"), []string{"p_b", "p_e"})
		mustIDs(t, "nobody's", of(""), []string{"p_d"})
		mustIDs(t, "unknown caseworker", of("cw_x"), nil)
		some, err := s.GetParticipants(ctx, []string{"p_e", "p_missing", "p_a"})
		must(t, "get participants", err)
		mustIDs(t, "get participants", participantIDs(some), []string{"p_e", "p_a"})
		mustCaseloads(t, s, map[string]store.Caseload{
			"cw_a": {People: 2, Children: 1}, "cw_b": {People: 2, Children: 1}, "": {People: 1},
		})

		// Moving a child to another caseworker moves the count with them;
		// a person who stops being a child stops counting as one.
		a, err := s.GetParticipant(ctx, "p_a")
		must(t, "get p_a", err)
		a.CaseworkerID = "cw_b"
		must(t, "move p_a", s.UpdateParticipant(ctx, a))
		e, err := s.GetParticipant(ctx, "p_e")
		must(t, "get p_e", err)
		e.Child = false
		must(t, "p_e grows up", s.UpdateParticipant(ctx, e))
		var paged []string
		for cursor := ""; ; {
			ps, next, err := s.PageCaseload(ctx, "cw_b", cursor, 2)
			must(t, "page cw_b", err)
			paged = append(paged, participantIDs(ps)...)
			if next == "" {
				break
			}
			cursor = next
		}
		mustIDs(t, "cw_b by pages of 2", paged, []string{"p_a", "p_b", "p_e"})
		only, err := s.CaseloadIDs(ctx, "cw_b")
		must(t, "caseload IDs of cw_b", err)
		mustIDs(t, "caseload IDs of cw_b", only, []string{"p_a", "p_b", "p_e"})
		only, err = s.CaseloadIDs(ctx, "cw_a")
		must(t, "caseload IDs of cw_a", err)
		mustIDs(t, "caseload IDs of cw_a after the move", only, []string{"p_c"})
		mustIDs(t, "cw_a after the move", of("cw_a"), []string{"p_c"})
		mustIDs(t, "cw_b after the move", of("cw_b"), []string{"p_a", "p_b", "p_e"})
		mustCaseloads(t, s, map[string]store.Caseload{
			"cw_a": {People: 1}, "cw_b": {People: 3, Children: 1}, "": {People: 1},
		})

		// A refused write moves nothing.
		stale := a
		stale.CaseworkerID = "cw_a"
		mustBe(t, "stale move", s.UpdateParticipant(ctx, stale), store.ErrStale)
		mustIDs(t, "cw_a after a refused move", of("cw_a"), []string{"p_c"})

		must(t, "erase p_a", s.DeleteParticipant(ctx, "p_a"))
		must(t, "erase p_d", s.DeleteParticipant(ctx, "p_d"))
		mustIDs(t, "cw_b after the erasure", of("cw_b"), []string{"p_b", "p_e"})
		mustIDs(t, "nobody's after the erasure", of(""), nil)
		mustCaseloads(t, s, map[string]store.Caseload{"cw_a": {People: 1}, "cw_b": {People: 2}})
	}},
	{"PageParticipantsWalksEveryoneOnce", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		var want []string
		for i := range 7 {
			id := fmt.Sprintf("p_%02d", i)
			must(t, "create", s.CreateParticipant(ctx, participant(id)))
			want = append(want, id)
		}
		var got []string
		cursor, pages := "", 0
		for {
			ps, next, err := s.PageParticipants(ctx, cursor, 3)
			must(t, "page", err)
			if len(ps) > 3 {
				t.Fatalf("page of %d, asked for 3", len(ps))
			}
			got = append(got, participantIDs(ps)...)
			pages++
			if pages == 2 {
				// One who joins before the cursor is not shown; one
				// after it is.
				must(t, "create p_00a", s.CreateParticipant(ctx, participant("p_00a")))
				must(t, "create p_99", s.CreateParticipant(ctx, participant("p_99")))
				want = append(want, "p_99")
			}
			if next == "" {
				break
			}
			cursor = next
		}
		mustIDs(t, "every participant once", got, want)
		if pages != 3 {
			t.Fatalf("%d pages for 8 participants by 3, want 3", pages)
		}
		ps, next, err := s.PageParticipants(ctx, "", 100)
		must(t, "one big page", err)
		if len(ps) != 9 || next != "" {
			t.Fatalf("one page of 100: %d participants, next %q; want 9 and none", len(ps), next)
		}
		_, _, err = s.PageParticipants(ctx, "p|bad", 3)
		mustBe(t, "a cursor that is no ID", err, store.ErrBadCursor)
	}},
	{"GetAttentionByID", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		created(t, s, "p_a")
		a := attention("at_1", "p_a", at(time.Minute))
		must(t, "add", s.AddAttention(ctx, a))
		got, err := s.GetAttention(ctx, "at_1")
		must(t, "get", err)
		mustSame(t, "item", got, a)
		must(t, "resolve", s.ResolveAttention(ctx, "at_1", "cw_1", "contacted", at(time.Hour)))
		got, err = s.GetAttention(ctx, "at_1")
		must(t, "get resolved", err)
		if got.Open() || got.ResolvedBy != "cw_1" || got.Resolution != "contacted" {
			t.Fatalf("resolved item reads %+v", got)
		}
		_, err = s.GetAttention(ctx, "at_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
		must(t, "erase", s.DeleteParticipant(ctx, "p_a"))
		_, err = s.GetAttention(ctx, "at_1")
		mustBe(t, "get erased", err, store.ErrNotFound)
	}},
	{"PageAttentionIsStableWhileItemsAreResolved", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		created(t, s, "p_a")
		created(t, s, "p_b")
		// Two items share a creation time: the ID orders them.
		for _, a := range []store.AttentionItem{
			attention("at_1", "p_a", at(1*time.Minute)), attention("at_2", "p_b", at(2*time.Minute)),
			attention("at_3", "p_a", at(3*time.Minute)), attention("at_4a", "p_b", at(4*time.Minute)),
			attention("at_4b", "p_a", at(4*time.Minute)), attention("at_5", "p_b", at(5*time.Minute)),
		} {
			must(t, "add "+a.ID, s.AddAttention(ctx, a))
		}
		page, next, err := s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 2})
		must(t, "first page", err)
		mustIDs(t, "first page", attentionIDs(page), []string{"at_5", "at_4b"})
		// Resolving a shown item and one not yet shown, and resolving one
		// through a turn, neither repeats nor skips an open item.
		must(t, "resolve at_5", s.ResolveAttention(ctx, "at_5", "cw_1", "contacted", at(time.Hour)))
		must(t, "resolve at_3", s.ResolveAttention(ctx, "at_3", "cw_1", "contacted", at(time.Hour)))
		page, next, err = s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 2, Cursor: next})
		must(t, "second page", err)
		mustIDs(t, "second page", attentionIDs(page), []string{"at_4a", "at_2"})
		page, next, err = s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 2, Cursor: next})
		must(t, "last page", err)
		mustIDs(t, "last page", attentionIDs(page), []string{"at_1"})
		if next != "" {
			t.Fatalf("next cursor %q after the last page", next)
		}

		done := attention("at_2", "p_b", at(2*time.Minute))
		done.ResolvedAt, done.ResolvedBy, done.Resolution = at(time.Hour), store.ResolvedBySystem, store.ResolvedDelivered
		must(t, "turn resolving at_2", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Resolved: []store.AttentionItem{done}}))
		open, _, err := s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 10})
		must(t, "open items", err)
		mustIDs(t, "open after the turn", attentionIDs(open), []string{"at_4b", "at_4a", "at_1"})
		all, _, err := s.PageAttention(ctx, store.AttentionQuery{Limit: 10})
		must(t, "every item", err)
		mustIDs(t, "every item", attentionIDs(all), []string{"at_5", "at_4b", "at_4a", "at_3", "at_2", "at_1"})

		_, _, err = s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Limit: 2, Cursor: "yesterday"})
		mustBe(t, "a cursor the store did not make", err, store.ErrBadCursor)
	}},
	{"PageAttentionByKind", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		created(t, s, "p_a")
		// The item asked for is the oldest, behind more items of another
		// kind than a call reads: the first page comes back empty with a
		// cursor, and following it finds the item.
		callback := attention("at_cb", "p_a", at(0))
		callback.Kind = store.AttentionCallback
		turn := store.Turn{ParticipantID: "p_a", Attention: []store.AttentionItem{callback}}
		for i := range store.AttentionScan + 100 {
			turn.Attention = append(turn.Attention, attention(fmt.Sprintf("at_m%05d", i), "p_a", at(time.Duration(i+1)*time.Second)))
		}
		must(t, "a turn of many items", s.ApplyTurn(ctx, turn))
		q := store.AttentionQuery{OpenOnly: true, Kinds: []store.AttentionKind{store.AttentionCallback}, Limit: 10}
		var found []string
		pages := 0
		for {
			page, next, err := s.PageAttention(ctx, q)
			must(t, "page by kind", err)
			pages++
			found = append(found, attentionIDs(page)...)
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging by kind does not end")
			}
			q.Cursor = next
		}
		mustIDs(t, "callbacks", found, []string{"at_cb"})
		if pages != 2 {
			t.Fatalf("%d pages, want 2: one call reads at most %d items", pages, store.AttentionScan)
		}
		// With items of the kind at hand, a page fills as usual.
		page, next, err := s.PageAttention(ctx, store.AttentionQuery{OpenOnly: true, Kinds: []store.AttentionKind{store.AttentionMissed}, Limit: 3})
		must(t, "missed", err)
		mustIDs(t, "the newest missed", attentionIDs(page), []string{"at_m02099", "at_m02098", "at_m02097"})
		if next == "" {
			t.Fatal("no cursor after a full page")
		}
	}},
	{"AttentionOfManyReadsOnlyThoseParticipants", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, id := range []string{"p_a", "p_b", "p_c"} {
			created(t, s, id)
		}
		for _, a := range []store.AttentionItem{
			attention("at_1", "p_a", at(1*time.Minute)), attention("at_2", "p_b", at(2*time.Minute)),
			attention("at_3", "p_c", at(3*time.Minute)), attention("at_4", "p_a", at(4*time.Minute)),
		} {
			must(t, "add "+a.ID, s.AddAttention(ctx, a))
		}
		must(t, "resolve at_4", s.ResolveAttention(ctx, "at_4", "cw_1", "excused", at(time.Hour)))
		got, err := s.AttentionOfMany(ctx, []string{"p_a", "p_b", "p_missing"}, true)
		must(t, "open of p_a and p_b", err)
		mustIDs(t, "open of p_a and p_b", attentionIDs(got), []string{"at_2", "at_1"})
		got, err = s.AttentionOfMany(ctx, []string{"p_a"}, false)
		must(t, "all of p_a", err)
		mustIDs(t, "all of p_a", attentionIDs(got), []string{"at_4", "at_1"})
		got, err = s.AttentionOfMany(ctx, nil, true)
		must(t, "of nobody", err)
		mustIDs(t, "of nobody", attentionIDs(got), nil)
	}},
	{"PageAuditFiltersAndPages", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		created(t, s, "p_a")
		entry := func(id, pid, actor, action string, when time.Duration) store.AuditEntry {
			return store.AuditEntry{ID: id, At: at(when), Actor: actor, Action: action, ParticipantID: pid}
		}
		for _, e := range []store.AuditEntry{
			entry("au_1", "p_a", "cw_1", "participant_viewed", 1*time.Hour),
			entry("au_2", "", "cw_2", "account_created", 2*time.Hour),
			entry("au_3", "p_a", "cw_2", "participant_viewed", 3*time.Hour),
			entry("au_4", "p_b", "cw_1", "attention_contacted", 4*time.Hour),
			entry("au_5a", "p_a", "cw_1", "participant_viewed", 5*time.Hour),
			entry("au_5b", "p_a", "cw_1", "participant_viewed", 5*time.Hour),
		} {
			must(t, "append "+e.ID, s.AppendAudit(ctx, e))
		}
		// A turn's entry is in the log as well.
		must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Audit: []store.AuditEntry{
			entry("au_6", "p_a", "participant", "checked_in", 6*time.Hour),
		}}))
		walk := func(q store.AuditQuery) []string {
			t.Helper()
			var out []string
			for range 20 {
				es, next, err := s.PageAudit(ctx, q)
				must(t, "page audit", err)
				if len(es) > q.Limit {
					t.Fatalf("page of %d, asked for %d", len(es), q.Limit)
				}
				out = append(out, ids(es, func(e store.AuditEntry) string { return e.ID })...)
				if next == "" {
					return out
				}
				q.Cursor = next
			}
			t.Fatal("paging did not end")
			return nil
		}
		mustIDs(t, "everything by 2", walk(store.AuditQuery{Limit: 2}), []string{"au_6", "au_5b", "au_5a", "au_4", "au_3", "au_2", "au_1"})
		mustIDs(t, "p_a's", walk(store.AuditQuery{Participant: "p_a", Limit: 2}), []string{"au_6", "au_5b", "au_5a", "au_3", "au_1"})
		mustIDs(t, "by cw_1", walk(store.AuditQuery{Actor: "cw_1", Limit: 2}), []string{"au_5b", "au_5a", "au_4", "au_1"})
		mustIDs(t, "views by cw_2", walk(store.AuditQuery{Actor: "cw_2", Action: "participant_viewed", Limit: 5}), []string{"au_3"})
		mustIDs(t, "from 3h to 5h", walk(store.AuditQuery{From: at(3 * time.Hour), To: at(5 * time.Hour), Limit: 1}), []string{"au_4", "au_3"})
		mustIDs(t, "p_a's views from 5h", walk(store.AuditQuery{Participant: "p_a", Action: "participant_viewed", From: at(5 * time.Hour), Limit: 10}), []string{"au_5b", "au_5a"})
		_, _, err := s.PageAudit(ctx, store.AuditQuery{Limit: 2, Cursor: "au_1"})
		mustBe(t, "a cursor the store did not make", err, store.ErrBadCursor)
	}},
}
