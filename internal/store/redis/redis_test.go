package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/storetest"
)

// The tests run against a real Redis. .ci/redis.sh starts one on loopback
// and sets WAYMARK_TEST_REDIS_URL; .ci/redis-cluster.sh start does the same
// for a three-master cluster and WAYMARK_TEST_REDIS_CLUSTER_ADDRS.

const (
	urlEnv     = "WAYMARK_TEST_REDIS_URL"
	clusterEnv = "WAYMARK_TEST_REDIS_CLUSTER_ADDRS"
)

// testOptions returns the options of the Redis under test, or skips.
func testOptions(tb testing.TB) Options {
	tb.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		tb.Skipf("Redis tests need a Redis: run them with %s=redis://127.0.0.1:6379/0 (or source .ci/redis.sh)", urlEnv)
	}
	return Options{URL: u}
}

func clusterOptions(tb testing.TB) Options {
	tb.Helper()
	addrs := os.Getenv(clusterEnv)
	if addrs == "" {
		tb.Skipf("Redis Cluster tests need a cluster: run .ci/redis-cluster.sh start, or set %s=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103", clusterEnv)
	}
	return Options{URL: "redis://" + addrs, Cluster: true}
}

// onSingleAndCluster runs test on a single Redis and on a cluster, each
// with options of a key space of its own, which the test may open again.
func onSingleAndCluster(t *testing.T, test func(t *testing.T, o Options)) {
	for name, opts := range map[string]func(testing.TB) Options{"single": testOptions, "cluster": clusterOptions} {
		t.Run(name, func(t *testing.T) {
			o := opts(t)
			o.Prefix = uniquePrefix()
			test(t, o)
		})
	}
}

// uniquePrefix gives each store its own key space in the shared Redis.
func uniquePrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "waymarktest:" + hex.EncodeToString(b[:]) + ":"
}

// openTest opens a store under a fresh prefix and deletes every key under
// it when the test ends (never FLUSHDB: the Redis may be shared).
func openTest(tb testing.TB, opts Options) *Store {
	tb.Helper()
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix()
	}
	s, err := Open(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("open %s: %v", opts.URL, err)
	}
	tb.Cleanup(func() {
		cleanup := &Store{rdb: goredis.NewUniversalClient(mustOptions(tb, opts)), k: keys{prefix: opts.Prefix}}
		defer cleanup.rdb.Close()
		if err := deletePrefix(context.Background(), cleanup.rdb, opts.Prefix); err != nil {
			tb.Errorf("delete test keys under %s: %v", opts.Prefix, err)
		}
		s.Close()
	})
	return s
}

func mustOptions(tb testing.TB, opts Options) *goredis.UniversalOptions {
	tb.Helper()
	uo, err := universalOptions(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return uo
}

// deletePrefix deletes every key under prefix, on every master of a
// cluster.
func deletePrefix(ctx context.Context, rdb goredis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, c *goredis.Client) error {
		iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 500).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for _, k := range batch {
					p.Unlink(ctx, k)
				}
				return nil
			})
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	}
	switch c := rdb.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, del)
	case *goredis.Client:
		return del(ctx, c)
	}
	return nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

func TestContract(t *testing.T) {
	opts := testOptions(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, opts) })
}

func TestPersistence(t *testing.T) {
	opts := testOptions(t)
	opts.Prefix = uniquePrefix()
	storetest.RunPersistence(t, func(t *testing.T, _ string) store.Store { return openTest(t, opts) })
}

// TestCluster runs the whole contract against a Redis Cluster, where every
// multi-key step must stay in one slot or Redis refuses it (CROSSSLOT).
func TestCluster(t *testing.T) {
	opts := clusterOptions(t)
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, opts) })
	})
	t.Run("Persistence", func(t *testing.T) {
		opts := opts
		opts.Prefix = uniquePrefix()
		storetest.RunPersistence(t, func(t *testing.T, _ string) store.Store { return openTest(t, opts) })
	})
}
