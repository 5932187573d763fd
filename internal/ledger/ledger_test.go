package ledger

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The window every test judges: open 09:00–17:00, a day's grace, the next
// window two days after it opened.
var (
	opens     = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	closes    = opens.Add(8 * time.Hour)
	graceEnds = closes.Add(24 * time.Hour)
	nextOpens = opens.Add(48 * time.Hour)
)

func freshWindow() store.Window {
	return store.Window{Ref: "win:p_1:1", ParticipantID: "p_1", OpensAt: opens, ClosesAt: closes, GraceEndsAt: graceEnds, Outcome: store.WindowOpen}
}

func consenting() store.Participant {
	return store.Participant{ID: "p_1", Status: store.Active, ConsentedAt: opens.Add(-72 * time.Hour)}
}

func delivered() []store.OutboundMessage {
	return []store.OutboundMessage{{ID: "m_1", Ref: "win:p_1:1", Status: store.Delivered}}
}

func TestJudgeRules(t *testing.T) {
	at := func(d time.Duration) time.Time { return opens.Add(d) }
	checkIn := func(d time.Duration) []store.CheckIn { return []store.CheckIn{{ID: "c_1", At: at(d)}} }
	after := graceEnds.Add(time.Minute)
	cases := []struct {
		name string
		f    Facts
		want store.WindowOutcome
	}{
		{"checked in inside", Facts{CheckIns: checkIn(time.Hour), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowOnTime},
		{"checked in in the grace", Facts{CheckIns: checkIn(10 * time.Hour), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowLate},
		{"checked in after the grace, before the next", Facts{CheckIns: checkIn(40 * time.Hour), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowLate},
		{"checked in after the next opened", Facts{CheckIns: checkIn(49 * time.Hour), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowMissed},
		{"checked in before it opened", Facts{CheckIns: checkIn(-time.Minute), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowMissed},
		{"nothing, in the grace", Facts{Participant: consenting(), Prompts: delivered(), Now: at(9 * time.Hour)}, store.WindowOpen},
		{"nothing after a delivered prompt", Facts{Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowMissed},
		{"a prompt still queued counts as reached", Facts{Participant: consenting(), Prompts: []store.OutboundMessage{{Status: store.Queued}}, Now: after}, store.WindowMissed},
		{"every prompt failed", Facts{Participant: consenting(), Prompts: []store.OutboundMessage{{Status: store.Failed}, {Status: store.Undelivered}}, Now: after}, store.WindowNotDelivered},
		{"a prompt never left the outbox", Facts{Participant: consenting(), Prompts: []store.OutboundMessage{{Status: store.Pending}}, Now: after}, store.WindowNotDelivered},
		{"no prompt at all", Facts{Participant: consenting(), Now: after}, store.WindowNotDelivered},
		{"no working channel", Facts{Participant: consenting(), Prompts: delivered(), Unreachable: true, Now: after}, store.WindowNotDelivered},
		{"never consented", Facts{Participant: store.Participant{ID: "p_1"}, Prompts: delivered(), Now: after}, store.WindowNotConsented},
		{"consented after the close", Facts{Participant: store.Participant{ID: "p_1", ConsentedAt: closes}, Prompts: delivered(), Now: after}, store.WindowNotConsented},
		{"opted out now", Facts{Participant: func() store.Participant { p := consenting(); p.OptedOut, p.OptedOutAt = true, at(-time.Hour); return p }(), Now: after}, store.WindowOptedOut},
		{"paused now", Facts{Participant: func() store.Participant { p := consenting(); p.SetStatus(store.Paused, at(-time.Hour)); return p }(), Now: after}, store.WindowPaused},
		{"paused, resumed in the window", Facts{Participant: func() store.Participant {
			p := consenting()
			p.SetStatus(store.Paused, at(-time.Hour))
			p.SetStatus(store.Active, at(time.Hour))
			return p
		}(), Prompts: delivered(), Now: after}, store.WindowPaused},
		{"paused and resumed before it opened", Facts{Participant: func() store.Participant {
			p := consenting()
			p.SetStatus(store.Paused, at(-48*time.Hour))
			p.SetStatus(store.Active, at(-24*time.Hour))
			return p
		}(), Prompts: delivered(), Now: after}, store.WindowMissed},
		{"reported unable", Facts{Window: func() store.Window { w := freshWindow(); w.ReportedUnableAt = at(time.Hour); return w }(), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowReportedUnable},
		{"reported unable, provisional in the window", Facts{Window: func() store.Window { w := freshWindow(); w.ReportedUnableAt = at(time.Hour); return w }(), Participant: consenting(), Now: at(2 * time.Hour)}, store.WindowReportedUnable},
		{"excused", Facts{Window: func() store.Window { w := freshWindow(); w.ExcusedAt = after; return w }(), Participant: consenting(), Prompts: delivered(), Now: after}, store.WindowExcused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.Window.Ref == "" {
				tc.f.Window = freshWindow()
			}
			tc.f.NextOpensAt = nextOpens
			got := Judge(tc.f)
			if got.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s", got.Outcome, tc.want)
			}
			if decided := !got.DecidedAt.IsZero(); decided != !tc.f.Now.Before(graceEnds) {
				t.Fatalf("DecidedAt %v at %v", got.DecidedAt, tc.f.Now)
			}
		})
	}
}

func TestDecidedOutcomeNeverMovesAgainstThePerson(t *testing.T) {
	// Not delivered, then a late delivery report arrives: the window must
	// not become "missed".
	w := Judge(Facts{Window: freshWindow(), Participant: consenting(), Prompts: []store.OutboundMessage{{Status: store.Failed}}, NextOpensAt: nextOpens, Now: graceEnds})
	if w.Outcome != store.WindowNotDelivered {
		t.Fatalf("first judged %s", w.Outcome)
	}
	again := Judge(Facts{Window: w, Participant: consenting(), Prompts: delivered(), NextOpensAt: nextOpens, Now: graceEnds.Add(time.Hour)})
	if again.Outcome != store.WindowNotDelivered || !again.DecidedAt.Equal(graceEnds) {
		t.Fatalf("moved to %s (decided %v)", again.Outcome, again.DecidedAt)
	}
	// A late check-in moves it up.
	late := Judge(Facts{Window: again, Participant: consenting(), CheckIns: []store.CheckIn{{ID: "c_9", At: graceEnds.Add(2 * time.Hour)}}, NextOpensAt: nextOpens, Now: graceEnds.Add(2 * time.Hour)})
	if late.Outcome != store.WindowLate || late.CheckInID != "c_9" {
		t.Fatalf("after a late check-in: %s %q", late.Outcome, late.CheckInID)
	}
}

// event is one thing that can happen around the window, at a time.
type event struct {
	at   time.Time
	kind int
}

// Kinds of event the property test draws.
const (
	evPromptDelivered = iota
	evPromptFailed
	evPromptUnknown // taken by the provider, no final status
	evPromptPending // never left the outbox
	evCheckIn       // in the window, the grace or after: the time decides
	evMissedCall    // a check-in by missed call: the same fact, another channel
	evCantMakeIt
	evPause
	evResume
	evExcuse
	evStop
	evStart
	evConsent
	evKinds
)

// history replays events in time order, judging the window after each one
// and at the end, and checks the invariants. It returns the final record.
func history(t *testing.T, evs []event, consentAtStart bool) store.Window {
	t.Helper()
	p := store.Participant{ID: "p_1", Status: store.Active}
	if consentAtStart {
		p.ConsentedAt = opens.Add(-time.Hour)
	}
	w := freshWindow()
	var checkIns []store.CheckIn
	var prompts []store.OutboundMessage
	checkedInFor := false // a check-in that counts for this window
	reportedInTime := false
	pausedInside := false
	var pausedSince time.Time // start of a pause on now that began before the grace ended
	reachedOnce := false
	judge := func(now time.Time) {
		next := Judge(Facts{Window: w, NextOpensAt: nextOpens, CheckIns: checkIns, Participant: p, Prompts: prompts, Now: now})
		if Decided(w.Outcome) && next.Outcome != w.Outcome && !Favours(w.Outcome, next.Outcome) {
			t.Fatalf("at %v the outcome moved against the person: %s -> %s", now, w.Outcome, next.Outcome)
		}
		if !next.DecidedAt.IsZero() && !Decided(next.Outcome) {
			t.Fatalf("decided at %v with no outcome: %s", next.DecidedAt, next.Outcome)
		}
		w = next
	}
	for i, e := range evs {
		switch e.kind {
		case evPromptDelivered, evPromptFailed, evPromptUnknown, evPromptPending:
			st := map[int]store.MessageStatus{evPromptDelivered: store.Delivered, evPromptFailed: store.Failed, evPromptUnknown: store.Sent, evPromptPending: store.Pending}[e.kind]
			prompts = append(prompts, store.OutboundMessage{ID: "m", Ref: w.Ref, Status: st})
			if e.kind == evPromptDelivered || e.kind == evPromptUnknown {
				reachedOnce = true
			}
		case evCheckIn, evMissedCall:
			ch := store.SMS
			if e.kind == evMissedCall {
				ch = store.MissedCall
			}
			checkIns = append(checkIns, store.CheckIn{ID: "c_" + string(rune('a'+i%26)), At: e.at, Channel: ch})
			if !e.at.Before(opens) && e.at.Before(nextOpens) {
				checkedInFor = true
			}
		case evCantMakeIt:
			if w.ReportedUnableAt.IsZero() && e.at.Before(graceEnds) {
				w.ReportedUnableAt = e.at
				reportedInTime = true
			}
		case evPause:
			if p.Status != store.Paused {
				p.SetStatus(store.Paused, e.at)
				if e.at.Before(graceEnds) {
					pausedSince = e.at
				}
			}
		case evResume:
			if p.Status == store.Paused {
				if !pausedSince.IsZero() && e.at.After(opens) {
					pausedInside = true
				}
				pausedSince = time.Time{}
				p.SetStatus(store.Active, e.at)
			}
		case evExcuse:
			if w.ExcusedAt.IsZero() && !e.at.Before(graceEnds) {
				w.ExcusedAt = e.at
			}
		case evStop:
			if !p.OptedOut {
				p.OptedOut, p.OptedOutAt = true, e.at
			}
		case evStart:
			p.OptedOut, p.OptedOutAt = false, time.Time{}
		case evConsent:
			if p.ConsentedAt.IsZero() {
				p.ConsentedAt = e.at
			}
		}
		judge(e.at)
	}
	end := nextOpens.Add(time.Hour)
	judge(end)
	if !pausedSince.IsZero() {
		pausedInside = true
	}

	// Exactly one outcome, decided, once the grace has passed.
	if !Decided(w.Outcome) || w.DecidedAt.IsZero() {
		t.Fatalf("after the grace the window is %q (decided %v)", w.Outcome, w.DecidedAt)
	}
	if w.Outcome == store.WindowMissed {
		switch {
		case checkedInFor:
			t.Fatal("missed, though the person checked in for the window")
		case reportedInTime:
			t.Fatal("missed, though the person reported they could not make it")
		case p.ConsentedAt.IsZero() || !p.ConsentedAt.Before(closes):
			t.Fatal("missed, though the person had not consented")
		case !reachedOnce:
			t.Fatal("missed, though no prompt reached the person")
		case pausedInside:
			t.Fatal("missed, though the person was paused")
		}
	}
	if checkedInFor && w.Outcome != store.WindowOnTime && w.Outcome != store.WindowLate {
		t.Fatalf("checked in for the window, but the outcome is %s", w.Outcome)
	}
	return w
}

// draw makes a history from a random source: up to 12 events between a
// day before the opening and the next window, in time order.
func draw(r *rand.Rand) []event {
	n := r.IntN(13)
	span := nextOpens.Add(2 * time.Hour).Sub(opens.Add(-24 * time.Hour))
	evs := make([]event, n)
	for i := range evs {
		evs[i] = event{at: opens.Add(-24 * time.Hour).Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Minute), kind: r.IntN(evKinds)}
	}
	sortEvents(evs)
	return evs
}

func sortEvents(evs []event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].at.Before(evs[j-1].at); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func TestWindowInvariantsHoldForRandomHistories(t *testing.T) {
	seen := map[store.WindowOutcome]int{}
	for seed := range uint64(20000) {
		r := rand.New(rand.NewPCG(seed, 0x1ed9e))
		evs := draw(r)
		w := history(t, evs, r.IntN(4) != 0)
		seen[w.Outcome]++
	}
	// The generator must reach every outcome, or the invariants prove little.
	for o := range rank {
		if seen[o] == 0 {
			t.Errorf("no history ended %s", o)
		}
	}
	t.Logf("outcomes of 20,000 histories: %v", seen)
}

// FuzzWindowInvariants lets the fuzzer search for a history that breaks
// them: each byte pair is one event (kind, time in hours from a day before
// the opening).
func FuzzWindowInvariants(f *testing.F) {
	f.Add([]byte{evPromptDelivered, 25, evCheckIn, 30}, true)
	f.Add([]byte{evPromptFailed, 25, evCantMakeIt, 40}, false)
	f.Add([]byte{evPause, 10, evPromptDelivered, 25, evResume, 27}, true)
	f.Fuzz(func(t *testing.T, data []byte, consent bool) {
		var evs []event
		for i := 0; i+1 < len(data) && len(evs) < 24; i += 2 {
			at := opens.Add(-24 * time.Hour).Add(time.Duration(int(data[i+1])%80) * time.Hour)
			evs = append(evs, event{at: at, kind: int(data[i]) % evKinds})
		}
		sortEvents(evs)
		history(t, evs, consent)
	})
}
