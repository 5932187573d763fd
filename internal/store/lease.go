package store

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// ErrLeaseBusy: another owner held a lease longer than the caller would
// wait for it.
var ErrLeaseBusy = errors.New("store: lease held by another")

// leaseTTL is how long a lease taken by WithLease lasts if its holder
// dies: long beyond any turn, short enough that work is soon taken over.
const leaseTTL = 30 * time.Second

// WithLease runs fn holding lease name for owner, waiting up to patience
// for another holder to finish, in pauses from 5 ms growing to 200 ms. The
// lease is given up when fn returns, even if ctx has ended (a failure to
// give it up is only logged: it expires by itself). ErrLeaseBusy when the
// wait ran out.
func WithLease(ctx context.Context, l Leases, name, owner string, patience time.Duration, log *slog.Logger, fn func() error) error {
	wait := 5 * time.Millisecond
	deadline := time.Now().Add(patience)
	for {
		ok, err := l.AcquireLease(ctx, name, owner, leaseTTL)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return ErrLeaseBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := l.ReleaseLease(ctx, name, owner); err != nil {
			log.Warn("release lease", "err", err)
		}
	}()
	return fn()
}
