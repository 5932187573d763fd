package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// The JSON API under /api/v1 (docs/api.md, and its contract in
// openapi.json). Callers present an API token made on the Accounts page
// or with `waymark tokens create`; a token acts as its account, with the
// same caseload as on the pages.
//
// Every error is {"error":{"code":"...","message":"..."}} with one of
// these stable codes.
const (
	codeBadRequest   = "bad_request"
	codeInvalidJSON  = "invalid_json"
	codeUnknownField = "unknown_field"
	codeMediaType    = "unsupported_media_type"
	codeTooLarge     = "too_large"
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "not_found"
	codeMethod       = "method_not_allowed"
	codeConflict     = "conflict"
	codeInvalid      = "invalid" // and child_protection: see opError
	codeUnavailable  = "unavailable"
	codeInternal     = "internal"
)

type apiError struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func apiFail(status int, code, msg string) error {
	return &opError{Status: status, Code: code, Message: msg}
}

// apiErrors turns every error of the API group, from a handler, the body
// limit or the router, into the API's JSON error.
func (s *Server) apiErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil {
			return nil
		}
		if c.Response().Committed {
			s.deps.Log.Error("API call failed after answering", "route", c.Path(), "err", err)
			return nil
		}
		status, code, msg := http.StatusInternalServerError, codeInternal, "internal error"
		var oe *opError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &oe):
			status, code, msg = oe.Status, oe.Code, oe.Message
		case errors.As(err, &he):
			status = he.Code
			code = map[int]string{
				http.StatusBadRequest: codeBadRequest, http.StatusUnauthorized: codeUnauthorized,
				http.StatusForbidden: codeForbidden, http.StatusNotFound: codeNotFound,
				http.StatusMethodNotAllowed: codeMethod, http.StatusRequestEntityTooLarge: codeTooLarge,
				http.StatusServiceUnavailable: codeUnavailable,
			}[status]
			if code == "" {
				code = codeBadRequest
			}
			msg = strings.ToLower(http.StatusText(status))
			if m, ok := he.Message.(string); ok && m != http.StatusText(status) {
				msg = m
			}
			if status == http.StatusNotFound && msg == "not found" {
				msg = "no such API call (docs/api.md lists them)"
			}
		case errors.Is(err, store.ErrNotFound):
			status, code, msg = http.StatusNotFound, codeNotFound, "not found"
		case errors.Is(err, store.ErrUnavailable), errors.Is(err, conversation.ErrBusy), errors.Is(err, context.DeadlineExceeded):
			status, code, msg = http.StatusServiceUnavailable, codeUnavailable, "temporarily unavailable, try again"
		}
		if status >= 500 {
			s.deps.Log.Error("API call failed", "method", c.Request().Method, "route", c.Path(), "status", status, "err", err)
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="waymark"`)
		}
		return c.JSON(status, apiError{apiErrorDetail{Code: code, Message: msg}})
	}
}

const apiAccountKey = "waymark.api.account"

func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return apiFail(http.StatusUnauthorized, codeUnauthorized, "send Authorization: Bearer <token> (an administrator makes one on the Accounts page)")
		}
		a, err := s.deps.Auth.AuthenticateAPI(c.Request().Context(), strings.TrimSpace(token))
		if errors.Is(err, auth.ErrBadToken) {
			return apiFail(http.StatusUnauthorized, codeUnauthorized, "unknown API token")
		}
		if err != nil {
			return err
		}
		c.Set(apiAccountKey, a)
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

func apiAccount(c echo.Context) store.Account {
	a, _ := c.Get(apiAccountKey).(store.Account)
	return a
}

// decode reads a JSON body strictly: JSON only, valid UTF-8, no unknown
// fields, nothing after the value, and no more than the body limit.
func decode(c echo.Context, v any) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return apiFail(http.StatusUnsupportedMediaType, codeMediaType, "send Content-Type: application/json")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		var he *echo.HTTPError
		if errors.As(err, &tooBig) || errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return apiFail(http.StatusRequestEntityTooLarge, codeTooLarge, "request body over "+apiBodyLimit+"B")
		}
		return apiFail(http.StatusBadRequest, codeBadRequest, "could not read the request body")
	}
	if !utf8.Valid(body) {
		return apiFail(http.StatusBadRequest, codeInvalidJSON, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json names an unknown field only in its words, and the
		// name is the caller's own.
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return apiFail(http.StatusBadRequest, codeUnknownField, "unknown field "+field)
		}
		return apiFail(http.StatusBadRequest, codeInvalidJSON, "invalid JSON: "+jsonProblem(err))
	}
	if dec.More() {
		return apiFail(http.StatusBadRequest, codeInvalidJSON, "invalid JSON: more than one value")
	}
	return nil
}

// decodeOptional is decode for a request whose body may be left out: an
// empty body is fine, anything else must be what decode accepts, so a
// truncated or non-JSON body is refused rather than ignored.
func decodeOptional(c echo.Context, v any) error {
	r := c.Request()
	if r.ContentLength == 0 && r.Header.Get(echo.HeaderContentType) == "" {
		return nil
	}
	return decode(c, v)
}

// scheduleField tells an absent schedule (unchanged) from null (none).
type scheduleField struct {
	Set   bool
	Value *store.CheckInSchedule
}

func (f *scheduleField) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Value = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a nested decoder does not inherit it
	var sc store.CheckInSchedule
	if err := dec.Decode(&sc); err != nil {
		return err
	}
	f.Value = &sc
	return nil
}

type participantRequest struct {
	Label        *string                  `json:"label"`
	Language     *string                  `json:"language"`
	TimeZone     *string                  `json:"time_zone"`
	CaseworkerID *string                  `json:"caseworker_id"`
	Child        *bool                    `json:"child"`
	Schedule     scheduleField            `json:"schedule"`
	Status       *store.ParticipantStatus `json:"status"` // PATCH only
}

func (r participantRequest) input() participantInput {
	return participantInput{Label: r.Label, Language: r.Language, TimeZone: r.TimeZone, CaseworkerID: r.CaseworkerID,
		Child: r.Child, SetSchedule: r.Schedule.Set, Schedule: r.Schedule.Value}
}

// apiParticipantJSON is a participant as the API shows it: no blind
// index, channels masked.
type apiParticipantJSON struct {
	ID           string                 `json:"id"`
	Label        string                 `json:"label"`
	Language     string                 `json:"language"`
	TimeZone     string                 `json:"time_zone"`
	CaseworkerID string                 `json:"caseworker_id"`
	Child        bool                   `json:"child"`
	Status       string                 `json:"status"`
	OptedOut     bool                   `json:"opted_out"`
	Schedule     *store.CheckInSchedule `json:"schedule"`
	CreatedAt    time.Time              `json:"created_at"`
	UpdatedAt    time.Time              `json:"updated_at"`
	Channels     []apiChannelJSON       `json:"channels,omitempty"`
}

type apiChannelJSON struct {
	Channel    store.Channel `json:"channel"`
	Masked     string        `json:"masked"`
	Reachable  bool          `json:"reachable"`
	Reason     string        `json:"reason,omitempty"`
	LinkedAt   time.Time     `json:"linked_at"`
	LastSeenAt time.Time     `json:"last_seen_at,omitzero"`
}

func participantJSON(p store.Participant, links []store.Link) apiParticipantJSON {
	out := apiParticipantJSON{ID: p.ID, Label: p.Label, Language: p.Language, TimeZone: p.TimeZone, CaseworkerID: p.CaseworkerID,
		Child: p.Child, Status: string(p.Status), OptedOut: p.OptedOut, Schedule: p.Schedule, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for _, l := range links {
		out.Channels = append(out.Channels, apiChannelJSON{Channel: l.Channel, Masked: l.Masked, Reachable: !l.Unreachable,
			Reason: l.Reason, LinkedAt: l.LinkedAt, LastSeenAt: l.LastSeenAt})
	}
	return out
}

type enrolmentJSON struct {
	Code         string    `json:"code"`
	ExpiresAt    time.Time `json:"expires_at"`
	SMS          string    `json:"sms"`
	TelegramLink string    `json:"telegram_link,omitempty"`
}

func (s *Server) enrolmentJSON(code store.EnrolmentCode) enrolmentJSON {
	e := enrolmentJSON{Code: code.Code, ExpiresAt: code.ExpiresAt, SMS: "JOIN " + code.Code}
	if s.deps.TelegramBot != "" {
		e.TelegramLink = telegramLink(s.deps.TelegramBot, code.Code)
	}
	return e
}

func (s *Server) apiParticipants(c echo.Context) error {
	me := apiAccount(c)
	limit, cursor, err := pageParams(c)
	if err != nil {
		return err
	}
	ps, next, err := s.visibleParticipants(c.Request().Context(), me, strings.TrimSpace(c.QueryParam("q")), cursor, limit)
	if err != nil {
		return err
	}
	out := make([]apiParticipantJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, participantJSON(p, nil))
	}
	return c.JSON(http.StatusOK, map[string]any{"participants": out, "next_cursor": nextCursor(next)})
}

func (s *Server) apiCreateParticipant(c echo.Context) error {
	var req participantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Status != nil {
		return apiFail(http.StatusBadRequest, codeUnknownField, `unknown field "status": a new participant is active`)
	}
	p, code, err := s.enrolParticipant(c.Request().Context(), apiAccount(c), req.input())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/participants/"+p.ID)
	return c.JSON(http.StatusCreated, map[string]any{"participant": participantJSON(p, nil), "enrolment": s.enrolmentJSON(code)})
}

func (s *Server) apiParticipant(c echo.Context) error {
	ctx := c.Request().Context()
	me := apiAccount(c)
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	links, err := s.deps.Store.LinksOf(ctx, p.ID)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, me, "participant_viewed", p.ID, "api"); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, participantJSON(p, links))
}

func (s *Server) apiUpdateParticipant(c echo.Context) error {
	ctx := c.Request().Context()
	me := apiAccount(c)
	var req participantRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.update(ctx, me, c.Param("id"), req.input())
	if err != nil {
		return err
	}
	if req.Status != nil {
		if p, err = s.setStatus(ctx, me, p.ID, *req.Status); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, participantJSON(p, nil))
}

func (s *Server) apiEraseParticipant(c echo.Context) error {
	if err := s.erase(c.Request().Context(), apiAccount(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiEnrolmentCode(c echo.Context) error {
	ctx := c.Request().Context()
	me := apiAccount(c)
	var req struct{}
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	code, err := s.newCode(ctx, me, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.enrolmentJSON(code))
}

// Appointments.

type appointmentRequest struct {
	Kind   *string                  `json:"kind"`
	Place  *string                  `json:"place"`
	Date   *string                  `json:"date"`
	Time   *string                  `json:"time"`
	Status *store.AppointmentStatus `json:"status"`
}

func (r appointmentRequest) input() appointmentInput {
	return appointmentInput(r)
}

func (s *Server) apiAppointments(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.participantFor(ctx, apiAccount(c), c.Param("id"))
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(c)
	if err != nil {
		return err
	}
	as, err := s.deps.Store.AppointmentsOf(ctx, p.ID)
	if err != nil {
		return err
	}
	// Ordered by date and time; the ID breaks ties, so the key is unique.
	as, next := pageByKey(as, func(a store.Appointment) string { return a.Date + "T" + a.Time + "|" + a.ID }, cursor, limit)
	if as == nil {
		as = []store.Appointment{}
	}
	return c.JSON(http.StatusOK, map[string]any{"appointments": as, "next_cursor": nextCursor(next)})
}

func (s *Server) apiAddAppointment(c echo.Context) error {
	var req appointmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Status != nil {
		return apiFail(http.StatusBadRequest, codeUnknownField, `unknown field "status": a new appointment is scheduled`)
	}
	a, err := s.addAppointment(c.Request().Context(), apiAccount(c), c.Param("id"), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (s *Server) apiChangeAppointment(c echo.Context) error {
	var req appointmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, err := s.changeAppointment(c.Request().Context(), apiAccount(c), c.Param("id"), c.Param("aid"), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) apiCancelAppointment(c echo.Context) error {
	a, err := s.cancelAppointment(c.Request().Context(), apiAccount(c), c.Param("id"), c.Param("aid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// Check-ins.

// sinceParam reads ?since= as RFC 3339 or a date (midnight UTC); empty
// means def.
func sinceParam(c echo.Context, def time.Time) (time.Time, error) {
	v := strings.TrimSpace(c.QueryParam("since"))
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, apiFail(http.StatusBadRequest, codeBadRequest, "since: use a date (2026-03-01) or an RFC 3339 time")
}

// timePage reads the page of a per-person list ordered by time: since
// (def when not given), limit and cursor. With a cursor the read starts
// at the cursor's record, not at since.
func timePage(c echo.Context, def time.Time) (since time.Time, limit int, cursor string, err error) {
	if since, err = sinceParam(c, def); err != nil {
		return since, 0, "", err
	}
	if limit, cursor, err = pageParams(c); err != nil {
		return since, 0, "", err
	}
	if cursor != "" {
		at, _, err := store.ParseTimeCursor(cursor)
		if err != nil {
			return since, 0, "", errBadCursor
		}
		since = at
	}
	return since, limit, cursor, nil
}

func (s *Server) apiCheckIns(c echo.Context) error {
	ctx := c.Request().Context()
	me := apiAccount(c)
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	since, limit, cursor, err := timePage(c, time.Time{})
	if err != nil {
		return err
	}
	cs, err := s.deps.Store.CheckInsOf(ctx, p.ID, since)
	if err != nil {
		return err
	}
	slices.SortStableFunc(cs, func(a, b store.CheckIn) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID)) })
	cs, next := pageByKey(cs, func(ci store.CheckIn) string { return store.TimeCursor(ci.At, ci.ID) }, cursor, limit)
	if cs == nil {
		cs = []store.CheckIn{}
	}
	if err := s.audit(ctx, me, "checkins_viewed", p.ID, "api"); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"checkins": cs, "next_cursor": nextCursor(next)})
}

// apiWindowsSpan is how far back the windows call looks by default: the
// participant page's twelve weeks.
const apiWindowsSpan = 12 * 7 * 24 * time.Hour

// windowJSON is a check-in window as the API shows it (docs/api.md): the
// fields a reader needs are always there, null when unset; the facts only
// some windows have appear when set.
type windowJSON struct {
	Ref              string              `json:"ref"`
	OpensAt          time.Time           `json:"opens_at"`
	ClosesAt         time.Time           `json:"closes_at"`
	GraceEndsAt      time.Time           `json:"grace_ends_at"`
	Outcome          store.WindowOutcome `json:"outcome"`
	DecidedAt        *time.Time          `json:"decided_at"` // null until the grace has ended
	CheckInID        *string             `json:"checkin_id"`
	AttentionID      *string             `json:"attention_id"`
	ReportedUnableAt *time.Time          `json:"reported_unable_at,omitempty"`
	ExcusedAt        *time.Time          `json:"excused_at,omitempty"`
	ExcusedBy        string              `json:"excused_by,omitempty"`
}

func windowOf(w store.Window) windowJSON {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	id := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return windowJSON{Ref: w.Ref, OpensAt: w.OpensAt.UTC(), ClosesAt: w.ClosesAt.UTC(), GraceEndsAt: w.GraceEndsAt.UTC(),
		Outcome: outcomeOf(w), DecidedAt: at(w.DecidedAt), CheckInID: id(w.CheckInID), AttentionID: id(w.AttentionID),
		ReportedUnableAt: at(w.ReportedUnableAt), ExcusedAt: at(w.ExcusedAt), ExcusedBy: w.ExcusedBy}
}

func (s *Server) apiWindows(c echo.Context) error {
	ctx := c.Request().Context()
	me := apiAccount(c)
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	now := s.now()
	since, limit, cursor, err := timePage(c, now.Add(-apiWindowsSpan))
	if err != nil {
		return err
	}
	ws, next, err := s.windowPage(ctx, p, since, now)
	if err != nil {
		return err
	}
	key := func(w store.Window) string { return store.TimeCursor(w.OpensAt, w.Ref) }
	if c.QueryParam("limit") == "" {
		limit = maxWindowPage
	}
	ws, nextC := pageByKey(ws, key, cursor, limit)
	cut := nextC != ""
	if !cut && !next.IsZero() && len(ws) > 0 {
		nextC = key(ws[len(ws)-1]) // the read stopped short of now: more follow
	}
	out := make([]windowJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, windowOf(w))
	}
	if err := s.audit(ctx, me, "windows_viewed", p.ID, "api"); err != nil {
		return err
	}
	body := map[string]any{"windows": out, "next_cursor": nextCursor(nextC)}
	if !next.IsZero() && !cut {
		body["next_since"] = next.UTC() // the older way to continue, kept for callers that use it
	}
	return c.JSON(http.StatusOK, body)
}

// csvExport is one of the CSV downloads: its name (of the file and, with
// "_exported", of its audit entry), its columns, its default reach back,
// and the rows of one participant.
type csvExport struct {
	name   string
	header []string
	span   time.Duration
	rows   func(ctx context.Context, p store.Participant, since, now time.Time) ([][]string, error)
}

// exportCSV writes rows of the caller's caseload (or one participant's)
// since a time as CSV, and records the export. Every cell is an ID, a
// time or a code Waymark made: no label, no phone number, nothing a
// person or caseworker typed, so no cell can start a spreadsheet formula.
func (s *Server) exportCSV(c echo.Context, me store.Account, x csvExport) error {
	ctx := c.Request().Context()
	now := s.now()
	since, err := sinceParam(c, now.Add(-x.span))
	if err != nil {
		var oe *opError
		if errors.As(err, &oe) && c.Get(sessionKey) != nil {
			return s.pageError(c, err)
		}
		return err
	}
	var ps []store.Participant
	pid := strings.TrimSpace(c.QueryParam("participant"))
	if pid != "" {
		p, err := s.participantFor(ctx, me, pid)
		if err != nil {
			if c.Get(sessionKey) != nil {
				return s.pageError(c, err)
			}
			return err
		}
		ps = []store.Participant{p}
	} else if ps, err = s.allVisible(ctx, me); err != nil {
		return err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(x.header)
	rows := 0
	for _, p := range ps {
		rs, err := x.rows(ctx, p, since, now)
		if err != nil {
			return err
		}
		_ = w.WriteAll(rs)
		rows += len(rs)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("web: export %s: %w", x.name, err)
	}
	scope := "caseload"
	if pid != "" {
		scope = "participant"
	}
	detail := fmt.Sprintf("%s csv: %d rows since %s, %s", x.name, rows, since.UTC().Format(time.RFC3339), scope)
	if err := s.audit(ctx, me, x.name+"_exported", pid, detail); err != nil {
		return err
	}
	name := x.name + "-" + now.UTC().Format("20060102") + ".csv"
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

// exportSpan is how far back an export reaches by default.
const exportSpan = 90 * 24 * time.Hour

// checkInsExport: each check-in, when and through which channel.
func (s *Server) checkInsExport() csvExport {
	return csvExport{name: "checkins", header: []string{"participant_id", "at", "channel", "outcome"}, span: exportSpan,
		rows: func(ctx context.Context, p store.Participant, since, _ time.Time) ([][]string, error) {
			cs, err := s.deps.Store.CheckInsOf(ctx, p.ID, since)
			if err != nil {
				return nil, err
			}
			out := make([][]string, 0, len(cs))
			for _, ci := range cs {
				out = append(out, []string{ci.ParticipantID, csvTime(ci.At), string(ci.Channel), string(ci.Outcome)})
			}
			return out, nil
		}}
}

// windowsExport: each check-in window and its outcome, as the windows
// call shows them; every page of them, however far back since is.
func (s *Server) windowsExport() csvExport {
	return csvExport{name: "windows", span: exportSpan,
		header: []string{"participant_id", "ref", "opens_at", "closes_at", "grace_ends_at", "outcome", "decided_at",
			"checkin_id", "attention_id", "reported_unable_at", "excused_at", "excused_by"},
		rows: func(ctx context.Context, p store.Participant, since, now time.Time) ([][]string, error) {
			var out [][]string
			for {
				ws, next, err := s.windowPage(ctx, p, since, now)
				if err != nil {
					return nil, err
				}
				for _, w := range ws {
					out = append(out, []string{p.ID, w.Ref, csvTime(w.OpensAt), csvTime(w.ClosesAt), csvTime(w.GraceEndsAt),
						string(outcomeOf(w)), csvTime(w.DecidedAt), w.CheckInID, w.AttentionID,
						csvTime(w.ReportedUnableAt), csvTime(w.ExcusedAt), w.ExcusedBy})
				}
				if !next.After(since) {
					return out, nil
				}
				since = next
			}
		}}
}

// csvTime is a time in a CSV cell: RFC 3339 in UTC, empty when unset.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) apiExportCheckIns(c echo.Context) error {
	return s.exportCSV(c, apiAccount(c), s.checkInsExport())
}

func (s *Server) apiExportWindows(c echo.Context) error {
	return s.exportCSV(c, apiAccount(c), s.windowsExport())
}

// Attention.

type attentionJSON struct {
	store.AttentionItem
	Child bool `json:"child"`
}

func (s *Server) apiAttention(c echo.Context) error {
	me := apiAccount(c)
	cw := c.QueryParam("caseworker")
	if cw != "" && cw != me.ID && !canSeeAll(me) {
		return apiFail(http.StatusForbidden, codeForbidden, "only an administrator can list another caseworker's queue")
	}
	openOnly := true
	if v := c.QueryParam("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apiFail(http.StatusBadRequest, codeBadRequest, "open: true or false")
		}
		openOnly = b
	}
	limit, cursor, err := pageParams(c)
	if err != nil {
		return err
	}
	kinds, err := kindsParam(c)
	if err != nil {
		return err
	}
	items, byID, next, err := s.visibleAttention(c.Request().Context(), me, openOnly, kinds, cw, cursor, limit)
	if err != nil {
		return err
	}
	out := make([]attentionJSON, 0, len(items))
	for _, it := range items {
		out = append(out, attentionJSON{AttentionItem: it, Child: byID[it.ParticipantID].Child})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out, "next_cursor": nextCursor(next)})
}

func (s *Server) apiResolveAttention(c echo.Context) error {
	var req struct {
		Resolution string `json:"resolution"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	it, err := s.resolve(c.Request().Context(), apiAccount(c), c.Param("id"), req.Resolution)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, it)
}

// Audit.

func (s *Server) apiAudit(c echo.Context) error {
	if !canSeeAll(apiAccount(c)) {
		return apiFail(http.StatusForbidden, codeForbidden, "the audit log is for administrators")
	}
	q, err := auditQueryOf(c, time.UTC)
	if err != nil {
		return err
	}
	entries, next, err := s.deps.Store.PageAudit(c.Request().Context(), q)
	if err != nil {
		return badCursor(err)
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries, "next_cursor": nextCursor(next)})
}
