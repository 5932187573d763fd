package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// validationTests check that bad input gets an error and loses nothing: each
// call below must fail, and afterwards the store must hold none of it, not
// even the good items of a batch.
var validationTests = []namedTest{
	{"BadInputRefusedAndNothingStored", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		later := wallNow().Add(time.Hour)
		with := func(f func(*store.Link)) store.Link { l := link("idx_1", "p_a"); f(&l); return l }
		badOut := outbound("", "p_a", at(0))
		noParticipantOut := outbound("m_np", "", at(0))
		cases := []struct {
			name string
			call func() error
		}{
			{"participant without ID", func() error { return s.CreateParticipant(ctx, participant("")) }},
			{"update without ID", func() error { return s.UpdateParticipant(ctx, participant("")) }},
			{"link without index", func() error { return s.PutLink(ctx, link("", "p_a")) }},
			{"link without participant", func() error { return s.PutLink(ctx, with(func(l *store.Link) { l.ParticipantID = "" })) }},
			{"code without value", func() error {
				return s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "", ParticipantID: "p_a", ExpiresAt: later})
			}},
			{"code without participant", func() error {
				return s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "C1", ExpiresAt: later})
			}},
			{"session without participant", func() error { return s.SaveSession(ctx, session("", later)) }},
			{"check-in without ID", func() error { return s.RecordCheckIn(ctx, checkIn("", "p_a", at(0))) }},
			{"check-in without participant", func() error { return s.RecordCheckIn(ctx, checkIn("c_1", "", at(0))) }},
			{"attention without ID", func() error { return s.AddAttention(ctx, attention("", "p_a", at(0))) }},
			{"attention without participant", func() error { return s.AddAttention(ctx, attention("att_1", "", at(0))) }},
			{"audit without ID", func() error { return s.AppendAudit(ctx, audit("", "p_a", at(0))) }},
			{"outbound batch with one bad message", func() error {
				return s.EnqueueOutbound(ctx, outbound("m_good", "p_a", at(0)), badOut)
			}},
			{"outbound without participant", func() error { return s.EnqueueOutbound(ctx, noParticipantOut) }},
			{"sent message without ID", func() error { return s.MarkSent(ctx, badOut) }},
			{"send begun without participant", func() error { _, err := s.BeginSend(ctx, "", "idx_1", "k_v1", later, store.SendCount{}); return err }},
			{"send begun without key", func() error { _, err := s.BeginSend(ctx, "p_a", "idx_1", "", later, store.SendCount{}); return err }},
			{"send begun without expiry", func() error {
				_, err := s.BeginSend(ctx, "p_a", "idx_1", "k_v2", time.Time{}, store.SendCount{})
				return err
			}},
			{"send counted without the window's end", func() error {
				_, err := s.BeginSend(ctx, "p_a", "idx_1", "k_v3", later, store.SendCount{Key: "c_v3"})
				return err
			}},
			{"sent message without participant", func() error { return s.MarkSent(ctx, noParticipantOut) }},
			{"appointment without ID", func() error { return s.PutAppointment(ctx, appointment("", "p_a", "2026-03-10", "09:00")) }},
			{"appointment without participant", func() error {
				return s.PutAppointment(ctx, appointment("ap_1", "", "2026-03-10", "09:00"))
			}},
			{"due batch with one bad item", func() error { return s.PutDue(ctx, due("d_good", "p_a", at(0)), due("", "p_a", at(0))) }},
			{"due item whose kind begins with a digit (the stores' codes for kinds)", func() error {
				d := due("d_good", "p_a", at(0))
				d.Kind = "1"
				return s.PutDue(ctx, d)
			}},
			{"dedupe without key", func() error { _, err := s.FirstSeen(ctx, "", later); return err }},
			{"counter without key", func() error { _, err := s.Increment(ctx, "", later); return err }},
			{"lease without name", func() error { _, err := s.AcquireLease(ctx, "", "a", time.Minute); return err }},
			{"lease without owner", func() error { _, err := s.AcquireLease(ctx, "l", "", time.Minute); return err }},
			{"lease without TTL", func() error { _, err := s.AcquireLease(ctx, "l", "a", 0); return err }},
			{"rate without key", func() error { _, err := s.ReserveRate(ctx, "", 1, 10, at(0)); return err }},
			{"rate of zero per second", func() error { _, err := s.ReserveRate(ctx, "r", 1, 0, at(0)); return err }},
			{"negative units", func() error { _, err := s.ReserveRate(ctx, "r", -1, 10, at(0)); return err }},
			{"outbox claim without owner", func() error { _, err := s.ClaimOutbound(ctx, "", at(0), time.Minute, 1); return err }},
			{"outbox claim without lease", func() error { _, err := s.ClaimOutbound(ctx, "a", at(0), 0, 1); return err }},
			{"due claim without owner", func() error { _, err := s.ClaimDue(ctx, "", at(0), time.Minute, 1); return err }},
			{"due claim without lease", func() error { _, err := s.ClaimDue(ctx, "a", at(0), 0, 1); return err }},
			{"turn without participant", func() error { return s.ApplyTurn(ctx, store.Turn{}) }},
			{"turn dedupe key without expiry", func() error {
				return s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", DedupeKey: "sms:SM9",
					CheckIns: []store.CheckIn{checkIn("c_v", "p_a", at(0))}})
			}},
			{"seen without key", func() error { _, err := s.Seen(ctx, ""); return err }},
		}
		for _, c := range cases {
			mustFail(t, c.name, c.call())
		}

		// Nothing of the refused calls was kept.
		ps, err := s.ListParticipants(ctx)
		must(t, "list participants", err)
		if len(ps) != 0 {
			t.Fatalf("refused participant stored")
		}
		if _, err := s.GetLink(ctx, "idx_1"); !isNotFound(err) {
			t.Fatalf("refused link stored: %v", err)
		}
		if _, err := s.TakeEnrolmentCode(ctx, "C1"); !isNotFound(err) {
			t.Fatalf("refused code stored: %v", err)
		}
		if _, err := s.GetOutbound(ctx, "m_good"); !isNotFound(err) {
			t.Fatalf("good message of a refused batch stored: %v", err)
		}
		if _, err := s.GetOutbound(ctx, "m_np"); !isNotFound(err) {
			t.Fatalf("message without participant stored: %v", err)
		}
		if _, err := s.GetAppointment(ctx, "ap_1"); !isNotFound(err) {
			t.Fatalf("appointment without participant stored: %v", err)
		}
		dues, err := s.DueOf(ctx, "p_a")
		must(t, "due of", err)
		if len(dues) != 0 {
			t.Fatalf("good item of a refused due batch stored")
		}
		for _, k := range []string{"sms:SM9", "k_v1", "k_v2"} {
			if seen, err := s.Seen(ctx, k); err != nil || seen {
				t.Fatalf("dedupe key %s of a refused call recorded: %v %v", k, seen, err)
			}
		}
		checkNothingOf(t, s, "p_a", 0)
		// The store still works after refusing all that.
		must(t, "create after refusals", s.CreateParticipant(ctx, participant("p_a")))
	}},
}
