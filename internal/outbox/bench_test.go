package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/outbox/outboxtest"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// The dispatcher benchmarks send queued messages through a sender that
// accepts each at once, so what they measure is the dispatcher's own work
// and the store's: claims, the checks before a send, the loop guard, the
// rate budget and recording the send. Run them with
//
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench Dispatch -benchtime 10x -count 3 ./internal/outbox/
//
// ns/msg is the time per message sent; ns/op is per round of benchMessages.

const (
	benchPeople   = 100
	benchMessages = 500 // five for each person, under the loop guard's limit
)

func BenchmarkDispatchBolt(b *testing.B) { benchDispatch(b, newTestStore(b)) }

func BenchmarkDispatchRedis(b *testing.B) { benchDispatch(b, testkit.RedisStores(b, 1)[0]) }

// benchDispatch queues benchMessages messages for benchPeople people in
// each round and has a dispatcher send them as `waymark serve` does (Run,
// up to 64 people at a time, claims of 50 growing while they come back
// full), timing each round from the start of Run to the last send.
func benchDispatch(b *testing.B, st store.Store) {
	ctx := context.Background()
	now := time.Now()
	var links []store.Link
	for i := range benchPeople {
		pid := fmt.Sprintf("p_bench%03d", i)
		if err := st.CreateParticipant(ctx, store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
		l := store.Link{Index: "ix_" + pid, Channel: store.SMS, ParticipantID: pid, Sealed: []byte("sealed"), Masked: "+44 7*** ***000", LinkedAt: now}
		if err := st.PutLink(ctx, l); err != nil {
			b.Fatal(err)
		}
		links = append(links, l)
	}
	sender := &outboxtest.AcceptAll{}
	open := func(context.Context, store.Link) (string, error) { return "address", nil }
	d := outbox.New(st, map[store.Channel]outbox.Sender{store.SMS: sender}, open, clock.System{}, nil,
		outbox.Options{Concurrency: 64, Batch: 50, MaxBatch: 400})

	round := 0
	var sending time.Duration
	for b.Loop() {
		b.StopTimer()
		msgs := make([]store.OutboundMessage, benchMessages)
		at := time.Now()
		for i := range msgs {
			l := links[i%benchPeople]
			msgs[i] = store.OutboundMessage{
				ID: fmt.Sprintf("m_r%d_%d", round, i), ParticipantID: l.ParticipantID, LinkIndex: l.Index, Channel: l.Channel,
				Kind: "checkin.ask", Text: fmt.Sprintf("Round %d, message %d", round, i),
				Status: store.Pending, NotBefore: at, CreatedAt: at, UpdatedAt: at,
			}
		}
		if err := st.EnqueueOutbound(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
		round++
		want := int64(round * benchMessages)
		b.StartTimer()

		// The dispatcher runs only once the round is queued: one claiming
		// while the queue is half written would put what it found before
		// its record off for a moment (orphanFirstRetry), and the round
		// would measure Run's poll interval.
		began := time.Now()
		runCtx, stop := context.WithCancel(ctx)
		running := make(chan struct{})
		go func() { d.Run(runCtx); close(running) }()
		for sender.Sent.Load() < want {
			time.Sleep(50 * time.Microsecond)
		}
		sending += time.Since(began)
		stop()
		<-running
	}
	if got := sender.Sent.Load(); got != int64(round*benchMessages) {
		b.Fatalf("sent %d, want %d", got, round*benchMessages)
	}
	b.ReportMetric(float64(sending.Nanoseconds())/float64(round*benchMessages), "ns/msg")
}
