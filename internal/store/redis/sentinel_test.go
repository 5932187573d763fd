package redis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/storetest"
)

// TestSentinel runs the contract through Sentinel: a private master and one
// sentinel watching it, both started here, and a store that knows only the
// sentinel's address and the master's name.
func TestSentinel(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("needs redis-server on PATH (source .ci/redis.sh)")
	}
	dir := t.TempDir()
	master := freePort(t)
	startRedis(t, dir, master)
	sentinel := freePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	err := os.WriteFile(conf, fmt.Appendf(nil,
		"port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor waymark 127.0.0.1 %s 1\nsentinel down-after-milliseconds waymark 5000\n",
		sentinel, dir, master), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, sentinel)

	opts := Options{URL: "redis://127.0.0.1:" + sentinel + "/0", SentinelMaster: "waymark"}
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, opts) })
}

func waitPort(t *testing.T, port string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if i > 100 {
			t.Fatalf("nothing answers on port %s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
