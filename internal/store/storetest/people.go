package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

var participantTests = []namedTest{
	{"CreateThenGetReturnsEveryField", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		p := participant("p_a")
		p.OptedOut, p.OptedOutAt, p.Status = true, at(2*time.Hour), store.Paused
		p.SMSAgreedAt = at(3 * time.Minute)
		p.TextsWindow, p.TextsInWindow = "win:p_a:1772442000", 3
		must(t, "create", s.CreateParticipant(ctx, p))
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant after create", got, atRevision(p, 1))
	}},
	{"DuplicateCreateIsConflictAndKeepsOriginal", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		p := participant("p_a")
		must(t, "create", s.CreateParticipant(ctx, p))
		other := participant("p_a")
		other.Label = "someone else"
		mustBe(t, "second create", s.CreateParticipant(ctx, other), store.ErrConflict)
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant after refused create", got, atRevision(p, 1))
	}},
	{"GetMissingIsNotFound", func(t *testing.T, s store.Store) {
		_, err := s.GetParticipant(ctxOf(t), "p_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
	}},
	{"UpdateReplacesRecord", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		p := created(t, s, "p_a")
		p.Status, p.Language, p.LastLink, p.UpdatedAt = store.Exited, "fr", "", at(3*time.Hour)
		p.Schedule, p.Child = nil, false
		must(t, "update", s.UpdateParticipant(ctx, p))
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant after update", got, atRevision(p, 2))
	}},
	{"UpdateOfAStaleReadIsRefused", func(t *testing.T, s store.Store) {
		// Two writers read revision 1; the first saves, the second is
		// refused and changes nothing, so neither change is lost unseen.
		ctx := ctxOf(t)
		first := created(t, s, "p_a")
		second := first
		first.Status = store.Paused
		second.OptedOut = true
		must(t, "first update", s.UpdateParticipant(ctx, first))
		mustBe(t, "update of a stale read", s.UpdateParticipant(ctx, second), store.ErrStale)
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant after a refused update", got, atRevision(first, 2))
		// Read again, the second writer's change lands on top of the first.
		got.OptedOut = true
		must(t, "update after reading again", s.UpdateParticipant(ctx, got))
		again, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		if again.Status != store.Paused || !again.OptedOut || again.Revision != 3 {
			t.Fatalf("after both changes: %+v", again)
		}
	}},
	{"UpdateMissingIsNotFoundAndCreatesNothing", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mustBe(t, "update missing", s.UpdateParticipant(ctx, participant("p_ghost")), store.ErrNotFound)
		_, err := s.GetParticipant(ctx, "p_ghost")
		mustBe(t, "get after refused update", err, store.ErrNotFound)
	}},
	{"ListIsOrderedByID", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		got, err := s.ListParticipants(ctx)
		must(t, "list empty", err)
		mustIDs(t, "empty store", ids(got, func(p store.Participant) string { return p.ID }), nil)
		for _, id := range []string{"p_c", "p_a", "p_b"} {
			must(t, "create "+id, s.CreateParticipant(ctx, participant(id)))
		}
		got, err = s.ListParticipants(ctx)
		must(t, "list", err)
		mustIDs(t, "list order", ids(got, func(p store.Participant) string { return p.ID }), []string{"p_a", "p_b", "p_c"})
		mustSame(t, "listed record", got[0], atRevision(participant("p_a"), 1))
	}},
	{"DeleteErasesEverythingOfThatParticipantOnly", testDeleteParticipant},
	{"DeleteMissingIsNoError", func(t *testing.T, s store.Store) {
		must(t, "delete missing", s.DeleteParticipant(ctxOf(t), "p_missing"))
	}},
}

// testDeleteParticipant gives two people one of everything, erases one, and
// checks that nothing of theirs can be found any more and that the other
// keeps everything.
func testDeleteParticipant(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	far := wallNow().Add(time.Hour)
	for _, pid := range []string{"p_gone", "p_kept"} {
		must(t, "create", s.CreateParticipant(ctx, participant(pid)))
		must(t, "link", s.PutLink(ctx, link("idx_"+pid, pid)))
		must(t, "link 2", s.PutLink(ctx, link("idx2_"+pid, pid)))
		must(t, "session", s.SaveSession(ctx, session(pid, far)))
		must(t, "check-in", s.RecordCheckIn(ctx, checkIn("c_"+pid, pid, at(0))))
		must(t, "attention", s.AddAttention(ctx, attention("att_"+pid, pid, at(0))))
		must(t, "audit", s.AppendAudit(ctx, audit("au_"+pid, pid, at(0))))
		must(t, "appointment", s.PutAppointment(ctx, appointment("ap_"+pid, pid, "2026-03-10", "10:00")))
		must(t, "due", s.PutDue(ctx, due("d_"+pid, pid, at(0))))
		delivered := outbound("m_done_"+pid, pid, at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_"+pid, pid, at(0)), delivered))
		delivered.Status = store.Delivered
		must(t, "update outbound", s.UpdateOutbound(ctx, delivered))
	}

	must(t, "delete", s.DeleteParticipant(ctx, "p_gone"))

	_, err := s.GetParticipant(ctx, "p_gone")
	mustBe(t, "participant", err, store.ErrNotFound)
	_, err = s.GetLink(ctx, "idx_p_gone")
	mustBe(t, "link", err, store.ErrNotFound)
	_, err = s.GetLink(ctx, "idx2_p_gone")
	mustBe(t, "second link", err, store.ErrNotFound)
	links, err := s.LinksOf(ctx, "p_gone")
	must(t, "links of", err)
	if len(links) != 0 {
		t.Fatalf("links of erased participant: %d left", len(links))
	}
	_, err = s.GetSession(ctx, "p_gone")
	mustBe(t, "session", err, store.ErrNotFound)
	cis, err := s.CheckInsOf(ctx, "p_gone", time.Time{})
	must(t, "check-ins of", err)
	if len(cis) != 0 {
		t.Fatalf("check-ins of erased participant: %d left", len(cis))
	}
	items, err := s.ListAttention(ctx, false)
	must(t, "list attention", err)
	mustIDs(t, "attention after erase", ids(items, func(a store.AttentionItem) string { return a.ID }), []string{"att_p_kept"})
	_, err = s.GetAppointment(ctx, "ap_p_gone")
	mustBe(t, "appointment", err, store.ErrNotFound)
	appts, err := s.AppointmentsOf(ctx, "p_gone")
	must(t, "appointments of", err)
	if len(appts) != 0 {
		t.Fatalf("appointments of erased participant: %d left", len(appts))
	}
	dues, err := s.DueOf(ctx, "p_gone")
	must(t, "due of", err)
	if len(dues) != 0 {
		t.Fatalf("due items of erased participant: %d left", len(dues))
	}
	for _, id := range []string{"m_p_gone", "m_done_p_gone"} {
		_, err = s.GetOutbound(ctx, id)
		mustBe(t, "outbound "+id, err, store.ErrNotFound)
	}
	claimed, err := s.ClaimDue(ctx, "w", at(time.Hour), time.Minute, 10)
	must(t, "claim due", err)
	mustIDs(t, "due claimable after erase", ids(claimed, dueID), []string{"d_p_kept"})
	msgs, err := s.ClaimOutbound(ctx, "w", at(time.Hour), time.Minute, 10)
	must(t, "claim outbound", err)
	mustIDs(t, "outbound claimable after erase", ids(msgs, outboundID), []string{"m_p_kept"})

	// Their audit entries go too; the caller records the erasure alone
	// (privacy.go checks that in detail).
	entries, err := s.ListAudit(ctx, "p_gone", 0)
	must(t, "audit of erased participant", err)
	mustIDs(t, "audit of erased participant", ids(entries, func(e store.AuditEntry) string { return e.ID }), nil)

	// The other participant keeps everything.
	_, err = s.GetParticipant(ctx, "p_kept")
	must(t, "kept participant", err)
	links, err = s.LinksOf(ctx, "p_kept")
	must(t, "kept links", err)
	if len(links) != 2 {
		t.Fatalf("kept participant has %d links, want 2", len(links))
	}
	_, err = s.GetSession(ctx, "p_kept")
	must(t, "kept session", err)
	cis, err = s.CheckInsOf(ctx, "p_kept", time.Time{})
	must(t, "kept check-ins", err)
	if len(cis) != 1 {
		t.Fatalf("kept participant has %d check-ins, want 1", len(cis))
	}
	_, err = s.GetAppointment(ctx, "ap_p_kept")
	must(t, "kept appointment", err)
	_, err = s.GetOutbound(ctx, "m_done_p_kept")
	must(t, "kept delivered message", err)
}

var linkTests = []namedTest{
	{"PutThenGetKeepsSealedBytesExactly", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		l := link("idx_1", "p_a")
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		l.Sealed = all
		must(t, "put", s.PutLink(ctx, l))
		got, err := s.GetLink(ctx, "idx_1")
		must(t, "get", err)
		mustSame(t, "link", got, l)
		if string(got.Sealed) != string(all) {
			t.Fatalf("sealed bytes changed in storage")
		}
	}},
	{"GetMissingIsNotFound", func(t *testing.T, s store.Store) {
		_, err := s.GetLink(ctxOf(t), "idx_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
	}},
	{"PutReplacesByIndex", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutLink(ctx, link("idx_1", "p_a")))
		l := link("idx_1", "p_a")
		l.Unreachable, l.Reason, l.Sealed = true, "30006", []byte("new sealed")
		must(t, "replace", s.PutLink(ctx, l))
		got, err := s.GetLink(ctx, "idx_1")
		must(t, "get", err)
		mustSame(t, "replaced link", got, l)
		links, err := s.LinksOf(ctx, "p_a")
		must(t, "links of", err)
		if len(links) != 1 {
			t.Fatalf("replacing a link listed it %d times", len(links))
		}
	}},
	{"ReplaceMovesLinkToNewParticipant", func(t *testing.T, s store.Store) {
		// A phone number handed on to another person: the old participant
		// must no longer list it.
		ctx := ctxOf(t)
		must(t, "put", s.PutLink(ctx, link("idx_1", "p_a")))
		must(t, "move", s.PutLink(ctx, link("idx_1", "p_b")))
		old, err := s.LinksOf(ctx, "p_a")
		must(t, "links of old", err)
		if len(old) != 0 {
			t.Fatalf("old participant still lists a moved link")
		}
		now, err := s.LinksOf(ctx, "p_b")
		must(t, "links of new", err)
		mustIDs(t, "new participant's links", ids(now, func(l store.Link) string { return l.Index }), []string{"idx_1"})
	}},
	{"LinksOfIsOrderedByIndexAndOnlyThatParticipant", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, l := range []store.Link{link("idx_c", "p_a"), link("idx_a", "p_a"), link("idx_b", "p_b"), link("idx_b2", "p_a")} {
			must(t, "put", s.PutLink(ctx, l))
		}
		got, err := s.LinksOf(ctx, "p_a")
		must(t, "links of", err)
		mustIDs(t, "links of p_a", ids(got, func(l store.Link) string { return l.Index }), []string{"idx_a", "idx_b2", "idx_c"})
		mustSame(t, "listed link", got[0], link("idx_a", "p_a"))
		none, err := s.LinksOf(ctx, "p_nobody")
		must(t, "links of nobody", err)
		if len(none) != 0 {
			t.Fatalf("unknown participant has links")
		}
	}},
	{"DeleteRemovesLinkAndIsIdempotent", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutLink(ctx, link("idx_1", "p_a")))
		must(t, "put", s.PutLink(ctx, link("idx_2", "p_a")))
		must(t, "delete", s.DeleteLink(ctx, "idx_1"))
		_, err := s.GetLink(ctx, "idx_1")
		mustBe(t, "get deleted", err, store.ErrNotFound)
		got, err := s.LinksOf(ctx, "p_a")
		must(t, "links of", err)
		mustIDs(t, "links after delete", ids(got, func(l store.Link) string { return l.Index }), []string{"idx_2"})
		must(t, "delete again", s.DeleteLink(ctx, "idx_1"))
	}},
}

var enrolmentTests = []namedTest{
	{"TakeReturnsCodeOnce", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		c := store.EnrolmentCode{Code: "K7QM-2XPA", ParticipantID: "p_a", ExpiresAt: wallNow().Add(time.Hour)}
		must(t, "put", s.PutEnrolmentCode(ctx, c))
		got, err := s.TakeEnrolmentCode(ctx, c.Code)
		must(t, "take", err)
		mustSame(t, "taken code", got, c)
		_, err = s.TakeEnrolmentCode(ctx, c.Code)
		mustBe(t, "second take", err, store.ErrNotFound)
	}},
	{"DuplicatePutIsConflictAndKeepsOriginal", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		c := store.EnrolmentCode{Code: "K7QM-2XPA", ParticipantID: "p_a", ExpiresAt: wallNow().Add(time.Hour)}
		must(t, "put", s.PutEnrolmentCode(ctx, c))
		other := c
		other.ParticipantID = "p_b"
		mustBe(t, "duplicate put", s.PutEnrolmentCode(ctx, other), store.ErrConflict)
		got, err := s.TakeEnrolmentCode(ctx, c.Code)
		must(t, "take", err)
		mustSame(t, "code after refused put", got, c)
	}},
	{"TakeMissingIsNotFound", func(t *testing.T, s store.Store) {
		_, err := s.TakeEnrolmentCode(ctxOf(t), "NOPE")
		mustBe(t, "take missing", err, store.ErrNotFound)
	}},
	{"ExpiredCodeIsGoneAndCanBeReissued", func(t *testing.T, s store.Store) {
		// Wall-time expiry: a code past ExpiresAt can no longer be taken,
		// and its value is free for a new code.
		ctx := ctxOf(t)
		c := store.EnrolmentCode{Code: "SHORT", ParticipantID: "p_a", ExpiresAt: wallNow().Add(80 * time.Millisecond)}
		must(t, "put", s.PutEnrolmentCode(ctx, c))
		sleepPast(c.ExpiresAt)
		_, err := s.TakeEnrolmentCode(ctx, c.Code)
		mustBe(t, "take expired", err, store.ErrNotFound)
		again := store.EnrolmentCode{Code: "SHORT", ParticipantID: "p_b", ExpiresAt: wallNow().Add(time.Hour)}
		must(t, "reissue", s.PutEnrolmentCode(ctx, again))
		got, err := s.TakeEnrolmentCode(ctx, "SHORT")
		must(t, "take reissued", err)
		mustSame(t, "reissued code", got, again)
	}},
	{"ConcurrentTakesOneWinner", func(t *testing.T, s store.Store) {
		// Two people racing with one code: exactly one enrols.
		ctx := ctxOf(t)
		must(t, "put", s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "RACE", ParticipantID: "p_a", ExpiresAt: wallNow().Add(time.Hour)}))
		const n = 32
		var wg sync.WaitGroup
		results := make(chan error, n)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, err := s.TakeEnrolmentCode(ctx, "RACE")
				results <- err
			})
		}
		close(start)
		wg.Wait()
		close(results)
		wins := 0
		for err := range results {
			switch {
			case err == nil:
				wins++
			case !isNotFound(err):
				t.Fatalf("losing take: got %v, want ErrNotFound", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d takes won, want exactly 1", wins)
		}
	}},
}

var sessionTests = []namedTest{
	{"SaveThenGetKeepsVars", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		ss := session("p_a", wallNow().Add(time.Hour))
		must(t, "save", s.SaveSession(ctx, ss))
		got, err := s.GetSession(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "session", got, ss)
	}},
	{"SaveReplaces", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "save", s.SaveSession(ctx, session("p_a", wallNow().Add(time.Hour))))
		ss := session("p_a", wallNow().Add(2*time.Hour))
		ss.Node, ss.Vars, ss.WaitUntil = "done", map[string]string{"only": "this"}, time.Time{}
		must(t, "replace", s.SaveSession(ctx, ss))
		got, err := s.GetSession(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "replaced session (old vars gone)", got, ss)
	}},
	{"GetMissingIsNotFound", func(t *testing.T, s store.Store) {
		_, err := s.GetSession(ctxOf(t), "p_a")
		mustBe(t, "get missing", err, store.ErrNotFound)
	}},
	{"DeleteRemovesAndIsIdempotent", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "save", s.SaveSession(ctx, session("p_a", wallNow().Add(time.Hour))))
		must(t, "save other", s.SaveSession(ctx, session("p_b", wallNow().Add(time.Hour))))
		must(t, "delete", s.DeleteSession(ctx, "p_a"))
		_, err := s.GetSession(ctx, "p_a")
		mustBe(t, "get deleted", err, store.ErrNotFound)
		_, err = s.GetSession(ctx, "p_b")
		must(t, "other session survives", err)
		must(t, "delete again", s.DeleteSession(ctx, "p_a"))
	}},
	{"ExpiredInWallTimeIsNotFound", func(t *testing.T, s store.Store) {
		// GetSession returns ErrNotFound once ExpiresAt has passed on the
		// wall clock, whether or not the backend has dropped it yet.
		ctx := ctxOf(t)
		ss := session("p_a", wallNow().Add(100*time.Millisecond))
		must(t, "save", s.SaveSession(ctx, ss))
		got, err := s.GetSession(ctx, "p_a")
		must(t, "get before expiry", err)
		mustSame(t, "live session", got, ss)
		sleepPast(ss.ExpiresAt)
		_, err = s.GetSession(ctx, "p_a")
		mustBe(t, "get after expiry", err, store.ErrNotFound)
	}},
	{"SavedAlreadyExpiredIsNotFound", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "save", s.SaveSession(ctx, session("p_a", wallNow().Add(-time.Minute))))
		_, err := s.GetSession(ctx, "p_a")
		mustBe(t, "get expired", err, store.ErrNotFound)
	}},
}
