// Package check validates a flows directory and its locale files together,
// as `waymark check` does: every problem at its file and line, then what
// each message of each language costs as SMS.
package check

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/channel"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/whatsapp"
)

// Catalog is what the check needs of the loaded locale files
// (*locale.Bundle satisfies it).
type Catalog interface {
	Languages() []string
	Has(lang, id string) bool
	MessageIDs() []string
	// Texts returns every plural form of the message as a person would
	// get it, rendered with sample data.
	Texts(lang, id string) []string
}

// Positioner may be implemented by a Catalog to say where a message is
// written, so that a warning about its length points at its line.
type Positioner interface {
	Position(lang, id string) (file string, line int)
}

// sampleSetter may be implemented by a Catalog so that messages are
// measured with the organisation's real name and phone number.
type sampleSetter interface {
	SetSampleData(map[string]any)
}

// Input says what to check.
type Input struct {
	Flows fs.FS
	// FlowsDir is shown before the flow files' names in problems, e.g.
	// "flows", so that each line can be opened as it is printed.
	FlowsDir string
	Locales  fs.FS
	// LocalesDir is shown before the locale files' names.
	LocalesDir string
	// LoadLocales loads Locales; nil checks the flows alone.
	LoadLocales func(fs.FS) (Catalog, []diag.Problem)
}

// Cost is what one message of one language costs as SMS. For a message
// with plural forms it is the costliest form.
type Cost struct {
	Lang     string
	ID       string
	Encoding channel.Encoding
	Segments int
}

// Report is the outcome of a check.
type Report struct {
	Problems []diag.Problem // sorted by file and line
	Costs    []Cost         // sorted by language and message ID
	// WhatsApp is every approved template the programme's scheduled
	// messages need on WhatsApp, and what programme.yaml gives for each
	// (only when the locales are real locale files).
	WhatsApp []whatsapp.Need
	// Smart is what Twilio's Smart Encoding (WAYMARK_TWILIO_SMART_ENCODED)
	// would save on the messages sent as SMS.
	Smart SmartSaving
}

// SmartSaving counts the SMS messages (every language, costliest plural
// form) that Smart Encoding would make cheaper.
type SmartSaving struct {
	Messages int // messages sent as SMS
	Multi    int // of them, those over one segment without it
	ToOne    int // of those, the ones it brings down to one segment
	Fewer    int // messages it makes cheaper at all
	// Examples are up to five of the messages brought down to one segment.
	Examples []Cost
}

// Run loads and validates the flows, then the locales, then the flows'
// message IDs against the locales, and measures every message.
func Run(in Input) Report {
	var r Report
	set, problems := flow.Load(in.Flows)
	r.add(in.FlowsDir, problems)
	if in.LoadLocales == nil || in.Locales == nil {
		r.sort()
		return r
	}

	cat, problems := in.LoadLocales(in.Locales)
	r.add(in.LocalesDir, problems)
	if cat == nil {
		r.sort()
		return r
	}
	if s, ok := cat.(sampleSetter); ok {
		s.SetSampleData(sampleData(set.Programme))
	}
	r.add(in.FlowsDir, set.CheckMessages(cat))

	pos, _ := cat.(Positioner)
	wordsOnly := keywordMessages(set)
	for _, lang := range cat.Languages() {
		for _, id := range cat.MessageIDs() {
			if !cat.Has(lang, id) {
				continue // a missing message is reported where it is used
			}
			texts := cat.Texts(lang, id)
			c, chars := measure(lang, id, texts)
			r.Costs = append(r.Costs, c)
			if !wordsOnly(id) {
				r.Smart.count(c, texts)
			}
			if c.Segments > 1 && !wordsOnly(id) {
				file, line := path.Join(in.LocalesDir, lang+".yaml"), 0
				if pos != nil {
					if f, l := pos.Position(lang, id); f != "" {
						file, line = join(in.LocalesDir, f), l
					}
				}
				r.Problems = append(r.Problems, diag.Problem{File: file, Line: line, Warning: true,
					Message: fmt.Sprintf("message %s in %s takes %d SMS segments (%s, %d characters)", id, lang, c.Segments, c.Encoding, chars)})
			}
		}
	}
	if b, ok := cat.(*locale.Bundle); ok {
		r.checkWhatsApp(in.FlowsDir, set, b)
	}
	r.sort()
	return r
}

// count adds one message to the saving: its cost as written, and with
// look-alike characters replaced as Twilio would.
func (s *SmartSaving) count(c Cost, texts []string) {
	smart := make([]string, len(texts))
	for i, t := range texts {
		smart[i] = channel.SmartEncode(t)
	}
	sc, _ := measure(c.Lang, c.ID, smart)
	s.Messages++
	if c.Segments > 1 {
		s.Multi++
	}
	if sc.Segments < c.Segments {
		s.Fewer++
		if sc.Segments == 1 {
			s.ToOne++
			if len(s.Examples) < 5 {
				s.Examples = append(s.Examples, c)
			}
		}
	}
}

// checkWhatsApp lists the templates the scheduled messages need on
// WhatsApp and warns, at programme.yaml's lines, of a template whose
// variables do not fit its message, and, once the programme has a
// whatsapp section, of every message and language without a template.
func (r *Report) checkWhatsApp(dir string, set *flow.Set, b *locale.Bundle) {
	r.WhatsApp = whatsapp.Needs(set, b)
	file := join(dir, flow.ProgrammeFile)
	section, configured := set.ProgrammeLine("whatsapp")
	w := set.Programme.WhatsApp
	for _, n := range r.WhatsApp {
		path := "whatsapp.templates." + n.Message + "." + n.Key()
		switch {
		case n.Has && !n.Fits():
			line, _ := set.ProgrammeLine(path)
			r.Problems = append(r.Problems, diag.Problem{File: file, Line: line, Warning: true,
				Message: fmt.Sprintf("%s: the template fills %d variable(s) [%s], but the message in %s has %d [%s]: write variables: [%s]",
					path, len(n.Configured.Variables), strings.Join(n.Configured.Variables, ", "), n.Lang, len(n.Vars), strings.Join(n.Vars, ", "), strings.Join(n.Vars, ", "))})
		case !n.Has && configured:
			what := "nothing is sent and the window is 'not delivered'"
			if w.Fallback == flow.FallbackSMS {
				what = "it goes by SMS to people who agreed, and to no one else"
			}
			r.Problems = append(r.Problems, diag.Problem{File: file, Line: section, Warning: true,
				Message: fmt.Sprintf("whatsapp: no template for %s in %s: to someone quiet for 24 hours %s (waymark whatsapp-templates prints the text to have approved)",
					n.Message, n.Key(), what)})
		}
	}
}

// keywordMessages tells the messages whose length costs no SMS: words to
// match rather than text to send (those the flows use only as keywords, and
// by convention every ID starting with "keyword.": JOIN and the language
// names are matched by Go code, not named in a flow), and the "voice."
// messages, which are spoken on a call, never texted.
func keywordMessages(set *flow.Set) func(id string) bool {
	kw, sent := map[string]bool{}, map[string]bool{}
	for _, ref := range set.MessageRefs() {
		switch ref.What {
		case "keyword", "choice keywords", "time words":
			kw[ref.ID] = true
		default:
			sent[ref.ID] = true
		}
	}
	return func(id string) bool {
		return strings.HasPrefix(id, "keyword.") || strings.HasPrefix(id, "voice.") || kw[id] && !sent[id]
	}
}

// measure returns the cost of the costliest form and its length.
func measure(lang, id string, texts []string) (Cost, int) {
	c, chars := Cost{Lang: lang, ID: id}, 0
	for _, t := range texts {
		enc, n := channel.Segments(t)
		if enc == channel.UCS2 {
			c.Encoding = channel.UCS2
		}
		if n > c.Segments {
			c.Segments = n
			chars = utf8.RuneCountInString(t)
		}
	}
	return c, chars
}

// sampleData is the template data the organisation's messages will
// really be sent with, as far as the programme knows it.
func sampleData(p flow.Programme) map[string]any {
	data := p.Retention.TemplateData()
	if p.Organisation.Name != "" {
		data["Org"] = p.Organisation.Name
	}
	if p.Organisation.Phone != "" {
		data["HelpPhone"] = p.Organisation.Phone
	}
	if p.Organisation.Hours != "" {
		data["HelpHours"] = p.Organisation.Hours
	}
	return data
}

func (r *Report) add(dir string, ps []diag.Problem) {
	for _, p := range ps {
		p.File = join(dir, p.File)
		r.Problems = append(r.Problems, p)
	}
}

func join(dir, file string) string {
	if dir == "" || path.IsAbs(file) || strings.HasPrefix(file, dir+"/") {
		return file
	}
	return path.Join(dir, file)
}

func (r *Report) sort() {
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	sort.SliceStable(r.Costs, func(i, j int) bool {
		a, b := r.Costs[i], r.Costs[j]
		if a.Lang != b.Lang {
			return a.Lang < b.Lang
		}
		return a.ID < b.ID
	})
}

// OK reports whether the check found no errors (warnings are fine).
func (r Report) OK() bool { return len(diag.Errors(r.Problems)) == 0 }

// Write prints the problems as `file:line: error: …`, the cost of every
// message as a table, and a summary line.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	if len(r.Costs) > 0 {
		if len(r.Problems) > 0 {
			b.WriteByte('\n')
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LANG\tMESSAGE\tENCODING\tSEGMENTS")
		for _, c := range r.Costs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", c.Lang, c.ID, c.Encoding, c.Segments)
		}
		tw.Flush()
		b.WriteByte('\n')
	}
	if sm := r.Smart; sm.Fewer > 0 {
		fmt.Fprintf(&b, "Smart Encoding (WAYMARK_TWILIO_SMART_ENCODED=true) makes %d of %d SMS messages cheaper; %d of the %d over one segment drop to one",
			sm.Fewer, sm.Messages, sm.ToOne, sm.Multi)
		var ex []string
		for _, c := range sm.Examples {
			ex = append(ex, fmt.Sprintf("%s %s (%d)", c.Lang, c.ID, c.Segments))
		}
		if len(ex) > 0 {
			fmt.Fprintf(&b, ", e.g. %s", strings.Join(ex, ", "))
		}
		b.WriteString(".\n\n")
	}
	if len(r.WhatsApp) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WHATSAPP TEMPLATE\tKEY\tSID\tVARIABLES\tSTATE")
		for _, n := range r.WhatsApp {
			sid, state := "-", "missing"
			if n.Has {
				sid, state = n.Configured.SID, "ok"
				if !n.Fits() {
					state = "variables do not fit"
				}
			}
			if why := whatsapp.Rejected(n.Body); why != "" {
				state += "; WhatsApp would refuse it: " + why
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t[%s]\t%s\n", n.Message, n.Key(), sid, strings.Join(n.Vars, ", "), state)
		}
		tw.Flush()
		b.WriteByte('\n')
	}
	errs := len(diag.Errors(r.Problems))
	fmt.Fprintf(&b, "%s, %s\n", plural(errs, "error"), plural(len(r.Problems)-errs, "warning"))
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
