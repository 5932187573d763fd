package conversation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// DELETE asks first; "no" changes nothing. "Yes" removes every link of the
// person at once (the last reply comes in the answer itself, since nothing
// can be queued for a link that is gone), raises an erasure request for
// the caseworker, and leaves the rest of the record for the caseworker to
// erase. Afterwards the number is a stranger's.
func TestDeleteForgetsTheLinksAtOnce(t *testing.T) {
	for _, tc := range []struct{ lang, keyword, yes string }{
		{"en", "DELETE", "1"},
		{"es", "borrar", "sí"},
		{"fr", "Supprimer", "oui"},
		{"uk", "видалити", "так"},
		{"ar", "حذف", "1"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := newHarness(t)
			const phone = "+447700900123"
			pid, code := h.enrol(tc.lang)
			h.say(phone, "JOIN "+code)
			h.say(phone, "1") // agree
			keepLanguage := map[string]string{"en": "1", "es": "2", "fr": "3", "ar": "4", "uk": "5"}[tc.lang]
			h.say(phone, keepLanguage)
			// A second link (Telegram), so that "every link" is tested.
			if _, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.Telegram, Address: "987654321", JoinCode: h.newCode(pid)}); err != nil {
				t.Fatal(err)
			}
			h.drain()

			ask := h.say(phone, tc.keyword)
			if len(ask) != 1 || !strings.Contains(ask[0], "1 - ") || !strings.Contains(ask[0], "2 - ") {
				t.Fatalf("DELETE answered %q, want one question with two choices", ask)
			}
			if kept := h.say(phone, "2"); len(kept) != 1 {
				t.Fatalf("declining answered %q", kept)
			}
			if links, _ := h.store.LinksOf(h.ctx, pid); len(links) != 2 {
				t.Fatalf("declining removed links: %d left", len(links))
			}

			h.clock.Advance(time.Minute)
			h.say(phone, tc.keyword)
			out, err := h.conv.Handle(h.ctx, conversation.Inbound{Channel: store.SMS, Address: phone, Text: tc.yes})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Direct) != 1 || out.Direct[0] == "" {
				t.Fatalf("confirming answered %q directly, want the last message", out.Direct)
			}
			if queued := h.drain(); len(queued) != 0 {
				t.Errorf("messages queued after forgetting: %q", queued)
			}
			if links, _ := h.store.LinksOf(h.ctx, pid); len(links) != 0 {
				t.Errorf("%d links left", len(links))
			}
			if _, err := h.store.GetLink(h.ctx, h.box.Index("sms", phone)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the SMS link is still found: %v", err)
			}
			p, err := h.store.GetParticipant(h.ctx, pid)
			if err != nil || p.LastLink != "" {
				t.Errorf("participant after forgetting: %+v, %v (kept, with no reply link)", p, err)
			}
			items, _ := h.store.ListAttention(h.ctx, true)
			var erasure int
			for _, it := range items {
				if it.Kind == store.AttentionErasure && it.ParticipantID == pid {
					erasure++
				}
			}
			if erasure != 1 {
				t.Errorf("attention items %+v, want one erasure request", items)
			}
			audit, _ := h.store.ListAudit(h.ctx, pid, 0)
			if len(audit) == 0 || audit[0].Action != "erasure_requested" {
				t.Errorf("audit %+v, want erasure_requested first", audit)
			}

			// The number is now unknown: the reply is the stranger's.
			again := h.say(phone, "MENU")
			if len(again) != 1 || again[0] != conversation.StrangerReply(h.conv.Content(), "MENU") {
				t.Errorf("after forgetting, MENU answered %q", again)
			}
			if strings.Contains(h.logs.String(), phone) || strings.Contains(h.logs.String(), "987654321") {
				t.Error("logs show an address")
			}
		})
	}
}

// newCode makes another enrolment code for pid.
func (h *harness) newCode(pid string) string {
	h.t.Helper()
	code := strings.ToUpper(store.NewID("")[:8])
	if err := h.store.PutEnrolmentCode(h.ctx, store.EnrolmentCode{Code: code, ParticipantID: pid, ExpiresAt: h.clock.Now().Add(24 * time.Hour)}); err != nil {
		h.t.Fatal(err)
	}
	return code
}
