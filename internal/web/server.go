// Package web is Waymark's HTTP face: the Echo server, its middleware, and
// every route (webhooks, health, the simulator), registered in one place.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/metrics"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store"
)

// Store is what the pages, the API and the health check read and write:
// people and what is kept of them for the caseworker pages, accounts for
// the administrators' pages, the published programme for the Programme
// page (the editor writes through programme.Service, never here), every
// person's history for the report, and Ping for /readyz. Webhooks reach the
// store through their channel and the conversation, not through this.
type Store interface {
	store.Participants
	store.Enrolments
	store.CheckIns
	store.Windows
	store.Histories
	store.Attention
	store.Audit
	store.Appointments
	store.Accounts
	LinksOf(ctx context.Context, participantID string) ([]store.Link, error)
	CurrentProgramme(ctx context.Context) (int, error)
	GetProgramme(ctx context.Context, number int) (store.ProgrammeVersion, error)
	ListProgrammes(ctx context.Context) ([]store.ProgrammeVersion, error)
	GetProgrammeDraft(ctx context.Context) (store.ProgrammeDraft, error)
	Ping(ctx context.Context) error
}

// Deps is what the server needs; optional parts may be nil.
type Deps struct {
	Store        Store
	Conversation *conversation.Service
	Simulator    *simulator.Simulator // nil: no /simulator
	Log          *slog.Logger
	PublicURL    string
	Webhooks     []Webhook        // channel webhooks, each mounted under /webhooks
	Audio        echo.HandlerFunc // GET /audio/:lang/:file, recorded messages for calls; nil: none
	Metrics      *metrics.Metrics // nil: no /metrics and nothing counted

	// Caseworker pages and the JSON API, served when Auth is set.
	Auth   *auth.Service
	Clock  clock.Clock                                           // nil: the system clock
	Replan func(ctx context.Context, participantID string) error // schedule.Scheduler.Replan; nil: nothing is replanned
	// Excuse moves a check-in window's outcome to "excused" in the ledger
	// (schedule.Scheduler.Excuse); nil: excusing closes the item only.
	Excuse func(ctx context.Context, participantID, ref, by string) error
	// Windows lists a person's check-in windows that opened from since up
	// to now, oldest first, each with its outcome, recorded or judged now
	// (schedule.Scheduler.History); nil: the ledger's records only.
	Windows     func(ctx context.Context, p store.Participant, since, now time.Time) ([]store.Window, error)
	CheckReport func() check.Report // the `waymark check` report for the Programme page
	// Programmes is the programme's versions and draft; nil: no editor
	// (WAYMARK_PROGRAMME_EDITOR=false).
	Programmes  *programme.Service
	TelegramBot string // bot username for enrolment links; empty: none shown
	// TextNumber is the number people send JOIN to (WAYMARK_TWILIO_FROM,
	// "whatsapp:+…" for a WhatsApp number); empty: none shown.
	TextNumber     string
	TrustedProxies []*net.IPNet // whose X-Forwarded-For is believed; none by default
}

// Webhook is a channel's inbound route. Channels register themselves here so
// that every route is still declared in NewServer's one list.
type Webhook struct {
	Path    string // under /webhooks, e.g. "/twilio/sms"
	Handler echo.HandlerFunc
}

// Server is the Echo server with its dependencies.
type Server struct {
	echo     *echo.Echo
	deps     Deps
	draining atomic.Bool
	// proxyWarning says once that sign-ins come through an untrusted proxy.
	proxyWarning sync.Once
	simLimits    simLimits
}

// Body limits: a provider webhook is a few KB; the simulator accepts far
// more than any real message so that an oversized one gets a polite reply
// rather than a bare error.
const (
	webhookBodyLimit   = "64K"
	simulatorBodyLimit = "512K"
	requestTimeout     = 20 * time.Second
)

// NewServer builds the server and registers every route.
func NewServer(d Deps) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = echo.ExtractIPDirect()
	s := &Server{echo: e, deps: d}
	e.HTTPErrorHandler = s.handleError
	logEchoThrough(e, d.Log)
	e.Use(s.recoverPanics())
	e.Use(s.logRequests)
	e.Use(securityHeaders(strings.HasPrefix(d.PublicURL, "https://")))
	e.Use(middleware.BodyLimit(maxBodyLimit)) // every route; groups below set tighter ones
	e.Use(middleware.ContextTimeout(requestTimeout))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if d.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(d.Metrics.Handler()))
	}
	e.GET("/static/*", serveStatic)
	e.GET("/favicon.ico", serveStatic)
	if d.Audio != nil {
		e.GET("/audio/:lang/:file", d.Audio)
	}
	e.GET("/", s.home)

	hooks := e.Group("/webhooks", s.countWebhooks, middleware.BodyLimit(webhookBodyLimit), s.refuseWhileDraining)
	for _, w := range d.Webhooks {
		hooks.POST(w.Path, w.Handler)
		d.Metrics.AddWebhookRoute(w.Path)
	}

	if d.Simulator != nil {
		sim := e.Group("/simulator", middleware.BodyLimit(simulatorBodyLimit), s.limitSimulator)
		sim.GET("", s.simulatorPage)
		sim.POST("/start", s.simulatorStart)
		sim.POST("/send", s.simulatorSend)
		sim.POST("/skip", s.simulatorSkip)
		sim.POST("/reset", s.simulatorReset)
		sim.POST("/api/sessions", s.apiSimulatorStart)
		sim.POST("/api/sessions/:id/messages", s.apiSimulatorSend)
		sim.POST("/api/sessions/:id/skip", s.apiSimulatorSkip)
	}

	// Caseworker pages (caseworker*.go) and the JSON API (api*.go). Pages
	// take a session cookie and a CSRF token on every form; the API takes
	// a bearer token. Participants outside the caller's caseload are 404.
	if d.Auth != nil {
		if len(d.TrustedProxies) > 0 {
			e.IPExtractor = trustedProxyIPs(d.TrustedProxies)
		}
		e.GET("/login", s.loginPage)
		e.POST("/login", s.login, middleware.BodyLimit(formBodyLimit), strictForm)
		e.GET("/setup", s.setupPage, strictForm)
		e.POST("/setup", s.setup, middleware.BodyLimit(formBodyLimit), strictForm)
		cw := []echo.MiddlewareFunc{middleware.BodyLimit(formBodyLimit), strictForm, s.requireSession, s.requireCSRF}
		admin := append(slices.Clip(cw), s.requireAdmin)
		e.POST("/logout", s.logout, cw...)
		e.GET("/account", s.accountPage, cw...)
		e.POST("/account/password", s.changePassword, cw...)
		e.POST("/account/zone", s.changeZone, cw...)
		e.GET("/attention", s.attentionPage, cw...)
		e.POST("/attention/:id", s.attentionAction, cw...)
		e.POST("/attention/:id/reopen", s.attentionReopen, cw...)
		e.GET("/participants", s.participantsPage, cw...)
		e.GET("/participants/new", s.enrolPage, cw...)
		e.POST("/participants", s.enrol, cw...)
		e.GET("/participants/:id", s.participantPage, cw...)
		e.POST("/participants/:id", s.participantUpdate, cw...)
		e.POST("/participants/:id/status", s.participantStatus, cw...)
		e.POST("/participants/:id/code", s.participantCode, cw...)
		e.GET("/participants/:id/code/:ticket", s.participantCodePage, cw...)
		e.POST("/participants/:id/erase", s.participantErase, cw...)
		e.POST("/participants/:id/appointments", s.appointmentAdd, cw...)
		e.POST("/participants/:id/appointments/:aid", s.appointmentChange, cw...)
		e.POST("/participants/:id/appointments/:aid/cancel", s.appointmentCancel, cw...)
		e.GET("/programme", s.programmePage, cw...)
		if d.Programmes != nil {
			s.editorRoutes(cw, admin)
		}
		e.GET("/report", s.reportPage, cw...)
		e.GET("/report.csv", s.reportCSVPage, cw...)
		e.GET("/export/checkins.csv", s.exportCheckInsPage, cw...)
		e.GET("/export/windows.csv", s.exportWindowsPage, cw...)
		e.GET("/audit", s.auditPage, admin...)
		e.GET("/accounts", s.accountsPage, admin...)
		e.POST("/accounts", s.accountCreate, admin...)
		e.POST("/accounts/:id", s.accountUpdate, admin...)
		e.POST("/accounts/:id/tokens", s.tokenCreate, admin...)
		e.POST("/accounts/:id/:verb", s.accountAccess, admin...)
		e.POST("/tokens/:tid/revoke", s.tokenRevoke, cw...)

		e.GET("/api/v1/openapi.json", s.apiOpenAPI)
		api := e.Group("/api/v1", s.apiErrors, middleware.BodyLimit(apiBodyLimit), strictQuery, s.requireToken)
		api.GET("/participants", s.apiParticipants)
		api.POST("/participants", s.apiCreateParticipant)
		api.GET("/participants/:id", s.apiParticipant)
		api.PATCH("/participants/:id", s.apiUpdateParticipant)
		api.DELETE("/participants/:id", s.apiEraseParticipant)
		api.POST("/participants/:id/enrolment-codes", s.apiEnrolmentCode)
		api.GET("/participants/:id/appointments", s.apiAppointments)
		api.POST("/participants/:id/appointments", s.apiAddAppointment)
		api.PATCH("/participants/:id/appointments/:aid", s.apiChangeAppointment)
		api.POST("/participants/:id/appointments/:aid/cancel", s.apiCancelAppointment)
		api.GET("/participants/:id/checkins", s.apiCheckIns)
		api.GET("/participants/:id/windows", s.apiWindows)
		api.GET("/attention", s.apiAttention)
		api.POST("/attention/:id/resolve", s.apiResolveAttention)
		api.GET("/checkins.csv", s.apiExportCheckIns)
		api.GET("/windows.csv", s.apiExportWindows)
		api.GET("/audit", s.apiAudit)
		api.GET("/accounts", s.apiAccounts)
		api.POST("/accounts/:id/disable", s.apiAccountAccess("disable"))
		api.POST("/accounts/:id/enable", s.apiAccountAccess("enable"))
		api.DELETE("/accounts/:id", s.apiAccountAccess("delete"))
		api.GET("/tokens", s.apiTokens)
		api.DELETE("/tokens/:tid", s.apiRevokeToken)
		api.GET("/report", s.apiReport)
		api.GET("/report.csv", s.apiReportCSV)
	}
	return s
}

// ServeHTTP makes the server an http.Handler (tests drive it directly).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Start listens on addr until Shutdown.
func (s *Server) Start(addr string) error {
	err := s.echo.StartServer(s.httpServer(addr))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Listener returns the address the server listens on, once started.
func (s *Server) ListenerAddr() string {
	if a := s.echo.ListenerAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Shutdown stops taking webhooks (they get 503, so providers retry
// elsewhere or later), then waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.echo.Shutdown(ctx)
}

func (s *Server) refuseWhileDraining(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.draining.Load() {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "shutting down")
		}
		return next(c)
	}
}

func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz says whether this process should get traffic: the store answers,
// flows are loaded, and it is not shutting down.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.String(http.StatusServiceUnavailable, "draining\n")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "store unavailable\n")
	}
	if s.deps.Conversation == nil || s.deps.Conversation.Content() == nil {
		return c.String(http.StatusServiceUnavailable, "flows not loaded\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// handleError maps errors to statuses in one place. Internal details never
// reach the response; they are logged without personal data (errors in
// Waymark never carry any).
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, conversation.ErrBusy),
		errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusServiceUnavailable, "temporarily unavailable, try again"
	case errors.Is(err, store.ErrNotFound):
		code, msg = http.StatusNotFound, "not found"
	}
	if code >= 500 {
		s.deps.Log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "status", code, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}

// logRequests logs method, route pattern, status and time. Never the query
// string or body: they may carry a phone number or message text.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.deps.Log.Debug("request", "method", c.Request().Method, "route", c.Path(),
			"status", c.Response().Status, "ms", time.Since(start).Milliseconds())
		return nil
	}
}

// countWebhooks counts every webhook answer by route pattern and status
// (metrics.Webhook); the error, if any, is turned into its response here
// so that the status counted is the one sent.
func (s *Server) countWebhooks(next echo.HandlerFunc) echo.HandlerFunc {
	if s.deps.Metrics == nil {
		return next
	}
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		s.deps.Metrics.Webhook(strings.TrimPrefix(c.Path(), "/webhooks"), c.Response().Status, s.draining.Load())
		return nil
	}
}
