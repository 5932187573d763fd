package redis

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func TestOptionsForms(t *testing.T) {
	cases := []struct {
		name     string
		opts     Options
		addrs    []string
		db       int
		master   string
		cluster  bool
		password string
		tls      bool
	}{
		{"single host", Options{URL: "redis://127.0.0.1:6379/2"}, []string{"127.0.0.1:6379"}, 2, "", false, "", false},
		{"default port", Options{URL: "redis://cache"}, []string{"cache:6379"}, 0, "", false, "", false},
		{"password and TLS", Options{URL: "rediss://:s3cret@cache:6380/0"}, []string{"cache:6380"}, 0, "", false, "s3cret", true},
		{"sentinels", Options{URL: "redis://:pw@s1:26379,s2,s3:26380/1", SentinelMaster: "waymark"},
			[]string{"s1:26379", "s2:26379", "s3:26380"}, 1, "waymark", false, "pw", false},
		{"cluster seeds", Options{URL: "redis://n1:7000,n2:7001", Cluster: true}, []string{"n1:7000", "n2:7001"}, 0, "", true, "", false},
		{"cluster endpoint", Options{URL: "rediss://config.example:6379", Cluster: true}, []string{"config.example:6379"}, 0, "", true, "", true},
		{"query options", Options{URL: "redis://h:1/0?dial_timeout=2s&pool_size=7"}, []string{"h:1"}, 0, "", false, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uo, err := universalOptions(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(uo.Addrs, ",") != strings.Join(c.addrs, ",") || uo.DB != c.db || uo.MasterName != c.master ||
				uo.IsClusterMode != c.cluster || uo.Password != c.password || (uo.TLSConfig != nil) != c.tls {
				t.Fatalf("got addrs %v db %d master %q cluster %v password set %v tls %v",
					uo.Addrs, uo.DB, uo.MasterName, uo.IsClusterMode, uo.Password != "", uo.TLSConfig != nil)
			}
			if c.master != "" && uo.SentinelPassword != c.password {
				t.Fatalf("sentinels not given the URL's password")
			}
			if c.name == "query options" && (uo.DialTimeout != 2*time.Second || uo.PoolSize != 7) {
				t.Fatalf("query options lost: dial %v pool %d", uo.DialTimeout, uo.PoolSize)
			}
			if len(c.addrs) > 1 && uo.TLSConfig != nil && uo.TLSConfig.ServerName != "" {
				t.Fatalf("several hosts verified by one name")
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"no URL", Options{}},
		{"other scheme", Options{URL: "http://:hunter2@cache:6379"}},
		{"no host", Options{URL: "redis://"}},
		{"several hosts without a mode", Options{URL: "redis://:hunter2@a,b"}},
		{"sentinel and cluster", Options{URL: "redis://a", SentinelMaster: "m", Cluster: true}},
		{"cluster with a database", Options{URL: "redis://a/3", Cluster: true}},
		{"bad query option", Options{URL: "redis://:hunter2@a/0?dial_timeout=soon"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := universalOptions(c.opts)
			if err == nil {
				t.Fatalf("accepted")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error repeats the password: %v", err)
			}
		})
	}
	if _, err := Open(t.Context(), Options{URL: "redis://127.0.0.1:1", Prefix: "a{b}:"}); err == nil {
		t.Fatalf("a prefix with braces was accepted")
	}
}

// TestKeyLayout checks that the keys which scripts combine share a hash
// tag, so that a cluster runs them: every key of a participant's slot, and
// every key of a shard or index.
func TestKeyLayout(t *testing.T) {
	k := keys{prefix: "waymark:"}
	sameTag := func(what, want string, ks ...string) {
		t.Helper()
		for _, key := range ks {
			if got := hashTag(key); got != want {
				t.Fatalf("%s: key %q hashes by %q, want %q", what, key, got, want)
			}
		}
	}
	for _, pid := range []string{"p_abc", "p:odd}id", "p_{x}"} {
		tag := hashTag(k.person(pid))
		sameTag("participant slot of "+pid, tag, k.participantSlot(pid)...)
	}
	sameTag("participant slot", "p:p_abc", k.participantSlot("p_abc")...)
	for n := range shardCount {
		old := k.legacyDueShard(n)
		sameTag("due shard", "d"+strconv.Itoa(n), k.dueIndex(n), old.items, old.ready, old.pos, old.owner)
		sameTag("outbox shard", "o"+strconv.Itoa(n), k.outShard(n).keys()...)
	}
	sameTag("attention", "attention", k.attentionIndex().keys()...)
	ix := k.auditIndex()
	sameTag("audit", "audit", ix.rec, ix.where, ix.all, k.auditOf("p_abc"), k.auditOf(""), k.auditOf("p_{x}"))

	// Time keys sort as instants do, over the whole range.
	times := []time.Time{
		{}, time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 0),
		time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 9, 0, 0, 1, time.UTC),
		time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("", 3600)).Add(time.Second), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := timeKey(times[i-1]), timeKey(times[i])
		if len(a) != timeKeyLen || a >= b {
			t.Fatalf("time keys out of order: %s (%v) !< %s (%v)", a, times[i-1], b, times[i])
		}
	}
	if id := memberID(member(times[3], "d|with|bars")); id != "d|with|bars" {
		t.Fatalf("member ID %q", id)
	}
}

// hashTag is the part of a key Redis Cluster hashes (the first non-empty
// {...}), as in go-redis's internal/hashtag.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s > -1 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+e+1]
		}
	}
	return key
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = Open(ctx, Options{URL: "redis://:hunter2@" + addr + "/0?max_retries=-1"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("open of an unreachable Redis: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error repeats the password: %v", err)
	}
}

// Every file in lua/ has a Script, so a new file cannot be forgotten.
func TestEveryScriptIsLoaded(t *testing.T) {
	names, err := fs.Glob(luaFiles, "lua/*.lua")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := scriptList[strings.TrimSuffix(path.Base(n), ".lua")]; !ok {
			t.Errorf("script %s is embedded but not used", n)
		}
	}
}
