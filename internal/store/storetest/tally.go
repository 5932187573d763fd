package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The count of who has open items in the whole queue (TallyAttention),
// kept as items open and close. What must hold: after every kind of step
// that opens, closes or removes an item, or makes a person a child or no
// longer one, the kept counts are exactly what reading every open item and
// its person would give; a step done twice counts once.

// tallyOf counts who has open items the long way: every open item, and
// every person they are about.
func tallyOf(t *testing.T, s store.Store) store.AttentionTally {
	t.Helper()
	ctx := ctxOf(t)
	open, err := s.ListAttention(ctx, true)
	must(t, "open items", err)
	want := store.AttentionTally{ByKind: map[store.AttentionKind]int{}, ChildrenByKind: map[store.AttentionKind]int{}}
	kinds := map[string]map[store.AttentionKind]bool{}
	var pids []string
	for _, a := range open {
		if kinds[a.ParticipantID] == nil {
			kinds[a.ParticipantID] = map[store.AttentionKind]bool{}
			pids = append(pids, a.ParticipantID)
		}
		kinds[a.ParticipantID][a.Kind] = true
	}
	people, err := s.GetParticipants(ctx, pids)
	must(t, "their people", err)
	child := map[string]bool{}
	for _, p := range people {
		child[p.ID] = p.Child
	}
	for pid, ks := range kinds {
		want.People++
		if child[pid] {
			want.Children++
		}
		for k := range ks {
			want.ByKind[k]++
			if child[pid] {
				want.ChildrenByKind[k]++
			}
		}
	}
	return want
}

func mustTally(t *testing.T, s store.Store, step string, want *store.AttentionTally) {
	t.Helper()
	got, err := s.TallyAttention(ctxOf(t))
	must(t, "tally after "+step, err)
	if want != nil {
		mustSame(t, "tally after "+step, got, *want)
	}
	mustSame(t, "tally after "+step+" against every open item", got, tallyOf(t, s))
}

func kindOf(a store.AttentionItem, k store.AttentionKind) store.AttentionItem {
	a.Kind = k
	return a
}

var tallyTests = append([]namedTest{
	{"TallyAttentionFollowsEveryStep", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mustTally(t, s, "nothing", &store.AttentionTally{ByKind: map[store.AttentionKind]int{}, ChildrenByKind: map[store.AttentionKind]int{}})
		for _, p := range []store.Participant{
			caseworkerOf("p_a", "cw_a", false), caseworkerOf("p_b", "cw_b", true), caseworkerOf("p_c", "cw_a", false),
		} {
			must(t, "create "+p.ID, s.CreateParticipant(ctx, p))
		}
		// Two misses of one person count them once for the kind.
		for _, a := range []store.AttentionItem{
			attention("at_1", "p_a", at(1*time.Minute)), attention("at_2", "p_a", at(2*time.Minute)),
			kindOf(attention("at_3", "p_a", at(3*time.Minute)), store.AttentionCallback),
			attention("at_4", "p_b", at(4*time.Minute)),
			kindOf(attention("at_5", "p_c", at(5*time.Minute)), store.AttentionCantReach),
		} {
			must(t, "add "+a.ID, s.AddAttention(ctx, a))
		}
		callback := kindOf(attention("at_6", "p_b", at(6*time.Minute)), store.AttentionCallback)
		must(t, "a turn raising at_6", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Attention: []store.AttentionItem{callback}}))
		// An item raised already closed is never counted.
		closed := attention("at_7", "p_c", at(7*time.Minute))
		closed.ResolvedAt, closed.ResolvedBy, closed.Resolution = at(8*time.Minute), store.ResolvedBySystem, store.ResolvedDelivered
		must(t, "add at_7 closed", s.AddAttention(ctx, closed))
		mustTally(t, s, "raising", &store.AttentionTally{People: 3, Children: 1,
			ByKind:         map[store.AttentionKind]int{store.AttentionMissed: 2, store.AttentionCallback: 2, store.AttentionCantReach: 1},
			ChildrenByKind: map[store.AttentionKind]int{store.AttentionMissed: 1, store.AttentionCallback: 1}})

		// A refused write counts nothing.
		mustBe(t, "an ID in use", s.AddAttention(ctx, attention("at_1", "p_c", at(9*time.Minute))), store.ErrConflict)
		mustTally(t, s, "a refused add", nil)

		must(t, "resolve at_1", s.ResolveAttention(ctx, "at_1", "cw_a", "contacted", at(time.Hour)))
		mustTally(t, s, "resolving one of two misses", nil)
		must(t, "resolve at_2", s.ResolveAttention(ctx, "at_2", "cw_a", "contacted", at(time.Hour)))
		must(t, "resolve at_2 again", s.ResolveAttention(ctx, "at_2", "cw_a", "contacted", at(2*time.Hour)))
		done := callback
		done.ResolvedAt, done.ResolvedBy, done.Resolution = at(time.Hour), store.ResolvedBySystem, store.ResolvedDelivered
		must(t, "a turn resolving at_6", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Resolved: []store.AttentionItem{done}}))
		// The scheduler's batch raises and closes items as a turn does.
		a, err := s.GetParticipant(ctx, "p_a")
		must(t, "get p_a", err)
		raised := kindOf(attention("at_8", "p_a", at(10*time.Minute)), store.AttentionCantMakeIt)
		for _, err := range s.ApplyDueSteps(ctx, []store.DueStep{{ParticipantID: "p_a", Turn: &store.Turn{ParticipantID: "p_a", Participant: &a, Attention: []store.AttentionItem{raised}}}}) {
			must(t, "a due step raising at_8", err)
		}
		mustTally(t, s, "a due step raising an item", nil)
		a, err = s.GetParticipant(ctx, "p_a")
		must(t, "get p_a", err)
		raised.ResolvedAt, raised.ResolvedBy, raised.Resolution = at(time.Hour), store.ResolvedBySystem, store.ResolvedDelivered
		for _, err := range s.ApplyDueSteps(ctx, []store.DueStep{{ParticipantID: "p_a", Turn: &store.Turn{ParticipantID: "p_a", Participant: &a, Resolved: []store.AttentionItem{raised}}}}) {
			must(t, "a due step closing at_8", err)
		}
		mustTally(t, s, "a due step closing an item", nil)
		_, err = s.ListAttention(ctx, true)
		must(t, "list the open items", err)
		mustTally(t, s, "resolving", &store.AttentionTally{People: 3, Children: 1,
			ByKind:         map[store.AttentionKind]int{store.AttentionMissed: 1, store.AttentionCallback: 1, store.AttentionCantReach: 1},
			ChildrenByKind: map[store.AttentionKind]int{store.AttentionMissed: 1}})

		// A person marked a child counts as one from then on; one who is
		// no longer a child stops.
		c, err := s.GetParticipant(ctx, "p_c")
		must(t, "get p_c", err)
		c.Child = true
		must(t, "mark p_c a child", s.UpdateParticipant(ctx, c))
		b, err := s.GetParticipant(ctx, "p_b")
		must(t, "get p_b", err)
		b.Child = false
		must(t, "p_b no longer a child", s.UpdateParticipant(ctx, b))
		mustTally(t, s, "changing who is a child", &store.AttentionTally{People: 3, Children: 1,
			ByKind:         map[store.AttentionKind]int{store.AttentionMissed: 1, store.AttentionCallback: 1, store.AttentionCantReach: 1},
			ChildrenByKind: map[store.AttentionKind]int{store.AttentionCantReach: 1}})

		// Erasing a person takes their open items out of the count; purging
		// closed items changes nothing.
		must(t, "erase p_c", s.DeleteParticipant(ctx, "p_c"))
		_, err = s.PurgeAttention(ctx, at(3*time.Hour))
		must(t, "purge", err)
		mustTally(t, s, "erasing and purging", &store.AttentionTally{People: 2,
			ByKind:         map[store.AttentionKind]int{store.AttentionMissed: 1, store.AttentionCallback: 1},
			ChildrenByKind: map[store.AttentionKind]int{}})
	}},
}, tallyRaceTests...)

// tallyRaceTests run steps on the same people at once: the kept counts
// still match every open item once they are done.
var tallyRaceTests = []namedTest{
	{"TallyAttentionUnderConcurrentSteps", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		people := []string{"p_a", "p_b", "p_c"}
		for i, id := range people {
			must(t, "create "+id, s.CreateParticipant(ctx, caseworkerOf(id, "cw_a", i == 0)))
		}
		kinds := []store.AttentionKind{store.AttentionMissed, store.AttentionCallback}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := range 10 {
					id := fmt.Sprintf("at_%d_%02d", w, i)
					a := kindOf(attention(id, people[(w+i)%len(people)], at(time.Duration(w*100+i)*time.Second)), kinds[i%2])
					if err := s.AddAttention(ctx, a); err != nil {
						t.Errorf("add %s: %v", id, err)
						return
					}
					// Every other item is closed at once, twice over, as a
					// caseworker and a repair might.
					if i%2 == 0 {
						for range 2 {
							if err := s.ResolveAttention(ctx, id, "cw_a", "contacted", at(time.Hour)); err != nil {
								t.Errorf("resolve %s: %v", id, err)
							}
						}
						if _, err := s.ListAttention(ctx, true); err != nil {
							t.Errorf("list: %v", err)
						}
					}
				}
			})
		}
		wg.Wait()
		mustTally(t, s, "concurrent steps", nil)
	}},
}
