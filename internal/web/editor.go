package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/store"
)

// The programme editor (docs/flows.md, "Editing in the browser"): the
// draft, its check, trying it in the simulator, publishing, the history
// with its diffs, export and rollback. Every caseworker may look; only
// administrators change anything (the routes say so).

type editorView struct {
	page
	Live      store.ProgrammeVersion
	Draft     store.ProgrammeDraft
	HasDraft  bool
	Changes   []programme.Change // draft against the live version
	Conflict  string             // why the draft cannot go over the live version
	Report    *check.Report
	Errors    []diag.Problem
	Warnings  int
	History   []versionRow
	Languages []languageOption
	CanEdit   bool
	// FromFiles is set when the live version came from the folders after
	// the draft began: the page says what that means.
	FromFiles bool
}

type versionRow struct {
	store.ProgrammeVersion
	Who  string
	Live bool
}

func (s *Server) canEdit(c echo.Context) bool { return session(c).Account.Role == store.RoleAdmin }

// editorNotices are the confirmations an editor redirect may ask for.
var editorNotices = map[string]string{
	"published":   "Published. Every process uses the new version within seconds.",
	"rolled_back": "Rolled back: the earlier version is published again as the newest one.",
	"discarded":   "Draft discarded.",
	"saved":       "Saved in the draft. Nothing changes for anyone until you publish.",
	"unchanged":   "The draft is the same as the live version: nothing to publish.",
}

func (s *Server) editorPage(c echo.Context) error {
	return s.renderEditor(c, http.StatusOK, nil, "")
}

func (s *Server) renderEditor(c echo.Context, status int, report *check.Report, errMsg string) error {
	ctx := c.Request().Context()
	p := s.deps.Programmes
	v := editorView{page: s.page(c, "Programme editor", "programme"), CanEdit: s.canEdit(c), Report: report}
	v.Notice = editorNotices[c.QueryParam("done")]
	v.Error = errMsg
	n, err := s.deps.Store.CurrentProgramme(ctx)
	if err != nil {
		return err
	}
	if v.Live, err = s.deps.Store.GetProgramme(ctx, n); err != nil {
		return err
	}
	d, err := s.deps.Store.GetProgrammeDraft(ctx)
	switch {
	case err == nil:
		v.Draft, v.HasDraft = d, true
		files, live, err := p.Rebased(ctx, d)
		if errors.Is(err, programme.ErrConflict) {
			v.Conflict, _ = refusal.Message(err)
		} else if err != nil {
			return err
		} else {
			v.Changes = programme.Diff(live.Files, files)
		}
		v.FromFiles = d.Basis != n && v.Live.Source == programme.FromFiles
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if report != nil {
		v.Errors = diag.Errors(report.Problems)
		v.Warnings = len(report.Problems) - len(v.Errors)
	}
	names, err := s.versionAuthors(ctx)
	if err != nil {
		return err
	}
	list, err := s.deps.Store.ListProgrammes(ctx)
	if err != nil {
		return err
	}
	for _, h := range list {
		v.History = append(v.History, versionRow{ProgrammeVersion: h, Who: names(h.By), Live: h.Number == n})
	}
	if content := s.deps.Conversation.Content(); content != nil {
		for _, l := range content.Flows.Programme.Languages {
			v.Languages = append(v.Languages, languageOption{Code: l, Name: content.Locale.Name(l), Selected: l == content.Flows.Programme.DefaultLanguage})
		}
	}
	return s.render(c, status, "editor", v)
}

// versionAuthors returns who an account ID is, for the history: a username,
// "the folders" for versions taken from the files.
func (s *Server) versionAuthors(ctx context.Context) (func(string) string, error) {
	byID, _, err := s.accountNames(ctx)
	if err != nil {
		return nil, err
	}
	return func(id string) string {
		if id == programme.FilesActor {
			return "the folders"
		}
		if n, ok := byID[id]; ok {
			return n
		}
		return "a deleted account"
	}, nil
}

func (s *Server) editorCheck(c echo.Context) error {
	report, err := s.deps.Programmes.Check(c.Request().Context())
	if errors.Is(err, programme.ErrConflict) {
		return s.renderEditor(c, http.StatusConflict, nil, userMessage(err))
	}
	if err != nil {
		return err
	}
	return s.renderEditor(c, http.StatusOK, &report, "")
}

func (s *Server) editorPublish(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	_, report, err := s.deps.Programmes.Publish(ctx, me.ID)
	switch {
	case errors.Is(err, programme.ErrUnchanged):
		return c.Redirect(http.StatusSeeOther, "/programme/editor?done=unchanged")
	case errors.Is(err, programme.ErrBroken):
		return s.renderEditor(c, http.StatusUnprocessableEntity, &report, "Not published: the check found errors. Correct them below, then publish again.")
	case errors.Is(err, programme.ErrNoDraft):
		return s.renderEditor(c, http.StatusConflict, nil, "There is no draft to publish.")
	case errors.Is(err, programme.ErrConflict), errors.Is(err, programme.ErrBusy):
		return s.renderEditor(c, http.StatusConflict, nil, userMessage(err))
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor?done=published")
}

func (s *Server) editorDiscard(c echo.Context) error {
	rev, _ := strconv.Atoi(c.FormValue("revision"))
	err := s.deps.Programmes.Discard(c.Request().Context(), rev)
	if errors.Is(err, store.ErrStale) {
		return s.renderEditor(c, http.StatusConflict, nil, "Someone changed the draft since you opened this page; look at it again before discarding it.")
	}
	if err != nil {
		return err
	}
	if err := s.audit(c.Request().Context(), session(c).Account, "programme_draft_discarded", "", ""); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor?done=discarded")
}

func (s *Server) editorRollback(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return echo.NewHTTPError(http.StatusNotFound, "no such version")
	}
	_, err = s.deps.Programmes.Rollback(c.Request().Context(), session(c).Account.ID, n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "no such version")
	case errors.Is(err, programme.ErrBroken), errors.Is(err, programme.ErrBusy):
		return s.renderEditor(c, http.StatusConflict, nil, userMessage(err))
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor?done=rolled_back")
}

// editorTry opens the simulator on the draft as it would be published:
// a throwaway person on the scratch store, talking to the draft's flows
// and words; nothing is sent and nothing changes for anyone.
func (s *Server) editorTry(c echo.Context) error {
	if s.deps.Simulator == nil {
		return s.renderEditor(c, http.StatusConflict, nil, "The simulator is off here (WAYMARK_SIMULATOR); turn it on to try a draft.")
	}
	ctx := c.Request().Context()
	content, report, err := s.draftContent(ctx)
	if errors.Is(err, programme.ErrConflict) {
		return s.renderEditor(c, http.StatusConflict, nil, userMessage(err))
	}
	if err != nil {
		return err
	}
	if content == nil {
		return s.renderEditor(c, http.StatusUnprocessableEntity, &report, "The draft cannot be tried while the check finds errors in it.")
	}
	sess, err := s.deps.Simulator.NewSessionOn(ctx, c.FormValue("lang"), func() *conversation.Content { return content })
	if err != nil {
		return simError(err)
	}
	c.SetCookie(&http.Cookie{Name: simCookie, Value: sess.ID, Path: "/simulator", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 24 * 3600})
	return c.Redirect(http.StatusSeeOther, "/simulator")
}

// draftContent loads the draft as it would be published; nil content
// with the report when it has errors.
func (s *Server) draftContent(ctx context.Context) (*conversation.Content, check.Report, error) {
	p := s.deps.Programmes
	d, err := p.Draft(ctx)
	if err != nil {
		return nil, check.Report{}, err
	}
	files, _, err := p.Rebased(ctx, d)
	if err != nil {
		return nil, check.Report{}, err
	}
	content, _ := files.Load(p.FlowsBase())
	if content == nil {
		return nil, files.Check(p.FlowsBase()), nil
	}
	return content, check.Report{}, nil
}

type versionView struct {
	page
	Version store.ProgrammeVersion
	Who     string
	Against int
	Changes []programme.Change
	CanEdit bool
	Live    bool
}

func (s *Server) versionPage(c echo.Context) error {
	ctx := c.Request().Context()
	v, err := s.versionParam(c)
	if err != nil {
		return err
	}
	var before programme.Files
	if v.Number > 1 {
		prev, err := s.deps.Store.GetProgramme(ctx, v.Number-1)
		if err != nil {
			return err
		}
		before = prev.Files
	}
	names, err := s.versionAuthors(ctx)
	if err != nil {
		return err
	}
	live, err := s.deps.Store.CurrentProgramme(ctx)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "editor_version", versionView{
		page: s.page(c, fmt.Sprintf("Programme version %d", v.Number), "programme"), Version: v, Who: names(v.By),
		Against: v.Number - 1, Changes: programme.Diff(before, v.Files), CanEdit: s.canEdit(c), Live: live == v.Number,
	})
}

func (s *Server) versionExport(c echo.Context) error {
	v, err := s.versionParam(c)
	if err != nil {
		return err
	}
	b, err := programme.Export(v.Files)
	if err != nil {
		return err
	}
	if err := s.audit(c.Request().Context(), session(c).Account, "programme_exported", "", fmt.Sprintf("version %d", v.Number)); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="programme-v%d.zip"`, v.Number))
	return c.Blob(http.StatusOK, "application/zip", b)
}

func (s *Server) versionParam(c echo.Context) (store.ProgrammeVersion, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(c.Param("n"), ".zip"))
	if err != nil || n < 1 {
		return store.ProgrammeVersion{}, echo.NewHTTPError(http.StatusNotFound, "no such version")
	}
	v, err := s.deps.Store.GetProgramme(c.Request().Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		return v, echo.NewHTTPError(http.StatusNotFound, "no such version")
	}
	return v, err
}

// editDraft applies change to the draft as the signed-in administrator
// and audits it with detail (file and message names only).
func (s *Server) editDraft(c echo.Context, detail string, change func(programme.Files) error) error {
	ctx := c.Request().Context()
	me := session(c).Account
	if _, err := s.deps.Programmes.Edit(ctx, me.ID, change); err != nil {
		return err
	}
	return s.audit(ctx, me, "programme_draft_edited", "", detail)
}

// editorRoutes registers the editor's pages (called from NewServer, the
// one place routes are declared): every caseworker may look; changes are
// for administrators.
func (s *Server) editorRoutes(cw, admin []echo.MiddlewareFunc) {
	e := s.echo
	e.GET("/programme/editor", s.editorPage, cw...)
	e.GET("/programme/editor/settings", s.settingsPage, cw...)
	e.GET("/programme/editor/words", s.wordsPage, cw...)
	e.GET("/programme/editor/message/:id", s.messageWordsPage, cw...)
	e.GET("/programme/editor/flows/:id", s.flowEditorPage, cw...)
	e.GET("/programme/editor/versions/:n", s.versionPage, cw...)
	e.GET("/programme/editor/versions/:n/export", s.versionExport, cw...)
	e.POST("/programme/editor/check", s.editorCheck, cw...)
	e.POST("/programme/editor/settings", s.settingsSave, admin...)
	e.POST("/programme/editor/words", s.wordsSave, admin...)
	e.POST("/programme/editor/flows/:id/nodes/:node", s.flowNodeSave, admin...)
	e.POST("/programme/editor/flows/:id/nodes/:node/remove", s.flowNodeRemove, admin...)
	e.POST("/programme/editor/flows/:id/topics", s.flowTopicAdd, admin...)
	e.POST("/programme/editor/flows/:id/steps", s.flowStepAdd, admin...)
	e.POST("/programme/editor/try", s.editorTry, admin...)
	e.POST("/programme/editor/publish", s.editorPublish, admin...)
	e.POST("/programme/editor/discard", s.editorDiscard, admin...)
	e.POST("/programme/editor/versions/:n/rollback", s.editorRollback, admin...)
}
