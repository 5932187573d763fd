package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/programme"
)

// The Flows page: one flow's nodes and choices as a form, beside its
// diagram drawn with the words people receive. The YAML is changed line
// by line, so the file stays as an organisation wrote it.

type flowEditorView struct {
	page
	Flows       []string
	ID, File    string
	Lang        string
	Languages   []languageOption
	SVG         template.HTML
	Nodes       []nodeForm
	NodeIDs     []string
	MessageIDs  []string
	CanEdit     bool
	CanAddTopic bool
	HasSend     bool // a step sends a message, so one can be added after it
	Problems    []diag.Problem
	Topic       topicInput
}

type nodeForm struct {
	ID, Kind, What  string
	Message, Words  string
	HasMessage      bool
	Next            string
	HasNext         bool
	Choices         []choiceForm
	IsAsk, IsStart  bool
	Anchor, Problem string
}

type choiceForm struct {
	Index       int
	Number      int // as people reply it
	Label       string
	Words, Next string
}

type topicInput struct{ Name, Label, Answer, Error string }

func (s *Server) flowEditorPage(c echo.Context) error {
	return s.renderFlowEditor(c, http.StatusOK, nil, topicInput{})
}

func (s *Server) renderFlowEditor(c echo.Context, status int, problems []diag.Problem, topic topicInput) error {
	id := c.Param("id")
	_, b, set, err := s.draftWords(c)
	if err != nil {
		return s.draftTrouble(c, err)
	}
	if set == nil {
		return s.renderEditor(c, http.StatusConflict, nil, "The draft's flows have errors; Check lists them.")
	}
	f, ok := set.Flows[id]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such flow")
	}
	lang := c.FormValue("lang")
	if !slices.Contains(b.Languages(), lang) {
		lang = locale.English
	}
	data := check.SampleData(set.Programme, lang)
	words := func(msg string) string {
		if msg == "" || !b.Has(lang, msg) {
			return ""
		}
		return b.Render(lang, msg, data)
	}
	v := flowEditorView{
		page: s.page(c, "Flow "+id+" · Programme editor", "programme"), Flows: set.FlowIDs(), ID: id, File: programme.Flow(id),
		Lang: lang, NodeIDs: f.Order, MessageIDs: b.MessageIDs(), CanEdit: s.canEdit(c), Problems: problems, Topic: topic,
	}
	v.Notice = editorNotices[c.QueryParam("done")]
	if len(problems) > 0 {
		v.Error = "Not saved: the check found what is listed below. Nothing you chose is lost from the page; the draft is as it was."
	}
	for _, l := range b.Languages() {
		v.Languages = append(v.Languages, languageOption{Code: l, Name: b.Name(l), Selected: l == lang})
	}
	v.SVG = flowSVGWith(f, lang, func(n *flow.Node) string {
		if w := words(n.Message); w != "" {
			return w
		}
		return nodeWhat(n)
	})
	for _, nid := range f.Order {
		n := f.Nodes[nid]
		nf := nodeForm{
			ID: nid, Kind: string(n.Kind), What: nodeWhat(n), Message: n.Message, Words: words(n.Message),
			HasMessage: n.Kind == flow.KindSend || n.Kind == flow.KindAsk, Next: n.Next,
			HasNext: n.Kind == flow.KindSend || n.Kind == flow.KindDo && n.Action != flow.ActionGoto,
			IsAsk:   n.Kind == flow.KindAsk, IsStart: nid == f.Start, Anchor: "node-" + nid,
		}
		for i, ch := range n.Choices {
			nf.Choices = append(nf.Choices, choiceForm{Index: i, Number: i + 1, Label: ch.Label, Words: words(ch.Label), Next: ch.Next})
		}
		v.Nodes = append(v.Nodes, nf)
		v.HasSend = v.HasSend || n.Kind == flow.KindSend
	}
	start := f.Nodes[f.Start]
	v.CanAddTopic = start != nil && start.Kind == flow.KindAsk
	return s.render(c, status, "editor_flow", v)
}

// flowChecked applies change to the draft if the check then finds no
// error in the flow's file or a message it names; otherwise it returns
// the problems and the draft stays as it was.
func (s *Server) flowChecked(c echo.Context, id, detail string, change func(programme.Files) error) ([]diag.Problem, error) {
	var problems []diag.Problem
	err := s.editDraft(c, detail, func(f programme.Files) error {
		if err := change(f); err != nil {
			return err
		}
		report := f.Check(s.deps.Programmes.FlowsBase())
		for _, p := range diag.Errors(report.Problems) {
			if strings.HasPrefix(p.File, programme.Flow(id)) {
				problems = append(problems, p)
			}
		}
		if len(problems) > 0 {
			return errRefused
		}
		return nil
	})
	if errors.Is(err, errRefused) || errors.Is(err, programme.ErrNoValue) {
		if len(problems) == 0 {
			problems = []diag.Problem{{File: programme.Flow(id), Message: userMessage(err)}}
		}
		return problems, nil
	}
	return nil, err
}

// flowNodeSave changes one node: its message, where it goes next, its
// choices' words and where each leads, and a new choice.
func (s *Server) flowNodeSave(c echo.Context) error {
	id, node := c.Param("id"), c.Param("node")
	name := programme.Flow(id)
	base := []string{"nodes", node}
	problems, err := s.flowChecked(c, id, name+" "+node, func(f programme.Files) error {
		src, ok := f[name]
		if !ok {
			return programme.ErrNoValue.Detail("no flow %s", id)
		}
		kind := ""
		for _, k := range []string{"send", "ask"} {
			if _, ok := programme.Value(src, append(base, k)...); ok {
				kind = k
			}
		}
		var err error
		set := func(path []string, v string) {
			if err != nil {
				return
			}
			if cur, ok := programme.Value(src, path...); ok && cur == v {
				return
			}
			if v == "" {
				src, err = programme.DeleteValue(src, path)
				return
			}
			src, err = programme.SetValue(src, path, programme.Number(v))
		}
		if msg := strings.TrimSpace(c.FormValue("message")); kind != "" && msg != "" {
			set(append(base, kind), msg)
		}
		if _, ok := c.Request().Form["next"]; ok {
			set(append(base, "next"), c.FormValue("next"))
		}
		for i := 0; ; i++ {
			label, ok := c.Request().Form["choice_"+strconv.Itoa(i)+"_label"]
			if !ok {
				break
			}
			p := append(base, "choices", strconv.Itoa(i))
			set(append(slices.Clone(p), "label"), strings.TrimSpace(label[0]))
			set(append(slices.Clone(p), "next"), c.FormValue("choice_"+strconv.Itoa(i)+"_next"))
		}
		// Choices ticked for removal go last, highest first, so that the
		// indexes of the others stay right; a step only a removed choice
		// led to goes with it, and what only that step led to.
		removed := false
		n := 0
		for programme.Exists(src, append(slices.Clone(base), "choices", strconv.Itoa(n))...) {
			n++
		}
		for i := n - 1; i >= 0; i-- {
			if c.FormValue("choice_"+strconv.Itoa(i)+"_remove") != "" && err == nil {
				src, err = programme.DeleteValue(src, append(slices.Clone(base), "choices", strconv.Itoa(i)))
				removed = true
			}
		}
		if removed && err == nil {
			src, _, err = programme.DropStranded(f[name], src)
		}
		if label := strings.TrimSpace(c.FormValue("new_label")); label != "" && kind == "ask" {
			n := 0
			for programme.Exists(src, append(base, "choices", strconv.Itoa(n))...) {
				n++
			}
			p := append(base, "choices", strconv.Itoa(n))
			set(append(slices.Clone(p), "label"), label)
			set(append(slices.Clone(p), "next"), c.FormValue("new_next"))
		}
		f[name] = src
		return err
	})
	return s.afterFlowEdit(c, problems, err, topicInput{}, node)
}

// flowNodeRemove takes a step out of the flow: what led to it leads where
// it led (a step that sends or does one thing), and the steps only it led
// to go too. A question or a branch, which leads several ways, goes only
// with the choices that lead to it. The full check then runs as for every
// change, so whatever it finds wrong is refused in its own words and
// nothing changes.
func (s *Server) flowNodeRemove(c echo.Context) error {
	id, node := c.Param("id"), c.Param("node")
	name := programme.Flow(id)
	problems, err := s.flowChecked(c, id, name+" remove "+node, func(f programme.Files) error {
		src, ok := f[name]
		if !ok || !programme.Exists(src, "nodes", node) {
			return programme.ErrNoValue.Detail("the flow has no step %s", node)
		}
		if start, _ := programme.Value(src, "start"); start == node {
			return programme.ErrNoValue.Detail("%s is where the flow starts; make another step the start in the file first", node)
		}
		for _, many := range []string{"ask", "branch"} {
			if programme.Exists(src, "nodes", node, many) {
				return programme.ErrNoValue.Detail("%s leads several ways; remove the choices that lead to it instead", node)
			}
		}
		next, _ := programme.Value(src, "nodes", node, "next")
		out, err := programme.Repoint(src, node, next)
		if err == nil {
			out, err = programme.DeleteValue(out, []string{"nodes", node})
		}
		if err == nil {
			out, _, err = programme.DropStranded(src, out)
		}
		f[name] = out
		return err
	})
	return s.afterFlowEdit(c, problems, err, topicInput{}, "")
}

var topicName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// flowTopicAdd adds an information topic: a choice on the flow's first
// question and a node that sends its answer, with the words in English.
// Every other language gets the English words marked as needing review,
// so that the check passes and translators see what to do.
func (s *Server) flowTopicAdd(c echo.Context) error {
	id := c.Param("id")
	in := topicInput{Name: strings.TrimSpace(c.FormValue("topic")), Label: strings.TrimSpace(c.FormValue("label")), Answer: strings.TrimSpace(c.FormValue("answer"))}
	refuse := func(msg string) error {
		in.Error = msg
		return s.renderFlowEditor(c, http.StatusUnprocessableEntity, nil, in)
	}
	switch {
	case !topicName.MatchString(in.Name):
		return refuse("Name the topic with small letters, digits and _, starting with a letter, like housing.")
	case in.Label == "" || in.Answer == "":
		return refuse("Write the words of the choice and of the answer, in English.")
	case len([]rune(in.Label)) > 60:
		return refuse("The choice's words should be short: at most 60 characters.")
	case len([]rune(in.Answer)) > maxWords:
		return refuse(fmt.Sprintf("The answer may have at most %d characters.", maxWords))
	}
	name := programme.Flow(id)
	labelID, answerID := id+".choice."+in.Name, id+"."+in.Name
	problems, err := s.flowChecked(c, id, name+" topic "+in.Name, func(f programme.Files) error {
		src, ok := f[name]
		if !ok {
			return programme.ErrNoValue.Detail("no flow %s", id)
		}
		start, _ := programme.Value(src, "start")
		if programme.Exists(src, "nodes", in.Name) {
			return programme.ErrNoValue.Detail("the flow has a step named %s already", in.Name)
		}
		n := 0
		for programme.Exists(src, "nodes", start, "choices", strconv.Itoa(n)) {
			n++
		}
		var err error
		for _, kv := range [][2][]string{
			{{"nodes", start, "choices", strconv.Itoa(n), "label"}, {labelID}},
			{{"nodes", start, "choices", strconv.Itoa(n), "next"}, {in.Name}},
			{{"nodes", in.Name, "send"}, {answerID}},
		} {
			if err == nil {
				src, err = programme.SetValue(src, kv[0], programme.Number(kv[1][0]))
			}
		}
		if err != nil {
			return err
		}
		f[name] = src
		if err := addEverywhere(f, labelID, in.Label); err != nil {
			return err
		}
		return addEverywhere(f, answerID, in.Answer)
	})
	return s.afterFlowEdit(c, problems, err, in, in.Name)
}

// addEverywhere adds a message in English to every locale file: the
// other languages get the English words without the review mark, so the
// Words page shows them as needing review until a translator changes
// them.
func addEverywhere(f programme.Files, id, english string) error {
	for _, file := range f.Names() {
		if !strings.HasPrefix(file, programme.LocalesDir+"/") {
			continue
		}
		out, err := programme.SetMessage(f[file], id, "", english, false)
		if err != nil {
			return err
		}
		f[file] = out
	}
	return nil
}

var messageName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// flowStepAdd inserts a step that sends a message after another step:
// the step before goes to it, and it goes where the step before went. A
// message ID that is not there yet takes the English words given, in
// every language, as a new topic's do.
func (s *Server) flowStepAdd(c echo.Context) error {
	id := c.Param("id")
	step, msg, after := strings.TrimSpace(c.FormValue("step")), strings.TrimSpace(c.FormValue("message")), c.FormValue("after")
	words := strings.TrimSpace(c.FormValue("words"))
	refuse := func(msg string) error {
		return s.renderFlowEditor(c, http.StatusUnprocessableEntity, []diag.Problem{{File: programme.Flow(id), Message: msg}}, topicInput{})
	}
	switch {
	case !topicName.MatchString(step):
		return refuse("name the step with small letters, digits and _, starting with a letter, like housing_more")
	case !messageName.MatchString(msg):
		return refuse("give the step's message as an ID like info.housing (small letters, digits, _ and dots)")
	case len([]rune(words)) > maxWords:
		return refuse(fmt.Sprintf("the words may have at most %d characters", maxWords))
	}
	name := programme.Flow(id)
	problems, err := s.flowChecked(c, id, name+" step "+step, func(f programme.Files) error {
		src, ok := f[name]
		if !ok {
			return programme.ErrNoValue.Detail("no flow %s", id)
		}
		if programme.Exists(src, "nodes", step) {
			return programme.ErrNoValue.Detail("the flow has a step named %s already", step)
		}
		if _, ok := programme.Value(src, "nodes", after, "send"); !ok {
			return programme.ErrNoValue.Detail("choose a step that sends a message to put the new one after")
		}
		next, _ := programme.Value(src, "nodes", after, "next")
		out, err := programme.SetValue(src, []string{"nodes", step, "send"}, programme.Number(msg))
		if err == nil && next != "" {
			out, err = programme.SetValue(out, []string{"nodes", step, "next"}, programme.Number(next))
		}
		if err == nil {
			out, err = programme.SetValue(out, []string{"nodes", after, "next"}, programme.Number(step))
		}
		if err != nil {
			return err
		}
		f[name] = out
		if _, known := programme.Value(f[programme.Locale(locale.English)], msg); !known {
			if words == "" {
				return programme.ErrNoValue.Detail("%s is a new message: write its words in English", msg)
			}
			return addEverywhere(f, msg, words)
		}
		return nil
	})
	return s.afterFlowEdit(c, problems, err, topicInput{}, step)
}

// afterFlowEdit answers a change of a flow: the page again with the
// check's problems (and what was typed), or back to the changed step.
func (s *Server) afterFlowEdit(c echo.Context, problems []diag.Problem, err error, typed topicInput, step string) error {
	if err != nil {
		return err
	}
	if problems != nil {
		return s.renderFlowEditor(c, http.StatusUnprocessableEntity, problems, typed)
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor/flows/"+url.PathEscape(c.Param("id"))+"?done=saved#node-"+url.PathEscape(step))
}
