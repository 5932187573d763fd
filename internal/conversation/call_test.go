package conversation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// joined enrols a person by SMS and clears the enrolment messages.
func (h *harness) joined(lang string) string {
	h.t.Helper()
	pid, code := h.enrol(lang)
	h.say(phone, "JOIN "+code)
	h.drain()
	return pid
}

// A missed-call check-in is recorded once with its channel and outcome,
// audited, and confirmed in the person's language on their SMS link; a
// retry of the same call changes nothing.
func TestActCheckInByMissedCall(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("es")
	judge := &onTimeWindows{}
	h.conv = conversation.New(h.store, h.box, h.live, h.clock, h.log, judge)
	a := conversation.Action{ParticipantID: pid, Kind: conversation.ActCheckIn, Channel: store.MissedCall, Confirm: "checkin.by_call", DedupeKey: "twilio:call:CA1"}
	res, err := h.conv.Act(h.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Outcome != store.OnTime || res.Queued != 1 || judge.judged != 1 {
		t.Fatalf("result = %+v, judged %d times", res, judge.judged)
	}
	msgs, _ := h.store.ClaimOutbound(h.ctx, "test", h.clock.Now().Add(time.Hour), time.Minute, 10)
	if len(msgs) != 1 || msgs[0].Channel != store.SMS || msgs[0].LinkIndex != h.box.Index("sms", phone) || msgs[0].Kind != "checkin.by_call" {
		t.Fatalf("queued = %+v", msgs)
	}
	if want := h.conv.Content().Locale.Render("es", "checkin.by_call", nil); msgs[0].Text != want {
		t.Errorf("confirmation %q, want the Spanish %q", msgs[0].Text, want)
	}

	res, err = h.conv.Act(h.ctx, a)
	if err != nil || !res.Duplicate {
		t.Fatalf("retry: %+v, %v; want a duplicate", res, err)
	}
	cs, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if len(cs) != 1 || cs[0].Channel != store.MissedCall || cs[0].Outcome != store.OnTime {
		t.Fatalf("check-ins = %+v, want one by missed call", cs)
	}
	// The check-in is its own record, kept retention.checkins: no audit
	// entry keeps its time for longer.
	audit, _ := h.store.ListAudit(h.ctx, pid, 100)
	for _, e := range audit {
		if e.Action == "checked_in" {
			t.Errorf("a check-in written to the audit log: %+v", e)
		}
	}
}

// Simultaneous retries of one call (Twilio, or two of our processes)
// record one check-in.
func TestActConcurrentRetries(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	a := conversation.Action{ParticipantID: pid, Kind: conversation.ActCheckIn, Channel: store.MissedCall, DedupeKey: "twilio:call:CA2"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for range 4 {
		wg.Go(func() {
			res, err := h.conv.Act(h.ctx, a)
			if err != nil {
				t.Error(err)
				return
			}
			if !res.Duplicate {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cs, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if applied != 1 || len(cs) != 1 {
		t.Errorf("applied %d times, %d check-ins; want 1 and 1", applied, len(cs))
	}
}

// An opted-out person's keypad check-in is recorded, but nothing is sent.
func TestActOptedOutGetsNoConfirmation(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	h.say(phone, "STOP")
	res, err := h.conv.Act(h.ctx, conversation.Action{ParticipantID: pid, Kind: conversation.ActCheckIn, Channel: store.Keypad, Confirm: "checkin.by_call"})
	if err != nil || res.Queued != 0 {
		t.Fatalf("result %+v, %v; want nothing queued", res, err)
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("sent %q to a person who opted out", got)
	}
	cs, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if len(cs) != 1 || cs[0].Channel != store.Keypad || cs[0].Outcome != store.Unscheduled {
		t.Errorf("check-ins = %+v", cs)
	}
}

// A call-back request by keypad reaches the caseworker's queue saying how
// it came; a language change by keypad sticks, and one the programme does
// not offer changes nothing.
func TestActCallbackAndLanguage(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	if _, err := h.conv.Act(h.ctx, conversation.Action{ParticipantID: pid, Kind: conversation.ActCallback, Channel: store.Keypad, DedupeKey: "twilio:call:CA3:2"}); err != nil {
		t.Fatal(err)
	}
	items, _ := h.store.ListAttention(h.ctx, true)
	if len(items) != 1 || items[0].Kind != store.AttentionCallback || items[0].Reason != "keypad" || items[0].ParticipantID != pid {
		t.Errorf("attention = %+v", items)
	}
	for _, lang := range []string{"ar", "xx"} {
		if _, err := h.conv.Act(h.ctx, conversation.Action{ParticipantID: pid, Kind: conversation.ActLanguage, Channel: store.Keypad, Language: lang}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := h.store.GetParticipant(h.ctx, pid)
	if p.Language != "ar" || h.conv.Language(p) != "ar" {
		t.Errorf("language = %q", p.Language)
	}
	// The person's conversation was left alone: a reply still works.
	if got := h.say(phone, "MENU"); len(got) == 0 {
		t.Error("no answer to MENU after telephone actions")
	}
}

func TestActRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	for _, a := range []conversation.Action{
		{ParticipantID: pid, Kind: "dance"},
		{Kind: conversation.ActCheckIn},
		{ParticipantID: "p_nobody", Kind: conversation.ActCheckIn, Channel: store.MissedCall, DedupeKey: "twilio:call:CA9"},
	} {
		if _, err := h.conv.Act(h.ctx, a); err == nil {
			t.Errorf("Act(%+v) succeeded", a)
		}
	}
	// A refused action records nothing, not even its dedupe key, so a
	// retry after the fault is handled.
	if seen, _ := h.store.Seen(h.ctx, "twilio:call:CA9"); seen {
		t.Error("a failed action recorded its dedupe key")
	}
}

// The confirmation goes where the person last wrote from: Telegram, if
// that is where they talk to us, though they called from their phone.
func TestActConfirmsOnLastUsedLink(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	tg := store.Link{Index: h.box.Index("telegram", "123456789"), Channel: store.Telegram, ParticipantID: pid, LinkedAt: h.clock.Now()}
	if err := h.store.PutLink(h.ctx, tg); err != nil {
		t.Fatal(err)
	}
	p, _ := h.store.GetParticipant(h.ctx, pid)
	p.LastLink = tg.Index
	if err := h.store.UpdateParticipant(h.ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := h.conv.Act(h.ctx, conversation.Action{ParticipantID: pid, Kind: conversation.ActCheckIn, Channel: store.MissedCall, Confirm: "checkin.by_call", DedupeKey: "twilio:call:CA5"}); err != nil {
		t.Fatal(err)
	}
	msgs, _ := h.store.ClaimOutbound(h.ctx, "test", h.clock.Now().Add(time.Hour), time.Minute, 10)
	if len(msgs) != 1 || msgs[0].Channel != store.Telegram || msgs[0].LinkIndex != tg.Index {
		t.Errorf("queued = %+v, want one on Telegram", msgs)
	}
	// The check-in still says how it came: by a missed call.
	if cs, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{}); len(cs) != 1 || cs[0].Channel != store.MissedCall {
		t.Errorf("check-ins = %+v", cs)
	}
}

// onTimeWindows judges every check-in on time and counts them; nothing
// else about windows is known.
type onTimeWindows struct{ judged int }

func (w *onTimeWindows) Current(store.Participant, time.Time) (conversation.WindowNow, bool) {
	return conversation.WindowNow{}, false
}

func (w *onTimeWindows) CountsFor(store.Participant, time.Time) (string, bool) { return "", false }

func (w *onTimeWindows) CheckIn(context.Context, store.Participant, store.CheckIn) (store.CheckInOutcome, conversation.LedgerChange, error) {
	w.judged++
	return store.OnTime, conversation.LedgerChange{}, nil
}

func (w *onTimeWindows) CantMakeIt(context.Context, store.Participant, *store.AttentionItem) (conversation.LedgerChange, error) {
	return conversation.LedgerChange{}, nil
}

func (w *onTimeWindows) Replan(context.Context, string) error { return nil }

func (w *onTimeWindows) Upcoming(store.Participant, time.Time) (map[string]string, bool) {
	return nil, false
}
