// Package check validates a flows directory and its locale files together,
// as `waymark check` does: every problem at its file and line, then what
// each message of each language costs as SMS.
package check

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/sms"
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

// Cost is what one sent message of one language costs as SMS. For a
// message with plural forms it is the costliest form. Encoding and
// Segments are what it costs as the programme sends it (folded, where
// programme.yaml folds the language); Raw and Folded are the two ways.
type Cost struct {
	Lang     string
	ID       string
	Encoding sms.Encoding
	Segments int
	Chars    int // of the costliest form, as sent
	// Raw is the cost with every character kept, Folded with
	// sms.FoldGSM applied; Because names (some of) the characters
	// that make the raw text UCS-2.
	Raw, Folded Way
	Because     []rune
	// Latin is set for a language written in Latin letters, whose
	// messages can travel as GSM-7.
	Latin bool
}

// Way is a message's cost one way of sending it.
type Way struct {
	Encoding sms.Encoding
	Segments int
}

// Report is the outcome of a check.
type Report struct {
	Problems []diag.Problem // sorted by file and line
	Costs    []Cost         // sorted by language and message ID
	// Translations is each language's translation status, when the
	// catalog can say it (see Translations).
	Translations []Translation
	// WhatsApp is every approved template the programme's scheduled
	// messages need on WhatsApp, and what programme.yaml gives for each
	// (only when the locales are real locale files); WhatsAppSection says
	// whether programme.yaml has a whatsapp section at all.
	WhatsApp        []whatsapp.Need
	WhatsAppSection bool
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
	samples, _ := cat.(sampleSetter)
	r.add(in.FlowsDir, set.CheckMessages(cat))

	pos, _ := cat.(Positioner)
	where := func(lang, id string) (string, int) {
		if pos != nil {
			if f, l := pos.Position(lang, id); f != "" {
				return join(in.LocalesDir, f), l
			}
		}
		return path.Join(in.LocalesDir, lang+".yaml"), 0
	}
	r.Problems = mergeMissing(r.Problems, in.LocalesDir)
	wordsOnly := keywordMessages(set)
	questions := askedWith(set)
	questionProblems := map[string][]diag.Problem{}
	for _, lang := range cat.Languages() {
		if samples != nil {
			samples.SetSampleData(sampleData(set.Programme, lang))
		}
		latin := locale.WrittenInLatin(lang)
		fold := set.Programme.Folds(lang)
		var accents []Cost // over one segment only for an accent that folding drops
		for _, id := range cat.MessageIDs() {
			if !cat.Has(lang, id) || wordsOnly(id) {
				continue // a missing message is reported where it is used; words are never sent
			}
			texts := cat.Texts(lang, id)
			if q, ok := questions[id]; ok {
				texts = withChoices(cat, lang, texts, q.choices)
			}
			c := measure(lang, id, texts, fold)
			c.Latin = latin
			r.Costs = append(r.Costs, c)
			r.Smart.count(c, texts)
			if latin && c.Segments > 1 && c.Encoding == sms.UCS2 && c.Folded.Encoding == sms.GSM7 && c.Folded.Segments == 1 {
				accents = append(accents, c)
				continue
			}
			if p, bad := costProblem(c, fold); bad {
				p.File, p.Line = where(lang, id)
				if _, ok := questions[id]; ok {
					questionProblems[id] = append(questionProblems[id], p)
					continue
				}
				r.Problems = append(r.Problems, p)
			}
		}
		if len(accents) > 0 {
			p := accentProblem(lang, accents)
			p.File, p.Line = where(lang, accents[0].ID)
			r.Problems = append(r.Problems, p)
		}
	}
	r.Problems = append(r.Problems, unvoiced(set, cat, in.FlowsDir)...)
	if b, ok := cat.(*locale.Bundle); ok {
		r.checkWhatsApp(in.FlowsDir, set, b)
	}
	for id, ps := range questionProblems {
		q := questions[id]
		q.file = join(in.FlowsDir, q.file)
		r.Problems = append(r.Problems, questionProblem(id, q, ps)...)
	}
	r.sort()
	if t, ok := cat.(translatable); ok {
		r.Translations, _ = Translations(r, t, in.Locales)
	}
	return r
}

// count adds one message to the saving: its cost as written, and with
// look-alike characters replaced as Twilio would.
func (s *SmartSaving) count(c Cost, texts []string) {
	smart := make([]string, len(texts))
	for i, t := range texts {
		smart[i] = sms.SmartEncode(t)
	}
	sc := measure(c.Lang, c.ID, smart, false)
	s.Messages++
	if c.Raw.Segments > 1 {
		s.Multi++
	}
	if sc.Raw.Segments < c.Raw.Segments {
		s.Fewer++
		if sc.Raw.Segments == 1 {
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
	r.WhatsAppSection = configured
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

// unvoiced lists, when the telephone line answers with the keypad menu,
// the spoken messages of each language that Twilio has no voice for and
// the organisation has not recorded: callers reading it hear them in the
// default language.
func unvoiced(set *flow.Set, cat Catalog, flowsDir string) []diag.Problem {
	v := set.Programme.Voice
	if !v.Menu() {
		return nil
	}
	var spoken []string
	for _, id := range cat.MessageIDs() {
		if strings.HasPrefix(id, "voice.") {
			spoken = append(spoken, id)
		}
	}
	var out []diag.Problem
	for _, lang := range set.Programme.Languages {
		if sp, ok := v.Speech[lang]; ok && sp.Speaks() || lang == set.Programme.DefaultLanguage {
			continue
		}
		var missing []string
		for _, id := range spoken {
			if set.Recording(lang, id) == "" {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			continue
		}
		out = append(out, diag.Problem{File: join(flowsDir, path.Join(flow.AudioDir, lang)), Warning: true, Message: fmt.Sprintf(
			"the keypad menu has no voice for %s: Twilio cannot speak it and %d messages have no recording here, so callers hear them in %s: %s",
			lang, len(missing), set.Programme.DefaultLanguage, strings.Join(missing, ", "))})
	}
	return out
}

// question is a message sent with numbered choices: what it costs is
// the message and its choices together, as the person gets it.
type question struct {
	choices [][]string // the choices' label IDs, per node that asks it
	file    string
	line    int
}

// askedWith returns the questions of the flows by message ID.
func askedWith(set *flow.Set) map[string]question {
	qs := map[string]question{}
	ids := make([]string, 0, len(set.Flows))
	for id := range set.Flows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, fid := range ids {
		fl := set.Flows[fid]
		for _, nid := range fl.Order {
			n := fl.Nodes[nid]
			if n.Kind != flow.KindAsk || len(n.Choices) == 0 {
				continue
			}
			q, seen := qs[n.Message]
			if !seen {
				q.file, q.line = fl.File, n.Line
			}
			var labels []string
			for _, c := range n.Choices {
				labels = append(labels, c.Label)
			}
			q.choices = append(q.choices, labels)
			qs[n.Message] = q
		}
	}
	return qs
}

// withChoices returns each form of a question followed by each node's
// numbered choices in lang, as Render lays them out ("1 - Label").
func withChoices(cat Catalog, lang string, texts []string, choices [][]string) []string {
	var out []string
	for _, t := range texts {
		for _, labels := range choices {
			var b strings.Builder
			b.WriteString(t)
			for i, id := range labels {
				label := ""
				if ls := cat.Texts(lang, id); len(ls) > 0 {
					label = ls[0]
				}
				fmt.Fprintf(&b, "\n%d - %s", i+1, label)
			}
			out = append(out, b.String())
		}
	}
	return out
}

// questionProblem reports a question too long with its choices once, at
// the flow line that asks it, when it is so in several languages (the
// choices make it so, and the flow is where to cut them); in one
// language, at that language's line.
func questionProblem(id string, q question, ps []diag.Problem) []diag.Problem {
	if len(ps) < 2 {
		return ps
	}
	var langs []string
	for _, p := range ps {
		// "message ID in LANG takes N SMS segments (...)"
		f := strings.Fields(p.Message)
		langs = append(langs, f[3]+" "+f[5])
	}
	return []diag.Problem{{File: q.file, Line: q.line, Warning: true, Message: fmt.Sprintf(
		"question %s with its %d choices takes more SMS segments than it should in %d languages (%s): the choices make it long; offer fewer, or accept the cost of a question sent rarely",
		id, len(q.choices[0]), len(ps), strings.Join(langs, ", "))}}
}

// keywordMessages tells the messages whose length costs no SMS of its
// own: words to match rather than text to send (those the flows use only
// as keywords, and by convention every ID starting with "keyword.": JOIN
// and the language names are matched by Go code, not named in a flow),
// choice labels (measured within their question) and the languages' own
// names, and the "voice." messages, which are spoken on a call, never
// texted.
func keywordMessages(set *flow.Set) func(id string) bool {
	kw, label, sent := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ref := range set.MessageRefs() {
		switch ref.What {
		case "keyword", "choice keywords", "time words":
			kw[ref.ID] = true
		case "choice label":
			label[ref.ID] = true
		default:
			sent[ref.ID] = true
		}
	}
	return func(id string) bool {
		return strings.HasPrefix(id, "keyword.") || strings.HasPrefix(id, "voice.") || strings.HasPrefix(id, "language.name.") ||
			kw[id] && !sent[id] || label[id] && !sent[id]
	}
}

// measure returns the cost of the costliest form, raw and folded, and
// which of the two the programme pays.
func measure(lang, id string, texts []string, fold bool) Cost {
	c := Cost{Lang: lang, ID: id}
	rawChars, foldedChars := 0, 0
	for _, t := range texts {
		c.Raw, rawChars = costlier(c.Raw, rawChars, t)
		f := sms.FoldGSM(t)
		c.Folded, foldedChars = costlier(c.Folded, foldedChars, f)
		for _, r := range sms.NotGSM(t, 3) {
			if len(c.Because) < 3 && !slices.Contains(c.Because, r) {
				c.Because = append(c.Because, r)
			}
		}
	}
	c.Encoding, c.Segments, c.Chars = c.Raw.Encoding, c.Raw.Segments, rawChars
	if fold {
		c.Encoding, c.Segments, c.Chars = c.Folded.Encoding, c.Folded.Segments, foldedChars
	}
	return c
}

// costlier returns the costlier of w (whose text had chars characters)
// and text: UCS-2 wins, then more segments.
func costlier(w Way, chars int, text string) (Way, int) {
	enc, n := sms.Segments(text)
	if enc == sms.UCS2 {
		w.Encoding = sms.UCS2
	}
	if n > w.Segments {
		w.Segments, chars = n, utf8.RuneCountInString(text)
	}
	return w, chars
}

// costProblem is the warning a message's cost deserves, if any. A
// language in Latin letters can say everything in one GSM-7 segment, so
// more than one is worth a warning that says why; other scripts travel as
// UCS-2 (70 characters), so two segments are normal and three are not.
func costProblem(c Cost, fold bool) (diag.Problem, bool) {
	limit := 2
	if c.Latin {
		limit = 1
	}
	if c.Segments <= limit {
		return diag.Problem{}, false
	}
	var why string
	switch {
	case c.Encoding == sms.UCS2 && c.Latin && c.Folded.Encoding == sms.GSM7:
		why = fmt.Sprintf("UCS-2 because of %s, %d characters; folded (fold in programme.yaml) it takes %d GSM-7", quoteRunes(c.Because), c.Chars, c.Folded.Segments)
	case c.Encoding == sms.UCS2 && c.Latin:
		why = fmt.Sprintf("UCS-2 because of %s, %d characters: shorten it to 70, or replace them", quoteRunes(c.Because), c.Chars)
	case c.Encoding == sms.UCS2:
		why = fmt.Sprintf("UCS-2, %d characters: shorten it to %d for two", c.Chars, 2*67)
	default:
		how := "GSM-7"
		if fold && c.Raw.Encoding == sms.UCS2 {
			how = "GSM-7 once folded"
		}
		why = fmt.Sprintf("%s, %d characters: shorten it to 160 for one", how, c.Chars)
	}
	return diag.Problem{Warning: true, Message: fmt.Sprintf("message %s in %s takes %d SMS segments (%s)", c.ID, c.Lang, c.Segments, why)}, true
}

// accentProblem is one warning for the messages of a Latin-script
// language that take two segments only because an accent makes them
// UCS-2, and that folding would send as one: one decision (fold or not),
// so one warning, naming them all.
func accentProblem(lang string, cs []Cost) diag.Problem {
	var ids []string
	var because []rune
	for _, c := range cs {
		ids = append(ids, c.ID)
		for _, r := range c.Because {
			if !slices.Contains(because, r) {
				because = append(because, r)
			}
		}
	}
	return diag.Problem{Warning: true, Message: fmt.Sprintf(
		"%d messages in %s take more than one SMS segment only because %s make them UCS-2; with %s in fold in programme.yaml each takes one GSM-7 segment: %s",
		len(cs), lang, quoteRunes(because), lang, strings.Join(ids, ", "))}
}

func quoteRunes(rs []rune) string {
	q := make([]string, len(rs))
	for i, r := range rs {
		q[i] = strconv.QuoteRune(r)
	}
	return strings.Join(q, " ")
}

// sampleData is the template data the organisation's messages in lang
// will really be sent with, as far as the programme knows it.
func sampleData(p flow.Programme, lang string) map[string]any {
	data := p.Retention.TemplateData()
	if name := p.Organisation.NameIn(lang); name != "" {
		data["Org"] = name
	}
	if p.Organisation.Phone != "" {
		data["HelpPhone"] = p.Organisation.Phone
	}
	if hours := p.Organisation.HoursIn(lang); hours != "" {
		data["HelpHours"] = hours
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

// Output says what Write prints beyond the problems and the summary.
type Output struct {
	// Costs adds the table of every sent message's cost in every language.
	Costs bool
}

// Write prints the errors, then the warnings, each as `file:line: …`;
// then one line per language saying what its messages cost; the table of
// every message's cost if out.Costs; and the count of errors and warnings.
func (r Report) Write(w io.Writer, out Output) error {
	var b strings.Builder
	errs := diag.Errors(r.Problems)
	for _, p := range errs {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	for _, p := range r.Problems {
		if p.Warning {
			b.WriteString(p.String())
			b.WriteByte('\n')
		}
	}
	if len(r.Costs) > 0 {
		if len(r.Problems) > 0 {
			b.WriteByte('\n')
		}
		r.writeSummary(&b)
		if out.Costs {
			b.WriteByte('\n')
			r.writeTable(&b)
			r.writeSmart(&b)
		}
		b.WriteByte('\n')
	}
	if len(r.WhatsApp) > 0 && (r.WhatsAppSection || out.Costs) {
		r.writeWhatsApp(&b)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s, %s\n", plural(len(errs), "error"), plural(len(r.Problems)-len(errs), "warning"))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSummary prints, per language, how many messages it sends, in which
// encoding, how many segments they take, and for a Latin-script language
// what folding would make of them.
func (r Report) writeSummary(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LANG\tMESSAGES\tGSM-7\tUCS-2\t1 SMS\t2 SMS\tMORE\tFOLDED: 1 SMS\tMORE")
	for i := 0; i < len(r.Costs); {
		lang := r.Costs[i].Lang
		var n, gsm, ucs, one, two, more, fOne, fMore int
		latin := r.Costs[i].Latin
		for ; i < len(r.Costs) && r.Costs[i].Lang == lang; i++ {
			c := r.Costs[i]
			n++
			if c.Encoding == sms.UCS2 {
				ucs++
			} else {
				gsm++
			}
			switch {
			case c.Segments <= 1:
				one++
			case c.Segments == 2:
				two++
			default:
				more++
			}
			if c.Folded.Segments <= 1 {
				fOne++
			} else {
				fMore++
			}
		}
		folded := "-\t-"
		if latin {
			folded = fmt.Sprintf("%d\t%d", fOne, fMore)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", lang, n, gsm, ucs, one, two, more, folded)
	}
	tw.Flush()
}

func (r Report) writeTable(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LANG\tMESSAGE\tENCODING\tSEGMENTS\tFOLDED")
	for _, c := range r.Costs {
		folded := "-"
		if c.Latin {
			folded = fmt.Sprintf("%s %d", c.Folded.Encoding, c.Folded.Segments)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Lang, c.ID, c.Encoding, c.Segments, folded)
	}
	tw.Flush()
}

// writeSmart says what Twilio's Smart Encoding would save.
func (r Report) writeSmart(b *strings.Builder) {
	sm := r.Smart
	if sm.Fewer == 0 {
		return
	}
	fmt.Fprintf(b, "\nSmart Encoding (WAYMARK_TWILIO_SMART_ENCODED=true) makes %d of %d SMS messages cheaper; %d of the %d over one segment drop to one",
		sm.Fewer, sm.Messages, sm.ToOne, sm.Multi)
	var ex []string
	for _, c := range sm.Examples {
		ex = append(ex, fmt.Sprintf("%s %s (%d)", c.Lang, c.ID, c.Raw.Segments))
	}
	if len(ex) > 0 {
		fmt.Fprintf(b, ", e.g. %s", strings.Join(ex, ", "))
	}
	b.WriteString(".\n")
}

// writeWhatsApp prints the templates the scheduled messages need on
// WhatsApp, and which programme.yaml gives.
func (r Report) writeWhatsApp(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
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
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// mergeMissing reports each missing message once: the problems that share
// a Key (the locale file's "missing" and one per flow line that names the
// message) become one, at the first flow line, naming the locale file to
// add it to and the other lines that use it.
func mergeMissing(ps []diag.Problem, localesDir string) []diag.Problem {
	groups := map[string][]int{}
	for i, p := range ps {
		if p.Key != "" {
			groups[p.Key] = append(groups[p.Key], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		var uses []int
		locale := -1
		for _, i := range idx {
			if strings.HasPrefix(ps[i].File, localesDir+"/") || localesDir == "" && strings.HasSuffix(ps[i].File, ".yaml") && ps[i].Line == 0 {
				locale = i
			} else {
				uses = append(uses, i)
			}
		}
		if len(uses) == 0 {
			continue
		}
		first := &ps[uses[0]]
		if locale >= 0 {
			first.Message += "; add it to " + ps[locale].File
			drop[locale] = true
		}
		var also []string
		for _, i := range uses[1:] {
			also = append(also, fmt.Sprintf("%s:%d", ps[i].File, ps[i].Line))
			drop[i] = true
		}
		if len(also) > 0 {
			first.Message += " (also named at " + strings.Join(also, ", ") + ")"
		}
	}
	out := ps[:0:0]
	for i, p := range ps {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

// SampleData is the template data the organisation's messages in lang
// will be sent with, as far as the programme says: its name, help phone
// and hours, and the retention periods people are told.
func SampleData(p flow.Programme, lang string) map[string]any { return sampleData(p, lang) }
