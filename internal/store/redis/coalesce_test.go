package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// gate holds every pipeline the client sends until it is opened, and
// reports each one's number of commands, so that a test knows which calls
// went together.
type gate struct {
	sizes chan int
	open  chan struct{}
}

func newGate() *gate { return &gate{sizes: make(chan int, 1000), open: make(chan struct{})} }

func (g *gate) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (g *gate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }

func (g *gate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		g.sizes <- len(cmds)
		<-g.open
		return next(ctx, cmds)
	}
}

// fillLanes sends one lone call per lane and waits until each is held at
// the gate, so that whatever is called next queues behind them. It returns
// a wait for their answers.
func fillLanes(t *testing.T, s *Store, g *gate) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range s.batches.lanes {
		wg.Go(func() {
			if _, err := s.pipeline(t.Context(), []call{{args: []any{"ping"}}}); err != nil {
				t.Errorf("lane %d: %v", i, err)
			}
		})
		if n := <-g.sizes; n != 1 {
			t.Fatalf("lane %d: a pipeline of %d commands, want the lone ping", i, n)
		}
	}
	return wg.Wait
}

// waitQueued waits until n callers wait for a lane.
func waitQueued(s *Store, n int) {
	for {
		s.batches.mu.Lock()
		queued := len(s.batches.waiting)
		s.batches.mu.Unlock()
		if queued >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCoalescerGivesEachCallerItsOwnAnswers runs many callers at once,
// each with commands whose answers only it can expect: every one gets its
// own, in its own order.
func TestCoalescerGivesEachCallerItsOwnAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(testing.TB) Options
	}{{"single", testOptions}, {"cluster", clusterOptions}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, tc.opts(t))
			rt := &roundTrips{}
			s.rdb.AddHook(rt)
			const callers, rounds = 64, 40
			var wg sync.WaitGroup
			for c := range callers {
				wg.Go(func() {
					key, counter := s.k.prefix+fmt.Sprint("own:", c), s.k.prefix+fmt.Sprint("count:", c)
					for r := range rounds {
						val := fmt.Sprint(c, "/", r)
						cmds, err := s.pipeline(t.Context(), []call{
							{args: []any{"set", key, val}}, {args: []any{"get", key}}, {args: []any{"incr", counter}}})
						if err != nil {
							t.Errorf("caller %d, round %d: %v", c, r, err)
							return
						}
						got, _ := cmds[1].Text()
						n, _ := cmds[2].Int()
						if got != val || n != r+1 {
							t.Errorf("caller %d, round %d: read %q and counted %d, want %q and %d", c, r, got, n, val, r+1)
							return
						}
					}
				})
			}
			wg.Wait()
			t.Logf("%d calls in %d round trips", callers*rounds, rt.n.Load())
		})
	}
}

// TestCoalescerSharesAPipelineAndKeepsErrorsApart queues callers behind
// full lanes, so that they go in one pipeline: each gets its own answers,
// and a command or script that fails fails only for its caller.
func TestCoalescerSharesAPipelineAndKeepsErrorsApart(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	notCounter := s.k.counter("not-a-counter")
	mustDo(t, s.rdb.HSet(ctx, notCounter, "f", "v").Err())
	g := newGate()
	s.rdb.AddHook(g)
	lanesDone := fillLanes(t, s, g)

	const callers = 10
	type answer struct {
		cmds []*goredis.Cmd
		err  error
	}
	answers := make([]answer, callers)
	var wg sync.WaitGroup
	for c := range callers {
		key := s.k.prefix + fmt.Sprint("shared:", c)
		calls := []call{{args: []any{"set", key, c}}, {args: []any{"get", key}}}
		switch c {
		case 3: // a command Redis refuses
			calls = append(calls, call{args: []any{"incr", notCounter}})
		case 6: // a script that fails half-way
			calls = append(calls, call{sc: luaCounterIncr, keys: []string{notCounter}, args: []any{ms(time.Now().Add(time.Hour))}})
		}
		wg.Go(func() {
			cmds, err := s.pipeline(ctx, calls)
			answers[c] = answer{cmds, err}
		})
	}
	waitQueued(s, callers)
	close(g.open)
	wg.Wait()
	lanesDone()

	// Besides it pass only go-redis's own pipelines that set up a new
	// connection.
	close(g.sizes)
	shared := false
	for n := range g.sizes {
		shared = shared || n == 2*callers+2
	}
	if !shared {
		t.Errorf("the queued callers' %d commands did not go in one pipeline", 2*callers+2)
	}
	for c, a := range answers {
		got, err := a.cmds[1].Text()
		if err != nil || got != fmt.Sprint(c) {
			t.Errorf("caller %d read %q, %v; want its own %d", c, got, err, c)
		}
		switch c {
		case 3, 6:
			if a.err == nil || a.cmds[2].Err() == nil {
				t.Errorf("caller %d: its failing command answered %v, want an error", c, a.err)
			}
		default:
			if a.err != nil {
				t.Errorf("caller %d: %v, from another caller's command", c, a.err)
			}
		}
	}
	if v, err := s.rdb.HGet(ctx, notCounter, "f").Result(); err != nil || v != "v" {
		t.Errorf("the failing script's key: %q, %v; want it untouched", v, err)
	}
}

// TestCoalescerCallerGivesUp: a caller whose context ends while it waits
// for a lane returns at once with the context's error, its commands are
// never sent, and the callers beside it are answered.
func TestCoalescerCallerGivesUp(t *testing.T) {
	s := openTest(t, testOptions(t))
	g := newGate()
	s.rdb.AddHook(g)
	lanesDone := fillLanes(t, s, g)

	stays, leaves := s.k.prefix+"stays", s.k.prefix+"leaves"
	stayed := make(chan error, 1)
	go func() {
		_, err := s.pipeline(t.Context(), []call{{args: []any{"set", stays, "1"}}})
		stayed <- err
	}()
	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() {
		_, err := s.pipeline(ctx, []call{{args: []any{"set", leaves, "1"}}})
		left <- err
	}()
	waitQueued(s, 2)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller that gave up: %v, want context.Canceled", err)
	}
	close(g.open)
	if err := <-stayed; err != nil {
		t.Fatalf("the caller beside it: %v", err)
	}
	lanesDone()
	ctx = t.Context()
	if n, _ := s.rdb.Exists(ctx, stays, leaves).Result(); n != 1 {
		t.Fatalf("%d of the two keys written, want only the one whose caller stayed", n)
	}
	if n, _ := s.rdb.Exists(ctx, leaves).Result(); n != 0 {
		t.Fatalf("the command of a caller that gave up was sent")
	}

	// A context already ended sends nothing at all.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := s.pipeline(done, []call{{args: []any{"set", leaves, "1"}}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller whose context had ended: %v, want context.Canceled", err)
	}
}

// TestCoalescerRedisGoesAway: when Redis dies while a shared pipeline is
// on its way, every caller in it gets an error that says Redis is
// unavailable, and none waits for ever.
func TestCoalescerRedisGoesAway(t *testing.T) {
	srv, s := privateRedis(t)
	ctx := t.Context()
	mustDo(t, s.Ping(ctx))
	g := newGate()
	s.rdb.AddHook(g)

	const callers = 8
	errs := make(chan error, callers+s.batches.lanes)
	var wg sync.WaitGroup
	for c := range callers + s.batches.lanes {
		wg.Go(func() {
			_, err := s.LoadTurn(ctx, fmt.Sprint("p_", c), "sms:SM1")
			errs <- err
		})
	}
	// A lane may take more than one caller into its batch, so the callers
	// left to queue are the ones no lane took (LoadTurn is four commands).
	taken := 0
	for range s.batches.lanes {
		taken += <-g.sizes / 4
	}
	waitQueued(s, callers+s.batches.lanes-taken)
	srv.stop(t)
	close(g.open)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("a caller while Redis is gone: %v, want ErrUnavailable", err)
		}
	}
}

// privateRedis starts a redis-server of the test's own and opens a store on
// it that gives up quickly when it is gone.
func privateRedis(t *testing.T) (*redisServer, *Store) {
	t.Helper()
	requireRedisServer(t)
	port := freePort(t)
	srv := startRedis(t, t.TempDir(), port)
	s, err := Open(t.Context(), Options{URL: "redis://127.0.0.1:" + port + "/0?max_retries=1&dial_timeout=200ms"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return srv, s
}
