package web

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/check"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/whatsapp"
)

// flowWords gives the words a message ID reaches people as, in the
// language the page shows; with no bundle, the ID itself.
type flowWords struct {
	bundle *locale.Bundle
	lang   string
}

// text is a message as sent (sample data filled in, the first plural
// form), on one line.
func (w flowWords) text(id string) string {
	if w.bundle == nil || id == "" {
		return id
	}
	texts := w.bundle.Texts(w.lang, id)
	if len(texts) == 0 {
		return id
	}
	return strings.Join(strings.Fields(texts[0]), " ")
}

// label is a choice's words, or its message ID when they are filled in
// from data.
func (w flowWords) label(id string) string {
	if w.bundle == nil {
		return id
	}
	if l := w.bundle.Label(w.lang, id); l != "" {
		return l
	}
	return w.text(id)
}

func (w flowWords) rtl() bool { return w.bundle != nil && locale.Direction(w.lang) == "rtl" }

// The Programme page: each flow drawn from the loaded YAML, the `waymark
// check` report, and the way to the simulator.

type flowView struct {
	ID, File string
	SVG      template.HTML
	Steps    []flowStep // the same flow as text
}

type flowStep struct {
	ID, What string
	Words    string // what the person reads, for a step that sends or asks
	Goes     []string
}

type programmeView struct {
	page
	Organisation string
	Languages    []string
	QuietHours   string
	Grace        string
	Flows        []flowView
	HasReport    bool
	Problems     []diag.Problem // errors
	Warnings     []diag.Problem
	Errors       int
	// Lang is the language the flows' words are shown in; LangDir its
	// direction.
	Lang, LangDir string
	LangOptions   []option
	Costs         []check.Cost
	// WhatsApp lists the approved templates the scheduled messages need on
	// WhatsApp, and whether programme.yaml gives each (docs/whatsapp.md).
	WhatsApp        []whatsapp.Need
	WhatsAppMissing int
	Translations    []check.Translation // programme.translations.part.html
	Editor          bool                // the programme editor is on
}

func (s *Server) programmePage(c echo.Context) error {
	v := programmeView{page: s.page(c, "Programme", "programme"), Editor: s.deps.Programmes != nil}
	content := s.deps.Conversation.Content()
	if content != nil {
		pr := content.Flows.Programme
		v.Organisation = pr.Organisation.Name
		for _, l := range pr.Languages {
			v.Languages = append(v.Languages, s.languageName(l))
		}
		v.QuietHours = pr.QuietHours.Start + " to " + pr.QuietHours.End
		v.Grace = durationWords(pr.CheckIn.GracePeriod.D())
		v.Lang = pr.DefaultLanguage
		if l := c.QueryParam("lang"); slices.Contains(pr.Languages, l) {
			v.Lang = l
		}
		v.LangDir = locale.Direction(v.Lang)
		for _, l := range pr.Languages {
			v.LangOptions = append(v.LangOptions, option{Value: l, Label: s.languageName(l), Selected: l == v.Lang})
		}
		w := flowWords{bundle: content.Locale, lang: v.Lang}
		for _, id := range content.Flows.FlowIDs() {
			f := content.Flows.Flows[id]
			v.Flows = append(v.Flows, flowView{ID: id, File: f.File, SVG: flowSVG(f, w), Steps: flowSteps(f, w)})
		}
	}
	if s.deps.CheckReport != nil {
		r := s.deps.CheckReport()
		v.HasReport, v.Costs, v.WhatsApp, v.Translations = true, r.Costs, r.WhatsApp, r.Translations
		for _, p := range r.Problems {
			if p.Warning {
				v.Warnings = append(v.Warnings, p)
			} else {
				v.Problems = append(v.Problems, p)
			}
		}
		for _, n := range r.WhatsApp {
			if !n.Has {
				v.WhatsAppMissing++
			}
		}
		v.Errors = len(diag.Errors(r.Problems))
	}
	return s.render(c, http.StatusOK, "programme", v)
}

type flowEdge struct{ to, label string }

// edgesOf lists where a node can go within its flow, labelled as a
// caseworker would read them.
func edgesOf(n *flow.Node) []flowEdge { return edgesIn(n, flowWords{}) }

// edgesIn is edgesOf with each choice's words after its number.
func edgesIn(n *flow.Node, w flowWords) []flowEdge {
	var out []flowEdge
	add := func(to, label string) {
		if to != "" {
			out = append(out, flowEdge{to, label})
		}
	}
	switch n.Kind {
	case flow.KindSend, flow.KindDo:
		add(n.Next, "")
	case flow.KindAsk:
		for i, ch := range n.Choices {
			label := fmt.Sprint(i + 1)
			if w.bundle != nil {
				label += " “" + w.label(ch.Label) + "”"
			}
			add(ch.Next, label)
		}
		add(n.OnTimeout, "no reply")
	case flow.KindBranch:
		for _, cs := range n.Cases {
			add(cs.Next, cs.Value)
		}
		add(n.Default, "else")
	}
	return out
}

func nodeWhat(n *flow.Node) string {
	switch n.Kind {
	case flow.KindSend:
		return "sends " + n.Message
	case flow.KindAsk:
		return "asks " + n.Message
	case flow.KindBranch:
		return "branch on " + n.Field
	case flow.KindDo:
		if n.Action == flow.ActionGoto {
			return "go to flow " + n.Flow
		}
		return strings.ReplaceAll(string(n.Action), "_", " ")
	}
	return string(n.Kind)
}

func flowSteps(f *flow.Flow, w flowWords) []flowStep {
	var out []flowStep
	for _, id := range f.Order {
		n := f.Nodes[id]
		st := flowStep{ID: id, What: nodeWhat(n)}
		if n.Kind == flow.KindSend || n.Kind == flow.KindAsk {
			st.Words = w.text(n.Message)
		}
		for _, e := range edgesIn(n, w) {
			g := "→ " + e.to
			if e.label != "" {
				g = e.label + " → " + e.to
			}
			st.Goes = append(st.Goes, g)
		}
		if len(st.Goes) == 0 && !(n.Kind == flow.KindDo && n.Action == flow.ActionGoto) {
			st.Goes = []string{"end"}
		}
		out = append(out, st)
	}
	return out
}

// flowSVG draws a flow top to bottom: each node on the row of its
// distance from the start, arrows down to later rows and curving round
// the right for loops back.
func flowSVG(f *flow.Flow, w flowWords) template.HTML { return drawFlow(f, w, nil) }

// flowSVGWith draws a flow as flowSVG does, each node described by what
// (the editor's words in lang, as they stand in the draft).
func flowSVGWith(f *flow.Flow, lang string, what func(*flow.Node) string) template.HTML {
	return drawFlow(f, flowWords{lang: lang}, what)
}

// drawFlow draws a flow; a step that sends or asks shows the words of w,
// or what says of it when what is given.
func drawFlow(f *flow.Flow, w flowWords, what func(*flow.Node) string) template.HTML {
	const boxW, boxH, colGap, rowGap, pad = 196, 70, 20, 54, 12
	depth := map[string]int{}
	queue := []string{f.Start}
	if _, ok := f.Nodes[f.Start]; ok {
		depth[f.Start] = 0
	}
	maxDepth := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		n, ok := f.Nodes[id]
		if !ok {
			continue
		}
		for _, e := range edgesOf(n) {
			if _, seen := depth[e.to]; !seen {
				if _, exists := f.Nodes[e.to]; exists {
					depth[e.to] = depth[id] + 1
					maxDepth = max(maxDepth, depth[e.to])
					queue = append(queue, e.to)
				}
			}
		}
	}
	rows := map[int][]string{}
	for _, id := range f.Order {
		d, ok := depth[id]
		if !ok {
			d = maxDepth + 1 // unreachable: `waymark check` warns; drawn last
			depth[id] = d
		}
		rows[d] = append(rows[d], id)
	}
	cols := 1
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	nRows := len(rows)
	width := pad*2 + cols*boxW + (cols-1)*colGap + 60
	height := pad*2 + nRows*boxH + (nRows-1)*rowGap
	type pos struct{ x, y int }
	at := map[string]pos{}
	for d := 0; d <= maxDepth+1; d++ {
		r := rows[d]
		offset := (cols - len(r)) * (boxW + colGap) / 2
		for i, id := range r {
			at[id] = pos{pad + offset + i*(boxW+colGap), pad + d*(boxH+rowGap)}
		}
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="flow" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="flow-%s-title" xmlns="http://www.w3.org/2000/svg">`,
		width, height, width, height, esc(f.ID))
	lang := ""
	if w.bundle != nil {
		lang = ` lang="` + esc(w.lang) + `"`
	}
	fmt.Fprintf(&b, `<title id="flow-%s-title">Diagram of the flow %s; the same steps are listed as text below it</title>`, esc(f.ID), esc(f.ID))
	fmt.Fprintf(&b, `<defs><marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>`, esc(f.ID))
	for _, id := range f.Order {
		n, from := f.Nodes[id], at[id]
		for _, e := range edgesIn(n, w) {
			to, ok := at[e.to]
			if !ok {
				continue
			}
			var x1, y1, x2, y2 int
			var d string
			if depth[e.to] > depth[id] {
				x1, y1 = from.x+boxW/2, from.y+boxH
				x2, y2 = to.x+boxW/2, to.y
				d = fmt.Sprintf("M%d %dC%d %d %d %d %d %d", x1, y1, x1, y1+rowGap/2, x2, y2-rowGap/2, x2, y2)
			} else {
				x1, y1 = from.x+boxW, from.y+boxH/2
				x2, y2 = to.x+boxW, to.y+boxH/2
				d = fmt.Sprintf("M%d %dC%d %d %d %d %d %d", x1, y1, x1+50, y1, x2+50, y2, x2, y2)
			}
			fmt.Fprintf(&b, `<path d="%s" class="edge" marker-end="url(#arrow-%s)"/>`, d, esc(f.ID))
			if e.label != "" {
				lx, ly := (x1+x2)/2+4, (y1+y2)/2+4
				if depth[e.to] <= depth[id] {
					lx = max(x1, x2) + 30
				}
				fmt.Fprintf(&b, `<text x="%d" y="%d" class="edge-label"%s>%s</text>`, lx, ly, lang, esc(clip(e.label, 18)))
			}
		}
	}
	for _, id := range f.Order {
		n, p := f.Nodes[id], at[id]
		class := "node " + string(n.Kind)
		if id == f.Start {
			class += " start"
		}
		fmt.Fprintf(&b, `<g class="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`, class, p.x, p.y, boxW, boxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="node-id">%s</text>`, p.x+8, p.y+18, esc(clip(id, 24)))
		if what != nil {
			// In the language's direction, as the Programme page draws it.
			x, attrs := p.x+8, ""
			if w.lang != "" {
				attrs = ` lang="` + esc(w.lang) + `"`
			}
			if locale.Direction(w.lang) == "rtl" {
				x, attrs = p.x+boxW-8, attrs+` direction="rtl" text-anchor="start"`
			}
			for i, line := range wrapWords(what(n), 30, 3) {
				fmt.Fprintf(&b, `<text x="%d" y="%d" class="node-words"%s>%s</text>`, x, p.y+34+i*14, attrs, esc(line))
			}
			b.WriteString(`</g>`)
			continue
		}
		if (n.Kind == flow.KindSend || n.Kind == flow.KindAsk) && w.bundle != nil {
			// The words the person reads, on two lines, in their direction.
			x, anchor := p.x+8, ""
			if w.rtl() {
				x, anchor = p.x+boxW-8, ` direction="rtl" text-anchor="start"`
			}
			for i, line := range wrapWords(w.text(n.Message), 30, 3) {
				fmt.Fprintf(&b, `<text x="%d" y="%d" class="node-words"%s%s>%s</text>`, x, p.y+34+i*14, lang, anchor, esc(line))
			}
			b.WriteString(`</g>`)
			continue
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="node-what">%s</text></g>`, p.x+8, p.y+36, esc(clip(nodeWhat(n), 30)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrapWords breaks text into at most lines lines of about width
// characters, the last one clipped with an ellipsis.
func wrapWords(text string, width, lines int) []string {
	var out []string
	cur := ""
	for word := range strings.FieldsSeq(text) {
		switch {
		case cur == "":
			cur = word
		case len([]rune(cur))+1+len([]rune(word)) <= width:
			cur += " " + word
		default:
			out = append(out, cur)
			cur = word
		}
		if len(out) == lines {
			break
		}
	}
	if cur != "" && len(out) < lines {
		out = append(out, cur)
	}
	if len(out) == lines && strings.Join(out, " ") != strings.Join(strings.Fields(text), " ") {
		r := []rune(out[lines-1])
		if len(r) > width-1 {
			r = r[:width-1]
		}
		out[lines-1] = string(r) + "…"
	}
	for i, l := range out {
		out[i] = clip(l, width) // one word longer than a line
	}
	return out
}
