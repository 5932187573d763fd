package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
)

// privateRedis is a redis-server this test started on its own loopback
// port and folder.
type privateRedis struct {
	dir, port string
	cmd       *exec.Cmd
}

// start runs the server. It keeps an append-only file fsynced on every
// write and no snapshots: the outage is a kill -9, and what Redis
// acknowledged must be there when it comes back, as with production's AOF
// (which fsyncs every second; "always" makes the test exact).
func (r *privateRedis) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+r.port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if i > 200 {
			t.Fatalf("redis-server on port %s did not start", r.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the server at once, as a crash or an OOM kill would.
func (r *privateRedis) kill() {
	if r.cmd == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// TestRedisOutage stops the Redis under a running `waymark serve` while
// people are checking in, and starts it again. What must hold:
//
//   - while Redis is down, webhooks are answered 5xx (so the provider
//     retries) and /readyz says not ready;
//   - the service recovers by itself once Redis is back, without a restart;
//   - every message answered 200, before or after, has its reply delivered
//     and its check-in recorded, and the provider's retries of the refused
//     ones count once.
//
// A reply whose send straddled the kill may go twice (the outbox cannot
// know the provider took it): that is logged, not failed.
func TestRedisOutage(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("needs redis-server on PATH (source .ci/redis.sh installs it)")
	}
	rs := &privateRedis{dir: t.TempDir(), port: strings.TrimPrefix(freeAddr(t), "127.0.0.1:")}
	rs.start(t)
	t.Cleanup(rs.kill)
	ctx := t.Context()
	// Fail fast while Redis is down rather than queue behind retries.
	st, err := redisstore.Open(ctx, redisstore.Options{
		URL: "redis://127.0.0.1:" + rs.port + "/0?max_retries=1&dial_timeout=200ms&read_timeout=1s&write_timeout=1s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fake := twiliotest.New(t, testAccount, testToken)
	key := seal.NewKey()
	s := startService(t, st, fake, key)
	defer s.stop()

	const people, rounds = 8, 6 // rounds alternate MENU and 1: three check-ins each
	type person struct {
		id, phone string
		acked     []string // MessageSids answered 200, in order
	}
	ps := make([]*person, people)
	for i := range ps {
		id, code := enrolParticipant(t, st, "en")
		ps[i] = &person{id: id, phone: fmt.Sprintf("+44770091%04d", i)}
		for j, text := range []string{"JOIN " + code, "1", "1"} {
			if status, _ := s.sms(fmt.Sprintf("SMe%015d%016d", i, j), ps[i].phone, text); status != http.StatusOK {
				t.Fatalf("enrolment message %d of person %d answered %d", j, i, status)
			}
		}
	}
	const enrolReplies = 7 // welcome, privacy notice (3), consent; language; how to check in
	s.awaitSent(0, people*enrolReplies)

	// Each person sends their rounds one after another; a message refused
	// with 5xx is sent again with the same MessageSid, as a provider
	// retries, until it is answered 200.
	var (
		downSince, upSince atomic.Int64 // Unix nanoseconds; 0 while not yet
		mu                 sync.Mutex
		refusedWhileDown   int
		okWhileDown        []string
		otherStatuses      []int
		acked              atomic.Int64
	)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() {
			for j := range rounds {
				text := []string{"MENU", "1"}[j%2]
				sid := fmt.Sprintf("SMr%015d%016d", i, j)
				deadline := time.Now().Add(90 * time.Second)
				for {
					sent := time.Now().UnixNano()
					status, _ := s.sms(sid, p.phone, text)
					answered := time.Now().UnixNano()
					// Down for the whole of the request: Redis was already
					// known to be dead when it left, and not yet back when
					// it was answered.
					down := downSince.Load() != 0 && sent > downSince.Load() && (upSince.Load() == 0 || answered < upSince.Load())
					mu.Lock()
					switch {
					case status == http.StatusOK && down:
						okWhileDown = append(okWhileDown, sid)
					case status >= 500 && down:
						refusedWhileDown++
					case status != http.StatusOK && status < 500:
						otherStatuses = append(otherStatuses, status)
					}
					mu.Unlock()
					if status == http.StatusOK {
						p.acked = append(p.acked, sid)
						acked.Add(1)
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("person %d message %d never answered 200 (last %d)", i, j, status)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}

	// Kill Redis mid-traffic, once some messages have been acknowledged.
	waitFor(t, "traffic before the outage", func() bool { return acked.Load() >= people })
	rs.kill()
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := st.Ping(short); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ping with Redis killed: %v, want ErrUnavailable", err)
	}
	cancel()
	downSince.Store(time.Now().UnixNano())
	notReady := false
	for range 30 {
		resp, err := http.Get(s.public + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("/readyz answered 200 with Redis down")
			}
			notReady = notReady || resp.StatusCode == http.StatusServiceUnavailable
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !notReady {
		t.Errorf("/readyz never said 503 while Redis was down")
	}

	// Back again: the same server, the same store, nothing reopened.
	rs.start(t)
	upSince.Store(time.Now().UnixNano())
	waitFor(t, "/readyz to recover by itself", func() bool {
		resp, err := http.Get(s.public + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if refusedWhileDown == 0 {
		t.Fatalf("no webhook arrived while Redis was down: the outage was not exercised")
	}
	if len(okWhileDown) > 0 {
		t.Errorf("%d webhooks answered 200 while Redis was down: %v", len(okWhileDown), okWhileDown)
	}
	if len(otherStatuses) > 0 {
		t.Errorf("webhooks refused with 4xx during the outage: %v (a provider does not retry those)", otherStatuses)
	}

	// Messages claimed by the outbox when Redis died stay leased until
	// their lease ends; move the service's clock past it so that the
	// dispatcher takes them again.
	s.clock.Advance(5 * time.Minute)
	want := people * (enrolReplies + rounds)
	waitFor(t, "a reply to every acknowledged message", func() bool {
		ids := map[string]bool{}
		for _, r := range fake.Accepted() {
			ids[r.StatusCallback] = true
		}
		return len(ids) >= want
	})
	time.Sleep(500 * time.Millisecond)
	byPhone := map[string]map[string]int{}
	again := 0
	for _, r := range fake.Accepted() {
		if byPhone[r.To] == nil {
			byPhone[r.To] = map[string]int{}
		}
		byPhone[r.To][r.StatusCallback]++
		if byPhone[r.To][r.StatusCallback] > 1 {
			again++
		}
	}
	if again > 0 {
		t.Logf("%d replies sent a second time: their send straddled the kill", again)
	}
	for i, p := range ps {
		if len(p.acked) != rounds {
			t.Errorf("person %d: %d messages acknowledged, want %d", i, len(p.acked), rounds)
		}
		if n := len(byPhone[p.phone]); n != enrolReplies+rounds {
			t.Errorf("person %d got %d distinct replies, want %d", i, n, enrolReplies+rounds)
		}
		cis, err := st.CheckInsOf(ctx, p.id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cis) != rounds/2 {
			t.Errorf("person %d has %d check-ins, want %d: one per acknowledged 1, retries counted once", i, len(cis), rounds/2)
		}
	}
	logs := s.logs.String()
	for _, leak := range []string{"+44770091", testToken} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}
