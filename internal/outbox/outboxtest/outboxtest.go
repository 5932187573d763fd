// Package outboxtest sends queued messages through the outbox dispatcher
// the same way for every store's tests that count what a send costs it
// (Redis: round trips; bolt: write transactions, each one fsync), and for
// the outbox's benchmarks. Tests and benchmarks only.
package outboxtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// QueueSends enqueues each messages, ready now, for each of people new
// participants linked by SMS (p_<i>, whose messages are m_<i>_<j>).
func QueueSends(t *testing.T, s store.Store, people, each int) []store.OutboundMessage {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	var msgs []store.OutboundMessage
	for i := range people {
		pid := fmt.Sprint("p_", i)
		must(t, "create participant", s.CreateParticipant(ctx, store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}))
		must(t, "put link", s.PutLink(ctx, store.Link{Index: "ix_" + pid, Channel: store.SMS, ParticipantID: pid, Sealed: []byte("x"), Masked: "x", LinkedAt: now}))
		for j := range each {
			msgs = append(msgs, store.OutboundMessage{ID: fmt.Sprintf("m_%d_%d", i, j), ParticipantID: pid, LinkIndex: "ix_" + pid, Channel: store.SMS,
				Kind: "k", Text: fmt.Sprint("text ", j), Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now})
		}
	}
	must(t, "enqueue", s.EnqueueOutbound(ctx, msgs...))
	return msgs
}

// SendQueued sends msgs, queued by QueueSends, in one pass of an outbox
// dispatcher that claims them all and sends up to concurrency people's at
// once, through a sender that accepts every message at once (provider ID
// "P" and the message's ID) and has one rate budget, so large that no
// message waits for it. It fails t unless every message was sent.
func SendQueued(t *testing.T, s store.Store, msgs []store.OutboundMessage, concurrency int) {
	t.Helper()
	sender := &AcceptAll{}
	open := func(context.Context, store.Link) (string, error) { return "address", nil }
	d := outbox.New(s, map[store.Channel]outbox.Sender{store.SMS: sender}, open, clock.System{}, nil,
		outbox.Options{Batch: len(msgs), Concurrency: concurrency})
	n, err := d.DispatchOnce(context.Background())
	must(t, "dispatch", err)
	if n != len(msgs) || sender.Sent.Load() != int64(len(msgs)) {
		t.Fatalf("handled %d and sent %d of %d", n, sender.Sent.Load(), len(msgs))
	}
}

// AcceptAll is an outbox sender that accepts every message at once and
// counts them. Its one rate budget is so large that a reservation never
// has to wait, but it is still taken, as a real sender's is.
type AcceptAll struct{ Sent atomic.Int64 }

func (a *AcceptAll) Send(_ context.Context, _ string, m store.OutboundMessage) (string, error) {
	a.Sent.Add(1)
	return "P" + m.ID, nil
}

func (*AcceptAll) Throttles(store.OutboundMessage) []outbox.Throttle {
	return []outbox.Throttle{{Key: "storetest:sends", Units: 1, PerSecond: 1e12}}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
