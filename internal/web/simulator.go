package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/simulator"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Assets is the static files served under /static.
func Assets() fs.FS {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}

const simCookie = "waymark_sim"

type languageOption struct {
	Code, Name string
	Selected   bool
}

type simulatorView struct {
	Error      string
	Session    *simulator.Session
	Now        string
	Transcript []simulator.Reply
	Languages  []languageOption
}

func (s *Server) simSession(c echo.Context) *simulator.Session {
	ck, err := c.Cookie(simCookie)
	if err != nil {
		return nil
	}
	sess, _ := s.deps.Simulator.Session(ck.Value)
	return sess
}

func (s *Server) simulatorPage(c echo.Context) error {
	return s.renderSimulator(c, http.StatusOK, "")
}

func (s *Server) renderSimulator(c echo.Context, status int, errMsg string) error {
	v := simulatorView{Error: errMsg, Session: s.simSession(c)}
	content := s.deps.Conversation.Content()
	for _, l := range content.Flows.Programme.Languages {
		v.Languages = append(v.Languages, languageOption{Code: l, Name: content.Locale.Name(l), Selected: l == content.Flows.Programme.DefaultLanguage})
	}
	if v.Session != nil {
		v.Now = v.Session.Now().Format("Mon 2 Jan 2006 15:04 MST")
		v.Transcript = v.Session.Transcript()
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().WriteHeader(status)
	return pages.ExecuteTemplate(c.Response(), "simulator.html", v)
}

func (s *Server) simulatorStart(c echo.Context) error {
	sess, err := s.deps.Simulator.NewSession(c.Request().Context(), c.FormValue("lang"))
	if err != nil {
		return simError(err)
	}
	c.SetCookie(&http.Cookie{Name: simCookie, Value: sess.ID, Path: "/simulator", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 24 * 3600})
	return c.Redirect(http.StatusSeeOther, "/simulator")
}

func (s *Server) simulatorSend(c echo.Context) error {
	sess := s.simSession(c)
	if sess == nil {
		return c.Redirect(http.StatusSeeOther, "/simulator")
	}
	if _, err := sess.Send(c.Request().Context(), c.FormValue("text")); err != nil {
		return simError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/simulator#text")
}

func (s *Server) simulatorSkip(c echo.Context) error {
	sess := s.simSession(c)
	if sess == nil {
		return c.Redirect(http.StatusSeeOther, "/simulator")
	}
	d, err := flow.ParseDuration(c.FormValue("duration"))
	if err == nil {
		_, err = sess.Skip(c.Request().Context(), d)
	}
	if errors.Is(err, simulator.ErrBadSkip) || err != nil && d == 0 {
		return s.renderSimulator(c, http.StatusBadRequest, "Skip by a duration between 1m and 60d, like 6h or 3d.")
	}
	if err != nil {
		return simError(err)
	}
	return c.Redirect(http.StatusSeeOther, "/simulator")
}

func (s *Server) simulatorReset(c echo.Context) error {
	if sess := s.simSession(c); sess != nil {
		s.deps.Simulator.Drop(c.Request().Context(), sess.ID)
	}
	c.SetCookie(&http.Cookie{Name: simCookie, Value: "", Path: "/simulator", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return c.Redirect(http.StatusSeeOther, "/simulator")
}

// The JSON API does the same as the page, for scripts and tests.

type simReply struct {
	Text    string      `json:"text"`
	Choices []simChoice `json:"choices,omitempty"`
	At      time.Time   `json:"at"`
}

type simChoice struct {
	Number int    `json:"number"`
	Label  string `json:"label"`
}

func toSimReplies(rs []simulator.Reply) []simReply {
	out := make([]simReply, 0, len(rs))
	for _, r := range rs {
		sr := simReply{Text: r.Text, At: r.At}
		for _, ch := range r.Choices {
			sr.Choices = append(sr.Choices, simChoice{Number: ch.Number, Label: ch.Label})
		}
		out = append(out, sr)
	}
	return out
}

func (s *Server) apiSimulatorStart(c echo.Context) error {
	var req struct {
		Language string `json:"language"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.deps.Simulator.NewSession(c.Request().Context(), req.Language)
	if err != nil {
		return simError(err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"id": sess.ID, "code": sess.Code})
}

func (s *Server) apiSession(c echo.Context) (*simulator.Session, error) {
	sess, ok := s.deps.Simulator.Session(c.Param("id"))
	if !ok {
		return nil, echo.NewHTTPError(http.StatusNotFound, "no such simulator session")
	}
	return sess, nil
}

func (s *Server) apiSimulatorSend(c echo.Context) error {
	sess, err := s.apiSession(c)
	if err != nil {
		return err
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	replies, err := sess.Send(c.Request().Context(), req.Text)
	if err != nil {
		return simError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"replies": toSimReplies(replies)})
}

func (s *Server) apiSimulatorSkip(c echo.Context) error {
	sess, err := s.apiSession(c)
	if err != nil {
		return err
	}
	var req struct {
		Duration string `json:"duration"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	d, err := flow.ParseDuration(req.Duration)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "duration: use e.g. 6h or 3d")
	}
	replies, err := sess.Skip(c.Request().Context(), d)
	if errors.Is(err, simulator.ErrBadSkip) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return simError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"replies": toSimReplies(replies), "now": sess.Now()})
}
