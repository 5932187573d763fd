package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/locales"
)

// newEditorEnv is the caseworker side with the programme editor on: the
// shipped files published as version 1, and the simulator.
func newEditorEnv(t *testing.T) *cwEnv {
	t.Helper()
	return newCaseworkerEnv(t, envOptions{deps: func(d *Deps, e *cwEnv) {
		files, err := programme.ReadFiles(flows.FS, locales.FS)
		if err != nil {
			t.Fatal(err)
		}
		p := programme.New(e.st, programme.Options{
			Files: func() (programme.Files, error) { return files.Clone(), nil }, FlowsBase: flows.FS, Clock: e.clock,
		})
		if _, err := p.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.conv.SetContent(p.Content())
		p.OnSwitch(e.conv.SetContent)
		d.Programmes = p
		scratch, err := bolt.Open(filepath.Join(t.TempDir(), "sim.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { scratch.Close() })
		sim, err := simulator.New(scratch, e.conv.Content, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		d.Simulator = sim
	}})
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("%s lacks %q:\n%.3000s", what, w, body)
		}
	}
}

func TestEditorPagesRenderForEveryone(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	for _, a := range []store.Account{e.admin, e.cara} {
		b := e.signedIn(a)
		for _, path := range []string{
			"/programme/editor", "/programme/editor/settings", "/programme/editor/words?lang=ar",
			"/programme/editor/words?lang=en&group=checkin", "/programme/editor/flows/info", "/programme/editor/versions/1",
		} {
			rec := b.get(path)
			mustStatus(t, a.Username+" "+path, rec, http.StatusOK)
		}
		if rec := b.get("/programme/editor/versions/1/export"); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/zip" {
			t.Fatalf("export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

func TestCaseworkersCannotChangeTheProgramme(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.cara)
	for path, form := range map[string]url.Values{
		"/programme/editor/words":               {"lang": {"ar"}, "id": {"common.restarted"}, "text": {"x"}},
		"/programme/editor/settings":            {"checkin__grace_period": {"2d"}},
		"/programme/editor/publish":             {},
		"/programme/editor/versions/1/rollback": {},
		"/programme/editor/flows/info/topics":   {"topic": {"housing"}, "label": {"Housing"}, "answer": {"Ask us."}},
		"/programme/editor/try":                 {},
	} {
		rec := b.post(path, form)
		mustStatus(t, "caseworker POST "+path, rec, http.StatusForbidden)
	}
	if _, err := e.st.GetProgrammeDraft(t.Context()); err == nil {
		t.Fatal("a caseworker's request made a draft")
	}
	page := b.get("/programme/editor/words?lang=ar").Body.String()
	if strings.Contains(page, "<textarea") {
		t.Error("the Words page offers a caseworker a form")
	}
}

func TestEditorWordsSettingsTopicPublish(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	ctx := t.Context()
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")

	// Words: a placeholder dropped is refused, with the words kept.
	rec := b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"ar"}, "id": {"consent.reask"}, "text": {"هل توافق على الرسائل؟"}})
	mustStatus(t, "words without the placeholder", rec, http.StatusUnprocessableEntity)
	mustContain(t, "refusal", rec.Body.String(), "{{.Org}} must stay", "هل توافق على الرسائل؟")
	rec = b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"ar"}, "id": {"common.restarted"}, "text": {"عذرًا، غيّرنا رسائلنا. لنبدأ من جديد."}})
	mustStatus(t, "words", rec, http.StatusSeeOther)
	page := b.get("/programme/editor/words?lang=ar&group=common").Body.String()
	mustContain(t, "words page", page, "غيّرنا رسائلنا", "UCS-2", "needs review")

	// Settings: a grace period in words is refused in check's words.
	rec = b.post("/programme/editor/settings", url.Values{"csrf": {csrf}, "checkin__grace_period": {"three days"}, "language": {"en", "ar"}})
	mustStatus(t, "bad grace", rec, http.StatusUnprocessableEntity)
	mustContain(t, "settings refusal", rec.Body.String(), "grace_period", "three days")
	form := url.Values{"csrf": {csrf}, "checkin__grace_period": {"2d"}}
	for _, l := range e.conv.Content().Flows.Programme.Languages {
		form.Add("language", l)
	}
	rec = b.post("/programme/editor/settings", form)
	mustStatus(t, "grace 2d", rec, http.StatusSeeOther)

	// An information topic.
	rec = b.post("/programme/editor/flows/info/topics", url.Values{"csrf": {csrf}, "topic": {"housing"}, "label": {"Housing help"}, "answer": {"For housing help call {{.HelpPhone}}."}})
	mustStatus(t, "topic", rec, http.StatusSeeOther)

	// Check, then publish: every process's content changes.
	rec = b.post("/programme/editor/check", url.Values{"csrf": {csrf}})
	mustStatus(t, "check", rec, http.StatusOK)
	mustContain(t, "check", rec.Body.String(), "No errors")
	rec = b.post("/programme/editor/publish", url.Values{"csrf": {csrf}})
	mustStatus(t, "publish", rec, http.StatusSeeOther)
	c := e.conv.Content()
	if got := c.Locale.Render("ar", "common.restarted", nil); !strings.Contains(got, "غيّرنا") {
		t.Errorf("Arabic after publish: %q", got)
	}
	if got := c.Flows.Programme.CheckIn.GracePeriod.String(); !strings.Contains(got, "48h") && got != "2d" {
		t.Errorf("grace after publish: %s", got)
	}
	if _, ok := c.Flows.Flows["info"].Nodes["housing"]; !ok {
		t.Errorf("no housing node after publish")
	}
	if got := conversationText(c, "ar", "info.housing"); got == "" {
		t.Errorf("the new topic has no Arabic words")
	}
	v := b.get("/programme/editor/versions/2").Body.String()
	mustContain(t, "version 2", v, "common.restarted", "grace_period: 2d", "housing")
	entries, err := e.st.ListAudit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	mustContain(t, "audit", strings.Join(actions, " "), "programme_draft_edited", "programme_published")

	// Roll back.
	rec = b.post("/programme/editor/versions/1/rollback", url.Values{"csrf": {csrf}})
	mustStatus(t, "rollback", rec, http.StatusSeeOther)
	if _, ok := e.conv.Content().Flows.Flows["info"].Nodes["housing"]; ok {
		t.Errorf("the rollback left the housing topic")
	}
}

func conversationText(c *conversation.Content, lang, id string) string {
	if !c.Locale.Has(lang, id) {
		return ""
	}
	return c.Locale.Render(lang, id, map[string]any{"HelpPhone": "+44"})
}

func TestABrokenDraftIsRefusedByThePage(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")
	// A choice leading to a step that is not there: refused by the flow
	// form itself; the draft stays as it was.
	rec := b.post("/programme/editor/flows/info/nodes/ask", url.Values{"csrf": {csrf}, "new_label": {"info.nowhere"}, "new_next": {"nowhere"}})
	mustStatus(t, "broken choice", rec, http.StatusUnprocessableEntity)
	mustContain(t, "refusal", rec.Body.String(), "flows/info.yaml")
	// A draft made broken behind the page's back is refused at publish.
	_, err := e.srv.deps.Programmes.Edit(t.Context(), e.admin.ID, func(f programme.Files) error {
		f[programme.Flow("menu")] = "id: menu\nstart: nowhere\nnodes: {}\n"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec = b.post("/programme/editor/publish", url.Values{"csrf": {csrf}})
	mustStatus(t, "publish broken", rec, http.StatusUnprocessableEntity)
	mustContain(t, "publish refusal", rec.Body.String(), "Not published", "flows/menu.yaml")
	if n, _ := e.st.CurrentProgramme(t.Context()); n != 1 {
		t.Fatalf("a broken draft became version %d", n)
	}
}

func TestEditorOffServesNoEditor(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{}) // WAYMARK_PROGRAMME_EDITOR=false: no Programmes
	b := e.signedIn(e.admin)
	if rec := b.get("/programme/editor"); rec.Code != http.StatusNotFound {
		t.Fatalf("GET /programme/editor with the editor off: %d", rec.Code)
	}
	if page := b.get("/programme").Body.String(); strings.Contains(page, "/programme/editor") {
		t.Error("the Programme page links to the editor while it is off")
	}
}

func TestPublishingAnUnchangedDraftPublishesNothing(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")
	text := e.conv.Content().Locale.Render("ar", "common.restarted", nil)
	rec := b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"ar"}, "id": {"common.restarted"}, "text": {text}})
	mustStatus(t, "same words", rec, http.StatusSeeOther)
	rec = b.post("/programme/editor/publish", url.Values{"csrf": {csrf}})
	mustStatus(t, "publish", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "unchanged") {
		t.Errorf("publish of an unchanged draft went to %s", loc)
	}
	if n, _ := e.st.CurrentProgramme(t.Context()); n != 1 {
		t.Errorf("an unchanged draft became version %d", n)
	}
}

func TestAddingAStepAfterAnother(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")
	rec := b.post("/programme/editor/flows/info/steps", url.Values{"csrf": {csrf}, "step": {"legal_more"}, "message": {"info.legal_more"}, "after": {"legal"}})
	mustStatus(t, "a new message without words", rec, http.StatusUnprocessableEntity)
	mustContain(t, "refusal", rec.Body.String(), "write its words in English")
	rec = b.post("/programme/editor/flows/info/steps", url.Values{"csrf": {csrf}, "step": {"legal_more"}, "message": {"info.legal_more"}, "words": {"Ask for the free advice line."}, "after": {"legal"}})
	mustStatus(t, "add a step", rec, http.StatusSeeOther)
	// Then the data answer's second step: the flow form changes where a
	// step goes.
	rec = b.post("/programme/editor/flows/info/nodes/data", url.Values{"csrf": {csrf}, "message": {"info.data"}, "next": {"data_end"}})
	mustStatus(t, "skip a step", rec, http.StatusUnprocessableEntity) // data_more would be unreachable
	mustContain(t, "refusal", rec.Body.String(), "data_more")
	page := b.get("/programme/editor/flows/info").Body.String()
	mustContain(t, "flow page", page, `id="node-legal_more"`, "Ask for the free advice line.")
	rec = b.post("/programme/editor/publish", url.Values{"csrf": {csrf}})
	mustStatus(t, "publish", rec, http.StatusSeeOther)
	if n := e.conv.Content().Flows.Flows["info"].Nodes["legal"]; n.Next != "legal_more" {
		t.Fatalf("legal goes to %q after publish", n.Next)
	}
	if n := e.conv.Content().Flows.Flows["info"].Nodes["data"]; n.Next != "data_more" {
		t.Fatalf("a refused change landed: data goes to %q", n.Next)
	}
	if got := e.conv.Content().Locale.Render("ar", "info.legal_more", nil); got != "Ask for the free advice line." {
		t.Errorf("Arabic of the new message = %q, want the English until translated", got)
	}
}

func TestChangingTheEnglishAsksForReviewAgain(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")
	ar := e.conv.Content().Locale.Render("ar", "common.restarted", nil)
	rec := b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"ar"}, "id": {"common.restarted"}, "text": {ar}, "reviewed": {"on"}})
	mustStatus(t, "a reviewer checks the Arabic", rec, http.StatusSeeOther)
	d, err := e.st.GetProgrammeDraft(t.Context())
	if err != nil || !strings.Contains(d.Files[programme.Locale("ar")], "# reviewed") {
		t.Fatalf("no review mark: %v", err)
	}
	rec = b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"en"}, "id": {"common.restarted"}, "text": {"Sorry, our messages changed. Let us start again."}})
	mustStatus(t, "the English changes", rec, http.StatusSeeOther)
	d, err = e.st.GetProgrammeDraft(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Files[programme.Locale("ar")], "# reviewed") {
		t.Error("the Arabic still counts as checked against the old English")
	}
	if v, _ := programme.Value(d.Files[programme.Locale("ar")], "common.restarted"); v != ar {
		t.Errorf("the Arabic words changed: %q", v)
	}
}

func TestOneMessageInEveryLanguage(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	page := b.get("/programme/editor/message/info.ask")
	mustStatus(t, "message page", page, http.StatusOK)
	mustContain(t, "message page", page.Body.String(), "What would you like to know?", "ماذا تريد أن تعرف؟", `lang="ti"`, "UCS-2")
	mustStatus(t, "no such message", b.get("/programme/editor/message/no.such"), http.StatusNotFound)
	csrf := b.csrf("/programme/editor")
	rec := b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"uk"}, "id": {"info.ask"}, "text": {"Що ви хочете дізнатися? Надішліть номер:"}, "back": {"message"}})
	mustStatus(t, "save from the message page", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/programme/editor/message/info.ask") {
		t.Errorf("back to %s", loc)
	}
	rec = b.post("/programme/editor/words", url.Values{"csrf": {csrf}, "lang": {"uk"}, "id": {"info.ask"}, "text": {""}, "back": {"message"}})
	mustStatus(t, "empty words", rec, http.StatusUnprocessableEntity)
	mustContain(t, "refusal on the message page", rec.Body.String(), "may not be empty", "Words: <code>info.ask</code>")
}

// A step or a choice can be removed from the flow's form. A step that
// sends is spliced out (what led to it leads where it led); a choice goes
// with the step only it led to; the start, and a question, are refused
// with the draft unchanged. The draft then checks.
func TestEditorRemovesStepsAndChoices(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	csrf := b.csrf("/programme/editor")
	flowOf := func() string {
		t.Helper()
		d, err := e.st.GetProgrammeDraft(t.Context())
		if errors.Is(err, store.ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return d.Files[programme.Flow("info")]
	}

	rec := b.post("/programme/editor/flows/info/nodes/ask/remove", url.Values{"csrf": {csrf}})
	mustStatus(t, "removing the start", rec, http.StatusUnprocessableEntity)
	mustContain(t, "refusal", rec.Body.String(), "where the flow starts")
	if flowOf() != "" {
		t.Fatal("a refused removal made a draft")
	}

	// data sends, then leads to data_more: the data choice now leads there.
	rec = b.post("/programme/editor/flows/info/nodes/data/remove", url.Values{"csrf": {csrf}})
	mustStatus(t, "removing a step that sends", rec, http.StatusSeeOther)
	if programme.Exists(flowOf(), "nodes", "data") {
		t.Fatal("the data step is still there")
	}
	if next, _ := programme.Value(flowOf(), "nodes", "ask", "choices", "4", "next"); next != "data_more" {
		t.Errorf("the data choice leads to %q, want data_more", next)
	}

	// The first choice (rights) goes, and the step only it led to.
	form := url.Values{"csrf": {csrf}, "message": {"info.ask"}, "choice_0_remove": {"1"}}
	for i, c := range e.conv.Content().Flows.Flows["info"].Nodes["ask"].Choices {
		form.Set(fmt.Sprintf("choice_%d_label", i), c.Label)
		form.Set(fmt.Sprintf("choice_%d_next", i), c.Next)
	}
	form.Set("choice_4_next", "data_more")
	rec = b.post("/programme/editor/flows/info/nodes/ask", form)
	mustStatus(t, "removing a choice", rec, http.StatusSeeOther)
	if next, _ := programme.Value(flowOf(), "nodes", "ask", "choices", "0", "next"); next != "legal" {
		t.Fatalf("the first choice now leads to %q, want legal", next)
	}
	if programme.Exists(flowOf(), "nodes", "rights") {
		t.Fatal("the rights step, which only the removed choice led to, is still there")
	}
	for _, kept := range []string{"legal", "credit", "data_more"} {
		if !programme.Exists(flowOf(), "nodes", kept) {
			t.Errorf("step %s went too", kept)
		}
	}
	rec = b.post("/programme/editor/check", url.Values{"csrf": {csrf}})
	mustContain(t, "check", rec.Body.String(), "No errors")
}

// The flow's diagram in the editor draws Arabic words right to left, as
// the Programme page does, and English left to right.
func TestEditorDiagramInTheLanguagesDirection(t *testing.T) {
	t.Parallel()
	e := newEditorEnv(t)
	b := e.signedIn(e.admin)
	ar := b.get("/programme/editor/flows/info?lang=ar").Body.String()
	svg := between(ar, `<svg class="flow"`, `</svg>`)
	mustContain(t, "Arabic diagram", svg, `lang="ar" direction="rtl"`, "ماذا تريد أن تعرف؟")
	en := between(b.get("/programme/editor/flows/info?lang=en").Body.String(), `<svg class="flow"`, `</svg>`)
	if strings.Contains(en, `direction="rtl"`) {
		t.Error("the English diagram is drawn right to left")
	}
}
