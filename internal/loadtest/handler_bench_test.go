package loadtest

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/metrics"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/internal/web"
)

// BenchmarkInboundWebhook measures one inbound SMS webhook through the
// whole server in this process (Echo's ServeHTTP, middleware, signature,
// parsing, the conversation's lock, lookups, flow step and the turn with
// its reply queued), on each backend, beside the ok ceiling. People
// alternate MENU and 1, as in waymark-load's runs; nothing is sent (no
// dispatcher runs), so this is "webhook to reply enqueued". The parallel
// variants keep 8 requests in flight per core, or as many as -inflight
// asks: group commit (both stores) shares a commit or a round trip among
// the webhooks waiting, so the rate depends on how many there are.
//
//	go test -run '^$' -bench InboundWebhook ./internal/loadtest/
//	go test -run '^$' -bench 'InboundWebhook/bolt/parallel' ./internal/loadtest/ -args -inflight=256
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench InboundWebhook ./internal/loadtest/
func BenchmarkInboundWebhook(b *testing.B) {
	b.Run("ceiling", func(b *testing.B) { benchWebhook(b, Ceiling(), newBenchPeople(b, nil, nil)) })
	b.Run("bolt", func(b *testing.B) {
		st, err := bolt.Open(filepath.Join(b.TempDir(), "w.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		h, people := benchServer(b, st)
		benchWebhook(b, h, people)
	})
	b.Run("redis", func(b *testing.B) {
		st := testkit.Redis(b)
		h, people := benchServer(b, st)
		benchWebhook(b, h, people)
	})
}

const (
	benchToken  = "benchtoken0123456789"
	benchPublic = "https://waymark.example.org"
	benchPeople = 2000
)

// benchInFlight is how many webhooks the parallel variants keep in flight
// (rounded up to a multiple of the cores); 0: 8 per core.
var benchInFlight = flag.Int("inflight", 0, "webhooks in flight in BenchmarkInboundWebhook/*/parallel (0: 8 per core)")

func benchWebhook(b *testing.B, h http.Handler, people []Person) {
	t := Target{BaseURL: benchPublic, PublicURL: benchPublic, TwilioAccountSID: "ACbench", TwilioAuthToken: benchToken, TwilioTo: "+15005550006"}
	var n atomic.Int64
	// Each call takes the next person; a person's messages alternate
	// MENU and 1, and no person is used twice at once (there are far
	// more people than requests in flight).
	one := func(b *testing.B) {
		i := n.Add(1) - 1
		p := people[i%int64(len(people))]
		text := Cycle[(i/int64(len(people)))%int64(len(Cycle))]
		req := t.TwilioRequest(p.Address, text, fmt.Sprintf("SMbench%027d", i))
		req.RequestURI = req.URL.RequestURI() // as the server sets it on a request it reads
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("webhook answered %d: %s", w.Code, w.Body.String())
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			one(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		perCore := 8
		if *benchInFlight > 0 {
			perCore = (*benchInFlight + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
		}
		b.SetParallelism(perCore)
		began := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one(b)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "webhooks/s")
		b.ReportMetric(float64(perCore*runtime.GOMAXPROCS(0)), "in-flight")
	})
}

// benchServer wires the server as `waymark serve` does (metrics around
// the store, the scheduler judging check-ins), without the dispatcher,
// and links benchPeople people.
func benchServer(b testing.TB, st store.Store) (http.Handler, []Person) {
	content, err := ShippedContent()
	if err != nil {
		b.Fatal(err)
	}
	box, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	m := metrics.New("bench")
	st = metrics.InstrumentStore(st, m)
	live := conversation.NewLive(content)
	conv := conversation.New(st, box, live, clock.System{}, log, schedule.NewLedger(st, live, clock.System{}, log))
	hooks := &twilio.Webhooks{AuthToken: benchToken, PublicURL: benchPublic, Conversation: conv, Log: log}
	srv := web.NewServer(web.Deps{Store: st, Conversation: conv, Log: log, PublicURL: benchPublic, Metrics: m,
		Webhooks: []web.Webhook{{Path: twilio.InboundRoute, Handler: hooks.HandleInbound}}})
	return srv, newBenchPeople(b, st, box)
}

// newBenchPeople makes benchPeople people, linked on SMS in st when st is
// set (as JOIN would have linked them).
func newBenchPeople(b testing.TB, st store.Store, box *seal.Box) []Person {
	ctx := context.Background()
	now := time.Now()
	people := make([]Person, benchPeople)
	for i := range people {
		p := Person{ID: store.NewID("p_"), Channel: store.SMS, Address: fmt.Sprintf("+447990%06d", i)}
		people[i] = p
		if st == nil {
			continue
		}
		sealed, err := box.Seal(string(store.SMS), p.Address)
		if err != nil {
			b.Fatal(err)
		}
		idx := box.Index(string(store.SMS), p.Address)
		if err := st.CreateParticipant(ctx, store.Participant{ID: p.ID, Label: "bench", Language: "en", TimeZone: "Europe/London",
			Status: store.Active, LastLink: idx, CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
		if err := st.PutLink(ctx, store.Link{Index: idx, Channel: store.SMS, ParticipantID: p.ID, Sealed: sealed,
			Masked: seal.Mask(p.Address), LinkedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	return people
}
