package storetest

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func claimOut(t *testing.T, s store.Store, owner string, now time.Time, lease time.Duration, limit int) []store.OutboundMessage {
	t.Helper()
	got, err := s.ClaimOutbound(ctxOf(t), owner, now, lease, limit)
	must(t, "claim outbound by "+owner, err)
	return got
}

func claimDue(t *testing.T, s store.Store, owner string, now time.Time, lease time.Duration, limit int) []store.DueItem {
	t.Helper()
	got, err := s.ClaimDue(ctxOf(t), owner, now, lease, limit)
	must(t, "claim due by "+owner, err)
	return got
}

var outboxTests = []namedTest{
	{"EnqueueThenGetKeepsEveryField", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		m := outbound("m_1", "p_a", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, m))
		got, err := s.GetOutbound(ctx, "m_1")
		must(t, "get", err)
		mustSame(t, "message", got, m)
		_, err = s.GetOutbound(ctx, "m_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
	}},
	{"DuplicateIDRefusedWhole", func(t *testing.T, s store.Store) {
		// A message is queued once: an ID in use is a conflict, and nothing
		// of that batch is queued.
		ctx := ctxOf(t)
		m := outbound("m_0", "p_a", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, m))
		again := outbound("m_0", "p_a", at(time.Hour))
		again.Text = "other"
		mustBe(t, "enqueue same ID", s.EnqueueOutbound(ctx, outbound("m_new", "p_b", at(0)), again), store.ErrConflict)
		_, err := s.GetOutbound(ctx, "m_new")
		mustBe(t, "other message of the refused batch", err, store.ErrNotFound)
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		mustSame(t, "original message", got, m)
		mustFail(t, "one ID twice in a batch", s.EnqueueOutbound(ctx, outbound("m_1", "p_a", at(0)), outbound("m_1", "p_a", at(0))))
		_, err = s.GetOutbound(ctx, "m_1")
		mustBe(t, "message of a batch with a repeated ID", err, store.ErrNotFound)
	}},
	{"ClaimRespectsNotBeforeOrderAndLimit", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		// Enqueued out of order; claims come oldest first. Each is another
		// person's: one person's go in the order made (SendOrder below).
		must(t, "enqueue", s.EnqueueOutbound(ctx,
			outbound("m_2", "p_c", at(2*time.Minute)),
			outbound("m_0", "p_a", at(0)),
			outbound("m_3", "p_d", at(3*time.Minute)),
			outbound("m_1", "p_b", at(time.Minute)),
		))
		got := claimOut(t, s, "a", at(2*time.Minute), time.Hour, 2)
		mustIDs(t, "first claim (limit 2)", ids(got, outboundID), []string{"m_0", "m_1"})
		mustSame(t, "claimed message unchanged", got[0], outbound("m_0", "p_a", at(0)))
		got = claimOut(t, s, "a", at(2*time.Minute), time.Hour, 10)
		mustIDs(t, "second claim: only what is due", ids(got, outboundID), []string{"m_2"})
		got = claimOut(t, s, "a", at(2*time.Minute), time.Hour, 10)
		mustIDs(t, "nothing left that is due", ids(got, outboundID), nil)
	}},
	{"OnlyPendingIsClaimed", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		sent := outbound("m_sent", "p_a", at(0))
		sent.Status = store.Sent
		must(t, "enqueue", s.EnqueueOutbound(ctx, sent, outbound("m_pending", "p_a", at(0))))
		got := claimOut(t, s, "a", at(time.Minute), time.Minute, 10)
		mustIDs(t, "claimed", ids(got, outboundID), []string{"m_pending"})
	}},
	{"LeaseHoldsUntilItEndsThenAnotherOwnerClaims", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0))))
		got := claimOut(t, s, "a", at(0), time.Minute, 10)
		mustIDs(t, "a claims", ids(got, outboundID), []string{"m_0"})
		got = claimOut(t, s, "b", at(59*time.Second), time.Minute, 10)
		mustIDs(t, "b during a's lease", ids(got, outboundID), nil)
		// a crashed: once its lease ends, b takes the message over.
		got = claimOut(t, s, "b", at(time.Minute+time.Millisecond), time.Minute, 10)
		mustIDs(t, "b after a's lease", ids(got, outboundID), []string{"m_0"})
		got = claimOut(t, s, "a", at(90*time.Second), time.Minute, 10)
		mustIDs(t, "a during b's lease", ids(got, outboundID), nil)
		m, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		mustSame(t, "claims change nothing in the message", m, outbound("m_0", "p_a", at(0)))
	}},
	{"UpdateEndsLeaseForRetry", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0))))
		m := claimOut(t, s, "a", at(0), time.Hour, 10)[0]
		// A transient failure: back to Pending with a later NotBefore.
		m.Attempts, m.NotBefore, m.ErrorCode, m.UpdatedAt = 1, at(30*time.Second), "timeout", at(time.Second)
		must(t, "update", s.UpdateOutbound(ctx, m))
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		mustSame(t, "updated message", got, m)
		mustIDs(t, "before new NotBefore", ids(claimOut(t, s, "b", at(10*time.Second), time.Hour, 10), outboundID), nil)
		// Well inside a's hour-long lease: the update ended it.
		again := claimOut(t, s, "b", at(30*time.Second), time.Hour, 10)
		mustIDs(t, "after update and NotBefore", ids(again, outboundID), []string{"m_0"})
		mustSame(t, "reclaimed message", again[0], m)
	}},
	{"FinalStatusDropsTextAndStopsClaims", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0)), outbound("m_1", "p_a", at(0))))
		claimOut(t, s, "a", at(0), time.Hour, 10)

		queued := outbound("m_0", "p_a", at(0))
		queued.Status, queued.ProviderID, queued.Attempts = store.Queued, "SM123", 1
		must(t, "update queued", s.UpdateOutbound(ctx, queued))
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get queued", err)
		mustSame(t, "queued message keeps its text", got, queued)

		delivered := queued
		delivered.Status, delivered.UpdatedAt = store.Delivered, at(time.Minute)
		must(t, "update delivered", s.UpdateOutbound(ctx, delivered))
		got, err = s.GetOutbound(ctx, "m_0")
		must(t, "get delivered", err)
		if got.Text != "" {
			t.Fatalf("text kept after final status")
		}
		delivered.Text = ""
		mustSame(t, "delivered message (text dropped, rest kept)", got, delivered)

		failed := outbound("m_1", "p_a", at(0))
		failed.Status, failed.ErrorCode = store.Failed, "30003"
		must(t, "update failed", s.UpdateOutbound(ctx, failed))
		got, err = s.GetOutbound(ctx, "m_1")
		must(t, "get failed", err)
		if got.Text != "" || got.Status != store.Failed || got.ErrorCode != "30003" {
			t.Fatalf("failed message: text %q status %s code %s", got.Text, got.Status, got.ErrorCode)
		}
		mustIDs(t, "no claims after final status", ids(claimOut(t, s, "b", at(24*time.Hour), time.Hour, 10), outboundID), nil)
	}},
	{"WhatsAppTemplateKeptUntilFinalStatusThenDropped", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		wa := func(id string) store.OutboundMessage {
			m := outbound(id, "p_a", at(0))
			m.Channel = store.WhatsApp
			m.Template = &store.Template{SID: "HX0123456789abcdef0123456789abcdef", Variables: map[string]string{"1": "martes", "2": "09:00"}}
			m.FallbackSMS = true
			return m
		}
		enqueued, turned := wa("m_0"), wa("m_1")
		must(t, "enqueue", s.EnqueueOutbound(ctx, enqueued))
		must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Outbound: []store.OutboundMessage{turned}}))
		for _, m := range []store.OutboundMessage{enqueued, turned} {
			got, err := s.GetOutbound(ctx, m.ID)
			must(t, "get", err)
			mustSame(t, "message with its template", got, m)
		}
		claimed := claimOut(t, s, "a", at(0), time.Hour, 10)
		mustIDs(t, "claimed", ids(claimed, outboundID), []string{"m_0", "m_1"})
		mustSame(t, "claimed message keeps its template", claimed[0], enqueued)

		sent := enqueued
		sent.Status, sent.ProviderID, sent.Attempts, sent.Route = store.Sent, "SM1", 1, store.RouteTemplate
		must(t, "mark sent", s.MarkSent(ctx, sent))
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get sent", err)
		if got.Template == nil || got.Route != store.RouteTemplate || !got.FallbackSMS {
			t.Fatalf("sent message: template %v route %q fallback %v", got.Template, got.Route, got.FallbackSMS)
		}
		failed := got
		failed.Status, failed.ErrorCode, failed.UpdatedAt = store.Failed, "63016", at(time.Minute)
		must(t, "update failed", s.UpdateOutbound(ctx, failed))
		got, err = s.GetOutbound(ctx, "m_0")
		must(t, "get failed", err)
		want := failed
		want.DropWords()
		mustSame(t, "failed message: words gone, route and code kept", got, want)

		// Retention drops an accepted message's template as it drops its text.
		queued := turned
		queued.Status, queued.ProviderID, queued.Attempts, queued.UpdatedAt = store.Queued, "SM2", 1, at(-3*time.Hour)
		must(t, "queued", s.UpdateOutbound(ctx, queued))
		n, err := s.PurgeOutboundText(ctx, at(-time.Hour))
		must(t, "purge text", err)
		if n != 1 {
			t.Fatalf("purged %d messages' words, want 1", n)
		}
		got, err = s.GetOutbound(ctx, "m_1")
		must(t, "get purged", err)
		want = queued
		want.DropWords()
		mustSame(t, "old accepted message: words gone", got, want)
	}},
	{"UpdateMissingIsNotFound", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mustBe(t, "update missing", s.UpdateOutbound(ctx, outbound("m_ghost", "p_a", at(0))), store.ErrNotFound)
		_, err := s.GetOutbound(ctx, "m_ghost")
		mustBe(t, "get after refused update", err, store.ErrNotFound)
	}},
	{"MarkSentQueuesAndEndsTheClaim", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_0", "p_a", at(0))))
		m := claimOut(t, s, "a", at(0), time.Hour, 10)[0]
		// A second attempt, after a temporary failure left its code.
		m.Attempts, m.ErrorCode, m.ProviderID, m.UpdatedAt = 2, "503", "SM123", at(time.Second)
		must(t, "mark sent", s.MarkSent(ctx, m))
		got, err := s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		want := m
		want.Status, want.ErrorCode = store.Queued, ""
		mustSame(t, "sent message (queued, no error code, text kept)", got, want)
		mustIDs(t, "no claims once sent, even after the lease", ids(claimOut(t, s, "b", at(24*time.Hour), time.Hour, 10), outboundID), nil)
		// Recording it again (the first answer was lost) changes only what
		// the call says.
		m.UpdatedAt = at(2 * time.Second)
		must(t, "mark sent again", s.MarkSent(ctx, m))
		got, err = s.GetOutbound(ctx, "m_0")
		must(t, "get", err)
		want.UpdatedAt = m.UpdatedAt
		mustSame(t, "sent message, recorded twice", got, want)
	}},
	{"MarkSentKeepsAStatusReportedFirst", func(t *testing.T, s store.Store) {
		// The provider's status callback can land before the send is
		// recorded: its status, error code and dropped text stay, and the
		// send adds its provider ID, attempts and time.
		ctx := ctxOf(t)
		must(t, "enqueue", s.EnqueueOutbound(ctx,
			outbound("m_sent", "p_a", at(0)), outbound("m_undelivered", "p_a", at(0)), outbound("m_delivered", "p_b", at(0))))
		claimed := claimOut(t, s, "a", at(0), time.Hour, 10)
		mustIDs(t, "claimed", ids(claimed, outboundID), []string{"m_delivered", "m_sent", "m_undelivered"})
		reported := map[string]store.OutboundMessage{}
		for _, m := range claimed {
			r := m
			r.UpdatedAt = at(time.Second)
			switch m.ID {
			case "m_sent":
				r.Status = store.Sent
			case "m_undelivered":
				r.Status, r.ErrorCode = store.Undelivered, "30003"
			case "m_delivered":
				r.Status = store.Delivered
			}
			must(t, "status of "+m.ID, s.UpdateOutbound(ctx, r))
			reported[m.ID] = r
		}
		for _, m := range claimed {
			m.Attempts, m.ProviderID, m.UpdatedAt = 1, "SM_"+m.ID, at(2*time.Second)
			must(t, "mark sent "+m.ID, s.MarkSent(ctx, m))
			got, err := s.GetOutbound(ctx, m.ID)
			must(t, "get "+m.ID, err)
			want := reported[m.ID]
			want.Attempts, want.ProviderID, want.UpdatedAt = 1, "SM_"+m.ID, at(2*time.Second)
			if want.Status.Final() {
				want.Text = ""
			}
			mustSame(t, m.ID, got, want)
		}
		mustIDs(t, "no claims", ids(claimOut(t, s, "b", at(24*time.Hour), time.Hour, 10), outboundID), nil)
	}},
	{"MarkSentMissingIsNotFound", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mustBe(t, "mark sent missing", s.MarkSent(ctx, outbound("m_ghost", "p_a", at(0))), store.ErrNotFound)
		_, err := s.GetOutbound(ctx, "m_ghost")
		mustBe(t, "get after refused mark", err, store.ErrNotFound)
		// A message of another participant is not m's either.
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_b", "p_b", at(0))))
		mustBe(t, "mark sent under the wrong participant", s.MarkSent(ctx, outbound("m_b", "p_a", at(0))), store.ErrNotFound)
	}},
	{"BeginSendReadsPersonAndLinkAndRecordsTheKey", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		exp := wallNow().Add(time.Hour)
		p := created(t, s, "p_a")
		l := link("idx_1", "p_a")
		must(t, "put link", s.PutLink(ctx, l))
		c, err := s.BeginSend(ctx, "p_a", "idx_1", "outbox:pass:m_0:0", exp, store.SendCount{})
		must(t, "begin send", err)
		mustSame(t, "first look", c, store.SendCheck{Participant: &p, Link: &l, FirstSeen: true})
		c, err = s.BeginSend(ctx, "p_a", "idx_1", "outbox:pass:m_0:0", exp, store.SendCount{})
		must(t, "begin send again", err)
		mustSame(t, "second look: the key is recorded", c, store.SendCheck{Participant: &p, Link: &l})
		seen, err := s.Seen(ctx, "outbox:pass:m_0:0")
		must(t, "seen", err)
		first, err := s.FirstSeen(ctx, "outbox:pass:m_0:0", exp)
		must(t, "first seen", err)
		if !seen || first {
			t.Fatalf("key recorded by BeginSend: Seen %v, FirstSeen %v; want true, false", seen, first)
		}
		// A key FirstSeen recorded is recorded for BeginSend too.
		_, err = s.FirstSeen(ctx, "outbox:pass:m_1:0", exp)
		must(t, "first seen of another key", err)
		c, err = s.BeginSend(ctx, "p_a", "idx_1", "outbox:pass:m_1:0", exp, store.SendCount{})
		must(t, "begin send after FirstSeen", err)
		if c.FirstSeen {
			t.Fatalf("a key FirstSeen recorded was new to BeginSend")
		}
	}},
	{"BeginSendCountsOnlyTheFirstLook", func(t *testing.T, s store.Store) {
		// The loop guard's count of a message: taken with the dedupe key
		// when that is new, in the counter Increment counts.
		ctx := ctxOf(t)
		exp := wallNow().Add(time.Hour)
		created(t, s, "p_a")
		count := store.SendCount{Key: "loop:p_a:same", ExpiresAt: exp}
		c, err := s.BeginSend(ctx, "p_a", "", "pass:m_0:0", exp, count)
		must(t, "begin send", err)
		if !c.FirstSeen || c.Count != 1 {
			t.Fatalf("first look: first seen %v, count %d; want true, 1", c.FirstSeen, c.Count)
		}
		c, err = s.BeginSend(ctx, "p_a", "", "pass:m_0:0", exp, count)
		must(t, "begin send again", err)
		if c.FirstSeen || c.Count != 0 {
			t.Fatalf("second look: first seen %v, count %d; want false, 0 (not counted)", c.FirstSeen, c.Count)
		}
		n, err := s.Increment(ctx, count.Key, exp)
		must(t, "increment", err)
		if n != 2 {
			t.Fatalf("Increment after one counted look: %d, want 2", n)
		}
		c, err = s.BeginSend(ctx, "p_a", "", "pass:m_1:0", exp, count)
		must(t, "begin send of another message", err)
		if c.Count != 3 {
			t.Fatalf("another message's first look: count %d, want 3", c.Count)
		}
		c, err = s.BeginSend(ctx, "p_a", "", "pass:m_2:0", exp, store.SendCount{})
		must(t, "begin send counting nothing", err)
		if !c.FirstSeen || c.Count != 0 {
			t.Fatalf("nothing to count: first seen %v, count %d; want true, 0", c.FirstSeen, c.Count)
		}
		// The counter's window is the one its first count set.
		n, err = s.Increment(ctx, count.Key, exp.Add(time.Hour))
		must(t, "increment", err)
		if n != 4 {
			t.Fatalf("Increment after three counts: %d, want 4", n)
		}
	}},
	{"BeginSendWithoutPersonOrLink", func(t *testing.T, s store.Store) {
		// What is missing comes back nil, not as an error: the outbox
		// fails the message, and the key is recorded all the same.
		ctx := ctxOf(t)
		exp := wallNow().Add(time.Hour)
		c, err := s.BeginSend(ctx, "p_gone", "idx_gone", "k1", exp, store.SendCount{})
		must(t, "begin send to no one", err)
		mustSame(t, "no one", c, store.SendCheck{FirstSeen: true})
		p := created(t, s, "p_a")
		c, err = s.BeginSend(ctx, "p_a", "", "k2", exp, store.SendCount{})
		must(t, "begin send without a link index", err)
		mustSame(t, "no link index", c, store.SendCheck{Participant: &p, FirstSeen: true})
		l := link("idx_b", "p_b") // someone else's link comes back as it is
		must(t, "put link", s.PutLink(ctx, l))
		c, err = s.BeginSend(ctx, "p_a", "idx_b", "k3", exp, store.SendCount{})
		must(t, "begin send through another's link", err)
		mustSame(t, "another's link", c, store.SendCheck{Participant: &p, Link: &l, FirstSeen: true})
		if seen, err := s.Seen(ctx, "k1"); err != nil || !seen {
			t.Fatalf("key of a send to no one not recorded: %v %v", seen, err)
		}
	}},
	{"ConcurrentClaimersEachMessageOnce", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		all := seq("m_", 200)
		msgs := make([]store.OutboundMessage, len(all))
		for i, id := range all {
			msgs[i] = outbound(id, fmt.Sprint("p_", i%7), at(time.Duration(i)*time.Millisecond))
		}
		must(t, "enqueue", s.EnqueueOutbound(ctx, msgs...))
		// Each claimer sends what it claims, as a dispatcher does: a
		// person's next message goes only once the one before has.
		got := claimConcurrently(t, 8, func(owner string) ([]string, error) {
			ms, err := s.ClaimOutbound(ctx, owner, at(time.Hour), time.Hour, 7)
			if err == nil {
				err = markSent(ctx, s, ms)
			}
			return ids(ms, outboundID), err
		})
		mustIDs(t, "every message claimed once", got, all)
	}},
	{"SendOrderOnePersonAtATime", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		// Made in this order, in one turn; their IDs sort the other way,
		// so a claim meets the consent question first.
		welcome, consent := outbound("m_welcome", "p_a", at(0)), outbound("m_consent", "p_a", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, welcome, consent, outbound("m_other", "p_b", at(time.Millisecond))))

		got := claimOut(t, s, "a", at(time.Second), time.Hour, 1)
		mustIDs(t, "a: the earliest made, not the earliest ID", ids(got, outboundID), []string{"m_welcome"})
		got = claimOut(t, s, "b", at(2*time.Second), time.Hour, 10)
		mustIDs(t, "b while a holds the welcome: another person's, not the consent question", ids(got, outboundID), []string{"m_other"})
		must(t, "a sends the welcome", markSent(ctx, s, []store.OutboundMessage{welcome}))
		got = claimOut(t, s, "b", at(3*time.Second), time.Hour, 10)
		mustIDs(t, "b once the welcome has gone: at once, not when a's claim would have ended", ids(got, outboundID), []string{"m_consent"})

		// Claimed together, they are handed out together, in the order made.
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_z1", "p_c", at(0)), outbound("m_a2", "p_c", at(0))))
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_b3", "p_c", at(0))))
		got = claimOut(t, s, "a", at(4*time.Second), time.Hour, 10)
		mustIDs(t, "one claim", ids(got, outboundID), []string{"m_z1", "m_a2", "m_b3"})
		must(t, "a sends them", markSent(ctx, s, got))

		// An owner that dies holds the person until its lease ends.
		d1, d2 := outbound("m_d1", "p_d", at(0)), outbound("m_d2", "p_d", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, d1, d2))
		got = claimOut(t, s, "dead", at(10*time.Second), time.Minute, 1)
		mustIDs(t, "the owner that will die", ids(got, outboundID), []string{"m_d1"})
		got = claimOut(t, s, "b", at(20*time.Second), time.Hour, 10)
		mustIDs(t, "b during the dead owner's lease", ids(got, outboundID), nil)
		got = claimOut(t, s, "b", at(71*time.Second), time.Hour, 10)
		mustIDs(t, "b once its lease has ended: the earlier first", ids(got, outboundID), []string{"m_d1"})
		must(t, "b sends it", markSent(ctx, s, got))
		got = claimOut(t, s, "b", at(72*time.Second), time.Hour, 10)
		mustIDs(t, "then the later one", ids(got, outboundID), []string{"m_d2"})
		must(t, "b sends it", markSent(ctx, s, got))

		// a claims a person's two messages at once and defers the first
		// (the rate budget, a retry) until then.
		deferFirst := func(pid string, claimed, then time.Time) (first, second store.OutboundMessage) {
			first, second = outbound("m_1"+pid, pid, at(0)), outbound("m_2"+pid, pid, at(0))
			must(t, "enqueue", s.EnqueueOutbound(ctx, first, second))
			got := claimOut(t, s, "a", claimed, time.Hour, 10)
			mustIDs(t, "both at once", ids(got, outboundID), []string{first.ID, second.ID})
			first.NotBefore = then
			must(t, "a defers the first", s.UpdateOutbound(ctx, first))
			return first, second
		}

		// A deferred message keeps the ones made after it behind it,
		// however early they are due.
		e1, e2 := deferFirst("p_e", at(80*time.Second), at(90*time.Second))
		must(t, "a hands the second back", s.UpdateOutbound(ctx, e2))
		got = claimOut(t, s, "b", at(81*time.Second), time.Hour, 10)
		mustIDs(t, "the second waits for the first", ids(got, outboundID), nil)
		got = claimOut(t, s, "b", at(90*time.Second), time.Hour, 10)
		mustIDs(t, "the first when it is due", ids(got, outboundID), []string{e1.ID})
		e1.Status = store.Failed
		must(t, "b fails it for good", s.UpdateOutbound(ctx, e1))
		got = claimOut(t, s, "a", at(91*time.Second), time.Hour, 10)
		mustIDs(t, "then the second", ids(got, outboundID), []string{e2.ID})
		must(t, "a sends it", markSent(ctx, s, got))

		// The first comes due again while a still holds the second, which
		// it has yet to hand back: once it has, the first is claimable at
		// once.
		f1, f2 := deferFirst("p_f", at(100*time.Second), at(101*time.Second))
		got = claimOut(t, s, "b", at(102*time.Second), time.Hour, 10)
		mustIDs(t, "b while a holds the second", ids(got, outboundID), nil)
		must(t, "a hands the second back", s.UpdateOutbound(ctx, f2))
		got = claimOut(t, s, "b", at(103*time.Second), time.Hour, 10)
		mustIDs(t, "b then: the first, and the second after it", ids(got, outboundID), []string{f1.ID, f2.ID})
	}},
	{"SendOrderSameOwnerClaimsOnWhileItHolds", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		// A dispatcher that claims again while it still sends the person's
		// first message gets the next, to queue behind the first; another
		// owner gets nothing of the person meanwhile.
		m1, m2, m3 := outbound("m_s1", "p_s", at(0)), outbound("m_s2", "p_s", at(0)), outbound("m_s3", "p_s", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, m1, m2, m3))
		got := claimOut(t, s, "a", at(time.Second), time.Minute, 1)
		mustIDs(t, "a: the first", ids(got, outboundID), []string{"m_s1"})
		got = claimOut(t, s, "a", at(2*time.Second), time.Minute, 1)
		mustIDs(t, "a again while it holds the first: the second", ids(got, outboundID), []string{"m_s2"})
		got = claimOut(t, s, "a", at(3*time.Second), time.Minute, 10)
		mustIDs(t, "a again: the third, behind the two it holds", ids(got, outboundID), []string{"m_s3"})
		got = claimOut(t, s, "b", at(4*time.Second), time.Hour, 10)
		mustIDs(t, "b while a holds the person's", ids(got, outboundID), nil)
		must(t, "a sends the first", markSent(ctx, s, []store.OutboundMessage{m1}))
		must(t, "a sends them in order", markSent(ctx, s, []store.OutboundMessage{m2, m3}))

		// What a hands back holds the later ones again: once the first is
		// deferred, a's next claim parks the second rather than hand it out.
		n1, n2 := outbound("m_n1", "p_n", at(0)), outbound("m_n2", "p_n", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, n1, n2))
		got = claimOut(t, s, "a", at(10*time.Second), time.Minute, 1)
		mustIDs(t, "a: the first", ids(got, outboundID), []string{"m_n1"})
		n1.NotBefore = at(30 * time.Second)
		must(t, "a defers the first", s.UpdateOutbound(ctx, n1))
		got = claimOut(t, s, "a", at(11*time.Second), time.Minute, 10)
		mustIDs(t, "a while the first waits, held by nobody", ids(got, outboundID), nil)
		got = claimOut(t, s, "a", at(30*time.Second), time.Minute, 10)
		mustIDs(t, "a when the first is due", ids(got, outboundID), []string{"m_n1"})
		must(t, "a sends it", markSent(ctx, s, got))
		got = claimOut(t, s, "a", at(31*time.Second), time.Minute, 10)
		mustIDs(t, "then the second, woken", ids(got, outboundID), []string{"m_n2"})
		must(t, "a sends it", markSent(ctx, s, got))

		// A lease of a's that ran out holds nothing: the first goes to b,
		// with the second, which a's expired claim no longer covers.
		o1, o2 := outbound("m_o1", "p_o", at(0)), outbound("m_o2", "p_o", at(0))
		must(t, "enqueue", s.EnqueueOutbound(ctx, o1, o2))
		got = claimOut(t, s, "a", at(40*time.Second), time.Minute, 1)
		mustIDs(t, "a: the first", ids(got, outboundID), []string{"m_o1"})
		got = claimOut(t, s, "b", at(101*time.Second), time.Hour, 10)
		mustIDs(t, "b after a's lease", ids(got, outboundID), []string{"m_o1", "m_o2"})
	}},
	{"SendOrderUnderConcurrentClaimers", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		// Six people's messages, made over three turns each.
		const people, turns, perTurn = 6, 3, 3
		var made = map[string][]string{} // person → message IDs in the order made
		for turn := range turns {
			var msgs []store.OutboundMessage
			for p := range people {
				pid := fmt.Sprint("p_", p)
				for j := range perTurn {
					// IDs that sort against the order made within a turn.
					id := fmt.Sprintf("m_%d_%d_%d", p, turn, perTurn-j)
					msgs = append(msgs, outbound(id, pid, at(time.Duration(turn)*time.Millisecond)))
					made[pid] = append(made[pid], id)
				}
			}
			must(t, "enqueue", s.EnqueueOutbound(ctx, msgs...))
		}
		var (
			mu      sync.Mutex
			holder  = map[string]string{} // person → owner holding one of theirs
			next    = map[string]int{}    // person → index in made of their next message
			trouble []string
		)
		got := claimConcurrently(t, 4, func(owner string) ([]string, error) {
			ms, err := s.ClaimOutbound(ctx, owner, at(time.Hour), time.Hour, 4)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			for _, m := range ms {
				pid := m.ParticipantID
				if h, ok := holder[pid]; ok && h != owner {
					trouble = append(trouble, fmt.Sprintf("%s claimed %s while %s held one of %s's", owner, m.ID, h, pid))
				}
				holder[pid] = owner
				if want := made[pid][next[pid]]; m.ID != want {
					trouble = append(trouble, fmt.Sprintf("%s claimed %s before %s", owner, m.ID, want))
				}
				next[pid]++
			}
			mu.Unlock()
			runtime.Gosched() // as if sending: others claim meanwhile
			// Let go of the people before the store does, so that whoever
			// claims them next finds them free here.
			mu.Lock()
			for _, m := range ms {
				delete(holder, m.ParticipantID)
			}
			mu.Unlock()
			return ids(ms, outboundID), markSent(ctx, s, ms)
		})
		if len(trouble) > 0 {
			t.Fatalf("out of order or held twice:\n%s", strings.Join(trouble, "\n"))
		}
		mustIDs(t, "every message claimed once", got, sortedCopy(slices.Concat(slices.Collect(maps.Values(made))...)))
	}},
}

// markSent records msgs as a dispatcher does once their provider has
// taken them.
func markSent(ctx context.Context, s store.Store, msgs []store.OutboundMessage) error {
	for _, m := range msgs {
		m.Status = store.Sent
		if err := s.UpdateOutbound(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// claimConcurrently runs workers that claim until nothing is left, and returns
// every claimed ID, sorted; it fails on any ID claimed twice. Workers stop at
// the first duplicate, so a backend that hands items out again fails here
// instead of looping for ever.
func claimConcurrently(t *testing.T, workers int, claim func(owner string) ([]string, error)) []string {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]string{}
		dup  []string
	)
	for w := range workers {
		owner := fmt.Sprint("worker", w)
		wg.Go(func() {
			for {
				got, err := claim(owner)
				if err != nil {
					t.Errorf("claim by %s: %v", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, id := range got {
					if prev, ok := seen[id]; ok {
						dup = append(dup, fmt.Sprintf("%s (%s and %s)", id, prev, owner))
					}
					seen[id] = owner
				}
				stop := len(dup) > 0
				mu.Unlock()
				if stop {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(dup) > 0 {
		t.Fatalf("claimed twice: %v", dup)
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	return sortedCopy(out)
}

var dueTests = []namedTest{
	{"PutReplaceDeleteAndDueOfOrder", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx,
			due("d_2", "p_a", at(2*time.Hour)),
			due("d_0", "p_a", at(0)),
			due("d_1", "p_a", at(time.Hour)),
			due("d_x", "p_b", at(0)),
		))
		got, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "ordered by DueAt", ids(got, dueID), []string{"d_0", "d_1", "d_2"})
		mustSame(t, "stored item", got[1], due("d_1", "p_a", at(time.Hour)))

		// Re-planning replaces by ID: d_0 moves after d_2.
		moved := due("d_0", "p_a", at(3*time.Hour))
		moved.Data = map[string]string{"offset": "1d"}
		must(t, "replace", s.PutDue(ctx, moved))
		got, err = s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "after replace", ids(got, dueID), []string{"d_1", "d_2", "d_0"})
		mustSame(t, "replaced item", got[2], moved)

		must(t, "delete (missing IDs ignored)", s.DeleteDue(ctx, "p_a", "d_1", "d_missing"))
		got, err = s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "after delete", ids(got, dueID), []string{"d_2", "d_0"})
		must(t, "delete nothing", s.DeleteDue(ctx, "p_a"))
	}},
	{"TheSameIDOfTwoPeopleIsTwoItems", func(t *testing.T, s store.Store) {
		// An item is named by its person and its ID: putting an ID for
		// another person plans them an item of their own, and leaves the
		// first person's as it was.
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0))))
		must(t, "put the ID for another", s.PutDue(ctx, due("d_0", "p_b", at(time.Minute))))
		a, err := s.DueOf(ctx, "p_a")
		must(t, "due of a", err)
		mustSame(t, "a's item", a, []store.DueItem{due("d_0", "p_a", at(0))})
		b, err := s.DueOf(ctx, "p_b")
		must(t, "due of b", err)
		mustSame(t, "b's item", b, []store.DueItem{due("d_0", "p_b", at(time.Minute))})
		got := claimDue(t, s, "a", at(time.Minute), time.Hour, 10)
		mustSame(t, "both claimed, earliest first", got, []store.DueItem{due("d_0", "p_a", at(0)), due("d_0", "p_b", at(time.Minute))})
		must(t, "complete a's", s.CompleteDue(ctx, "p_a", "d_0", "a"))
		b, err = s.DueOf(ctx, "p_b")
		must(t, "due of b", err)
		mustIDs(t, "b's item after a's ended", ids(b, dueID), []string{"d_0"})
		must(t, "delete b's", s.DeleteDue(ctx, "p_b", "d_0"))
		b, err = s.DueOf(ctx, "p_b")
		must(t, "due of b", err)
		mustIDs(t, "b's items after the delete", ids(b, dueID), nil)
	}},
	{"ItemsAreFoundThroughTheirPerson", func(t *testing.T, s store.Store) {
		// Ending or removing an item names its person: an ID that is
		// another person's is not there for the call, which changes
		// nothing of theirs.
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0)), due("d_1", "p_b", at(0))))
		claimDue(t, s, "a", at(0), time.Hour, 10)
		mustBe(t, "complete naming another person", s.CompleteDue(ctx, "p_b", "d_0", "a"), store.ErrNotFound)
		mustBe(t, "release naming another person", s.ReleaseDue(ctx, "p_b", "d_0", "a"), store.ErrNotFound)
		must(t, "delete naming another person", s.DeleteDue(ctx, "p_b", "d_0"))
		mustFail(t, "delete naming nobody", s.DeleteDue(ctx, "", "d_0"))
		listed, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "the item is still its person's", ids(listed, dueID), []string{"d_0"})
		mustBe(t, "still held: another owner cannot end it", s.CompleteDue(ctx, "p_a", "d_0", "b"), store.ErrConflict)
		must(t, "complete naming its person", s.CompleteDue(ctx, "p_a", "d_0", "a"))
		must(t, "delete naming its person", s.DeleteDue(ctx, "p_b", "d_1"))
		for _, pid := range []string{"p_a", "p_b"} {
			left, err := s.DueOf(ctx, pid)
			must(t, "due of", err)
			mustIDs(t, "nothing left of "+pid, ids(left, dueID), nil)
		}
	}},
	{"ClaimEarliestFirstOnlyDueAndLimit", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx,
			due("d_late", "p_a", at(time.Hour)),
			due("d_1", "p_b", at(time.Minute)),
			due("d_0", "p_a", at(0)),
			due("d_2", "p_a", at(2*time.Minute)),
		))
		got := claimDue(t, s, "a", at(2*time.Minute), time.Hour, 2)
		mustIDs(t, "first claim (limit 2)", ids(got, dueID), []string{"d_0", "d_1"})
		mustSame(t, "claimed item unchanged", got[0], due("d_0", "p_a", at(0)))
		got = claimDue(t, s, "a", at(2*time.Minute), time.Hour, 10)
		mustIDs(t, "second claim: only what is due", ids(got, dueID), []string{"d_2"})
		// Claimed items are still listed until completed.
		listed, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "claimed items still listed", ids(listed, dueID), []string{"d_0", "d_2", "d_late"})
		_, err = s.ClaimDue(ctx, strings.Repeat("o", store.MaxOwnerLen+1), at(time.Hour), time.Hour, 10)
		mustFail(t, "a claim by an owner whose name is too long", err)
	}},
	{"ALimitedClaimLeavesWhatItDidNotTakeAsItWas", func(t *testing.T, s store.Store) {
		// b's claim, limited to two, takes p_a's two items and not p_b's,
		// whose lease from a ended later: that one is still a's to end.
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_x", "p_b", at(0))))
		mustIDs(t, "a claims", ids(claimDue(t, s, "a", at(0), 90*time.Second, 10), dueID), []string{"d_x"})
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(time.Minute)), due("d_1", "p_a", at(time.Minute))))
		got := claimDue(t, s, "b", at(2*time.Minute), time.Hour, 2)
		mustIDs(t, "b's claim, earliest first", ids(got, dueID), []string{"d_0", "d_1"})
		must(t, "a ends the item b's claim did not take", s.CompleteDue(ctx, "p_b", "d_x", "a"))
	}},
	{"LeaseHoldsUntilItEndsThenAnotherOwnerClaims", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0))))
		mustIDs(t, "a claims", ids(claimDue(t, s, "a", at(0), time.Minute, 10), dueID), []string{"d_0"})
		mustIDs(t, "b during a's lease", ids(claimDue(t, s, "b", at(59*time.Second), time.Minute, 10), dueID), nil)
		mustIDs(t, "b after a's lease", ids(claimDue(t, s, "b", at(time.Minute), time.Minute, 10), dueID), []string{"d_0"})
		// a comes back late: the item is b's now.
		mustBe(t, "complete by a after takeover", s.CompleteDue(ctx, "p_a", "d_0", "a"), store.ErrConflict)
		must(t, "complete by b", s.CompleteDue(ctx, "p_a", "d_0", "b"))
		listed, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "completed item gone", ids(listed, dueID), nil)
		mustBe(t, "complete again", s.CompleteDue(ctx, "p_a", "d_0", "b"), store.ErrNotFound)
		mustIDs(t, "completed item not claimable", ids(claimDue(t, s, "c", at(time.Hour), time.Minute, 10), dueID), nil)
	}},
	{"CompleteOnlyByHolder", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0)), due("d_free", "p_a", at(0))))
		claimDue(t, s, "a", at(0), time.Hour, 1)
		mustBe(t, "complete by non-owner", s.CompleteDue(ctx, "p_a", "d_0", "b"), store.ErrConflict)
		mustBe(t, "complete of an unclaimed item", s.CompleteDue(ctx, "p_a", "d_free", "a"), store.ErrConflict)
		mustBe(t, "complete missing", s.CompleteDue(ctx, "p_a", "d_missing", "a"), store.ErrNotFound)
		listed, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		mustIDs(t, "refused completions change nothing", sortedCopy(ids(listed, dueID)), []string{"d_0", "d_free"})
		must(t, "complete by owner", s.CompleteDue(ctx, "p_a", "d_0", "a"))
	}},
	{"ReleaseHandsAnUnbegunItemBack", func(t *testing.T, s store.Store) {
		// A process shutting down hands back what it claimed and had not
		// begun: another claims it at once, unchanged, instead of after
		// the lease.
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0)), due("d_free", "p_a", at(0))))
		claimDue(t, s, "a", at(time.Minute), time.Hour, 1)
		mustBe(t, "release by non-owner", s.ReleaseDue(ctx, "p_a", "d_0", "b"), store.ErrConflict)
		mustBe(t, "release of an unclaimed item", s.ReleaseDue(ctx, "p_a", "d_free", "a"), store.ErrConflict)
		mustBe(t, "release missing", s.ReleaseDue(ctx, "p_a", "d_missing", "a"), store.ErrNotFound)
		must(t, "release by owner", s.ReleaseDue(ctx, "p_a", "d_0", "a"))
		got := claimDue(t, s, "b", at(2*time.Minute), time.Hour, 10)
		mustIDs(t, "released item claimable at once, earliest first", ids(got, dueID), []string{"d_0", "d_free"})
		mustSame(t, "released item unchanged", got[0], due("d_0", "p_a", at(0)))
		mustBe(t, "the old owner cannot complete it", s.CompleteDue(ctx, "p_a", "d_0", "a"), store.ErrConflict)
		must(t, "the new owner completes it", s.CompleteDue(ctx, "p_a", "d_0", "b"))
	}},
	{"PutClearsClaim", func(t *testing.T, s store.Store) {
		// Re-planning an item that is being handled makes it new work: it is
		// claimable at its new DueAt and the old claimer cannot complete it.
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0))))
		claimDue(t, s, "a", at(0), time.Hour, 10)
		must(t, "replan", s.PutDue(ctx, due("d_0", "p_a", at(5*time.Minute))))
		mustIDs(t, "before new DueAt", ids(claimDue(t, s, "b", at(time.Minute), time.Hour, 10), dueID), nil)
		mustBe(t, "old claimer completes replanned item", s.CompleteDue(ctx, "p_a", "d_0", "a"), store.ErrConflict)
		got := claimDue(t, s, "b", at(5*time.Minute), time.Hour, 10)
		mustIDs(t, "replanned item claimable at its new time", ids(got, dueID), []string{"d_0"})
		mustSame(t, "replanned item", got[0], due("d_0", "p_a", at(5*time.Minute)))
	}},
	{"DeleteRemovesClaimedItem", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutDue(ctx, due("d_0", "p_a", at(0))))
		claimDue(t, s, "a", at(0), time.Minute, 10)
		must(t, "delete", s.DeleteDue(ctx, "p_a", "d_0"))
		mustIDs(t, "deleted item not claimable after lease", ids(claimDue(t, s, "b", at(time.Hour), time.Minute, 10), dueID), nil)
		mustBe(t, "complete deleted", s.CompleteDue(ctx, "p_a", "d_0", "a"), store.ErrNotFound)
	}},
	{"PutsRacingClaimsAreNeverHidden", func(t *testing.T, s store.Store) {
		// Items are put, already due, while claimers claim and end what
		// they get: each is claimed exactly once, and when the puts stop
		// a claim finds every item left. A put that lands while a claim
		// of its person is in flight must not be hidden by it.
		ctx := ctxOf(t)
		const people, items = 5, 200
		now := at(time.Hour)
		var (
			mu      sync.Mutex
			claimed = map[string]string{}
			dup     []string
			wg      sync.WaitGroup
		)
		take := func(owner string, got []store.DueItem) {
			for _, d := range got {
				name := d.ParticipantID + " " + d.ID
				mu.Lock()
				if prev, ok := claimed[name]; ok {
					dup = append(dup, fmt.Sprintf("%s (%s and %s)", name, prev, owner))
				}
				claimed[name] = owner
				mu.Unlock()
				if err := s.CompleteDue(ctx, d.ParticipantID, d.ID, owner); err != nil {
					t.Errorf("%s ends %s: %v", owner, name, err)
				}
			}
		}
		done := make(chan struct{})
		for w := range 4 {
			owner := fmt.Sprint("claimer", w)
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					got, err := s.ClaimDue(ctx, owner, now, time.Hour, 3)
					if err != nil {
						t.Errorf("claim by %s: %v", owner, err)
						return
					}
					take(owner, got)
				}
			})
		}
		for i := range items {
			must(t, "put", s.PutDue(ctx, due(fmt.Sprint("d_", i), fmt.Sprint("p_", i%people), at(time.Duration(i)*time.Second))))
		}
		close(done)
		wg.Wait()
		for {
			got, err := s.ClaimDue(ctx, "after", now, time.Hour, 50)
			must(t, "claim what is left", err)
			if len(got) == 0 {
				break
			}
			take("after", got)
		}
		if len(dup) > 0 {
			t.Fatalf("claimed twice: %v", dup)
		}
		if len(claimed) != items {
			t.Errorf("claimed %d items of the %d put", len(claimed), items)
		}
		for p := range people {
			left, err := s.DueOf(ctx, fmt.Sprint("p_", p))
			must(t, "due of", err)
			mustIDs(t, fmt.Sprint("items of p_", p, " never claimed"), ids(left, dueID), nil)
		}
	}},
	{"ConcurrentClaimersEachItemOnce", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		all := seq("d_", 300)
		items := make([]store.DueItem, len(all))
		for i, id := range all {
			items[i] = due(id, fmt.Sprint("p_", i%11), at(time.Duration(i)*time.Second))
		}
		must(t, "put", s.PutDue(ctx, items...))
		got := claimConcurrently(t, 8, func(owner string) ([]string, error) {
			ds, err := s.ClaimDue(ctx, owner, at(24*time.Hour), time.Hour, 9)
			return ids(ds, dueID), err
		})
		mustIDs(t, "every item claimed once", got, all)
	}},
}
