// Package testkit is the set-up tests share, so that each test says only
// what is its own: stores on Redis under a key prefix of their own, emptied
// when the test ends; an embedded store in the test's folder; a seal box;
// the shipped flows and words; and a log that goroutines write while the
// test reads. Tests and benchmarks only: nothing in the service imports it.
//
// It imports the stores and the conversation, so tests written inside
// those packages (not in their _test package) cannot use it: an import
// cycle. They keep what they need.
package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/locales"
)

// RedisPrefix returns the test Redis's URL and a fresh key prefix on it,
// whose keys are deleted when the test ends. Without WAYMARK_TEST_REDIS_URL
// the test is skipped.
func RedisPrefix(tb testing.TB) (url, prefix string) {
	tb.Helper()
	url = os.Getenv("WAYMARK_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("needs a Redis: set WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (make test does)")
	}
	var b [6]byte
	rand.Read(b[:])
	prefix = "waymarktest:" + tb.Name() + ":" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { emptyPrefix(tb, url, prefix) })
	return url, prefix
}

// emptyPrefix deletes every key under prefix, in batches: a benchmark
// leaves millions.
func emptyPrefix(tb testing.TB, url, prefix string) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		tb.Error(err)
		return
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 5000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
	if err := iter.Err(); err != nil {
		tb.Error(err)
	}
}

// RedisStores opens n stores on the test Redis under one fresh prefix,
// each with its own connections, as n waymark processes would have. They
// are closed, then their keys deleted, when the test ends.
func RedisStores(tb testing.TB, n int) []store.Store {
	tb.Helper()
	url, prefix := RedisPrefix(tb)
	out := make([]store.Store, n)
	for i := range out {
		st, err := redis.Open(context.Background(), redis.Options{URL: url, Prefix: prefix})
		if err != nil {
			tb.Fatal(err)
		}
		// Cleanups run last first: the stores close before their keys go.
		tb.Cleanup(func() { st.Close() })
		out[i] = st
	}
	return out
}

// Redis opens one store on the test Redis, as RedisStores does.
func Redis(tb testing.TB) store.Store {
	tb.Helper()
	return RedisStores(tb, 1)[0]
}

// Bolt opens an embedded store in the test's temporary folder, on clk
// (nil: the system clock), closed when the test ends.
func Bolt(tb testing.TB, clk clock.Clock) *bolt.Store {
	tb.Helper()
	var opts []bolt.Option
	if clk != nil {
		opts = append(opts, bolt.WithClock(clk))
	}
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "w.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Box is a seal box under a fixed key, so that a test's sealed addresses
// and blind indexes are the same every run.
func Box(tb testing.TB) *seal.Box {
	tb.Helper()
	box, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return box
}

// Content is the shipped flows and words, as a service with the default
// folders runs them.
func Content(tb testing.TB) *conversation.Content {
	tb.Helper()
	return loaded(tb)(conversation.LoadContent(flows.FS, locales.FS))
}

// loaded returns the content of a load, failing tb when there is none.
func loaded(tb testing.TB) func(*conversation.Content, []diag.Problem) *conversation.Content {
	return func(c *conversation.Content, problems []diag.Problem) *conversation.Content {
		tb.Helper()
		if c == nil {
			tb.Fatalf("shipped flows or locales are not valid: %v", diag.Errors(problems))
		}
		return c
	}
}

// shipped is the shipped content, loaded on first use by Shipped.
var shipped = sync.OnceValues(func() (*conversation.Content, []diag.Problem) {
	return conversation.LoadContent(flows.FS, locales.FS)
})

// Shipped is Content loaded once per test binary and shared by every test
// that asks for it, at once or in parallel: for tests that run the shipped
// programme as it is. Reading the flows and fifteen languages costs a
// tenth of a second under the race detector, which a package of many
// small tests pays hundreds of times over. A test that changes its
// content (its flows, its programme settings) must take its own from
// Content, never change this one.
func Shipped(tb testing.TB) *conversation.Content {
	tb.Helper()
	return loaded(tb)(shipped())
}

// SeededStores runs bench on an embedded store and on Redis, each seeded
// by seed first. The embedded store's file is kept in the temporary
// folder under name, marked once it is seeded, so that later runs only
// read it (seeding one takes minutes: a synced write at a time); Redis is
// seeded afresh under a prefix of its own and emptied after.
func SeededStores(b *testing.B, name string, seed, bench func(*testing.B, store.Store)) {
	b.Run("bolt", func(b *testing.B) {
		path := filepath.Join(os.TempDir(), name)
		_, err := os.Stat(path + ".done")
		seeded := err == nil
		st, err := bolt.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		if !seeded {
			seed(b, st)
			if err := os.WriteFile(path+".done", nil, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		bench(b, st)
	})
	b.Run("redis", func(b *testing.B) {
		st := Redis(b)
		seed(b, st)
		bench(b, st)
	})
}

// Logs collects what a logger writes from the service's goroutines while
// the test reads it.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Delivered takes the messages queued for sending by an hour after now, as
// a provider would, and records them delivered, so that the next call sees
// only new ones.
func Delivered(tb testing.TB, st store.Outbox, now time.Time) []store.OutboundMessage {
	tb.Helper()
	ctx := context.Background()
	msgs, err := st.ClaimOutbound(ctx, "test", now.Add(time.Hour), time.Minute, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range msgs {
		m.Status = store.Delivered
		if err := st.UpdateOutbound(ctx, m); err != nil {
			tb.Fatal(err)
		}
	}
	return msgs
}

// Golden compares got with the file at path, or writes it there when
// update is set (the package's -update flag). again says how to write the
// file anew, for the failure's message.
func Golden(tb testing.TB, path, got string, update bool, again string) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (%s to create it)", err, again)
	}
	if got != string(want) {
		tb.Errorf("transcript differs from %s (%s and review the diff)\n--- got ---\n%s", path, again, got)
	}
}
