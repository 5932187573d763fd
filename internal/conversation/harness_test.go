package conversation_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// start is a Monday morning in winter, UTC. The store judges expiry by the
// same fake clock, as a real store does by the real one.
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// harness is one conversation service over a real bolt store with the
// shipped flows and locales, a fake clock, and a log captured for privacy
// checks.
type harness struct {
	t     *testing.T
	ctx   context.Context
	store *bolt.Store
	conv  *conversation.Service
	live  *conversation.Live
	log   *slog.Logger
	clock *clock.Fake
	box   *seal.Box
	logs  *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewFake(start)
	st := testkit.Bolt(t, clk)
	box := testkit.Box(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	live := conversation.NewLive(testkit.Shipped(t))
	return &harness{t: t, ctx: context.Background(), store: st, box: box, clock: clk, logs: logs, live: live, log: log,
		conv: conversation.New(st, box, live, clk, log, nil)}
}

// enrol creates a participant the way a caseworker would and returns its
// ID and enrolment code.
func (h *harness) enrol(lang string) (id, code string) {
	h.t.Helper()
	id = store.NewID("p_")
	code = strings.ToUpper(store.NewID("")[:8])
	now := h.clock.Now()
	if err := h.store.CreateParticipant(h.ctx, store.Participant{ID: id, Label: "Test person", Language: lang, TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.PutEnrolmentCode(h.ctx, store.EnrolmentCode{Code: code, ParticipantID: id, ExpiresAt: now.Add(14 * 24 * time.Hour)}); err != nil {
		h.t.Fatal(err)
	}
	return id, code
}

// say sends text from address and returns every reply: direct ones and
// those queued in the outbox (which it marks delivered).
func (h *harness) say(address, text string) []string {
	h.t.Helper()
	return h.sayWith(conversation.Inbound{Channel: store.SMS, Address: address, Text: text})
}

func (h *harness) sayWith(in conversation.Inbound) []string {
	h.t.Helper()
	out, err := h.conv.Handle(h.ctx, in)
	if err != nil {
		h.t.Fatalf("Handle(%q): %v", in.Text, err)
	}
	return append(out.Direct, h.drain()...)
}

func (h *harness) drain() []string {
	h.t.Helper()
	msgs, err := h.store.ClaimOutbound(h.ctx, "test", h.clock.Now().Add(time.Hour), time.Minute, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
		m.Status = store.Delivered
		if err := h.store.UpdateOutbound(h.ctx, m); err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}
