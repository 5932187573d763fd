package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// window is a ledger record of p opening at base+opens, closing four hours
// later with a day's grace.
func window(pid string, opens time.Duration, outcome store.WindowOutcome) store.Window {
	o := at(opens)
	return store.Window{
		Ref: "win:" + pid + ":" + o.Format("20060102T1504"), ParticipantID: pid,
		OpensAt: o, ClosesAt: o.Add(4 * time.Hour), GraceEndsAt: o.Add(28 * time.Hour),
		Outcome: outcome, UpdatedAt: o,
	}
}

var windowTests = []namedTest{
	{"TurnSavesAndReplacesByRef", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateParticipant(ctx, participant("p_a")))
		late := window("p_a", 48*time.Hour, store.WindowOpen)
		first := window("p_a", 0, store.WindowMissed)
		first.AttentionID, first.DecidedAt = "n_1", at(28*time.Hour)
		other := window("p_b", 0, store.WindowOnTime)
		must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Windows: []store.Window{late, first}}))
		must(t, "turn of b", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Windows: []store.Window{other}}))

		got, err := s.WindowsOf(ctx, "p_a", time.Time{})
		must(t, "windows of", err)
		mustIDs(t, "windows, oldest first", ids(got, func(w store.Window) string { return w.Ref }), []string{first.Ref, late.Ref})
		mustSame(t, "stored window", got[0], first)

		// Moved in the person's favour: the record of the same ref is replaced.
		moved := first
		moved.Outcome, moved.CheckInID, moved.Texts = store.WindowLate, "c_9", 2
		must(t, "move", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Windows: []store.Window{moved}}))
		one, err := s.GetWindow(ctx, "p_a", first.Ref)
		must(t, "get", err)
		mustSame(t, "moved window", one, moved)

		since, err := s.WindowsOf(ctx, "p_a", at(time.Hour))
		must(t, "since", err)
		mustIDs(t, "windows opening at or after since", ids(since, func(w store.Window) string { return w.Ref }), []string{late.Ref})
		_, err = s.GetWindow(ctx, "p_b", first.Ref)
		mustBe(t, "another participant's ref", err, store.ErrNotFound)
	}},
	{"RefusedTurnSavesNoWindow", func(t *testing.T, s store.Store) {
		// A window rides with its turn: a turn refused for its dedupe key
		// leaves the ledger as it was.
		ctx := ctxOf(t)
		must(t, "create", s.CreateParticipant(ctx, participant("p_a")))
		until := wallNow().Add(time.Hour)
		must(t, "first", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", DedupeKey: "k1", DedupeUntil: until}))
		err := s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", DedupeKey: "k1", DedupeUntil: until,
			Windows: []store.Window{window("p_a", 0, store.WindowMissed)}})
		mustBe(t, "duplicate turn", err, store.ErrConflict)
		got, err := s.WindowsOf(ctx, "p_a", time.Time{})
		must(t, "windows of", err)
		if len(got) != 0 {
			t.Fatalf("a refused turn saved %d windows", len(got))
		}
	}},
	{"TurnResolvesItems", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "create", s.CreateParticipant(ctx, participant("p_a")))
		missed := attention("n_miss", "p_a", at(0))
		missed.Kind, missed.Ref = store.AttentionMissed, "win:p_a:1"
		must(t, "add", s.AddAttention(ctx, missed))
		closed := missed
		closed.ResolvedAt, closed.ResolvedBy, closed.Resolution = at(time.Hour), store.ResolvedBySystem, store.ResolvedCheckedInLate
		gone := attention("n_gone", "p_a", at(0)) // never stored: skipped, not created
		gone.ResolvedAt = at(time.Hour)
		must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Resolved: []store.AttentionItem{closed, gone}}))

		mine, err := s.AttentionOf(ctx, "p_a")
		must(t, "attention of", err)
		mustIDs(t, "items of p_a", ids(mine, func(a store.AttentionItem) string { return a.ID }), []string{"n_miss"})
		mustSame(t, "resolved item", mine[0], closed)
		open, err := s.ListAttention(ctx, true)
		must(t, "open", err)
		if len(open) != 0 {
			t.Fatalf("a resolved item is still open: %+v", open)
		}
	}},
	{"AttentionOfOldestFirstOnlyThatParticipant", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, a := range []store.AttentionItem{
			attention("n_2", "p_a", at(2*time.Hour)), attention("n_0", "p_a", at(0)),
			attention("n_1", "p_a", at(time.Hour)), attention("n_x", "p_b", at(time.Hour)),
		} {
			must(t, "add", s.AddAttention(ctx, a))
		}
		must(t, "resolve", s.ResolveAttention(ctx, "n_1", "cw_1", "contacted", at(3*time.Hour)))
		got, err := s.AttentionOf(ctx, "p_a")
		must(t, "attention of", err)
		mustIDs(t, "items", ids(got, func(a store.AttentionItem) string { return a.ID }), []string{"n_0", "n_1", "n_2"})
		if got[1].Open() || got[1].ResolvedBy != "cw_1" {
			t.Fatalf("resolved item reads %+v", got[1])
		}
	}},
	{"PurgeWindowsDeletesOnlyThoseClosedBefore", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, pid := range []string{"p_a", "p_b"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
			must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: pid, Windows: []store.Window{
				window(pid, -48*time.Hour, store.WindowOnTime), // closed at -44h
				window(pid, -4*time.Hour, store.WindowMissed),  // closes exactly at the purge time: kept
				window(pid, time.Hour, store.WindowOpen),
			}}))
		}
		n, err := s.PurgeWindows(ctx, at(0))
		must(t, "purge", err)
		if n != 2 {
			t.Fatalf("purged %d windows, want 2", n)
		}
		got, err := s.WindowsOf(ctx, "p_a", time.Time{})
		must(t, "windows of", err)
		if len(got) != 2 || !got[0].OpensAt.Equal(at(-4*time.Hour)) {
			t.Fatalf("kept windows %+v", got)
		}
		n, err = s.PurgeWindows(ctx, at(0))
		must(t, "purge again", err)
		if n != 0 {
			t.Fatalf("second purge deleted %d windows", n)
		}
	}},
	{"DeleteParticipantErasesWindows", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, pid := range []string{"p_gone", "p_kept"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
			must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: pid, Windows: []store.Window{window(pid, 0, store.WindowMissed)}}))
		}
		must(t, "delete", s.DeleteParticipant(ctx, "p_gone"))
		gone, err := s.WindowsOf(ctx, "p_gone", time.Time{})
		must(t, "windows of the erased", err)
		kept, err := s.WindowsOf(ctx, "p_kept", time.Time{})
		must(t, "windows of the kept", err)
		if len(gone) != 0 || len(kept) != 1 {
			t.Fatalf("after erasure: %d windows of the erased, %d of the kept", len(gone), len(kept))
		}
	}},
	{"HistoryOfIsEachPartsOwnRead", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, pid := range []string{"p_a", "p_b"} {
			must(t, "create", s.CreateParticipant(ctx, participant(pid)))
			withHistory(t, s, pid)
		}
		since := at(-time.Hour)
		h, err := s.HistoryOf(ctx, "p_a", since)
		must(t, "history", err)
		ws, err := s.WindowsOf(ctx, "p_a", since)
		must(t, "windows", err)
		cs, err := s.CheckInsOf(ctx, "p_a", since)
		must(t, "check-ins", err)
		ms, err := s.OutboundOf(ctx, "p_a")
		must(t, "messages", err)
		as, err := s.AttentionOf(ctx, "p_a")
		must(t, "attention", err)
		aps, err := s.AppointmentsOf(ctx, "p_a")
		must(t, "appointments", err)
		mustSame(t, "history", h, store.History{Windows: ws, CheckIns: cs, Messages: ms, Attention: as, Appointments: aps})
		if len(h.Windows) != 1 || len(h.CheckIns) != 1 || len(h.Messages) != 1 || len(h.Attention) != 1 || len(h.Appointments) != 1 {
			t.Fatalf("history of p_a: %+v", h)
		}
		empty, err := s.HistoryOf(ctx, "p_nobody", time.Time{})
		must(t, "history of nobody", err)
		if len(empty.Windows)+len(empty.CheckIns)+len(empty.Messages)+len(empty.Attention)+len(empty.Appointments) != 0 {
			t.Fatalf("history of nobody: %+v", empty)
		}
	}},
	{"TurnOfAnotherParticipantsWindowRefused", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		err := s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Windows: []store.Window{window("p_b", 0, store.WindowMissed)}})
		if err == nil {
			t.Fatal("a turn of p_a saved a window of p_b")
		}
	}},
}

// withHistory gives participant pid a history: two windows, two
// check-ins (one of each before at(-time.Hour)), a message, an attention
// item and an appointment.
func withHistory(t *testing.T, s store.Store, pid string) {
	t.Helper()
	ctx := ctxOf(t)
	item := attention("n_"+pid, pid, at(time.Hour))
	must(t, "turn", s.ApplyTurn(ctx, store.Turn{ParticipantID: pid,
		Windows:   []store.Window{window(pid, -48*time.Hour, store.WindowMissed), window(pid, 0, store.WindowOnTime)},
		CheckIns:  []store.CheckIn{checkIn("c_old_"+pid, pid, at(-47*time.Hour)), checkIn("c_"+pid, pid, at(time.Hour))},
		Attention: []store.AttentionItem{item},
		Outbound: []store.OutboundMessage{{ID: "m_" + pid, ParticipantID: pid, LinkIndex: "l_" + pid, Channel: store.SMS,
			Kind: "checkin.ask", Text: "Check in", Status: store.Pending, NotBefore: at(0), CreatedAt: at(0), UpdatedAt: at(0)}},
	}))
	must(t, "appointment", s.PutAppointment(ctx, store.Appointment{ID: "ap_" + pid, ParticipantID: pid, Kind: "hearing",
		Place: "Court", Date: "2026-03-10", Time: "10:00", Status: store.AppointmentScheduled, CreatedAt: at(0), UpdatedAt: at(0)}))
}
