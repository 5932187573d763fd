package conversation_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

const phone = "+447700900123"

func TestJoinLinksTheAddressSealedAndStartsEnrolment(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	replies := h.say(phone, "join "+strings.ToLower(code))
	if len(replies) == 0 {
		t.Fatal("no welcome after JOIN")
	}
	l, err := h.store.GetLink(h.ctx, h.box.Index("sms", phone))
	if err != nil {
		t.Fatalf("link not stored: %v", err)
	}
	if l.ParticipantID != pid || l.Masked != "+44 7*** ***123" {
		t.Errorf("link = %+v", l)
	}
	if got, err := h.box.Open("sms", l.Sealed); err != nil || got != phone {
		t.Errorf("sealed address opens to %q, %v", got, err)
	}
	// The code is single use.
	if _, err := h.store.TakeEnrolmentCode(h.ctx, code); err == nil {
		t.Error("enrolment code still usable after JOIN")
	}
}

// A message saves when its link was last heard from, with its turn, and
// leaves the rest of the link as it is (the outbox may have changed it).
func TestMessageUpdatesTheLinksLastSeenTime(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	h.say(phone, "join "+code)
	index := h.box.Index("sms", phone)
	l, err := h.store.GetLink(h.ctx, index)
	if err != nil {
		t.Fatal(err)
	}
	l.Unreachable, l.Reason = true, "30003" // as the outbox marks it
	if err := h.store.PutLink(h.ctx, l); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(3 * time.Hour)
	h.say(phone, "menu")
	got, err := h.store.GetLink(h.ctx, index)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(h.clock.Now()) {
		t.Errorf("last seen %v, want %v", got.LastSeenAt, h.clock.Now())
	}
	if !got.Unreachable || got.Reason != "30003" || !got.LinkedAt.Equal(l.LinkedAt) {
		t.Errorf("the turn changed more of the link than its last-seen time: %+v", got)
	}
}

func TestUnknownSenderGetsADirectReplyAndNothingIsStored(t *testing.T) {
	h := newHarness(t)
	out, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: phone, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if out.ParticipantID != "" || len(out.Direct) != 1 {
		t.Fatalf("outcome = %+v, want one direct reply", out)
	}
	if ps, _ := h.store.ListParticipants(h.ctx); len(ps) != 0 {
		t.Error("a participant was created for an unknown sender")
	}
	if _, err := h.store.GetLink(h.ctx, h.box.Index("sms", phone)); err == nil {
		t.Error("an unknown sender's address was linked")
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("queued %d messages to an unknown sender", len(got))
	}
}

func TestUnknownSenderRepliesAreLimited(t *testing.T) {
	h := newHarness(t)
	replies := 0
	for range 10 {
		replies += len(h.say(phone, "hello"))
	}
	if replies != 3 {
		t.Errorf("%d replies to 10 messages from an unknown sender, want 3 a day", replies)
	}
	if got := h.say("+447700900999", "hello"); len(got) != 1 {
		t.Errorf("a different unknown sender got %d replies, want 1: the limit is per address", len(got))
	}
	h.clock.Advance(25 * time.Hour)
	if got := h.say(phone, "hello"); len(got) != 1 {
		t.Errorf("a day later the first sender got %d replies, want 1 again", len(got))
	}
}

func TestWrongCodesCannotBeGuessedEndlessly(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	for i := range 5 {
		h.say(phone, "JOIN WRONG"+string(rune('A'+i)))
	}
	h.say(phone, "JOIN "+code)
	if _, err := h.store.GetLink(h.ctx, h.box.Index("sms", phone)); err == nil {
		t.Error("the sixth attempt in a day was accepted")
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	h.clock.Advance(15 * 24 * time.Hour)
	h.say(phone, "JOIN "+code)
	if _, err := h.store.GetLink(h.ctx, h.box.Index("sms", phone)); err == nil {
		t.Error("an expired code linked the address")
	}
}

func TestRepeatedProviderMessageIsHandledOnce(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	in := conversation.Inbound{Channel: store.SMS, Address: phone, Text: "MENU", DedupeKey: "sms:SM0001"}
	first := h.sayWith(in)
	out, err := h.conv.Handle(h.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || !out.Duplicate || len(h.drain()) != 0 {
		t.Errorf("first replies %d, second duplicate=%v", len(first), out.Duplicate)
	}
	audit, _ := h.store.ListAudit(h.ctx, pid, 100)
	_ = audit
}

func TestConcurrentMessagesOfOnePersonAreSerialised(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.drain()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: phone, Text: "MENU", DedupeKey: "sms:SMc" + string(rune('a'+i))})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(h.drain()); got != 8 {
		t.Errorf("%d replies to 8 messages, want 8", got)
	}
	if _, err := h.store.GetSession(h.ctx, pid); err != nil {
		t.Errorf("session lost: %v", err)
	}
}

func TestBadInputGetsAPoliteReply(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.drain()
	for _, in := range []conversation.Inbound{
		{Text: strings.Repeat("a", 100_000), Problem: conversation.TooLong},
		{Text: "\xff\xfe", Problem: conversation.InvalidText},
		{Problem: conversation.MediaOnly},
		{Text: "\xff\xfe"}, // not flagged by the channel: still no panic
	} {
		in.Channel, in.Address = store.SMS, phone
		if got := h.sayWith(in); len(got) == 0 || got[0] == "" {
			t.Errorf("problem %q: replies %q, want a polite reply", in.Problem, got)
		}
	}
}

func TestOptedOutPersonGetsNothingButTheConfirmation(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	if got := h.say(phone, "STOP"); len(got) != 1 {
		t.Fatalf("STOP gave %d replies, want the one confirmation", len(got))
	}
	for _, text := range []string{"hello", "MENU", "1"} {
		if got := h.say(phone, text); len(got) != 0 {
			t.Errorf("%q after STOP got replies %q", text, got)
		}
	}
	if err := h.conv.Start(h.ctx, pid, "checkin", nil); err != nil {
		t.Fatal(err)
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("a reminder reached an opted-out person: %q", got)
	}
	p, _ := h.store.GetParticipant(h.ctx, pid)
	if !p.OptedOut {
		t.Error("participant not marked opted out")
	}
	items, _ := h.store.ListAttention(h.ctx, true)
	if len(items) != 1 || items[0].Kind != store.AttentionOptedOut {
		t.Errorf("attention = %+v, want one opted_out item for the caseworker", items)
	}
	if got := h.say(phone, "START"); len(got) == 0 {
		t.Error("START gave no confirmation")
	}
	if got := h.say(phone, "MENU"); len(got) == 0 {
		t.Error("no reply after START")
	}
}

// An event named by a Once key acts once: the key lands with its turn,
// and the same event again (a reminder handled a second time) does nothing.
func TestOnceEventsActOnce(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.say(phone, "1") // agree
	h.say(phone, "1") // English
	once := conversation.Once{Key: "sched:item@1", Until: h.clock.Now().Add(time.Hour)}
	if err := h.conv.NotifyOnce(h.ctx, pid, "checkin.missed", nil, once); err != nil {
		t.Fatal(err)
	}
	if got := h.drain(); len(got) != 1 {
		t.Fatalf("first time: %d messages, want 1", len(got))
	}
	for _, again := range []func() error{
		func() error { return h.conv.NotifyOnce(h.ctx, pid, "checkin.missed", nil, once) },
		func() error { return h.conv.StartOnce(h.ctx, pid, "checkin", nil, once) },
	} {
		if err := again(); !errors.Is(err, conversation.ErrHandledBefore) {
			t.Fatalf("the same key again: %v, want ErrHandledBefore", err)
		}
		if got := h.drain(); len(got) != 0 {
			t.Fatalf("the same key again sent %q", got)
		}
	}
	// Another key acts.
	if err := h.conv.NotifyOnce(h.ctx, pid, "checkin.missed", nil, conversation.Once{Key: "sched:item@2", Until: once.Until}); err != nil {
		t.Fatal(err)
	}
	if got := h.drain(); len(got) != 1 {
		t.Fatalf("another key: %d messages, want 1", len(got))
	}
}

// After session_timeout a question is forgotten: "1" three hours after
// the information menu is not "Your rights" but the main menu's "1",
// which checks in at once (outside any window: an unscheduled check-in,
// which the caseworker sees and nobody counts against the person).
func TestSessionsAreForgottenAfterTheTimeout(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.say(phone, "1") // agree
	h.say(phone, "1") // English
	h.say(phone, "MENU")
	h.say(phone, "3") // the information menu: 1 is "Your rights"
	h.drain()
	h.clock.Advance(h.conv.Content().Flows.Programme.SessionTimeout.D() + time.Minute)
	got := h.say(phone, "1")
	checkins, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if len(checkins) != 1 || checkins[0].Outcome != store.Unscheduled {
		t.Errorf("1 after the timeout gave %q and check-ins %+v, want one unscheduled check-in", got, checkins)
	}
	rights := h.conv.Content().Locale.Render("en", "info.rights", nil)
	for _, m := range got {
		if strings.Contains(m, rights) {
			t.Errorf("the forgotten question was answered: %q", got)
		}
	}
}

func TestLogsHoldNoNumberOrText(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	secretText := "my brother lives at 12 Rue Secrète"
	h.say(phone, "JOIN "+code)
	h.say(phone, secretText)
	h.say(phone, "1")
	h.say("+447700900777", "hello from a stranger")
	logs := h.logs.String()
	for _, leak := range []string{phone, "447700900", secretText, "Secrète", "stranger", code} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q:\n%s", leak, logs)
		}
	}
}

func TestAConversationOnAVanishedNodeRestartsPolitely(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.say(phone, "1") // agreed; now waiting on the language question
	if s, err := h.store.GetSession(h.ctx, pid); err != nil || s.Node != "ask_language" {
		t.Fatalf("session = %+v, %v", s, err)
	}
	// The organisation renames the node and reloads.
	old := h.conv.Content()
	set := *old.Flows
	set.Flows = map[string]*flow.Flow{}
	maps.Copy(set.Flows, old.Flows.Flows)
	enrol := *set.Flows["enrolment"]
	enrol.Nodes = map[string]*flow.Node{}
	for id, n := range old.Flows.Flows["enrolment"].Nodes {
		if id != "ask_language" {
			enrol.Nodes[id] = n
		}
	}
	set.Flows["enrolment"] = &enrol
	h.conv.SetContent(&conversation.Content{Flows: &set, Locale: old.Locale})

	got := h.say(phone, "2")
	if len(got) == 0 || !strings.Contains(got[0], h.conv.Content().Locale.Render("en", "common.restarted", nil)) {
		t.Errorf("replies = %q, want the polite restart first", got)
	}
}

func TestReplyOneToASingleMessageChecksIn(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.say(phone, "1")
	h.say(phone, "1")
	// checkin.window_open is what a programme with no check-in flow sends
	// when a window opens: a single message saying "reply 1".
	if err := h.conv.Notify(h.ctx, pid, "checkin.window_open", nil); err != nil {
		t.Fatal(err)
	}
	if got := h.drain(); len(got) != 1 || !strings.Contains(got[0], "1") {
		t.Fatalf("window note = %q", got)
	}
	got := h.say(phone, "1")
	checkins, _ := h.store.CheckInsOf(h.ctx, pid, time.Time{})
	if len(checkins) != 1 {
		t.Errorf("reply 1 after the window note gave %q and %d check-ins, want a check-in at once", got, len(checkins))
	}
}

// A JOIN the provider delivers twice, at once or one after the other, links
// the number once, welcomes once, and never answers "code not recognised".
func TestRepeatedJoinIsHandledOnce(t *testing.T) {
	h := newHarness(t)
	_, code := h.enrol("en")
	in := conversation.Inbound{Channel: store.SMS, Address: phone, Text: "JOIN " + code, DedupeKey: "twilio:SMjoin"}
	var wg sync.WaitGroup
	outs := make([]conversation.Outcome, 3)
	for i := range outs {
		wg.Go(func() {
			out, err := h.conv.Handle(h.ctx, in)
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	for i, out := range outs {
		if len(out.Direct) != 0 {
			t.Errorf("copy %d answered %q", i, out.Direct)
		}
	}
	if got := h.drain(); len(got) != 5 {
		t.Errorf("%d messages after three copies of one JOIN, want the five of one welcome", len(got))
	}
	out, err := h.conv.Handle(h.ctx, in)
	if err != nil || !out.Duplicate || len(h.drain()) != 0 {
		t.Errorf("a later copy: %+v, %v", out, err)
	}
}

// A caseworker pauses the person at the moment the person's STOP is being
// handled: the turn read the record before the pause landed. The store
// refuses the turn, it runs again on the paused record, and both changes
// hold: nobody's change is silently undone.
func TestAConcurrentCaseworkerEditIsNotUndone(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	h.say(phone, "JOIN "+code)
	h.say(phone, "1")
	h.say(phone, "1")

	racing := &editBeforeFirstTurn{Store: h.store, edit: func(ctx context.Context, st store.Store) error {
		p, err := st.GetParticipant(ctx, pid)
		if err != nil {
			return err
		}
		p.Status = store.Paused
		return st.UpdateParticipant(ctx, p)
	}}
	conv := conversation.New(racing, h.box, conversation.NewLive(testkit.Content(t)), h.clock, slog.New(slog.DiscardHandler), nil)
	if _, err := conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: phone, Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	if racing.turns.Load() < 2 {
		t.Errorf("the turn ran %d times: a stale turn was not refused and run again", racing.turns.Load())
	}
	p, err := h.store.GetParticipant(h.ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.Paused || !p.OptedOut {
		t.Errorf("after a pause and a STOP at once: status %s, opted out %v; want both kept", p.Status, p.OptedOut)
	}
	if got := h.drain(); len(got) != 1 {
		t.Errorf("replies to STOP: %q, want the one confirmation", got)
	}
}

// editBeforeFirstTurn runs edit just before the first turn is applied, as
// a caseworker's change landing between a turn's read and its write.
type editBeforeFirstTurn struct {
	store.Store
	edit  func(context.Context, store.Store) error
	once  sync.Once
	turns atomic.Int32
}

func (e *editBeforeFirstTurn) ApplyTurn(ctx context.Context, t store.Turn) error {
	e.turns.Add(1)
	var err error
	e.once.Do(func() { err = e.edit(ctx, e.Store) })
	if err != nil {
		return err
	}
	return e.Store.ApplyTurn(ctx, t)
}

// The store fails just as a JOIN would link the number: the JOIN fails
// (the provider will retry it), and the enrolment code is put back, so
// that the retry enrols the person with the same code.
func TestAJoinThatFailsBeforeLinkingKeepsTheCode(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("en")
	flaky := &failFirstPutLink{Store: h.store}
	conv := conversation.New(flaky, h.box, conversation.NewLive(testkit.Content(t)), h.clock, slog.New(slog.DiscardHandler), nil)
	in := conversation.Inbound{Channel: store.SMS, Address: phone, Text: "JOIN " + code, DedupeKey: "sms:SMjoin"}
	if _, err := conv.Handle(h.ctx, in); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("JOIN while the store fails: %v, want ErrUnavailable", err)
	}
	out, err := conv.Handle(h.ctx, in) // the provider's retry
	if err != nil || out.ParticipantID != pid || out.Duplicate {
		t.Fatalf("retried JOIN: %+v, %v; want %s enrolled", out, err, pid)
	}
	if got := h.drain(); len(got) == 0 || !strings.Contains(got[0], "Welcome") {
		t.Errorf("replies to the retried JOIN: %q, want the welcome", got)
	}
}

// failFirstPutLink fails the first PutLink as an unavailable store would.
type failFirstPutLink struct {
	store.Store
	failed atomic.Bool
}

func (f *failFirstPutLink) PutLink(ctx context.Context, l store.Link) error {
	if f.failed.CompareAndSwap(false, true) {
		return fmt.Errorf("test: %w", store.ErrUnavailable)
	}
	return f.Store.PutLink(ctx, l)
}
