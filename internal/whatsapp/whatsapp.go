// Package whatsapp fits Waymark's messages to WhatsApp's rule that only a
// template approved by WhatsApp may reach a person more than 24 hours after
// their last message: which messages a schedule starts, the text of the
// template each needs (made from the locale files, so the two never
// drift), the template filled for one message, and what programme.yaml
// is missing.
package whatsapp

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/store"
)

// Message is a message a schedule may send first, when the person may not
// have written for a day: a question's choices are part of its template.
type Message struct {
	ID      string
	Choices []string // the choices' label message IDs, in order
}

// Scheduled returns the messages Waymark sends by itself, before the
// person answers anything: those the check-in, reminder and consent flows
// send or ask up to their first question, on every branch (the prompt,
// "closing soon", the note after a miss, appointment reminders and the
// follow-up, the consent re-ask), sorted by ID. Replies to the person's
// own messages are not among them: they go inside the 24-hour window.
func Scheduled(set *flow.Set) []Message {
	pr := set.Programme.Flows
	seen := map[string]bool{}
	var out []Message
	for _, id := range []string{pr.CheckIn, pr.Reminder, pr.Consent} {
		f := set.Flows[id]
		if f == nil {
			continue
		}
		visited := map[string]bool{}
		var walk func(node string)
		walk = func(node string) {
			n := f.Nodes[node]
			if n == nil || visited[node] {
				return
			}
			visited[node] = true
			switch n.Kind {
			case flow.KindAsk:
				if !seen[n.Message] {
					seen[n.Message] = true
					m := Message{ID: n.Message}
					for _, c := range n.Choices {
						m.Choices = append(m.Choices, c.Label)
					}
					out = append(out, m)
				}
			case flow.KindSend:
				if !seen[n.Message] {
					seen[n.Message] = true
					out = append(out, Message{ID: n.Message})
				}
				walk(n.Next)
			case flow.KindDo:
				if n.Action != flow.ActionGoto && n.Action != flow.ActionEnd {
					walk(n.Next)
				}
			case flow.KindBranch:
				for _, c := range n.Cases {
					walk(c.Next)
				}
				walk(n.Default)
			}
		}
		walk(f.Start)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Key is where programme.yaml keeps the template of a message in lang
// under whatsapp.templates.<id>: the language ("es"), or for a message
// with plural forms the language and the form ("uk.few"), since a
// template's words cannot change with a number.
func Key(lang, form string) string {
	if form == "" {
		return lang
	}
	return lang + "." + form
}

// Fill returns the approved template of message id for a person of lang,
// its variables filled from data (the message's values) in the order
// programme.yaml lists them, or nil when there is none.
func Fill(w flow.WhatsApp, b *locale.Bundle, id, lang string, data map[string]any) *store.Template {
	form := ""
	if forms, ok := b.Forms(lang, id); ok && forms != nil {
		form = "other"
		if n, ok := count(data["Count"]); ok {
			form = b.PluralForm(lang, n)
		}
	}
	t, ok := w.Template(id, Key(lang, form))
	if !ok {
		return nil
	}
	vars := make(map[string]string, len(t.Variables))
	for i, name := range t.Variables {
		// Twilio refuses an empty value (21656), so a value the message
		// lacks (an appointment with no place) is a dash.
		v := "-"
		if x, ok := data[name]; ok && x != nil && strings.TrimSpace(fmt.Sprint(x)) != "" {
			v = fmt.Sprint(x)
		}
		vars[strconv.Itoa(i+1)] = v
	}
	return &store.Template{SID: t.SID, Variables: vars}
}

func count(v any) (int, bool) {
	switch c := v.(type) {
	case int:
		return c, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(c))
		return n, err == nil
	}
	return 0, false
}

// Body is the text of one template to create on Twilio: message id of
// lang in plural form form ("" for a message without forms) with a
// question's choices below it, as the person gets it by SMS, each value
// the message fills in replaced by a numbered placeholder {{1}}, {{2}}...
// in the order they appear. Vars names the values, in that order: the
// variables line of programme.yaml. ok is false when lang's file lacks
// the message.
func Body(b *locale.Bundle, id, lang, form string, choices []string) (body string, vars []string, ok bool) {
	fields := b.Fields(lang, id)
	data := map[string]any{}
	for _, f := range fields {
		data[f] = marker(f)
	}
	if form == "" {
		form = "other"
	}
	text, ok := b.RenderForm(lang, id, form, data)
	if !ok {
		return "", nil, false
	}
	var sb strings.Builder
	sb.WriteString(text)
	for i, c := range choices {
		sb.WriteByte('\n')
		sb.WriteString(b.Render(lang, "common.choice", map[string]any{"Number": i + 1, "Label": b.Render(lang, c, nil)}))
	}
	body = sb.String()
	// Number the placeholders in the order they appear.
	type at struct {
		pos  int
		name string
	}
	var found []at
	for _, f := range fields {
		if i := strings.Index(body, marker(f)); i >= 0 {
			found = append(found, at{i, f})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].pos < found[j].pos })
	for i, f := range found {
		body = strings.ReplaceAll(body, marker(f.name), "{{"+strconv.Itoa(i+1)+"}}")
		vars = append(vars, f.name)
	}
	return body, vars, true
}

func marker(field string) string { return "\x1f" + field + "\x1f" }

// Rejected says why WhatsApp would refuse a template body, or "": a body
// may not start or end with a variable, nor hold two side by side.
func Rejected(body string) string {
	t := strings.TrimSpace(body)
	switch {
	case strings.HasPrefix(t, "{{"):
		return "starts with a variable"
	case strings.HasSuffix(t, "}}"):
		return "ends with a variable"
	}
	for i := strings.Index(t, "}}"); i >= 0; {
		rest := strings.TrimLeft(t[i+2:], " \t\n")
		if strings.HasPrefix(rest, "{{") {
			return "has two variables side by side"
		}
		j := strings.Index(t[i+2:], "}}")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return ""
}

// Need is one template a programme needs: a scheduled message in one
// language (and plural form), its body and variables, and what
// programme.yaml gives for it.
type Need struct {
	Message string
	Lang    string
	Form    string // "" for a message without plural forms
	Body    string
	Vars    []string
	// Configured is programme.yaml's template for it, if any.
	Configured flow.Template
	Has        bool
}

// Key is where programme.yaml keeps the need's template.
func (n Need) Key() string { return Key(n.Lang, n.Form) }

// Fits reports whether the configured template's variables are the
// message's values, as many and the same ones.
func (n Need) Fits() bool {
	if len(n.Configured.Variables) != len(n.Vars) {
		return false
	}
	want := map[string]bool{}
	for _, v := range n.Vars {
		want[v] = true
	}
	for _, v := range n.Configured.Variables {
		if !want[v] {
			return false
		}
	}
	return true
}

// usedForms are the plural forms the programme's reminders select: Count,
// the only number a scheduled message holds, is the days until an
// appointment, one of reminders.appointment.
func usedForms(b *locale.Bundle, lang string, forms []string, offsets []flow.Duration) []string {
	used := map[string]bool{}
	for _, d := range offsets {
		used[b.PluralForm(lang, flow.Days(d.D()))] = true
	}
	var out []string
	for _, f := range forms {
		if used[f] {
			out = append(out, f)
		}
	}
	return out
}

// Needs lists every template the programme's scheduled messages need in
// every offered language, in message, language and form order.
func Needs(set *flow.Set, b *locale.Bundle) []Need {
	var out []Need
	for _, m := range Scheduled(set) {
		for _, lang := range set.Programme.Languages {
			forms, ok := b.Forms(lang, m.ID)
			if !ok {
				continue // missing in the language: reported by the check itself
			}
			if forms == nil {
				forms = []string{""}
			} else {
				forms = usedForms(b, lang, forms, set.Programme.Reminders.Appointment)
			}
			for _, form := range forms {
				body, vars, _ := Body(b, m.ID, lang, form, m.Choices)
				n := Need{Message: m.ID, Lang: lang, Form: form, Body: body, Vars: vars}
				n.Configured, n.Has = set.Programme.WhatsApp.Template(m.ID, n.Key())
				out = append(out, n)
			}
		}
	}
	return out
}

// Markdown is the list of templates to create on Twilio for needs, one
// section a message: its content type and buttons, and for each language
// (and plural form) its body as it must be submitted and the
// programme.yaml line that uses it once approved. The shipped set is in docs/whatsapp.md;
// `waymark whatsapp-templates` prints an organisation's own.
func Markdown(needs []Need, choices map[string][]string) string {
	var sb strings.Builder
	last := ""
	for _, n := range needs {
		if n.Message != last {
			last = n.Message
			fmt.Fprintf(&sb, "### %s\n\n", n.Message)
			if len(choices[n.Message]) > 0 {
				fmt.Fprintf(&sb, "Content type `twilio/quick-reply` with %d buttons: each button's title and ID its number (", len(choices[n.Message]))
				for i := range choices[n.Message] {
					if i > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "`%d`", i+1)
				}
				sb.WriteString("), so a tap answers as typing the number does, in every language.\n\n")
			} else {
				sb.WriteString("Content type `twilio/text`.\n\n")
			}
		}
		fmt.Fprintf(&sb, "**%s**", n.Key())
		if len(n.Vars) > 0 {
			fmt.Fprintf(&sb, " — variables: ")
			for i, v := range n.Vars {
				if i > 0 {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "{{%d}} %s", i+1, v)
			}
		}
		if why := Rejected(n.Body); why != "" {
			fmt.Fprintf(&sb, " — WhatsApp would refuse this body: it %s; reword the message", why)
		}
		sb.WriteString("\n\n```text\n")
		sb.WriteString(n.Body)
		sb.WriteString("\n```\n\n")
		fmt.Fprintf(&sb, "`%s: {sid: HX..., variables: [%s]}`\n\n", n.Key(), strings.Join(n.Vars, ", "))
	}
	return sb.String()
}

// Choices maps each scheduled message to its choices' label IDs.
func Choices(set *flow.Set) map[string][]string {
	out := map[string][]string{}
	for _, m := range Scheduled(set) {
		out[m.ID] = m.Choices
	}
	return out
}
