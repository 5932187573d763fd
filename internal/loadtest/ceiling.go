package loadtest

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Ceiling is the measure the server's figures are read against: an Echo
// server on the same webhook routes whose handler reads the body and
// answers "ok", doing nothing else. Whatever it cannot exceed on a machine,
// with the same load tool on the same machine, no handler can.
func Ceiling() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	ok := func(c echo.Context) error {
		_, _ = io.Copy(io.Discard, c.Request().Body)
		return c.String(http.StatusOK, "ok")
	}
	e.POST(TwilioInboundPath, ok)
	e.POST(TelegramPath, ok)
	e.GET("/readyz", ok)
	return e
}

// NewHTTPServer is an http.Server with the timeouts `waymark serve` uses.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
}
