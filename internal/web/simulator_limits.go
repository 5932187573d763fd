package web

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/waymark-atd/waymark/internal/simulator"
)

// Per-address limits on the simulator: a person trying flows sends a
// message every few seconds and starts a few sessions an hour; a script
// filling memory or the scratch store does far more.
const (
	simPostsPerMinute = 120
	simPostBurst      = 60
	simStartsPerHour  = 30
	simStartBurst     = 10
	// simLimiterAddresses bounds the addresses remembered; past it the
	// table starts afresh, which lets a few more requests through but
	// never grows without end.
	simLimiterAddresses = 10_000
)

type simLimits struct {
	mu     sync.Mutex
	posts  map[string]*rate.Limiter
	starts map[string]*rate.Limiter
}

func limiterFor(m map[string]*rate.Limiter, addr string, every time.Duration, burst int) *rate.Limiter {
	l, ok := m[addr]
	if !ok {
		l = rate.NewLimiter(rate.Every(every), burst)
		m[addr] = l
	}
	return l
}

// allow says whether addr may post now, and start a session if start.
func (l *simLimits) allow(addr string, start bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.posts == nil || len(l.posts) >= simLimiterAddresses || len(l.starts) >= simLimiterAddresses {
		l.posts, l.starts = map[string]*rate.Limiter{}, map[string]*rate.Limiter{}
	}
	if !limiterFor(l.posts, addr, time.Minute/simPostsPerMinute, simPostBurst).Allow() {
		return false
	}
	return !start || limiterFor(l.starts, addr, time.Hour/simStartsPerHour, simStartBurst).Allow()
}

// limitSimulator refuses a client address that posts to the simulator
// faster than a person would.
func (s *Server) limitSimulator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		p := c.Path()
		start := p == "/simulator/start" || p == "/simulator/api/sessions"
		if !s.simLimits.allow(c.RealIP(), start) {
			c.Response().Header().Set("Retry-After", "60")
			return echo.NewHTTPError(http.StatusTooManyRequests, "too many simulator requests from this address: wait a minute")
		}
		return next(c)
	}
}

// simError turns the simulator's bounds into answers a person can act on.
func simError(err error) error {
	switch {
	case errors.Is(err, simulator.ErrSessionUsedUp):
		return echo.NewHTTPError(http.StatusTooManyRequests, "this simulated person has sent as many messages as one may, or their hour is over: start again")
	case errors.Is(err, simulator.ErrFull):
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the simulator is full: try again later")
	}
	return err
}
