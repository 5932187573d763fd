package conversation_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
)

// erasureItems returns a person's erasure requests, open ones only when
// open is set.
func (h *harness) erasureItems(pid string, open bool) []store.AttentionItem {
	h.t.Helper()
	items, err := h.store.ListAttention(h.ctx, open)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []store.AttentionItem
	for _, it := range items {
		if it.ParticipantID == pid && it.Kind == store.AttentionErasure {
			out = append(out, it)
		}
	}
	return out
}

// auditCount counts a person's audit entries with the action.
func (h *harness) auditCount(pid, action string) int {
	h.t.Helper()
	entries, err := h.store.ListAudit(h.ctx, pid, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action {
			if e.Actor != "participant" {
				h.t.Errorf("%s by %q, want the participant", action, e.Actor)
			}
			n++
		}
	}
	return n
}

// outboxSize counts every message ever queued for a person, sent or not.
func (h *harness) outboxSize(pid string) int {
	h.t.Helper()
	msgs, err := h.store.OutboundOf(h.ctx, pid)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(msgs)
}

// DELETE from a person who sent STOP is never ignored: it becomes one
// erasure request in the caseworker's queue, however often it is sent
// while the request is open, marked as not confirmed. Nothing is removed
// and nothing is queued for them: Twilio would refuse it after STOP.
// Once a caseworker has dealt with the request, a new DELETE is a new one.
func TestDeleteAfterStopIsOneUnconfirmedRequest(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("es")
	if got := h.say(phone, "STOP"); len(got) != 1 {
		t.Fatalf("STOP answered %q, want its confirmation", got)
	}
	queued := h.outboxSize(pid)

	for _, word := range []string{"BORRAR", "delete", "Forget me!"} {
		h.clock.Advance(time.Minute)
		if got := h.say(phone, word); len(got) != 0 {
			t.Errorf("%q after STOP answered %q", word, got)
		}
	}
	if n := h.outboxSize(pid); n != queued {
		t.Errorf("%d messages queued for an opted-out SMS person", n-queued)
	}
	items := h.erasureItems(pid, true)
	if len(items) != 1 || items[0].Reason != conversation.ReasonUnconfirmedErasure {
		t.Fatalf("erasure requests %+v, want one, unconfirmed", items)
	}
	if n := h.auditCount(pid, "erasure_requested"); n != 1 {
		t.Errorf("%d erasure_requested entries, want 1", n)
	}
	links, err := h.store.LinksOf(h.ctx, pid)
	if err != nil || len(links) != 1 {
		t.Errorf("links after an unconfirmed request: %d, %v; want the number kept for the caseworker", len(links), err)
	}
	p, err := h.store.GetParticipant(h.ctx, pid)
	if err != nil || !p.OptedOut || p.LastLink == "" {
		t.Errorf("participant %+v, %v: want still opted out, with a reply link", p, err)
	}

	// A caseworker deals with it; asking again is a new request.
	if err := h.store.ResolveAttention(h.ctx, items[0].ID, "cw_1", "contacted", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	h.say(phone, "SUPPRIMER")
	if open := h.erasureItems(pid, true); len(open) != 1 || open[0].ID == items[0].ID {
		t.Errorf("after the first was dealt with, open requests %+v, want a new one", open)
	}
	if n := h.auditCount(pid, "erasure_requested"); n != 2 {
		t.Errorf("%d erasure_requested entries, want 2", n)
	}

	// START still works: the number was kept.
	if got := h.say(phone, "START"); len(got) != 1 {
		t.Errorf("START answered %q", got)
	}
}

// Three DELETEs after STOP handled at the same moment (the person sent it
// three times; providers deliver in parallel) still make one request.
func TestDeleteAfterStopAtOnceIsOneRequest(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	h.say(phone, "STOP")
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			in := conversation.Inbound{Channel: store.SMS, Address: phone, Text: "DELETE", DedupeKey: "sms:SM" + strconv.Itoa(i)}
			if _, err := h.conv.Handle(h.ctx, in); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if items := h.erasureItems(pid, true); len(items) != 1 {
		t.Errorf("erasure requests %+v, want one", items)
	}
	if n := h.auditCount(pid, "erasure_requested"); n != 1 {
		t.Errorf("%d erasure_requested entries, want 1", n)
	}
}

// HELP from a person who sent STOP by SMS queues nothing (Twilio answers
// its own HELP words where the programme set that up, and refuses our
// messages after STOP); nor does MENU or any other text.
func TestHelpAfterStopBySMSQueuesNothing(t *testing.T) {
	h := newHarness(t)
	pid := h.joined("en")
	h.say(phone, "STOP")
	queued := h.outboxSize(pid)
	for _, word := range []string{"HELP", "info", "MENU", "hello", "2"} {
		if got := h.say(phone, word); len(got) != 0 {
			t.Errorf("%q after STOP answered %q", word, got)
		}
	}
	if n := h.outboxSize(pid); n != queued {
		t.Errorf("%d messages queued for an opted-out SMS person", n-queued)
	}
	if s, err := h.store.GetSession(h.ctx, pid); err == nil {
		t.Errorf("HELP after STOP left a conversation waiting: %+v", s)
	}
	if len(h.erasureItems(pid, false)) != 0 {
		t.Error("HELP raised an erasure request")
	}
}

// On Telegram nothing blocks a message after STOP, so HELP gets one
// answer (how to start again, how to ask to be deleted, whom to call) and
// DELETE the news that it went to the caseworker; other text gets none.
func TestHelpAndDeleteAfterStopOnTelegram(t *testing.T) {
	h := newHarness(t)
	pid, code := h.enrol("uk")
	const chat = "555000111"
	tg := func(text string) []string {
		return h.sayWith(conversation.Inbound{Channel: store.Telegram, Address: chat, Text: text})
	}
	h.sayWith(conversation.Inbound{Channel: store.Telegram, Address: chat, JoinCode: code})
	tg("STOP")

	render := func(id string) string {
		return h.conv.Content().Locale.Render("uk", id, conversation.TemplateData(h.conv.Content(), "uk", nil))
	}
	if got := tg("допомога"); len(got) != 1 || got[0] != render(flow.OptedOutHelpMessage) {
		t.Errorf("HELP after STOP answered %q, want %q", got, render(flow.OptedOutHelpMessage))
	}
	if got := tg("hello"); len(got) != 0 {
		t.Errorf("other text after STOP answered %q", got)
	}
	for range 2 {
		if got := tg("ВИДАЛИТИ"); len(got) != 1 || got[0] != render(flow.ErasurePassedOnMessage) {
			t.Errorf("DELETE after STOP answered %q", got)
		}
	}
	if items := h.erasureItems(pid, true); len(items) != 1 {
		t.Errorf("erasure requests %+v, want one", items)
	}
	if text := render(flow.OptedOutHelpMessage); !strings.Contains(text, "START") || !strings.Contains(text, "ВИДАЛИТИ") {
		t.Errorf("the answer to HELP must name START and the delete word: %q", text)
	}
}
