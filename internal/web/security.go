package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// The server's defences, in one place: headers on every answer, a body
// limit and timeouts on every request, and panics and Echo's own messages
// logged through Waymark's (redacting) logger, never shown to the client.

// maxBodyLimit bounds the body of any request, whatever its route; the
// webhook, form and API groups set tighter limits of their own.
const maxBodyLimit = simulatorBodyLimit

// Timeouts of the HTTP server. ReadHeaderTimeout stops a client that
// sends its headers a byte at a time from holding a connection.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
)

// hstsMaxAge is two years, as browsers' preload lists ask; sent only when
// WAYMARK_PUBLIC_URL is https, since HSTS on plain HTTP would lock
// browsers out of a service that has no TLS.
const hstsMaxAge = "max-age=63072000; includeSubDomains"

// securityHeaders sets the headers every answer carries. The policy allows
// scripts and styles from this server only, never inline; no page may be
// framed; no referrer leaves (a URL may hold a participant's ID); the
// browser may not use the camera, microphone or location; and nothing but
// static files may be cached, so that a shared computer or a proxy keeps
// no copy of a caseworker page or an API answer.
func securityHeaders(https bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Permissions-Policy", "geolocation=(), camera=(), microphone=(), interest-cohort=()")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if p := c.Request().URL.Path; !strings.HasPrefix(p, "/static/") && p != "/favicon.ico" {
				h.Set("Cache-Control", "no-store")
			}
			if https {
				h.Set("Strict-Transport-Security", hstsMaxAge)
			}
			return next(c)
		}
	}
}

// recoverPanics turns a panic into a plain 500 (through handleError,
// which says "internal error" and nothing more) and logs it, with the
// panicking goroutine's stack, through the server's logger rather than
// Echo's, which would write around the redaction layer.
func (s *Server) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.deps.Log.Error("panic while handling a request", "method", c.Request().Method, "route", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	})
}

// httpServer is the server Start runs, with every timeout set and its
// own errors (TLS handshakes, bad requests) logged through log.
func (s *Server) httpServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelWarn),
	}
}

// logEchoThrough sends whatever Echo itself prints to log, so that it is
// formatted and redacted like every other line.
func logEchoThrough(e *echo.Echo, log *slog.Logger) {
	if log != nil {
		e.Logger.SetOutput(echoLog{log})
	}
}

type echoLog struct{ log *slog.Logger }

func (w echoLog) Write(p []byte) (int, error) {
	w.log.Warn("echo: " + strings.TrimSpace(string(p)))
	return len(p), nil
}
