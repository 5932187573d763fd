package bolt

import (
	"fmt"
	"testing"

	"github.com/waymark-atd/waymark/internal/outbox/outboxtest"
)

// TestSendCommits counts the write transactions, each one fsync, that the
// outbox dispatcher makes to send queued messages, one person's after
// another's (Concurrency 1) and side by side. One at a time a claim is
// one and a send four: the checks before it (BeginSend records the pass
// and counts the message for the loop guard), the rate budget, the mark
// that the send began and the record of its acceptance. Side by side,
// sends share them (group commit):
// all of them, the rate budget's too, in at most one transaction for
// every two sends.
func TestSendCommits(t *testing.T) {
	for _, concurrency := range []int{1, 32} {
		t.Run(fmt.Sprint("concurrency ", concurrency), func(t *testing.T) {
			s := openTemp(t)
			msgs := outboxtest.QueueSends(t, s, 32, 1)
			before := s.commits.txs.Load()
			outboxtest.SendQueued(t, s, msgs, concurrency)
			got := s.commits.txs.Load() - before
			n := len(msgs)
			t.Logf("%d write transactions for %d sends, %d at a time: %.2f a send", got, n, concurrency, float64(got)/float64(n))
			want := int64(1 + 4*n)
			if concurrency > 1 {
				want = int64(n / 2)
			}
			if got > want {
				t.Errorf("%d write transactions to send %d messages %d at a time, want at most %d", got, n, concurrency, want)
			}
		})
	}
}
