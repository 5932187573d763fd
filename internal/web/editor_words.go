package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/refusal"
	"github.com/waymark-atd/waymark/internal/sms"
)

// The Words page: every message of one language beside the English, with
// what it costs as SMS, the placeholders that must stay, the notes for
// translators, and whether a reader of the language has checked it.

type wordsView struct {
	page
	Lang, LangName, Dir string
	English             bool
	Languages           []languageOption
	Group               string
	Groups              []string
	ReviewOnly          bool
	ToReview            int
	Rows                []wordRow
	CanEdit             bool
	Currency            string
}

type wordRow struct {
	// The row's language, and the form's hidden fields that bring the
	// page back after a save.
	Lang, LangName, Dir, Currency string
	Back, Group                   string
	ReviewOnly, CanEdit           bool
	CSRF                          string

	ID, Form, Anchor string
	English          []locale.Piece
	Text             string
	Pieces           []locale.Piece
	Notes            string
	Fields           []string
	Reviewed         bool
	NeedsReview      bool
	Sent             bool // sent as SMS, so its length matters
	Encoding         string
	Segments         int
	Chars            int
	// Extra is how many more characters the placeholders take once
	// filled, for the count the page keeps as one types.
	Extra   int
	Cost    string
	Folded  bool
	Error   string
	Changed bool
}

// draftWords loads the draft's words and programme for the Words page.
func (s *Server) draftWords(c echo.Context) (programme.Files, *locale.Bundle, *flow.Set, error) {
	d, err := s.deps.Programmes.Draft(c.Request().Context())
	if err != nil {
		return nil, nil, nil, err
	}
	files := programme.Files(d.Files)
	fl, lo := files.FS(s.deps.Programmes.FlowsBase())
	b, problems := locale.Load(lo)
	if b == nil {
		return files, nil, nil, refusal.Newf("editor", "the draft's locale files have errors: %s", firstProblem(problems))
	}
	set, _ := flow.Load(fl)
	return files, b, set, nil
}

// draftTrouble answers a page that could not read the draft: a refusal
// (its words do not load) on the editor's page, anything else as the
// service's own error.
func (s *Server) draftTrouble(c echo.Context, err error) error {
	if _, ok := refusal.Message(err); !ok {
		return err
	}
	return s.renderEditor(c, http.StatusConflict, nil, userMessage(err))
}

func firstProblem(ps []diag.Problem) string {
	if es := diag.Errors(ps); len(es) > 0 {
		return es[0].String()
	}
	return "see Check"
}

func (s *Server) wordsPage(c echo.Context) error {
	return s.renderWords(c, http.StatusOK, nil)
}

// rowInput is what an administrator typed into one row, kept when it is
// refused so that nothing is lost.
type rowInput struct {
	lang, id, form, text, err string
}

func (s *Server) renderWords(c echo.Context, status int, typed *rowInput) error {
	files, b, set, err := s.draftWords(c)
	if err != nil {
		return s.draftTrouble(c, err)
	}
	lang := c.FormValue("lang")
	if lang == "" && set != nil {
		// The first language offered after English: the one most likely
		// to be worked on.
		for _, l := range set.Programme.Languages {
			if l != locale.English {
				lang = l
				break
			}
		}
	}
	if _, ok := files[programme.Locale(lang)]; !ok {
		lang = locale.English
	}
	v := wordsView{
		page: s.page(c, "Words · Programme editor", "programme"), Lang: lang, LangName: b.Name(lang), Dir: locale.Direction(lang),
		English: lang == locale.English, Group: c.FormValue("group"), ReviewOnly: c.FormValue("review") == "1", CanEdit: s.canEdit(c),
	}
	v.Notice = editorNotices[c.QueryParam("done")]
	for _, l := range b.Languages() {
		v.Languages = append(v.Languages, languageOption{Code: l, Name: b.Name(l), Selected: l == lang})
	}
	var prog flow.Programme
	if set != nil {
		prog = set.Programme
		b.SetSampleData(check.SampleData(prog, lang))
	}
	v.Currency = prog.Report.Currency
	units, err := b.Units(lang, []byte(files[programme.Locale(locale.English)]))
	if err != nil {
		return err
	}
	groups := map[string]bool{}
	for _, u := range units {
		g, _, _ := strings.Cut(u.ID, ".")
		groups[g] = true
		needs := lang != locale.English && !u.Reviewed
		if needs {
			v.ToReview++
		}
		if v.Group != "" && g != v.Group || v.ReviewOnly && !needs {
			continue
		}
		r := wordRow{
			Lang: lang, LangName: v.LangName, Dir: v.Dir, Currency: prog.Report.Currency, Group: v.Group, ReviewOnly: v.ReviewOnly,
			CanEdit: v.CanEdit, CSRF: v.CSRF,
			ID: u.ID, Form: u.Form, Anchor: anchorOf(u.ID, u.Form), English: locale.Pieces(u.English), Text: u.Text,
			Notes: u.Notes, Fields: u.Fields, Reviewed: u.Reviewed, NeedsReview: needs, Sent: u.MaxChars > 0,
		}
		if typed != nil && typed.id == u.ID && typed.form == u.Form {
			r.Text, r.Error, r.Changed = typed.text, typed.err, true
		}
		r.Pieces = locale.Pieces(r.Text)
		if r.Sent {
			s.measureRow(&r, b, prog, lang)
		}
		v.Rows = append(v.Rows, r)
	}
	for g := range groups {
		v.Groups = append(v.Groups, g)
	}
	slices.Sort(v.Groups)
	return s.render(c, status, "editor_words", v)
}

// measureRow counts what a message costs as SMS, placeholders filled as
// the programme fills them, folded where programme.yaml folds.
func (s *Server) measureRow(r *wordRow, b *locale.Bundle, prog flow.Programme, lang string) {
	filled := b.Filled(r.Text)
	r.Extra = utf8.RuneCountInString(filled) - utf8.RuneCountInString(r.Text)
	if prog.Folds(lang) {
		filled, r.Folded = sms.FoldGSM(filled), true
	}
	enc, n := sms.Segments(filled)
	r.Encoding, r.Segments, r.Chars = enc.String(), n, utf8.RuneCountInString(filled)
	if prog.Report.SegmentPrice > 0 {
		r.Cost = fmt.Sprintf("%.2f", float64(n)*prog.Report.SegmentPrice)
	}
}

func anchorOf(id, form string) string {
	a := "m-" + strings.ReplaceAll(id, ".", "-")
	if form != "" {
		a += "-" + form
	}
	return a
}

// maxWords is the longest message the editor takes: what one inbound SMS
// may hold, far more than any message should be.
const maxWords = conversation.MaxText

func (s *Server) wordsSave(c echo.Context) error {
	lang, id, form := c.FormValue("lang"), c.FormValue("id"), c.FormValue("form")
	text := strings.TrimSpace(strings.ReplaceAll(c.FormValue("text"), "\r\n", "\n"))
	reviewed := c.FormValue("reviewed") == "on"
	refuse := func(format string, args ...any) error {
		in := &rowInput{lang: lang, id: id, form: form, text: text, err: fmt.Sprintf(format, args...)}
		if c.FormValue("back") == "message" {
			return s.renderMessageWords(c, http.StatusUnprocessableEntity, id, in)
		}
		return s.renderWords(c, http.StatusUnprocessableEntity, in)
	}
	files, b, _, err := s.draftWords(c)
	if err != nil {
		return s.draftTrouble(c, err)
	}
	if _, ok := files[programme.Locale(lang)]; !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such language in the programme")
	}
	units, err := b.Units(lang, []byte(files[programme.Locale(locale.English)]))
	if err != nil {
		return err
	}
	i := slices.IndexFunc(units, func(u locale.Unit) bool { return u.ID == id && u.Form == form })
	if i < 0 {
		return echo.NewHTTPError(http.StatusNotFound, "no such message")
	}
	switch {
	case text == "":
		return refuse("Write the words: a message may not be empty.")
	case utf8.RuneCountInString(text) > maxWords:
		return refuse("This is %d characters; a message may have at most %d.", utf8.RuneCountInString(text), maxWords)
	case !utf8.ValidString(text):
		return refuse("The words hold characters that are not text.")
	}
	if lang != locale.English {
		if missing, extra := fieldsDiffer(units[i].Fields, locale.Fields(text)); missing != "" || extra != "" {
			var why []string
			if missing != "" {
				why = append(why, missing+" must stay, exactly as written")
			}
			if extra != "" {
				why = append(why, extra+" is not in the English")
			}
			return refuse("Keep the placeholders as in English: %s.", strings.Join(why, "; "))
		}
	}
	name := programme.Locale(lang)
	err = s.editDraft(c, name+" "+id, func(f programme.Files) error {
		out, err := programme.SetMessage(f[name], id, form, text, reviewed)
		if err != nil {
			return err
		}
		if lang == locale.English && text != units[i].English {
			// The English changed: every translation checked against the
			// old words needs a reader's eye again.
			if err := needReviewAgain(f, id); err != nil {
				return err
			}
		}
		f[name] = out
		return nil
	})
	if err != nil {
		if _, ok := errors.AsType[*opError](err); ok {
			return err
		}
		if _, ok := refusal.Message(err); !ok {
			return err
		}
		return refuse("%s", userMessage(err))
	}
	if c.FormValue("back") == "message" {
		return c.Redirect(http.StatusSeeOther, "/programme/editor/message/"+url.PathEscape(id)+"?done=saved#"+lang+"-"+anchorOf(id, form))
	}
	q := url.Values{"lang": {lang}, "done": {"saved"}}
	if g := c.FormValue("group"); g != "" {
		q.Set("group", g)
	}
	if c.FormValue("review") == "1" {
		q.Set("review", "1")
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor/words?"+q.Encode()+"#"+anchorOf(id, form))
}

// fieldsDiffer names the placeholders of want missing from got, and
// those of got not in want.
func fieldsDiffer(want, got []string) (missing, extra string) {
	var m, e []string
	for _, f := range want {
		if !slices.Contains(got, f) {
			m = append(m, f)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			e = append(e, f)
		}
	}
	return strings.Join(m, ", "), strings.Join(e, ", ")
}

// needReviewAgain drops the review mark of message id in every language
// but English, keeping the words.
func needReviewAgain(f programme.Files, id string) error {
	for _, file := range f.Names() {
		if !strings.HasPrefix(file, programme.LocalesDir+"/") || file == programme.Locale(locale.English) {
			continue
		}
		out, err := programme.Unreviewed(f[file], id)
		if err != nil {
			return err
		}
		f[file] = out
	}
	return nil
}

// The message page: one message in every language, beside the English.

type messageWordsView struct {
	page
	ID       string
	English  []locale.Piece
	Notes    string
	Fields   []string
	Rows     []wordRow
	CanEdit  bool
	Currency string
}

func (s *Server) messageWordsPage(c echo.Context) error {
	return s.renderMessageWords(c, http.StatusOK, c.Param("id"), nil)
}

func (s *Server) renderMessageWords(c echo.Context, status int, id string, typed *rowInput) error {
	files, b, set, err := s.draftWords(c)
	if err != nil {
		return s.draftTrouble(c, err)
	}
	en := []byte(files[programme.Locale(locale.English)])
	v := messageWordsView{page: s.page(c, id+" · Words · Programme editor", "programme"), ID: id, CanEdit: s.canEdit(c)}
	v.Notice = editorNotices[c.QueryParam("done")]
	var prog flow.Programme
	if set != nil {
		prog = set.Programme
	}
	v.Currency = prog.Report.Currency
	found := false
	for _, lang := range b.Languages() {
		units, err := b.Units(lang, en)
		if err != nil {
			return err
		}
		b.SetSampleData(check.SampleData(prog, lang))
		for _, u := range units {
			if u.ID != id {
				continue
			}
			found = true
			if v.English == nil {
				v.English, v.Notes, v.Fields = locale.Pieces(u.English), u.Notes, u.Fields
			}
			r := wordRow{
				Lang: lang, LangName: b.Name(lang), Dir: locale.Direction(lang), Currency: v.Currency, Back: "message",
				CanEdit: v.CanEdit, CSRF: v.CSRF,
				ID: u.ID, Form: u.Form, Anchor: lang + "-" + anchorOf(u.ID, u.Form), Text: u.Text, Reviewed: u.Reviewed,
				NeedsReview: lang != locale.English && !u.Reviewed, Sent: u.MaxChars > 0,
			}
			if typed != nil && typed.lang == lang && typed.form == u.Form {
				r.Text, r.Error = typed.text, typed.err
			}
			r.Pieces = locale.Pieces(r.Text)
			if r.Sent {
				s.measureRow(&r, b, prog, lang)
			}
			v.Rows = append(v.Rows, r)
		}
	}
	if !found {
		return echo.NewHTTPError(http.StatusNotFound, "no such message")
	}
	return s.render(c, status, "editor_message", v)
}
