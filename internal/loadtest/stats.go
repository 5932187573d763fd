// Package loadtest drives a running Waymark server the way its providers
// would, and measures it: signed Twilio webhooks and secret-token Telegram
// updates from many simulated participants, fake Twilio and Telegram APIs
// that receive the replies, and latency summaries of both. cmd/waymark-load
// is its command line; docs/performance.md says how the figures were taken.
//
// The simulated participants use made-up numbers and chat IDs. Nothing
// here is meant for a server that real people use.
package loadtest

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Latencies collects durations from many goroutines.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Summary is a latency distribution in brief.
type Summary struct {
	Count                   int
	P50, P90, P99, Max, Min time.Duration
	Mean                    time.Duration
}

// Summary sorts a copy of what was recorded and reads its quantiles
// (nearest rank).
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	q := func(f float64) time.Duration {
		i := int(f*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Summary{Count: len(d), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: d[len(d)-1], Min: d[0],
		Mean: sum / time.Duration(len(d))}
}

// String gives the quantiles in milliseconds.
func (s Summary) String() string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// Reset forgets what was recorded.
func (l *Latencies) Reset() {
	l.mu.Lock()
	l.d = nil
	l.mu.Unlock()
}
