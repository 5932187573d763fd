package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Sign-in limits. Three counters, each for AttemptWindow:
//
//   - per client address (AddressAttempts): a flood from one address is
//     refused, and once over the limit it is refused from memory, with no
//     store write and no password hash, so it costs the attacker more than
//     it costs us. One audit entry marks the window, not one per attempt.
//   - per username and address (PairAttempts): guessing one account from
//     one address locks only that account, only from that address.
//   - per username from everywhere (AccountAttempts): past it, guesses
//     from many addresses are paced to one per AccountPace for that
//     account, refused in between. The real person, from their own
//     address, waits a few seconds and signs in.
//
// Counters are named by a keyed hash (HMAC-SHA256 under CounterKey) of the
// username and address, never by the text itself: a password typed into
// the username box must not become a key name in the store, its AOF or
// its backups.

// limitedAddresses remembers, in this process, the addresses over their
// limit until their window ends. It is bounded: when full, it forgets
// windows that have ended, and past that it stops remembering (the store's
// counter still refuses them, at the cost of one write each).
type limitedAddresses struct {
	mu    sync.Mutex
	until map[string]time.Time
}

const maxLimitedAddresses = 10_000

func (l *limitedAddresses) refused(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.until[key]
	if ok && !now.Before(until) {
		delete(l.until, key)
		return false
	}
	return ok
}

func (l *limitedAddresses) mark(key string, until time.Time, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until == nil {
		l.until = make(map[string]time.Time)
	}
	if len(l.until) >= maxLimitedAddresses {
		for k, u := range l.until {
			if !now.Before(u) {
				delete(l.until, k)
			}
		}
		if len(l.until) >= maxLimitedAddresses {
			return
		}
	}
	l.until[key] = until
}

// counterName is the keyed hash that names a counter: 128 bits in hex.
func (s *Service) counterName(kind string, parts ...string) string {
	m := hmac.New(sha256.New, s.opts.CounterKey)
	m.Write([]byte(kind))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return "login:" + kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// countAttempt counts one sign-in attempt for username u (normalised)
// from addr, and returns ErrLimited when a limit refuses it.
func (s *Service) countAttempt(ctx context.Context, u, addr string) error {
	now := s.clock.Now()
	window := now.Add(s.opts.AttemptWindow)
	addrKey := s.counterName("address", addr)
	if s.limited.refused(addrKey, now) {
		return ErrLimited
	}
	n, err := s.store.Increment(ctx, addrKey, window)
	if err != nil {
		return fmt.Errorf("auth: count sign-in attempts: %w", err)
	}
	if n > s.opts.AddressAttempts {
		s.limited.mark(addrKey, window, now)
		if n == s.opts.AddressAttempts+1 { // once a window, whichever process sees it
			_ = s.audit(ctx, "unknown", "login_limited", fmt.Sprintf("%d sign-in attempts from %s within %s; more refused until the window ends",
				s.opts.AddressAttempts, addr, s.opts.AttemptWindow))
		}
		return ErrLimited
	}
	n, err = s.store.Increment(ctx, s.counterName("pair", u, addr), window)
	if err != nil {
		return fmt.Errorf("auth: count sign-in attempts: %w", err)
	}
	if n > s.opts.PairAttempts {
		if n == s.opts.PairAttempts+1 {
			_ = s.audit(ctx, s.actorFor(ctx, u), "login_limited", fmt.Sprintf("%d attempts at one account from %s within %s; that account refused from there until the window ends",
				s.opts.PairAttempts, addr, s.opts.AttemptWindow))
		}
		return ErrLimited
	}
	n, err = s.store.Increment(ctx, s.counterName("account", u), window)
	if err != nil {
		return fmt.Errorf("auth: count sign-in attempts: %w", err)
	}
	if n <= s.opts.AccountAttempts {
		return nil
	}
	if n == s.opts.AccountAttempts+1 {
		_ = s.audit(ctx, s.actorFor(ctx, u), "login_limited", fmt.Sprintf("%d attempts at one account from several addresses within %s; paced to one every %s",
			s.opts.AccountAttempts, s.opts.AttemptWindow, s.opts.AccountPace))
	}
	slot := now.UnixNano() / int64(s.opts.AccountPace)
	first, err := s.store.Increment(ctx, s.counterName("pace", u, strconv.FormatInt(slot, 10)), time.Unix(0, (slot+1)*int64(s.opts.AccountPace)))
	if err != nil {
		return fmt.Errorf("auth: count sign-in attempts: %w", err)
	}
	if first > 1 {
		return ErrPaced
	}
	return nil
}

// actorFor names the account a username belongs to for the audit log,
// or "unknown": the typed text itself is never written.
func (s *Service) actorFor(ctx context.Context, u string) string {
	if a, err := s.store.AccountByUsername(ctx, u); err == nil {
		return a.ID
	}
	return "unknown"
}
