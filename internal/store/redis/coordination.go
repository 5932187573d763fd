package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/waymark-atd/waymark/internal/store"
)

// FirstSeen records key until expiresAt (SET NX PXAT) and reports whether
// it was new.
func (s *Store) FirstSeen(ctx context.Context, key string, expiresAt time.Time) (bool, error) {
	if err := errors.Join(store.Need("dedupe key", key), store.NeedTime("dedupe expiry", expiresAt)); err != nil {
		return false, fmt.Errorf("redis: first seen: %w", err)
	}
	err := s.rdb.Do(ctx, "set", s.k.dedupe(key), "1", "pxat", ms(expiresAt), "nx").Err()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("first seen", err)
	}
	return true, nil
}

// Seen reports whether key is recorded and not expired.
func (s *Store) Seen(ctx context.Context, key string) (bool, error) {
	if err := store.Need("dedupe key", key); err != nil {
		return false, fmt.Errorf("redis: seen: %w", err)
	}
	n, err := s.rdb.Exists(ctx, s.k.dedupe(key)).Result()
	if err != nil {
		return false, s.fail("seen", err)
	}
	return n > 0, nil
}

// AcquireLease takes or renews name for owner for ttl (wall time, PX);
// false if another owner holds it.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := errors.Join(store.Need("lease name", name), store.Need("lease owner", owner), store.NeedPositive("lease TTL", ttl)); err != nil {
		return false, fmt.Errorf("redis: acquire lease: %w", err)
	}
	ttlMs := (ttl + time.Millisecond - 1).Milliseconds() // never shorter than asked
	n, err := s.run(ctx, luaLeaseAcquire, []string{s.k.lease(name)}, owner, ttlMs).Int()
	if err != nil {
		return false, s.fail("acquire lease "+name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives name up if owner holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := errors.Join(store.Need("lease name", name), store.Need("lease owner", owner)); err != nil {
		return fmt.Errorf("redis: release lease: %w", err)
	}
	if err := s.run(ctx, luaLeaseRelease, []string{s.k.lease(name)}, owner).Err(); err != nil {
		return s.fail("release lease "+name, err)
	}
	return nil
}

// rateSlack is how long a rate budget outlives its next free moment, so
// that a budget in use is never forgotten between two reservations.
const rateSlack = time.Minute

// ReserveRate reserves n units of key's budget of perSecond units a second,
// with no burst, and returns when they may be used. One script reads and
// moves the budget, so concurrent reservations never overlap.
func (s *Store) ReserveRate(ctx context.Context, key string, n int, perSecond float64, now time.Time) (time.Time, error) {
	var errs []error
	errs = append(errs, store.Need("rate key", key))
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		errs = append(errs, errors.New("rate: units per second must be positive"))
	}
	if n < 0 {
		errs = append(errs, errors.New("rate: units must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return time.Time{}, fmt.Errorf("redis: reserve rate: %w", err)
	}
	secs := float64(n) / perSecond
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return time.Time{}, errors.New("redis: reserve rate: reservation too long")
	}
	d := time.Duration(math.Round(secs * float64(time.Second)))
	res, err := s.run(ctx, luaRateReserve, []string{s.k.rate(key)},
		now.Unix(), now.Nanosecond(), int64(d/time.Second), int64(d%time.Second), rateSlack.Milliseconds()).Text()
	if err != nil {
		return time.Time{}, s.fail("reserve rate", err)
	}
	sec, nsec, ok := strings.Cut(res, ":")
	si, err1 := strconv.ParseInt(sec, 10, 64)
	ni, err2 := strconv.ParseInt(nsec, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("redis: reserve rate: unexpected answer %q", res)
	}
	return time.Unix(si, ni).In(now.Location()), nil
}

// Increment adds one to key, forgotten at expiresAt as set by the first
// increment of the window, and returns the new count.
func (s *Store) Increment(ctx context.Context, key string, expiresAt time.Time) (int, error) {
	if err := errors.Join(store.Need("counter key", key), store.NeedTime("counter expiry", expiresAt)); err != nil {
		return 0, fmt.Errorf("redis: increment: %w", err)
	}
	n, err := s.run(ctx, luaCounterIncr, []string{s.k.counter(key)}, ms(expiresAt)).Int()
	if err != nil {
		return 0, s.fail("increment", err)
	}
	return n, nil
}
