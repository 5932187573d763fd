package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ResidentKB reads a process's resident set size (VmRSS) and its peak
// (VmHWM) from /proc/<pid>/status, in kilobytes.
func ResidentKB(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("loadtest: read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmRSS":
			rss = n
		case "VmHWM":
			peak = n
		}
	}
	return rss, peak, sc.Err()
}

// RSSWatch samples a process's VmRSS every interval until Stop, keeping
// the largest.
type RSSWatch struct {
	pid     int
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	max     int64
	samples int
}

// WatchRSS starts sampling pid.
func WatchRSS(pid int, interval time.Duration) *RSSWatch {
	w := &RSSWatch{pid: pid, stop: make(chan struct{})}
	w.done.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if rss, _, err := ResidentKB(pid); err == nil {
				w.mu.Lock()
				w.max = max(w.max, rss)
				w.samples++
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	})
	return w
}

// Stop ends sampling and returns the largest VmRSS seen, in kilobytes.
func (w *RSSWatch) Stop() int64 {
	close(w.stop)
	w.done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max
}
