package storetest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

var dedupeTests = []namedTest{
	{"FirstSeenThenSeen", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		exp := wallNow().Add(time.Hour)
		first, err := s.FirstSeen(ctx, "twilio:SM1", exp)
		must(t, "first", err)
		again, err := s.FirstSeen(ctx, "twilio:SM1", exp)
		must(t, "again", err)
		other, err := s.FirstSeen(ctx, "twilio:SM2", exp)
		must(t, "other key", err)
		if !first || again || !other {
			t.Fatalf("FirstSeen = %v, %v, %v; want true, false, true", first, again, other)
		}
	}},
	{"ExpiredKeyIsNewAgain", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		exp := wallNow().Add(80 * time.Millisecond)
		first, err := s.FirstSeen(ctx, "k", exp)
		must(t, "first", err)
		sleepPast(exp)
		again, err := s.FirstSeen(ctx, "k", wallNow().Add(time.Hour))
		must(t, "after expiry", err)
		if !first || !again {
			t.Fatalf("FirstSeen = %v, %v; want true, true (expired key is new again)", first, again)
		}
		third, err := s.FirstSeen(ctx, "k", wallNow().Add(time.Hour))
		must(t, "third", err)
		if third {
			t.Fatalf("key recorded again after expiry was not remembered")
		}
	}},
	{"SeenRecordsNothing", func(t *testing.T, s store.Store) {
		// Seen only looks: asking twice leaves the key new for FirstSeen;
		// once recorded it is seen until it expires (wall time).
		ctx := ctxOf(t)
		for range 2 {
			seen, err := s.Seen(ctx, "k")
			must(t, "seen before", err)
			if seen {
				t.Fatalf("unrecorded key reported seen")
			}
		}
		exp := wallNow().Add(100 * time.Millisecond)
		first, err := s.FirstSeen(ctx, "k", exp)
		must(t, "first", err)
		if !first {
			t.Fatalf("Seen recorded the key")
		}
		seen, err := s.Seen(ctx, "k")
		must(t, "seen after", err)
		if !seen {
			t.Fatalf("recorded key not seen")
		}
		sleepPast(exp)
		seen, err = s.Seen(ctx, "k")
		must(t, "seen after expiry", err)
		if seen {
			t.Fatalf("expired key still seen")
		}
	}},
	{"ConcurrentOneTrue", func(t *testing.T, s store.Store) {
		// A webhook retried while the first delivery is still being handled
		// must be seen as new exactly once.
		ctx := ctxOf(t)
		const n = 32
		var wg sync.WaitGroup
		res := make(chan bool, n)
		errs := make(chan error, n)
		start := make(chan struct{})
		exp := wallNow().Add(time.Hour)
		for range n {
			wg.Go(func() {
				<-start
				ok, err := s.FirstSeen(ctx, "race", exp)
				if err != nil {
					errs <- err
					return
				}
				res <- ok
			})
		}
		close(start)
		wg.Wait()
		close(res)
		close(errs)
		for err := range errs {
			t.Fatalf("FirstSeen: %v", err)
		}
		wins := 0
		for ok := range res {
			if ok {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d callers saw the key first, want exactly 1", wins)
		}
	}},
}

func acquire(t *testing.T, s store.Store, name, owner string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.AcquireLease(ctxOf(t), name, owner, ttl)
	must(t, "acquire "+owner, err)
	return ok
}

var leaseTests = []namedTest{
	{"HeldLeaseRefusesOthersAndRenewsForOwner", func(t *testing.T, s store.Store) {
		if !acquire(t, s, "scheduler", "a", time.Minute) {
			t.Fatalf("free lease refused")
		}
		if acquire(t, s, "scheduler", "b", time.Minute) {
			t.Fatalf("held lease given to another owner")
		}
		if !acquire(t, s, "scheduler", "a", time.Minute) {
			t.Fatalf("owner could not renew its lease")
		}
		if !acquire(t, s, "outbox", "b", time.Minute) {
			t.Fatalf("leases of different names are not independent")
		}
	}},
	{"RenewalExtendsTTL", func(t *testing.T, s store.Store) {
		// a takes the lease for 400ms, renews it after 250ms; at 500ms the
		// first term has ended but the renewed one has not.
		start := time.Now()
		if !acquire(t, s, "l", "a", 400*time.Millisecond) {
			t.Fatalf("free lease refused")
		}
		time.Sleep(250 * time.Millisecond)
		renewed := time.Now()
		if !acquire(t, s, "l", "a", 400*time.Millisecond) {
			t.Fatalf("owner could not renew")
		}
		time.Sleep(time.Until(start.Add(500 * time.Millisecond)))
		// The renewed term ends no sooner than 400ms after renewed; b's
		// acquire ran before it returned. Timed after it returns, so that
		// a slow, loaded machine cannot make a correct store fail.
		if acquire(t, s, "l", "b", time.Minute) && time.Since(renewed) < 400*time.Millisecond {
			t.Fatalf("renewed lease given away before its new term ended")
		}
	}},
	{"ReleaseByOwnerFreesIt", func(t *testing.T, s store.Store) {
		acquire(t, s, "l", "a", time.Minute)
		must(t, "release", s.ReleaseLease(ctxOf(t), "l", "a"))
		if !acquire(t, s, "l", "b", time.Minute) {
			t.Fatalf("released lease refused")
		}
	}},
	{"ReleaseByOtherDoesNothing", func(t *testing.T, s store.Store) {
		acquire(t, s, "l", "a", time.Minute)
		must(t, "release by non-owner", s.ReleaseLease(ctxOf(t), "l", "b"))
		if acquire(t, s, "l", "b", time.Minute) {
			t.Fatalf("release by a non-owner freed the lease")
		}
		must(t, "release of a free lease", s.ReleaseLease(ctxOf(t), "free", "b"))
	}},
	{"ExpiredLeaseCanBeTaken", func(t *testing.T, s store.Store) {
		// A crashed owner's work is taken over once its TTL passes.
		until := wallNow().Add(60 * time.Millisecond)
		acquire(t, s, "l", "a", 60*time.Millisecond)
		sleepPast(until)
		if !acquire(t, s, "l", "b", time.Minute) {
			t.Fatalf("expired lease refused")
		}
		if acquire(t, s, "l", "a", time.Minute) {
			t.Fatalf("old owner took back a lease now held by another")
		}
	}},
	{"ConcurrentAcquireOneWinner", func(t *testing.T, s store.Store) {
		const n = 16
		var wg sync.WaitGroup
		res := make(chan bool, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				ok, err := s.AcquireLease(ctxOf(t), "race", fmt.Sprint("owner", i), time.Minute)
				if err != nil {
					t.Errorf("acquire: %v", err)
				}
				res <- ok
			})
		}
		close(start)
		wg.Wait()
		close(res)
		wins := 0
		for ok := range res {
			if ok {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d owners hold one lease, want 1", wins)
		}
	}},
}

// closeTo allows for backends that keep rate state in whole milliseconds.
func closeTo(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -time.Millisecond && d < time.Millisecond
}

func reserve(t *testing.T, s store.Store, key string, n int, perSecond float64, now time.Time) time.Time {
	t.Helper()
	when, err := s.ReserveRate(ctxOf(t), key, n, perSecond, now)
	must(t, "reserve", err)
	return when
}

var rateTests = []namedTest{
	{"ReservationsSpaceOut", func(t *testing.T, s store.Store) {
		// 10 a second: each unit takes 100ms of the budget, with no burst.
		for i, want := range []time.Time{at(0), at(100 * time.Millisecond), at(200 * time.Millisecond)} {
			if got := reserve(t, s, "sender:1", 1, 10, at(0)); !closeTo(got, want) {
				t.Fatalf("reservation %d at %v, want %v", i, got.Sub(base), want.Sub(base))
			}
		}
		// 5 units start when the budget allows and take 500ms.
		if got := reserve(t, s, "sender:1", 5, 10, at(0)); !closeTo(got, at(300*time.Millisecond)) {
			t.Fatalf("5-unit reservation at %v, want 300ms", got.Sub(base))
		}
		if got := reserve(t, s, "sender:1", 1, 10, at(0)); !closeTo(got, at(800*time.Millisecond)) {
			t.Fatalf("reservation after 5 units at %v, want 800ms", got.Sub(base))
		}
		// Once the backlog is past, a reservation may be used at once.
		if got := reserve(t, s, "sender:1", 1, 10, at(10*time.Second)); !closeTo(got, at(10*time.Second)) {
			t.Fatalf("reservation after idle at %v, want now (10s)", got.Sub(base))
		}
	}},
	{"KeysAreIndependent", func(t *testing.T, s store.Store) {
		reserve(t, s, "a", 50, 10, at(0))
		if got := reserve(t, s, "b", 1, 10, at(0)); !closeTo(got, at(0)) {
			t.Fatalf("key b delayed by key a's budget: %v", got.Sub(base))
		}
	}},
	{"ConcurrentReservationsEachGetTheirOwnSlot", func(t *testing.T, s store.Store) {
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []time.Time
		for range n {
			wg.Go(func() {
				when, err := s.ReserveRate(ctxOf(t), "bot", 1, 100, at(0))
				if err != nil {
					t.Errorf("reserve: %v", err)
					return
				}
				mu.Lock()
				got = append(got, when)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(got) != n {
			t.Fatalf("%d reservations, want %d", len(got), n)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Before(got[j]) })
		for i, g := range got {
			if want := at(time.Duration(i) * 10 * time.Millisecond); !closeTo(g, want) {
				t.Fatalf("slot %d at %v, want %v (slots must not overlap)", i, g.Sub(base), want.Sub(base))
			}
		}
	}},
}

func increment(t *testing.T, s store.Store, key string, exp time.Time) int {
	t.Helper()
	n, err := s.Increment(ctxOf(t), key, exp)
	must(t, "increment", err)
	return n
}

var counterTests = []namedTest{
	{"CountsPerKey", func(t *testing.T, s store.Store) {
		exp := wallNow().Add(time.Hour)
		for want := 1; want <= 3; want++ {
			if got := increment(t, s, "loop:p_a", exp); got != want {
				t.Fatalf("count %d, want %d", got, want)
			}
		}
		if got := increment(t, s, "loop:p_b", exp); got != 1 {
			t.Fatalf("other key count %d, want 1", got)
		}
	}},
	{"WindowEndsAtFirstExpiry", func(t *testing.T, s store.Store) {
		// The window is fixed when the key is created; later increments
		// with a later expiry do not move it.
		exp := wallNow().Add(100 * time.Millisecond)
		increment(t, s, "login:x", exp)
		if got := increment(t, s, "login:x", wallNow().Add(time.Hour)); got != 2 {
			t.Fatalf("count %d, want 2", got)
		}
		sleepPast(exp)
		if got := increment(t, s, "login:x", wallNow().Add(time.Hour)); got != 1 {
			t.Fatalf("count after window %d, want 1", got)
		}
	}},
	{"ConcurrentIncrementsCountEachOnce", func(t *testing.T, s store.Store) {
		const n = 20
		var wg sync.WaitGroup
		seen := make(chan int, n)
		exp := wallNow().Add(time.Hour)
		for range n {
			wg.Go(func() {
				c, err := s.Increment(ctxOf(t), "c", exp)
				if err != nil {
					t.Errorf("increment: %v", err)
				}
				seen <- c
			})
		}
		wg.Wait()
		close(seen)
		var got []int
		for c := range seen {
			got = append(got, c)
		}
		sort.Ints(got)
		for i, c := range got {
			if c != i+1 {
				t.Fatalf("counts %v, want 1..%d each once", got, n)
			}
		}
	}},
}
