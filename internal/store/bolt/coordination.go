package bolt

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Keys of dedupe, counters and rate budgets may carry provider message IDs
// or sender numbers, so they stay out of errors.

// FirstSeen records key until expiresAt. A key whose expiry has passed on the
// wall clock counts as new, whether or not the sweeper has dropped it yet.
func (s *Store) FirstSeen(_ context.Context, k string, expiresAt time.Time) (bool, error) {
	if err := store.Need("dedupe key", k); err != nil {
		return false, fmt.Errorf("bolt: first seen: %w", err)
	}
	var first bool
	err := s.batch("first seen", func(t *txn) error {
		var err error
		first, err = t.recordDedupe(k, expiresAt)
		return err
	})
	return first, err
}

// recordDedupe records k until expiresAt unless it is recorded already;
// it reports whether it recorded it.
func (t *txn) recordDedupe(k string, expiresAt time.Time) (bool, error) {
	b := t.Bucket(bDedupe)
	var prev *time.Time
	if raw := b.Get([]byte(k)); raw != nil {
		old := parseTimeKey(raw)
		if old.After(t.now) {
			return false, nil
		}
		prev = &old
	}
	if err := b.Put([]byte(k), timeKey(expiresAt)); err != nil {
		return false, err
	}
	return true, t.expireAt(expDedupe, k, prev, expiresAt)
}

// Seen reports whether k is recorded and unexpired, recording nothing.
func (s *Store) Seen(_ context.Context, k string) (bool, error) {
	if err := store.Need("dedupe key", k); err != nil {
		return false, fmt.Errorf("bolt: seen: %w", err)
	}
	var seen bool
	err := s.view("seen", func(t *txn) error {
		raw := t.Bucket(bDedupe).Get([]byte(k))
		seen = raw != nil && parseTimeKey(raw).After(t.now)
		return nil
	})
	return seen, err
}

// leaseRecord is who holds a lease and until when (wall time). Leases live
// in the file like everything else; since bolt serves one process they
// protect nothing across a restart, and need not.
type leaseRecord struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

func (s *Store) AcquireLease(_ context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := store.CheckClaim(owner, ttl); err != nil {
		return false, fmt.Errorf("bolt: acquire lease: %w", err)
	}
	if err := store.Need("lease name", name); err != nil {
		return false, fmt.Errorf("bolt: acquire lease: %w", err)
	}
	var got bool
	err := s.update("acquire lease "+name, func(t *txn) (err error) {
		got, err = t.acquireLease(name, owner, ttl)
		return err
	})
	return got, err
}

// acquireLease takes or renews name for owner; false if another holds it.
func (t *txn) acquireLease(name, owner string, ttl time.Duration) (bool, error) {
	b := t.Bucket(bLeases)
	var l leaseRecord
	ok, err := getJSON(b, []byte(name), &l)
	if err != nil {
		return false, err
	}
	if ok && l.Owner != owner && l.Until.After(t.now) {
		return false, nil
	}
	return true, putJSON(b, []byte(name), leaseRecord{Owner: owner, Until: t.now.Add(ttl)})
}

func (s *Store) ReleaseLease(_ context.Context, name, owner string) error {
	return s.update("release lease "+name, func(t *txn) error { return t.releaseLease(name, owner) })
}

// releaseLease gives name up if owner holds it.
func (t *txn) releaseLease(name, owner string) error {
	b := t.Bucket(bLeases)
	var l leaseRecord
	ok, err := getJSON(b, []byte(name), &l)
	if err != nil || !ok || l.Owner != owner {
		return err
	}
	return b.Delete([]byte(name))
}

// rateRecord is a budget's next free moment, in the caller's time, and the
// wall time after which the record says nothing the absence of one would
// not (the backlog has drained), so the sweeper may drop it.
type rateRecord struct {
	Next   time.Time `json:"next"`
	Drains time.Time `json:"drains"`
}

// ReserveRate spaces reservations out at perSecond with no burst: n units
// start at the later of now and the budget's next free moment, and move the
// next free moment n/perSecond on. Every send reserves, so the write is
// shared with the others waiting (group commit), as the send's other
// writes are; a batch's writes see each other's, so the reservations in
// one still follow one another.
func (s *Store) ReserveRate(_ context.Context, k string, n int, perSecond float64, now time.Time) (time.Time, error) {
	switch {
	case k == "":
		return time.Time{}, fmt.Errorf("bolt: reserve rate: key: %w", store.ErrEmpty)
	case !(perSecond > 0):
		return time.Time{}, fmt.Errorf("bolt: reserve rate: units per second must be positive")
	case n < 0:
		return time.Time{}, fmt.Errorf("bolt: reserve rate: units must not be negative")
	}
	var start time.Time
	err := s.batch("reserve rate", func(t *txn) error {
		b := t.Bucket(bRates)
		var r rateRecord
		if _, err := getJSON(b, []byte(k), &r); err != nil {
			return err
		}
		start = now
		if r.Next.After(now) {
			start = r.Next
		}
		next := start.Add(time.Duration(float64(n) / perSecond * float64(time.Second)))
		return putJSON(b, []byte(k), rateRecord{Next: next, Drains: t.now.Add(next.Sub(now) + time.Minute)})
	})
	return start, err
}

// counterRecord is a count and the wall time its window ends.
type counterRecord struct {
	Count     int       `json:"count"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Store) Increment(_ context.Context, k string, expiresAt time.Time) (int, error) {
	if err := store.Need("counter key", k); err != nil {
		return 0, fmt.Errorf("bolt: increment: %w", err)
	}
	var count int
	err := s.batch("increment", func(t *txn) (err error) {
		count, err = t.increment(k, expiresAt)
		return err
	})
	return count, err
}

// increment adds one to counter k, which is forgotten at expiresAt if
// this starts its window, and returns the new count.
func (t *txn) increment(k string, expiresAt time.Time) (int, error) {
	b := t.Bucket(bCounters)
	var c counterRecord
	ok, err := getJSON(b, []byte(k), &c)
	if err != nil {
		return 0, err
	}
	if ok && c.ExpiresAt.After(t.now) {
		c.Count++
		return c.Count, putJSON(b, []byte(k), c)
	}
	var prev *time.Time
	if ok {
		prev = &c.ExpiresAt
	}
	if err := putJSON(b, []byte(k), counterRecord{Count: 1, ExpiresAt: expiresAt}); err != nil {
		return 0, err
	}
	return 1, t.expireAt(expCounter, k, prev, expiresAt)
}

// Sweep deletes the sessions, enrolment codes, dedupe keys and counters
// whose expiry is at or before now, and leases and rate budgets that have
// run out, so that nothing lingers in the file. Open runs it every minute;
// reads never depend on it.
func (s *Store) Sweep(now time.Time) error {
	return s.update("sweep", func(t *txn) error {
		exp := t.Bucket(bExpiry)
		buckets := map[byte][]byte{expSession: bSessions, expCode: bCodes, expDedupe: bDedupe, expCounter: bCounters}
		for _, k := range readyKeys(exp, now, math.MaxInt) {
			kind, rest := k[timeKeyLen], k[timeKeyLen+1:]
			if name, ok := buckets[kind]; ok {
				if err := t.Bucket(name).Delete(rest); err != nil {
					return err
				}
			}
			if err := exp.Delete(k); err != nil {
				return err
			}
		}
		if err := sweepJSON(t, bLeases, func(l leaseRecord) bool { return !l.Until.After(now) }); err != nil {
			return err
		}
		return sweepJSON(t, bRates, func(r rateRecord) bool { return !r.Drains.After(now) })
	})
}

func sweepJSON[T any](t *txn, name []byte, gone func(T) bool) error {
	b := t.Bucket(name)
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var rec T
		if err := unmarshal(v, &rec); err != nil {
			return err
		}
		if gone(rec) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
