package bolt

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

// acceptAll is a sender that takes every message at once and has one rate
// budget, so large that no message waits for it.
type acceptAll struct{ sent atomic.Int64 }

func (a *acceptAll) Send(_ context.Context, _ string, m store.OutboundMessage) (string, error) {
	a.sent.Add(1)
	return "P" + m.ID, nil
}

func (*acceptAll) Throttles(store.OutboundMessage) []outbox.Throttle {
	return []outbox.Throttle{{Key: "commits", Units: 1, PerSecond: 1e12}}
}

// TestSendCommits counts the write transactions, each one fsync, that the
// outbox dispatcher makes to send queued messages, one person's after
// another's (Concurrency 1) and side by side. One at a time a claim is
// one and a send five: the checks before it (BeginSend records the pass),
// the loop guard, the rate budget, the mark that the send began and the
// record of its acceptance. Side by side, sends share them (group
// commit), and the whole is logged.
func TestSendCommits(t *testing.T) {
	for _, concurrency := range []int{1, 32} {
		t.Run(fmt.Sprint("concurrency ", concurrency), func(t *testing.T) {
			s := openTemp(t)
			ctx := t.Context()
			now := time.Now()
			var msgs []store.OutboundMessage
			for i := range 32 {
				pid := fmt.Sprint("p_", i)
				must(t, s.CreateParticipant(ctx, store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}))
				must(t, s.PutLink(ctx, store.Link{Index: "ix_" + pid, Channel: store.SMS, ParticipantID: pid, Sealed: []byte("x"), Masked: "x", LinkedAt: now}))
				msgs = append(msgs, store.OutboundMessage{ID: fmt.Sprint("m_", i), ParticipantID: pid, LinkIndex: "ix_" + pid, Channel: store.SMS,
					Kind: "k", Text: "text", Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now})
			}
			must(t, s.EnqueueOutbound(ctx, msgs...))

			before := s.commits.txs.Load()
			sender := &acceptAll{}
			open := func(context.Context, store.Link) (string, error) { return "address", nil }
			d := outbox.New(s, map[store.Channel]outbox.Sender{store.SMS: sender}, open, clock.System{}, nil,
				outbox.Options{Batch: len(msgs), Concurrency: concurrency})
			n, err := d.DispatchOnce(ctx)
			must(t, err)
			if n != len(msgs) || sender.sent.Load() != int64(len(msgs)) {
				t.Fatalf("handled %d and sent %d of %d", n, sender.sent.Load(), len(msgs))
			}
			got := s.commits.txs.Load() - before
			t.Logf("%d write transactions for %d sends, %d at a time: %.2f a send", got, n, concurrency, float64(got)/float64(n))
			const claim, perSend = 1, 5
			if want := int64(claim + perSend*len(msgs)); got > want {
				t.Errorf("%d write transactions to send %d messages, want at most %d (%d for the claim, %d a send)", got, n, want, claim, perSend)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
