package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// hostileSignIns is how many sign-ins TestSignInFloodBarelyGrowsTheStore
// throws at the server, each with a new username and password.
const hostileSignIns = 10_000

// floodServer runs waymark serve on st until stop, with one account.
func floodServer(t *testing.T, st store.Store, key string) (base string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	env := map[string]string{"WAYMARK_ADDR": addr, "WAYMARK_DATA_DIR": t.TempDir(), "WAYMARK_SECRET_KEY": key, "WAYMARK_SIMULATOR": "false"}
	cfg, _, err := config.Load(func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + addr
	return base, serveInTest(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), st, clock.System{}, base)
}

var floodLoginToken = regexp.MustCompile(`name="login_token" value="([^"]+)"`)

// flood posts n sign-ins with random usernames (some of them passwords
// typed in the wrong box) and passwords, and a forged X-Forwarded-For, and
// counts the answers by status.
func flood(t *testing.T, base string, n int) map[int]int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := floodLoginToken.FindSubmatch(page)
	if m == nil {
		t.Fatal("no login token")
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				username := fmt.Sprintf("guess.%d", i)
				if i%2 == 1 {
					username = fmt.Sprintf("Tr0ub4dor&%d horse staple", i)
				}
				form := url.Values{"login_token": {string(m[1])}, "username": {username}, "password": {fmt.Sprintf("guess-%d", i)}}
				req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i%250))
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return statuses
}

func storedBytes(entries []storedEntry) int {
	n := 0
	for _, e := range entries {
		n += len(e.raw)
	}
	return n
}

// TestSignInFloodBarelyGrowsTheStore: 10,000 hostile sign-ins from one
// address grow the store by less than 100 KB on either backend. Only the
// attempts under the address's limit write anything (counters named by a
// keyed hash, and one audit entry each); past it, nothing is written and
// no password is hashed.
func TestSignInFloodBarelyGrowsTheStore(t *testing.T) {
	const budget = 100 << 10
	check := func(t *testing.T, before, after int, statuses map[int]int) {
		t.Helper()
		t.Logf("stored bytes %d -> %d (+%d) after %d sign-ins; answers %v", before, after, after-before, hostileSignIns, statuses)
		if after-before >= budget {
			t.Errorf("the store grew by %d bytes, want under %d", after-before, budget)
		}
		if statuses[http.StatusTooManyRequests] < hostileSignIns-100 {
			t.Errorf("only %d of %d sign-ins were limited", statuses[http.StatusTooManyRequests], hostileSignIns)
		}
	}
	key := seal.NewKey()
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "waymark.db")
		open := func() store.Store {
			st, err := bolt.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		st := open()
		_, stop := floodServer(t, st, key)
		stop()
		st.Close()
		before := storedBytes(walkBolt(t, path))
		st = open()
		base, stop := floodServer(t, st, key)
		statuses := flood(t, base, hostileSignIns)
		stop()
		st.Close()
		check(t, before, storedBytes(walkBolt(t, path)), statuses)
	})
	t.Run("redis", func(t *testing.T) {
		redisURL, prefix := testkit.RedisPrefix(t)
		st, err := redisstore.Open(t.Context(), redisstore.Options{URL: redisURL, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		base, stop := floodServer(t, st, key)
		defer stop()
		before := storedBytes(walkRedis(t, redisURL, prefix))
		statuses := flood(t, base, hostileSignIns)
		check(t, before, storedBytes(walkRedis(t, redisURL, prefix)), statuses)
	})
}
