package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// privacyTests pin down what erasure, retention and key rotation rely on:
// erasure leaves nothing of a person (not even their audit entries, only the
// one the caller writes about the erasure), each Purge method deletes
// exactly what is past its time and nothing else, and every link can be
// listed for re-sealing.
var privacyTests = []namedTest{
	{"ExitedAtRoundTrips", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		p := participant("p_a")
		p.Status, p.ExitedAt = store.Exited, at(3*time.Hour)
		must(t, "create", s.CreateParticipant(ctx, p))
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant", got, atRevision(p, 1))
	}},
	{"ListLinksReturnsEveryLinkByIndex", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, pid := range []string{"p_a", "p_b", "p_c"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
		}
		got, err := s.ListLinks(ctx)
		must(t, "list empty", err)
		mustIDs(t, "no links", ids(got, linkIndex), nil)
		want := []store.Link{link("idx_c", "p_a"), link("idx_a", "p_b"), link("idx_b", "p_b"), link("idx_d", "p_c")}
		for _, l := range want {
			must(t, "put", s.PutLink(ctx, l))
		}
		got, err = s.ListLinks(ctx)
		must(t, "list", err)
		mustIDs(t, "links by index", ids(got, linkIndex), []string{"idx_a", "idx_b", "idx_c", "idx_d"})
		mustSame(t, "listed link", got[2], want[0])

		// A link moved to another participant is listed once, under its
		// new owner; a deleted one not at all.
		must(t, "move", s.PutLink(ctx, link("idx_c", "p_c")))
		must(t, "delete", s.DeleteLink(ctx, "idx_d"))
		got, err = s.ListLinks(ctx)
		must(t, "list after changes", err)
		mustIDs(t, "links after changes", ids(got, linkIndex), []string{"idx_a", "idx_b", "idx_c"})
		if got[2].ParticipantID != "p_c" {
			t.Fatalf("moved link listed as %s's", got[2].ParticipantID)
		}
	}},
	{"OutboundOfListsEveryStatusOldestFirst", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		late, early, mid := outbound("m_late", "p_a", at(2*time.Minute)), outbound("m_early", "p_a", at(0)), outbound("m_mid", "p_a", at(time.Minute))
		must(t, "enqueue", s.EnqueueOutbound(ctx, late, early, mid, outbound("m_other", "p_b", at(0))))
		mid.Status, mid.UpdatedAt = store.Delivered, at(time.Hour)
		must(t, "deliver", s.UpdateOutbound(ctx, mid))
		got, err := s.OutboundOf(ctx, "p_a")
		must(t, "outbound of", err)
		mustIDs(t, "messages oldest first", ids(got, outboundID), []string{"m_early", "m_mid", "m_late"})
		if got[1].Status != store.Delivered || got[1].Text != "" {
			t.Fatalf("delivered message listed as %q with text %q", got[1].Status, got[1].Text)
		}
		mustSame(t, "pending message", got[0], early)
		got, err = s.OutboundOf(ctx, "p_nobody")
		must(t, "outbound of nobody", err)
		mustIDs(t, "messages of nobody", ids(got, outboundID), nil)
	}},
	{"ErasureLeavesOnlyTheErasureEntry", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateParticipant(ctx, participant("p_gone")))
		// Entries written by a turn and on their own, one naming no one,
		// and one of another person.
		turn := store.Turn{ParticipantID: "p_gone", Audit: []store.AuditEntry{
			audit("au_turn", "p_gone", at(time.Minute)), audit("au_turn_none", "", at(2*time.Minute)),
		}}
		must(t, "turn", s.ApplyTurn(ctx, turn))
		must(t, "lone", s.AppendAudit(ctx, audit("au_lone", "p_gone", at(3*time.Minute))))
		must(t, "other", s.AppendAudit(ctx, audit("au_other", "p_kept", at(4*time.Minute))))
		must(t, "none", s.AppendAudit(ctx, audit("au_none", "", at(5*time.Minute))))

		must(t, "delete", s.DeleteParticipant(ctx, "p_gone"))
		erased := store.AuditEntry{ID: "au_erased", At: at(time.Hour), Actor: "cw_1", Action: "participant_erased", ParticipantID: "p_gone"}
		must(t, "record the erasure", s.AppendAudit(ctx, erased))

		got, err := s.ListAudit(ctx, "p_gone", 0)
		must(t, "audit of erased", err)
		mustIDs(t, "audit of erased", auditIDs(got), []string{"au_erased"})
		mustSame(t, "erasure entry", got[0], erased)
		all, err := s.ListAudit(ctx, "", 0)
		must(t, "whole audit", err)
		mustIDs(t, "whole audit", auditIDs(all), []string{"au_erased", "au_none", "au_other", "au_turn_none"})
	}},
	{"ErasureDeletesEnrolmentCodes", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		exp := wallNow().Add(time.Hour)
		for _, pid := range []string{"p_gone", "p_kept"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
			must(t, "code", s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "CODE_" + pid, ParticipantID: pid, ExpiresAt: exp}))
		}
		must(t, "delete", s.DeleteParticipant(ctx, "p_gone"))
		_, err := s.TakeEnrolmentCode(ctx, "CODE_p_gone")
		mustBe(t, "code of erased participant", err, store.ErrNotFound)
		c, err := s.TakeEnrolmentCode(ctx, "CODE_p_kept")
		must(t, "code of kept participant", err)
		if c.ParticipantID != "p_kept" {
			t.Fatalf("code names %s", c.ParticipantID)
		}
	}},
	{"PurgeCheckInsDeletesOnlyOlderOnes", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, pid := range []string{"p_a", "p_b"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
			for i, d := range []time.Duration{-48 * time.Hour, -time.Nanosecond, 0, time.Hour} {
				must(t, "record", s.RecordCheckIn(ctx, checkIn(pid+"_c"+string(rune('0'+i)), pid, at(d))))
			}
		}
		n, err := s.PurgeCheckIns(ctx, at(0))
		must(t, "purge", err)
		if n != 4 {
			t.Fatalf("purged %d check-ins, want 4", n)
		}
		for _, pid := range []string{"p_a", "p_b"} {
			got, err := s.CheckInsOf(ctx, pid, time.Time{})
			must(t, "check-ins of", err)
			mustIDs(t, "kept check-ins of "+pid, ids(got, func(c store.CheckIn) string { return c.ID }), []string{pid + "_c2", pid + "_c3"})
		}
		n, err = s.PurgeCheckIns(ctx, at(0))
		must(t, "purge again", err)
		if n != 0 {
			t.Fatalf("second purge deleted %d check-ins", n)
		}
	}},
	{"PurgeAuditDeletesOnlyOlderOnes", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateParticipant(ctx, participant("p_a")))
		must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Audit: []store.AuditEntry{
			audit("au_turn_old", "p_a", at(-time.Hour)), audit("au_turn_new", "p_a", at(time.Hour)),
		}}))
		for _, e := range []store.AuditEntry{
			audit("au_old", "p_a", at(-2*time.Hour)), audit("au_none_old", "", at(-time.Minute)),
			audit("au_edge", "p_b", at(0)), audit("au_new", "p_b", at(time.Minute)),
		} {
			must(t, "append", s.AppendAudit(ctx, e))
		}
		n, err := s.PurgeAudit(ctx, at(0))
		must(t, "purge", err)
		if n != 3 {
			t.Fatalf("purged %d entries, want 3", n)
		}
		all, err := s.ListAudit(ctx, "", 0)
		must(t, "list", err)
		mustIDs(t, "kept entries", auditIDs(all), []string{"au_turn_new", "au_new", "au_edge"})
		ofA, err := s.ListAudit(ctx, "p_a", 0)
		must(t, "list of p_a", err)
		mustIDs(t, "kept entries of p_a", auditIDs(ofA), []string{"au_turn_new"})
		n, err = s.PurgeAudit(ctx, at(0))
		must(t, "purge again", err)
		if n != 0 {
			t.Fatalf("second purge deleted %d entries", n)
		}
		// An ID purged is free again (nothing of it is left behind).
		must(t, "reuse a purged ID", s.AppendAudit(ctx, audit("au_old", "p_a", at(2*time.Hour))))
	}},
	{"PurgeOutboundDeletesOnlyOldFinalMessages", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		pendingOld := outbound("m_pending_old", "p_a", at(-48*time.Hour))
		deliveredOld := outbound("m_delivered_old", "p_a", at(-48*time.Hour))
		failedOld := outbound("m_failed_old", "p_b", at(-48*time.Hour))
		deliveredNew := outbound("m_delivered_new", "p_a", at(-time.Hour))
		must(t, "enqueue", s.EnqueueOutbound(ctx, pendingOld, deliveredOld, failedOld, deliveredNew))
		for _, u := range []struct {
			m      store.OutboundMessage
			status store.MessageStatus
			at     time.Time
		}{
			{deliveredOld, store.Delivered, at(-47 * time.Hour)},
			{failedOld, store.Failed, at(-47 * time.Hour)},
			{deliveredNew, store.Delivered, at(0)},
		} {
			u.m.Status, u.m.UpdatedAt = u.status, u.at
			must(t, "update", s.UpdateOutbound(ctx, u.m))
		}
		n, err := s.PurgeOutbound(ctx, at(-24*time.Hour))
		must(t, "purge", err)
		if n != 2 {
			t.Fatalf("purged %d messages, want 2", n)
		}
		for _, id := range []string{"m_delivered_old", "m_failed_old"} {
			_, err := s.GetOutbound(ctx, id)
			mustBe(t, "purged "+id, err, store.ErrNotFound)
		}
		for _, id := range []string{"m_pending_old", "m_delivered_new"} {
			_, err := s.GetOutbound(ctx, id)
			must(t, "kept "+id, err)
		}
		of, err := s.OutboundOf(ctx, "p_a")
		must(t, "outbound of", err)
		mustIDs(t, "kept messages", ids(of, outboundID), []string{"m_pending_old", "m_delivered_new"})
		claimed := claimOut(t, s, "w", at(0), time.Minute, 10)
		mustIDs(t, "a pending message is never purged and still claimable", ids(claimed, outboundID), []string{"m_pending_old"})
		n, err = s.PurgeOutbound(ctx, at(-24*time.Hour))
		must(t, "purge again", err)
		if n != 0 {
			t.Fatalf("second purge deleted %d messages", n)
		}
	}},
	{"PurgeAttentionDeletesOnlyLongResolvedItems", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, a := range []store.AttentionItem{
			attention("att_open_old", "p_a", at(-72*time.Hour)),
			attention("att_resolved_old", "p_a", at(-72*time.Hour)),
			attention("att_resolved_new", "p_b", at(-72*time.Hour)),
		} {
			must(t, "add", s.AddAttention(ctx, a))
		}
		must(t, "resolve old", s.ResolveAttention(ctx, "att_resolved_old", "cw_1", "contacted", at(-48*time.Hour)))
		must(t, "resolve new", s.ResolveAttention(ctx, "att_resolved_new", "cw_1", "contacted", at(0)))
		n, err := s.PurgeAttention(ctx, at(-time.Hour))
		must(t, "purge", err)
		if n != 1 {
			t.Fatalf("purged %d items, want 1", n)
		}
		all, err := s.ListAttention(ctx, false)
		must(t, "list", err)
		mustIDs(t, "kept items", sortedCopy(ids(all, func(a store.AttentionItem) string { return a.ID })), []string{"att_open_old", "att_resolved_new"})
		open, err := s.ListAttention(ctx, true)
		must(t, "list open", err)
		mustIDs(t, "open items", ids(open, func(a store.AttentionItem) string { return a.ID }), []string{"att_open_old"})
		must(t, "reuse a purged ID", s.AddAttention(ctx, attention("att_resolved_old", "p_a", at(0))))
	}},
	{"PurgeOutboundTextDropsOnlyOldAcceptedTexts", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		queuedOld := outbound("m_queued_old", "p_a", at(-48*time.Hour))
		sentNew := outbound("m_sent_new", "p_a", at(-48*time.Hour))
		pendingOld := outbound("m_pending_old", "p_b", at(-48*time.Hour))
		must(t, "enqueue", s.EnqueueOutbound(ctx, queuedOld, sentNew, pendingOld))
		queuedOld.Status, queuedOld.ProviderID, queuedOld.Attempts, queuedOld.UpdatedAt = store.Queued, "tg:1", 1, at(-3*time.Hour)
		must(t, "queued", s.UpdateOutbound(ctx, queuedOld))
		sentNew.Status, sentNew.UpdatedAt = store.Sent, at(-time.Minute)
		must(t, "sent", s.UpdateOutbound(ctx, sentNew))

		n, err := s.PurgeOutboundText(ctx, at(-time.Hour))
		must(t, "purge text", err)
		if n != 1 {
			t.Fatalf("dropped %d texts, want 1", n)
		}
		got, err := s.GetOutbound(ctx, "m_queued_old")
		must(t, "get queued", err)
		want := queuedOld
		want.Text = ""
		mustSame(t, "old accepted message: text gone, the rest kept", got, want)
		got, err = s.GetOutbound(ctx, "m_sent_new")
		must(t, "get sent", err)
		mustSame(t, "recent accepted message", got, sentNew)
		got, err = s.GetOutbound(ctx, "m_pending_old")
		must(t, "get pending", err)
		mustSame(t, "a pending message keeps its text, whatever its age", got, pendingOld)
		mustIDs(t, "the pending message is still claimable", ids(claimOut(t, s, "w", at(0), time.Minute, 10), outboundID), []string{"m_pending_old"})
		n, err = s.PurgeOutboundText(ctx, at(-time.Hour))
		must(t, "purge text again", err)
		if n != 0 {
			t.Fatalf("second purge dropped %d texts", n)
		}
	}},
}

func linkIndex(l store.Link) string { return l.Index }
