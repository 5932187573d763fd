package schedule_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// TestThreeSchedulersOneRedis: three scheduler loops, as three waymark
// processes, race over one Redis for 10,000 people whose windows open at
// the same moment. Every opening reminder is queued exactly once. The time
// from due to queued is logged, not asserted.
func TestThreeSchedulersOneRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 people on Redis: skipped with -short")
	}
	const people, processes = 10_000, 3
	stores := testkit.RedisStores(t, processes)
	clk := &shifted{}
	clk.Set(monday9.Add(-time.Hour))
	var hs []*harness
	for _, st := range stores {
		hs = append(hs, newHarnessLevel(t, st, clk, slog.LevelWarn))
	}
	began := time.Now()
	ids := population(t, hs[0], people, 16)
	t.Logf("%d people enrolled and planned in %s", people, time.Since(began).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	clk.Set(monday9.Add(-time.Second))
	for i, st := range stores {
		sched := schedule.New(hs[i].conv, schedule.NewLedger(st, hs[i].live, clk, slog.New(slog.DiscardHandler)), schedule.Options{Tick: 100 * time.Millisecond})
		wg.Go(func() { sched.Run(ctx) })
	}

	// Read the outbox as the dispatcher would, while the schedulers work.
	perPerson := map[string][]store.OutboundMessage{}
	total := 0
	collect := func() {
		for _, m := range hs[0].sentAll() {
			perPerson[m.ParticipantID] = append(perPerson[m.ParticipantID], m)
			total++
		}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for total < people && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		collect()
	}
	// Give a late duplicate the chance to show, then stop and read again.
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	collect()

	var late []time.Duration
	for _, pid := range ids {
		msgs := perPerson[pid]
		if len(msgs) != 1 {
			t.Errorf("%s: %d messages queued, want exactly 1", pid, len(msgs))
			continue
		}
		if msgs[0].Kind != "checkin.ask" {
			t.Errorf("%s: queued %s, want checkin.ask", pid, msgs[0].Kind)
		}
		late = append(late, msgs[0].CreatedAt.Sub(monday9))
	}
	if total != people {
		t.Errorf("%d messages queued for %d people", total, people)
	}
	// Each person's window has moved on: the opening item is done, and the
	// next of each kind is planned: today's closing reminder and miss
	// check, tomorrow's opening.
	for _, pid := range ids[:100] {
		due, err := stores[1].DueOf(context.Background(), pid)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range due {
			got = append(got, it.Kind)
		}
		want := []string{schedule.KindClosingSoon, schedule.KindMissCheck, schedule.KindWindowOpen}
		if !slices.Equal(got, want) {
			t.Errorf("%s: due %v, want %v", pid, got, want)
		}
	}
	if len(late) > 0 {
		slices.Sort(late)
		q := func(f float64) time.Duration { return late[int(f*float64(len(late)-1))].Round(time.Millisecond) }
		t.Logf("due to queued over %d reminders, %d processes: min %s, p50 %s, p90 %s, p99 %s, max %s",
			len(late), processes, q(0), q(0.5), q(0.9), q(0.99), q(1))
	}
}
