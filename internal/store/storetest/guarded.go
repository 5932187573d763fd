package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The contract of the guarded writes (store.LinkMarks, the child-protection
// rule, store.KeyChecks). Decisions pinned down here:
//
//   - MarkUnreachable writes the link's mark, the item and the entry
//     together or not at all, and nothing when the link is gone, another
//     participant's or marked already.
//   - A child goes only to a caseworker trained in child protection: an
//     assignment, a person marked a child, and training taken away are
//     each refused with ErrChildProtection, in the same step as the write,
//     by every write that saves a participant (create, update, a turn).
//   - A caseworker ID that names no account is no caseworker, not an
//     untrained one.

var guardedTests = []namedTest{
	{"MarkUnreachableLandsWhole", testMarkUnreachableLandsWhole},
	{"MarkUnreachableOnceOnly", testMarkUnreachableOnceOnly},
	{"MarkUnreachableSkipsGoneOrOthers", testMarkUnreachableSkipsGoneOrOthers},
	{"MarkUnreachableRefusedWhole", testMarkUnreachableRefusedWhole},
	{"ChildNeedsTrainedCaseworker", testChildNeedsTrainedCaseworker},
	{"TrainingKeptWhileChildren", testTrainingKeptWhileChildren},
	{"TrainingRemovedRacingAssignment", testTrainingRacingAssignment},
	{"KeyCheck", testKeyCheck},
}

func unreachable(index, pid, n string) store.Unreachable {
	a := attention("n_"+n, pid, at(time.Hour))
	a.Kind, a.Reason, a.Ref = store.AttentionCantReach, "sms:30003", ""
	e := audit("au_"+n, pid, at(time.Hour))
	e.Actor, e.Action, e.Detail = "system", "link_unreachable", "sms:30003"
	return store.Unreachable{Index: index, ParticipantID: pid, Reason: "30003", Attention: a, Audit: e}
}

func testMarkUnreachableLandsWhole(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	created(t, s, "p_1")
	must(t, "put link", s.PutLink(ctx, link("idx_1", "p_1")))
	u := unreachable("idx_1", "p_1", "1")
	marked, err := s.MarkUnreachable(ctx, u)
	must(t, "mark", err)
	if !marked {
		t.Fatal("mark: reported nothing marked")
	}
	want := link("idx_1", "p_1")
	want.Unreachable, want.Reason = true, "30003"
	got, err := s.GetLink(ctx, "idx_1")
	must(t, "get link", err)
	mustSame(t, "link", got, want)
	items, err := s.AttentionOf(ctx, "p_1")
	must(t, "attention of", err)
	mustSame(t, "items", items, []store.AttentionItem{u.Attention})
	open, err := s.ListAttention(ctx, true)
	must(t, "open items", err)
	mustSame(t, "open items", open, []store.AttentionItem{u.Attention})
	entries, err := s.ListAudit(ctx, "p_1", 10)
	must(t, "audit", err)
	mustSame(t, "audit", entries, []store.AuditEntry{u.Audit})
}

func testMarkUnreachableOnceOnly(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	created(t, s, "p_1")
	must(t, "put link", s.PutLink(ctx, link("idx_1", "p_1")))
	// Two refusals at once (two messages to one dead number) raise one
	// item between them.
	var wg sync.WaitGroup
	results := make([]bool, 4)
	for i := range results {
		wg.Go(func() {
			u := unreachable("idx_1", "p_1", fmt.Sprint(i+1))
			var err error
			results[i], err = s.MarkUnreachable(ctx, u)
			if err != nil {
				t.Errorf("mark %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, r := range results {
		if r {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of %d marks reported marking, want 1", n, len(results))
	}
	items, err := s.AttentionOf(ctx, "p_1")
	must(t, "attention of", err)
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1: %+v", len(items), items)
	}
	entries, err := s.ListAudit(ctx, "p_1", 10)
	must(t, "audit", err)
	if len(entries) != 1 || entries[0].ID != "au_"+items[0].ID[len("n_"):] {
		t.Fatalf("audit: got %+v, want the one entry of item %s", entries, items[0].ID)
	}
	all, err := s.ListAudit(ctx, "", 10)
	must(t, "whole audit log", err)
	mustIDs(t, "whole audit log", ids(all, func(e store.AuditEntry) string { return e.ID }), []string{entries[0].ID})
	open, err := s.ListAttention(ctx, true)
	must(t, "open items", err)
	mustSame(t, "open items", open, items)
}

func testMarkUnreachableSkipsGoneOrOthers(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	created(t, s, "p_1")
	created(t, s, "p_2")
	must(t, "put link", s.PutLink(ctx, link("idx_2", "p_2")))
	for _, u := range []store.Unreachable{unreachable("idx_gone", "p_1", "1"), unreachable("idx_2", "p_1", "2")} {
		marked, err := s.MarkUnreachable(ctx, u)
		must(t, "mark "+u.Index, err)
		if marked {
			t.Fatalf("mark %s: reported marking a link that is not p_1's", u.Index)
		}
	}
	got, err := s.GetLink(ctx, "idx_2")
	must(t, "get link", err)
	mustSame(t, "another's link", got, link("idx_2", "p_2"))
	mustNothingRaised(t, s)
}

func testMarkUnreachableRefusedWhole(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	created(t, s, "p_1")
	must(t, "put link", s.PutLink(ctx, link("idx_1", "p_1")))
	must(t, "add item", s.AddAttention(ctx, attention("n_taken", "p_1", at(0))))
	u := unreachable("idx_1", "p_1", "1")
	u.Attention.ID = "n_taken"
	_, err := s.MarkUnreachable(ctx, u)
	mustBe(t, "item ID in use", err, store.ErrConflict)
	got, err := s.GetLink(ctx, "idx_1")
	must(t, "get link", err)
	mustSame(t, "link after a refused mark", got, link("idx_1", "p_1"))
	entries, err := s.ListAudit(ctx, "", 10)
	must(t, "audit", err)
	if len(entries) != 0 {
		t.Fatalf("a refused mark left audit entries: %+v", entries)
	}

	bad := unreachable("", "p_1", "2")
	_, err = s.MarkUnreachable(ctx, bad)
	mustBe(t, "no index", err, store.ErrEmpty)
	bad = unreachable("idx_1", "p_1", "3")
	bad.Attention.ParticipantID = "p_2"
	_, err = s.MarkUnreachable(ctx, bad)
	mustFail(t, "another's item", err)
	got, err = s.GetLink(ctx, "idx_1")
	must(t, "get link", err)
	mustSame(t, "link after refused input", got, link("idx_1", "p_1"))
}

// mustNothingRaised checks that no attention item or audit entry is
// stored, nor listed.
func mustNothingRaised(t *testing.T, s store.Store) {
	t.Helper()
	ctx := ctxOf(t)
	items, err := s.ListAttention(ctx, false)
	must(t, "list attention", err)
	entries, err := s.ListAudit(ctx, "", 10)
	must(t, "list audit", err)
	if len(items) != 0 || len(entries) != 0 {
		t.Fatalf("got items %+v and entries %+v, want none", items, entries)
	}
}

// accounts creates a trained and an untrained caseworker.
func trainedAndNot(t *testing.T, s store.Store) (trained, untrained store.Account) {
	t.Helper()
	trained = account("cw_t", "tomas")
	untrained = account("cw_u", "ursula")
	untrained.ChildProtectionTrained = false
	must(t, "create trained", s.CreateAccount(ctxOf(t), trained))
	must(t, "create untrained", s.CreateAccount(ctxOf(t), untrained))
	return trained, untrained
}

func testChildNeedsTrainedCaseworker(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	trained, untrained := trainedAndNot(t, s)

	child := participant("p_child")
	child.CaseworkerID = untrained.ID
	mustBe(t, "create a child for an untrained caseworker", s.CreateParticipant(ctx, child), store.ErrChildProtection)
	_, err := s.GetParticipant(ctx, "p_child")
	mustBe(t, "the refused child", err, store.ErrNotFound)
	child.CaseworkerID = trained.ID
	must(t, "create a child for a trained caseworker", s.CreateParticipant(ctx, child))

	p, err := s.GetParticipant(ctx, "p_child")
	must(t, "get child", err)
	moved := p
	moved.CaseworkerID = untrained.ID
	mustBe(t, "move a child to an untrained caseworker", s.UpdateParticipant(ctx, moved), store.ErrChildProtection)
	turn := store.Turn{ParticipantID: p.ID, Participant: &moved, Audit: []store.AuditEntry{audit("au_move", p.ID, at(0))}}
	mustBe(t, "a turn moving a child to an untrained caseworker", s.ApplyTurn(ctx, turn), store.ErrChildProtection)
	got, err := s.GetParticipant(ctx, "p_child")
	must(t, "get child", err)
	mustSame(t, "the child after refused moves", got, p)
	entries, err := s.ListAudit(ctx, "", 10)
	must(t, "audit", err)
	if len(entries) != 0 {
		t.Fatalf("a refused turn left audit entries: %+v", entries)
	}

	adult := participant("p_adult")
	adult.Child, adult.CaseworkerID = false, untrained.ID
	must(t, "create an adult for an untrained caseworker", s.CreateParticipant(ctx, adult))
	a, err := s.GetParticipant(ctx, "p_adult")
	must(t, "get adult", err)
	a.Child = true
	mustBe(t, "mark a person a child while their caseworker is untrained", s.UpdateParticipant(ctx, a), store.ErrChildProtection)
	a.CaseworkerID = trained.ID
	must(t, "mark a person a child and give them a trained caseworker", s.UpdateParticipant(ctx, a))

	// A child's record that keeps its caseworker is saved whatever that
	// caseworker is now, and one naming no account has no caseworker.
	orphan := participant("p_orphan")
	orphan.CaseworkerID = "cw_deleted"
	must(t, "create a child whose caseworker ID names no account", s.CreateParticipant(ctx, orphan))
	o, err := s.GetParticipant(ctx, "p_orphan")
	must(t, "get orphan", err)
	o.Label = "renamed"
	must(t, "save a child keeping their caseworker", s.ApplyTurn(ctx, store.Turn{ParticipantID: o.ID, Participant: &o}))
}

func testTrainingKeptWhileChildren(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	trained, _ := trainedAndNot(t, s)
	other := account("cw_o", "olga")
	must(t, "create another trained caseworker", s.CreateAccount(ctx, other))
	child := participant("p_child")
	child.CaseworkerID = trained.ID
	must(t, "create child", s.CreateParticipant(ctx, child))

	untrain := trained
	untrain.ChildProtectionTrained = false
	mustBe(t, "take away the training of a caseworker with a child", s.UpdateAccount(ctx, untrain), store.ErrChildProtection)
	got, err := s.GetAccount(ctx, trained.ID)
	must(t, "get account", err)
	mustSame(t, "account after a refused change", got, trained)

	// Anything else of the account may change.
	renamed := trained
	renamed.Username = "tomas.b"
	must(t, "rename a trained caseworker", s.UpdateAccount(ctx, renamed))

	p, err := s.GetParticipant(ctx, "p_child")
	must(t, "get child", err)
	p.CaseworkerID = other.ID
	must(t, "move the child", s.UpdateParticipant(ctx, p))
	untrain.Username = "tomas.b"
	must(t, "take away the training once the child moved", s.UpdateAccount(ctx, untrain))

	// A child erased leaves their caseworker's caseload at once.
	untrainOther := other
	untrainOther.ChildProtectionTrained = false
	mustBe(t, "take away the training of the child's new caseworker", s.UpdateAccount(ctx, untrainOther), store.ErrChildProtection)
	must(t, "erase the child", s.DeleteParticipant(ctx, "p_child"))
	must(t, "take away the training once the child is erased", s.UpdateAccount(ctx, untrainOther))
}

// testTrainingRacingAssignment takes a caseworker's training away while
// a child is given to them, many times over: one of the two may land,
// never both.
func testTrainingRacingAssignment(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const rounds = 40
	assigned, untrained := 0, 0
	for r := range rounds {
		cw := account(fmt.Sprintf("cw_%02d", r), fmt.Sprintf("user%02d", r))
		must(t, "create account", s.CreateAccount(ctx, cw))
		pid := fmt.Sprintf("p_%02d", r)
		p := participant(pid)
		p.Child, p.CaseworkerID = false, cw.ID
		must(t, "create person", s.CreateParticipant(ctx, p))

		var wg sync.WaitGroup
		var assignErr, untrainErr error
		wg.Go(func() {
			cur, err := s.GetParticipant(ctx, pid)
			if err != nil {
				assignErr = err
				return
			}
			cur.Child = true
			assignErr = s.UpdateParticipant(ctx, cur)
		})
		wg.Go(func() {
			a := cw
			a.ChildProtectionTrained = false
			untrainErr = s.UpdateAccount(ctx, a)
		})
		wg.Wait()
		for what, err := range map[string]error{"mark a child": assignErr, "take away training": untrainErr} {
			if err != nil && !errors.Is(err, store.ErrChildProtection) {
				t.Fatalf("round %d: %s: %v", r, what, err)
			}
		}
		if assignErr == nil {
			assigned++
		}
		if untrainErr == nil {
			untrained++
		}
		got, err := s.GetParticipant(ctx, pid)
		must(t, "get person", err)
		acct, err := s.GetAccount(ctx, cw.ID)
		must(t, "get account", err)
		if got.Child && !acct.ChildProtectionTrained {
			t.Fatalf("round %d: a child is in the caseload of a caseworker without child-protection training", r)
		}
		if assignErr == nil && untrainErr == nil {
			t.Fatalf("round %d: both the assignment and the loss of training landed", r)
		}
	}
	t.Logf("%d rounds: the child was assigned in %d, the training taken away in %d", rounds, assigned, untrained)
}

func testKeyCheck(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	_, err := s.KeyCheck(ctx)
	mustBe(t, "no key check yet", err, store.ErrNotFound)
	mustBe(t, "empty key check", s.PutKeyCheck(ctx, nil), store.ErrEmpty)
	v1 := []byte{0, 1, 2, 0xfe, 0xff, '"', '\\'}
	must(t, "put", s.PutKeyCheck(ctx, v1))
	got, err := s.KeyCheck(ctx)
	must(t, "get", err)
	mustSame(t, "key check", got, v1)
	v2 := []byte("another sealed value")
	must(t, "replace", s.PutKeyCheck(ctx, v2))
	got, err = s.KeyCheck(ctx)
	must(t, "get replaced", err)
	mustSame(t, "replaced key check", got, v2)
}

// BenchMarkUnreachable measures MarkUnreachable of a reachable link: the
// mark, the item and the entry in one step. Each round marks a new link.
func BenchMarkUnreachable(b *testing.B, newStore func(b *testing.B) store.Store) {
	s := newStore(b)
	ctx := b.Context()
	if err := s.CreateParticipant(ctx, participant("p_a")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		ix := fmt.Sprint("idx_", i)
		if err := s.PutLink(ctx, link(ix, "p_a")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if marked, err := s.MarkUnreachable(ctx, unreachable(ix, "p_a", fmt.Sprint(i))); err != nil || !marked {
			b.Fatalf("mark: %v, %v", marked, err)
		}
	}
}

// BenchChildTurn measures ApplyTurn saving the record of a person, a child
// when child is set (with a trained caseworker), and a session: the
// child-protection check is what the two differ by.
func BenchChildTurn(b *testing.B, newStore func(b *testing.B) store.Store, child bool) {
	s := newStore(b)
	ctx := b.Context()
	if err := s.CreateAccount(ctx, account("cw_1", "amira")); err != nil {
		b.Fatal(err)
	}
	p := participant("p_a")
	p.Child = child
	if err := s.CreateParticipant(ctx, p); err != nil {
		b.Fatal(err)
	}
	ss := session("p_a", wallNow().Add(24*time.Hour))
	p.Revision = 1
	b.ReportAllocs()
	for b.Loop() {
		p.TextsInWindow++
		if err := s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &p, Session: &ss}); err != nil {
			b.Fatal(err)
		}
		p.Revision++
	}
}
