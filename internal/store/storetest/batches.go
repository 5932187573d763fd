package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// adult creates the fixture participant id, not a child (a child's turn
// takes another way on Redis; batchTests has one of those too), with a
// link, an appointment and two due items, and returns it as stored.
func adult(t *testing.T, s store.Store, id string) store.Participant {
	t.Helper()
	ctx := ctxOf(t)
	p := participant(id)
	p.Child = false
	must(t, "create "+id, s.CreateParticipant(ctx, p))
	must(t, "link", s.PutLink(ctx, link("idx_"+id, id)))
	must(t, "appointment", s.PutAppointment(ctx, appointment("a_"+id, id, "2026-03-09", "10:00")))
	must(t, "due", s.PutDue(ctx, due("open:"+id, id, at(0)), due("later:"+id, id, at(48*time.Hour))))
	got, err := s.GetParticipant(ctx, id)
	must(t, "get "+id, err)
	return got
}

// dueStep is the step a scheduler makes for pid's item "open:<pid>": a
// turn queuing one message under dedupe key "sched:<pid>", the item
// "later:<pid>" moved a week on, a new one planned, and the item ended.
func dueStep(p store.Participant, owner string) store.DueStep {
	pid := p.ID
	moved := due("later:"+pid, pid, at(7*24*time.Hour))
	return store.DueStep{
		ParticipantID: pid,
		Turn: &store.Turn{ParticipantID: pid, Participant: &p, EndSession: true,
			Outbound:  []store.OutboundMessage{outbound("m_"+pid, pid, at(0))},
			DedupeKey: "sched:" + pid, DedupeUntil: wallNow().Add(time.Hour)},
		Put:      []store.DueItem{moved, due("next:"+pid, pid, at(8*24*time.Hour))},
		Complete: "open:" + pid, Owner: owner, Lease: "plan:" + pid,
	}
}

// batchAsk asks for pid's turn with the dedupe key dueStep records.
func batchAsk(pid, owner string) store.TurnAsk {
	return store.TurnAsk{ParticipantID: pid, DedupeKey: "sched:" + pid, Lease: "plan:" + pid, Owner: owner, LeaseTTL: time.Minute}
}

var batchTests = []namedTest{
	{"LoadTurnsReadsWhatEachTurnAndPlanNeed", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		a, b := adult(t, s, "p_a"), adult(t, s, "p_b")
		ss := session("p_b", wallNow().Add(time.Hour))
		must(t, "session", s.SaveSession(ctx, ss))
		must(t, "turn recording b's key", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", DedupeKey: "sched:p_b", DedupeUntil: wallNow().Add(time.Hour)}))
		got, err := s.LoadTurns(ctx, []store.TurnAsk{
			{ParticipantID: "p_a", DedupeKey: "sched:p_a"}, {ParticipantID: "p_gone"}, {ParticipantID: "p_b", DedupeKey: "sched:p_b"},
		})
		must(t, "load turns", err)
		if len(got) != 3 {
			t.Fatalf("%d answers to 3 asks", len(got))
		}
		mustBe(t, "a person never created", got[1].Err, store.ErrNotFound)
		for i, p := range map[int]store.Participant{0: a, 2: b} {
			in := got[i]
			must(t, "ask "+p.ID, in.Err)
			one, err := s.LoadTurn(ctx, p.ID, "sched:"+p.ID)
			must(t, "load turn", err)
			mustSame(t, "turn state of "+p.ID, in.TurnState, one)
			links, _ := s.LinksOf(ctx, p.ID)
			mustSame(t, "links of "+p.ID, in.Links, links)
			appts, _ := s.AppointmentsOf(ctx, p.ID)
			mustSame(t, "appointments of "+p.ID, in.Appointments, appts)
			items, _ := s.DueOf(ctx, p.ID)
			mustSame(t, "due items of "+p.ID, in.Due, items)
		}
		if got[0].Seen || !got[2].Seen || got[0].Session != nil || got[2].Session == nil {
			t.Fatalf("seen %v %v, sessions %v %v: want only b's key recorded and only b's session", got[0].Seen, got[2].Seen, got[0].Session, got[2].Session)
		}
	}},
	{"LoadTurnsReadsTheHistoryAskedFor", func(t *testing.T, s store.Store) {
		// What a window's decision reads, beside the turn: as HistoryOf
		// reads it, and only for the asks that want it.
		ctx := ctxOf(t)
		for _, pid := range []string{"p_a", "p_b"} {
			adult(t, s, pid)
			withHistory(t, s, pid)
		}
		since := at(-time.Hour)
		ask := func(pid string, since time.Time) store.TurnAsk {
			a := batchAsk(pid, "sched")
			a.HistorySince = since
			return a
		}
		got, err := s.LoadTurns(ctx, []store.TurnAsk{ask("p_a", since), ask("p_gone", since), ask("p_b", time.Time{})})
		must(t, "load turns", err)
		mustBe(t, "a person never created", got[1].Err, store.ErrNotFound)
		if got[1].History != nil || got[2].History != nil {
			t.Fatalf("history read unasked, or of nobody: %+v, %+v", got[1].History, got[2].History)
		}
		want, err := s.HistoryOf(ctx, "p_a", since)
		must(t, "history of a", err)
		if got[0].History == nil {
			t.Fatal("the history asked for was not read")
		}
		mustSame(t, "history of a", *got[0].History, want)
		if len(want.Windows) != 1 || len(want.CheckIns) != 1 || len(want.Messages) != 1 || len(want.Attention) != 1 || len(want.Appointments) != 2 {
			t.Fatalf("history of p_a: %+v", want)
		}
	}},
	{"LoadTurnsTakesLeasesAndApplyDueStepsGivesThemUp", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		a, _ := adult(t, s, "p_a"), adult(t, s, "p_b")
		held, err := s.AcquireLease(ctx, "plan:p_b", "replanning", time.Minute)
		must(t, "lease of b", err)
		if !held {
			t.Fatal("a free lease was refused")
		}
		got, err := s.LoadTurns(ctx, []store.TurnAsk{batchAsk("p_a", "sched"), batchAsk("p_b", "sched")})
		must(t, "load turns", err)
		must(t, "a, whose lease was free", got[0].Err)
		mustBe(t, "b, whose lease another holds", got[1].Err, store.ErrLeaseBusy)
		if other, err := s.AcquireLease(ctx, "plan:p_a", "replanning", time.Minute); err != nil || other {
			t.Fatalf("a's lease taken by another while the batch holds it: %v, %v", other, err)
		}
		_, err = s.ClaimDue(ctx, "sched", at(time.Minute), time.Minute, 10)
		must(t, "claim", err)
		errs := s.ApplyDueSteps(ctx, []store.DueStep{dueStep(a, "sched")})
		must(t, "step of a", errs[0])
		if free, err := s.AcquireLease(ctx, "plan:p_a", "replanning", time.Minute); err != nil || !free {
			t.Fatalf("a's lease still held after its step: %v, %v", free, err)
		}
	}},
	{"ApplyDueStepsLandsEachStepOnItsOwn", func(t *testing.T, s store.Store) {
		// Five steps: one whose person changed since the batch read them
		// (stale), one whose dedupe key another turn recorded meanwhile
		// (a duplicate), a child's, and two plain ones. The two refused
		// change nothing of theirs, and the three others land whole.
		ctx := ctxOf(t)
		const n = 5
		var asks []store.TurnAsk
		for i := range n {
			pid := fmt.Sprintf("p_%d", i)
			adult(t, s, pid)
			asks = append(asks, batchAsk(pid, "sched"))
		}
		child, err := s.GetParticipant(ctx, "p_4")
		must(t, "get child", err)
		child.Child = true
		must(t, "make p_4 a child", s.UpdateParticipant(ctx, child))
		claimed, err := s.ClaimDue(ctx, "sched", at(time.Minute), time.Hour, 100)
		must(t, "claim", err)
		if len(claimed) != n {
			t.Fatalf("claimed %d of %d items", len(claimed), n)
		}
		in, err := s.LoadTurns(ctx, asks)
		must(t, "load turns", err)
		steps := make([]store.DueStep, n)
		for i := range steps {
			must(t, "ask", in[i].Err)
			steps[i] = dueStep(in[i].Participant, "sched")
		}
		paused := in[1].Participant
		paused.Status = store.Paused
		must(t, "pause p_1 after the read", s.UpdateParticipant(ctx, paused))
		must(t, "p_2's key recorded meanwhile", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_2", DedupeKey: "sched:p_2", DedupeUntil: wallNow().Add(time.Hour)}))

		errs := s.ApplyDueSteps(ctx, steps)
		if len(errs) != n {
			t.Fatalf("%d answers to %d steps", len(errs), n)
		}
		mustBe(t, "stale step", errs[1], store.ErrStale)
		mustBe(t, "duplicate step", errs[2], store.ErrConflict)
		for _, i := range []int{0, 3, 4} {
			must(t, fmt.Sprintf("step of p_%d", i), errs[i])
		}

		msgs, err := s.ClaimOutbound(ctx, "check", at(time.Hour), time.Minute, 100)
		must(t, "outbox", err)
		mustIDs(t, "messages queued", sortedCopy(ids(msgs, outboundID)), []string{"m_p_0", "m_p_3", "m_p_4"})
		for i := range n {
			pid := fmt.Sprintf("p_%d", i)
			items, err := s.DueOf(ctx, pid)
			must(t, "due of "+pid, err)
			p, err := s.GetParticipant(ctx, pid)
			must(t, "get "+pid, err)
			if free, err := s.AcquireLease(ctx, "plan:"+pid, "replanning", time.Minute); err != nil || !free {
				t.Fatalf("%s's lease still held after its step: %v, %v", pid, free, err)
			}
			if errs[i] != nil {
				// Nothing of the refused step: the item still claimed, the
				// plan as it was, the record as the other write left it.
				mustIDs(t, "items of refused "+pid, ids(items, dueID), []string{"open:" + pid, "later:" + pid})
				if !items[1].DueAt.Equal(at(48 * time.Hour)) {
					t.Fatalf("refused %s: later item moved to %v", pid, items[1].DueAt)
				}
				continue
			}
			mustIDs(t, "items of "+pid, ids(items, dueID), []string{"later:" + pid, "next:" + pid})
			mustSame(t, "moved item of "+pid, items[0], steps[i].Put[0])
			if p.Revision != steps[i].Turn.Participant.Revision+1 {
				t.Fatalf("%s at revision %d after a turn from %d", pid, p.Revision, steps[i].Turn.Participant.Revision)
			}
			st, err := s.LoadTurn(ctx, pid, "sched:"+pid)
			must(t, "load turn", err)
			if !st.Seen {
				t.Fatalf("%s: the step's dedupe key is not recorded", pid)
			}
		}
		// The refused ones' items come back when their claim ends.
		again, err := s.ClaimDue(ctx, "sched2", at(2*time.Hour), time.Hour, 100)
		must(t, "claim after the lease", err)
		mustIDs(t, "items claimable again", sortedCopy(ids(again, dueID)), []string{"open:p_1", "open:p_2"})
	}},
	{"ApplyDueStepsDropsPlansAndEnds", func(t *testing.T, s store.Store) {
		// A step with no turn that drops one of its person's items, plans
		// one under an ID another person's item has too, and ends its
		// item: each person then has exactly their own items.
		ctx := ctxOf(t)
		adult(t, s, "p_a")
		adult(t, s, "p_b")
		_, err := s.ClaimDue(ctx, "sched", at(time.Minute), time.Hour, 10)
		must(t, "claim", err)
		planned := due("later:p_b", "p_a", at(9*24*time.Hour))
		step := store.DueStep{ParticipantID: "p_a", Put: []store.DueItem{planned}, Drop: []string{"later:p_a"}, Complete: "open:p_a", Owner: "sched"}
		must(t, "step", s.ApplyDueSteps(ctx, []store.DueStep{step})[0])
		a, err := s.DueOf(ctx, "p_a")
		must(t, "due of a", err)
		mustIDs(t, "items of a", ids(a, dueID), []string{"later:p_b"})
		mustSame(t, "the item a was planned", a[0], planned)
		b, err := s.DueOf(ctx, "p_b")
		must(t, "due of b", err)
		mustIDs(t, "items of b", ids(b, dueID), []string{"open:p_b", "later:p_b"})
	}},
	{"ApplyDueStepsRefusesAStepNotOfOnePerson", func(t *testing.T, s store.Store) {
		// A step is one person's: one naming nobody, or putting another
		// person's item or applying their turn, is refused whole, and the
		// steps beside it land.
		ctx := ctxOf(t)
		a := adult(t, s, "p_a")
		adult(t, s, "p_b")
		_, err := s.ClaimDue(ctx, "sched", at(time.Minute), time.Hour, 10)
		must(t, "claim", err)
		nobody := dueStep(a, "sched")
		nobody.ParticipantID = ""
		theirItem := store.DueStep{ParticipantID: "p_a", Put: []store.DueItem{due("x:p_b", "p_b", at(time.Hour))}, Owner: "sched"}
		theirTurn := dueStep(a, "sched")
		theirTurn.ParticipantID = "p_b"
		theirTurn.Put, theirTurn.Complete = nil, "open:p_b"
		errs := s.ApplyDueSteps(ctx, []store.DueStep{nobody, theirItem, theirTurn, dueStep(a, "sched")})
		for i, what := range []string{"a step of nobody", "a step putting another's item", "a step with another's turn"} {
			mustFail(t, what, errs[i])
		}
		must(t, "the step of one person beside them", errs[3])
		for pid, want := range map[string][]string{"p_a": {"later:p_a", "next:p_a"}, "p_b": {"later:p_b", "open:p_b"}} {
			left, err := s.DueOf(ctx, pid)
			must(t, "due of", err)
			mustIDs(t, "items of "+pid, sortedCopy(ids(left, dueID)), want)
		}
	}},
	{"ApplyDueStepsOfANewItemTakenOverEndsNothing", func(t *testing.T, s store.Store) {
		// The item's claim ran out and another scheduler took it: the step
		// still lands (its turn's dedupe key is what keeps the person from
		// a second message), and the other's claim stands.
		ctx := ctxOf(t)
		a := adult(t, s, "p_a")
		_, err := s.ClaimDue(ctx, "first", at(time.Minute), time.Second, 10)
		must(t, "claim", err)
		taken, err := s.ClaimDue(ctx, "second", at(time.Hour), time.Hour, 10)
		must(t, "take over", err)
		mustIDs(t, "taken over", ids(taken, dueID), []string{"open:p_a"})
		must(t, "step", s.ApplyDueSteps(ctx, []store.DueStep{dueStep(a, "first")})[0])
		must(t, "the new owner ends it", s.CompleteDue(ctx, "p_a", "open:p_a", "second"))
	}},
}
