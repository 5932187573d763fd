package outbox_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// TestProcessesShareQueueAndBudget runs three dispatchers as three
// processes on one Redis: each message goes once, and the sender's rate
// budget is shared, so sends stay a segment a second apart whichever
// process makes them.
func TestProcessesShareQueueAndBudget(t *testing.T) {
	procs := testkit.RedisStores(t, 3)
	h := newHarness(t, 1)
	h.st = procs[0]
	var links []store.Link
	for i := range 3 {
		links = append(links, h.person(fmt.Sprintf("p_r%d", i), fmt.Sprintf("+44770090020%d", i), store.SMS))
	}
	var ids []string
	for i := range 9 {
		ids = append(ids, h.enqueue(links[i%3], "checkin.ask", fmt.Sprintf("Shared budget message %d", i)).ID)
		h.clk.Advance(time.Millisecond)
	}
	t0 := h.clk.Now()

	var dispatchers []*outbox.Dispatcher
	for i, st := range procs {
		h.st = st
		dispatchers = append(dispatchers, h.dispatcher(func(o *outbox.Options) { o.Owner = fmt.Sprintf("process%d", i); o.Batch = 2 }))
	}
	h.st = procs[0]

	var mu sync.Mutex
	sentAt := map[string]time.Duration{}
	for range 60 {
		var wg sync.WaitGroup
		for _, d := range dispatchers {
			wg.Go(func() {
				if _, err := d.DispatchOnce(h.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		mu.Lock()
		for id := range h.sentIDs() {
			if _, ok := sentAt[id]; !ok {
				sentAt[id] = h.clk.Now().Sub(t0)
			}
		}
		mu.Unlock()
		h.clk.Advance(250 * time.Millisecond)
	}
	sent := h.sentIDs()
	for _, id := range ids {
		if sent[id] != 1 {
			t.Errorf("%s sent %d times", id, sent[id])
		}
	}
	var times []time.Duration
	for _, at := range sentAt {
		times = append(times, at)
	}
	slices.Sort(times)
	for i := 1; i < len(times); i++ {
		if gap := times[i] - times[i-1]; gap < time.Second {
			t.Errorf("sends %d and %d only %s apart: %v", i-1, i, gap, times)
		}
	}
	if len(times) != len(ids) {
		t.Fatalf("%d of %d sent", len(times), len(ids))
	}
	if strings.Contains(h.logs.String(), "+4477") {
		t.Error("a number reached the log")
	}
}
