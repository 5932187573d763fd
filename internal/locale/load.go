package locale

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/waymark-atd/waymark/internal/diag"
)

// pluralForms are the CLDR plural forms in CLDR order.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// messageKeys are the keys a message written as a map may have (go-i18n's
// reserved keys).
var messageKeys = map[string]bool{
	"id": true, "description": true, "hash": true, "leftdelim": true, "rightdelim": true,
	"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true,
	"translation": true,
}

// Load reads every <lang>.yaml at the root of fsys (go-i18n's YAML format,
// flat "a.b: text" or nested keys, plural messages as maps of CLDR forms)
// and checks them against English, the reference. Problems name the file as
// seen in fsys and the line. The Bundle is always returned and holds every
// message that could be read; a broken message is left out, so Render falls
// back to another language for it.
func Load(fsys fs.FS) (*Bundle, []diag.Problem) {
	b := &Bundle{
		i18n: i18n.NewBundle(language.English),
		by:   map[string]*langFile{},
		all:  map[string][]string{},
	}
	b.i18n.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	var problems []diag.Problem
	report := func(file string, line int, warning bool, format string, args ...any) {
		problems = append(problems, diag.Problem{File: file, Line: line, Warning: warning, Message: fmt.Sprintf(format, args...)})
	}

	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		report(".", 0, false, "cannot read the locales directory: %v", err)
		return b, problems
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if path.Ext(name) == ".yml" {
			report(name, 0, true, "ignored: locale files must be named <language>.yaml")
			continue
		}
		if path.Ext(name) != ".yaml" {
			continue // embed.go, README and the like
		}
		if l := b.loadFile(fsys, name, report); l != nil {
			b.by[l.key] = l
			b.langs = append(b.langs, l.key)
		}
	}
	sort.Strings(b.langs)
	for _, key := range b.langs {
		b.by[key].loc = i18n.NewLocalizer(b.i18n, key)
	}
	b.crossCheck(report, func(p diag.Problem) { problems = append(problems, p) })
	b.index()
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	return b, problems
}

type reporter func(file string, line int, warning bool, format string, args ...any)

// loadFile reads, checks and loads one locale file. It returns nil when
// nothing of the file can be used.
func (b *Bundle) loadFile(fsys fs.FS, name string, report reporter) *langFile {
	code := strings.TrimSuffix(name, ".yaml")
	if strings.Contains(code, ".") {
		report(name, 0, false, "file name must be <language>.yaml, e.g. fr.yaml or pt-BR.yaml")
		return nil
	}
	tag, err := language.Parse(code)
	if err != nil {
		report(name, 0, false, "%q is not a language code: name the file like fr.yaml, ar.yaml or pt-BR.yaml", code)
		return nil
	}
	key := tag.String()
	if prev := b.by[key]; prev != nil {
		report(name, 0, false, "language %s already comes from %s: keep one file per language", key, prev.file)
		return nil
	}
	forms, samples, ok := probePlural(tag)
	if !ok {
		report(name, 0, false, "go-i18n has no plural rules for language %q, so it cannot load this file; "+
			"name the file after a close language that has rules (e.g. fa-AF.yaml for Dari, fr-HT.yaml for Haitian Creole) "+
			"and set people's language to that code", key)
		return nil
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		report(name, 0, false, "cannot read: %v", err)
		return nil
	}
	if !utf8.Valid(data) {
		report(name, badUTF8Line(data), false, "not valid UTF-8: save the file as UTF-8")
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		report(name, yamlErrorLine(err), false, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	w := &walker{file: name, report: report, msgs: map[string]*message{}}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		report(name, 0, false, "the file has no messages")
		return nil
	}
	w.walk(doc.Content[0], "")
	if len(w.msgs) == 0 && !w.failed {
		report(name, 0, false, "the file has no messages")
	}

	// go-i18n reads the file itself: it is the authority on what a file
	// means. If it refuses the file, what the walk found valid is loaded
	// instead, so one mistake does not silence a whole language.
	mf, err := b.i18n.ParseMessageFileBytes(data, name)
	if err != nil {
		if !w.failed {
			report(name, 0, false, "go-i18n cannot load the file: %v", err)
		}
		var ms []*i18n.Message
		for _, id := range sortedKeys(w.msgs) {
			ms = append(ms, w.msgs[id].i18n())
		}
		if err := b.i18n.AddMessages(tag, ms...); err != nil {
			report(name, 0, false, "go-i18n cannot load the file: %v", err)
			return nil
		}
	} else if mf.Tag != tag {
		report(name, 0, false, "go-i18n reads the language of this file as %s, not %s", mf.Tag, key)
		return nil
	} else {
		seen := map[string]bool{}
		for _, m := range mf.Messages {
			seen[m.ID] = true
			if w.msgs[m.ID] == nil && !w.bad[m.ID] && !w.failed {
				report(name, 0, false, "go-i18n reads a message %q that this check does not: write each message as `id: text`", m.ID)
			}
		}
		for id, m := range w.msgs {
			if !seen[id] {
				report(name, m.line, false, "go-i18n does not read message %q: write each message as `id: text`", id)
				delete(w.msgs, id)
			}
		}
	}
	return &langFile{key: key, tag: tag, file: name, msgs: w.msgs, bad: w.bad, forms: forms, samples: samples, source: data}
}

// crossCheck compares every language with English: the same message IDs,
// the plural forms each language needs, and the same template fields.
func (b *Bundle) crossCheck(report reporter, missing func(diag.Problem)) {
	en := b.by[English]
	if en == nil {
		report(English+".yaml", 0, false, "missing: English is the reference language and the last fallback, so every programme needs en.yaml")
	}
	for _, key := range b.langs {
		l := b.by[key]
		for _, id := range sortedKeys(l.msgs) {
			m := l.msgs[id]
			var ref *message
			if en != nil {
				ref = en.msgs[id]
			}
			if en != nil && l != en && ref == nil {
				report(l.file, m.line, false, "message %s is not in %s: English is the reference, so add it there or remove it here", id, en.file)
			}
			checkPlural(l, m, ref, en, report)
			if ref != nil && l != en {
				checkFields(l, m, ref, report)
			}
		}
		if en == nil || l == en {
			continue
		}
		for _, id := range sortedKeys(en.msgs) {
			if l.msgs[id] == nil && !l.bad[id] {
				missing(diag.Problem{File: l.file, Key: diag.MissingKey(key, id),
					Message: fmt.Sprintf("message %s is missing (%s:%d has it); people reading %s get it in another language", id, en.file, en.msgs[id].line, key)})
			}
		}
	}
}

func checkPlural(l *langFile, m, ref *message, en *langFile, report reporter) {
	if !m.plural {
		if ref != nil && ref.plural && len(l.forms) > 1 {
			report(l.file, m.line, false, "message %s has plural forms in %s; write it here with the forms %s needs: %s",
				m.id, en.file, l.key, strings.Join(l.forms, ", "))
		}
		return
	}
	var missing []string
	for _, f := range l.forms {
		if m.forms.get(f) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		report(l.file, m.line, false, "message %s lacks the plural form(s) %s that %s needs (it needs %s)",
			m.id, strings.Join(missing, ", "), l.key, strings.Join(l.forms, ", "))
	}
	for _, f := range pluralForms {
		if m.forms.get(f) != "" && !slices.Contains(l.forms, f) {
			report(l.file, m.forms.line(f), true, "message %s: %s never uses the plural form %q (it uses %s)", m.id, l.key, f, strings.Join(l.forms, ", "))
		}
	}
}

// checkFields warns when a translation uses a template field English does
// not (a typo renders as nothing) or leaves out one English uses (a phone
// number or a date the person needs).
func checkFields(l *langFile, m, ref *message, report reporter) {
	for _, f := range m.fields {
		if !slices.Contains(ref.fields, f) && f != "Count" && f != "PluralCount" {
			report(l.file, m.line, true, "message %s uses {{.%s}}, which the English text does not: check the spelling", m.id, f)
		}
	}
	for _, f := range ref.fields {
		if !slices.Contains(m.fields, f) && f != "Count" && f != "PluralCount" {
			report(l.file, m.line, true, "message %s leaves out {{.%s}}, which the English text has", m.id, f)
		}
	}
}

// index precomputes the keywords of every message and the sorted ID list,
// so that the hot paths only read maps.
func (b *Bundle) index() {
	ids := map[string]bool{}
	for _, key := range b.langs {
		l := b.by[key]
		for id, m := range l.msgs {
			ids[id] = true
			text, ok := l.exec(m, nil, nil)
			if !ok {
				text = m.forms.get("other")
			}
			m.words = splitWords(text)
			if !m.plural && len(m.fields) == 0 {
				m.label = strings.TrimSpace(text)
			}
		}
	}
	b.ids = sortedKeys(ids)
	for _, id := range b.ids {
		seen := map[string]bool{}
		var words []string
		for _, key := range b.langs {
			if m := b.by[key].msgs[id]; m != nil {
				for _, w := range m.words {
					if !seen[w] {
						seen[w] = true
						words = append(words, w)
					}
				}
			}
		}
		b.all[id] = words
	}
}

// walker reads a locale file's YAML tree the way go-i18n does, keeping the
// line of everything so that problems can point at it.
type walker struct {
	file   string
	report reporter
	msgs   map[string]*message
	bad    map[string]bool // IDs of messages left out because of a problem
	failed bool            // some problem was reported
}

func (w *walker) errorf(line int, format string, args ...any) {
	w.failed = true
	w.report(w.file, line, false, format, args...)
}

func (w *walker) reject(id string) {
	if w.bad == nil {
		w.bad = map[string]bool{}
	}
	w.bad[id] = true
}

func (w *walker) walk(n *yaml.Node, prefix string) {
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			w.errorf(n.Line, "a locale file is a list of `message.id: text` lines, not %s", kindName(n))
		} else {
			w.errorf(n.Line, "message %s: expected text or plural forms, found %s", strings.TrimSuffix(prefix, "."), kindName(n))
		}
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			w.errorf(k.Line, "a message ID must be a plain word like checkin.thanks")
			continue
		}
		id := prefix + k.Value
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" || v.Tag == "!!str" && strings.TrimSpace(v.Value) == "" {
				w.reject(id)
				w.errorf(k.Line, "message %s has no text", id)
				continue
			}
			if v.Tag != "!!str" {
				w.reject(id)
				w.errorf(v.Line, "message %s: %q is read as %s, not text: put it in quotes", id, v.Value, strings.TrimPrefix(v.Tag, "!!"))
				continue
			}
			w.add(&message{id: id, line: k.Line, forms: formSet{{"other", v.Value, v.Line}}}, nil)
		case yaml.MappingNode:
			if isMessageMap(v) {
				w.message(id, k.Line, v)
			} else if hasMessageKey(v) {
				w.reject(id)
				w.mixed(id, v)
			} else {
				w.walk(v, id+".")
			}
		default:
			w.reject(id)
			w.errorf(v.Line, "message %s: expected text or plural forms, found %s", id, kindName(v))
		}
	}
}

// isMessageMap reports whether every key of n is one of a message's keys
// with a text value, as go-i18n decides.
func isMessageMap(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMessageKey(n.Content[i], n.Content[i+1]) {
			return false
		}
	}
	return true
}

func hasMessageKey(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMessageKey(n.Content[i], n.Content[i+1]) {
			return true
		}
	}
	return false
}

func isMessageKey(k, v *yaml.Node) bool {
	key := strings.ToLower(k.Value)
	if !messageKeys[key] {
		return false
	}
	return k.Value == "translation" || v.Kind == yaml.ScalarNode && v.Tag == "!!str"
}

// mixed reports a map that mixes plural forms with other keys, usually a
// misspelt form ("ohter"), which makes go-i18n refuse the whole file.
func (w *walker) mixed(id string, v *yaml.Node) {
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if !isMessageKey(k, val) {
			if messageKeys[strings.ToLower(k.Value)] {
				w.errorf(val.Line, "message %s: the %s form must be text (put it in quotes)", id, k.Value)
			} else {
				w.errorf(k.Line, "message %s: unknown key %q; a plural message has only the forms zero, one, two, few, many, other (and description)", id, k.Value)
			}
		}
	}
}

// message reads a message written as a map of plural forms.
func (w *walker) message(id string, line int, v *yaml.Node) {
	m := &message{id: id, line: line}
	var ldelim, rdelim string
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch key := strings.ToLower(k.Value); key {
		case "zero", "one", "two", "few", "many", "other":
			m.forms.set(key, val.Value, val.Line)
			if key != "other" {
				m.plural = true
			}
		case "translation":
			if val.Kind == yaml.ScalarNode {
				m.forms.set("other", val.Value, val.Line)
			}
		case "leftdelim":
			ldelim = val.Value
		case "rightdelim":
			rdelim = val.Value
		case "id":
			if val.Value != id {
				w.reject(id)
				w.errorf(val.Line, "message %s: its id: says %q; remove the id: line, the key is the ID", id, val.Value)
				return
			}
		}
	}
	if m.plural && m.forms.get("other") == "" {
		// Reported with the language's other missing forms in crossCheck,
		// which knows the language.
	} else if !m.plural && strings.TrimSpace(m.forms.get("other")) == "" {
		w.reject(id)
		w.errorf(line, "message %s has no text", id)
		return
	}
	w.add(m, &[2]string{ldelim, rdelim})
}

// add parses the message's templates and keeps it if they parse.
func (w *walker) add(m *message, delims *[2]string) {
	if prev := w.msgs[m.id]; prev != nil {
		w.errorf(m.line, "message %s is written twice (first at line %d)", m.id, prev.line)
		return
	}
	if w.bad[m.id] {
		w.errorf(m.line, "message %s is written twice", m.id)
		return
	}
	l, r := "{{", "}}"
	if delims != nil {
		if delims[0] != "" {
			l = delims[0]
		}
		if delims[1] != "" {
			r = delims[1]
		}
	}
	fields := map[string]bool{}
	for _, f := range pluralForms {
		src, ok := m.forms.lookup(f)
		if !ok || !strings.Contains(src, l) {
			continue
		}
		t, err := template.New(m.id).Delims(l, r).Parse(src)
		if err != nil {
			w.reject(m.id)
			w.errorf(m.forms.line(f), "message %s: the template does not parse: %s", m.id, templateError(err))
			return
		}
		collectFields(t.Tree.Root, fields)
	}
	m.fields = sortedKeys(fields)
	if delims != nil {
		m.ldelim, m.rdelim = delims[0], delims[1]
	}
	w.msgs[m.id] = m
}

// i18n returns the message as go-i18n's type.
func (m *message) i18n() *i18n.Message {
	return &i18n.Message{
		ID: m.id, Zero: m.forms.get("zero"), One: m.forms.get("one"), Two: m.forms.get("two"),
		Few: m.forms.get("few"), Many: m.forms.get("many"), Other: m.forms.get("other"),
		LeftDelim: m.ldelim, RightDelim: m.rdelim,
	}
}

// collectFields adds the top-level fields a template reads: {{.Org}},
// {{if .Count}}, {{$.Place}}.
func collectFields(n parse.Node, out map[string]bool) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectFields(c, out)
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, out)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectFields(c, out)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, out)
		}
	case *parse.FieldNode:
		if len(n.Ident) > 0 {
			out[n.Ident[0]] = true
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			out[n.Ident[1]] = true
		}
	case *parse.ChainNode:
		collectFields(n.Node, out)
	case *parse.IfNode:
		collectBranch(&n.BranchNode, out)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, out)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, out)
	case *parse.TemplateNode:
		collectFields(n.Pipe, out)
	}
}

func collectBranch(n *parse.BranchNode, out map[string]bool) {
	collectFields(n.Pipe, out)
	collectFields(n.List, out)
	if n.ElseList != nil {
		collectFields(n.ElseList, out)
	}
}

// templateError drops the template's own name and line prefix, which repeat
// what the problem already says.
func templateError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "template: ") {
		return s[i+2:]
	}
	return s
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return "text"
	}
	return "nothing"
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine finds the line yaml.v3 names in its error, 0 if none.
func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// badUTF8Line is the line of the first byte that is not UTF-8.
func badUTF8Line(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if data[i] == '\n' {
			line++
		}
		i += size
	}
	return 0
}

// probeSamples are counts tried to learn which plural forms a language
// uses: enough integers to meet every CLDR form go-i18n knows, zero after
// them (so that a form is shown with a likelier count when it has one), a
// million (French and Spanish "many"), and fractions (Ukrainian "other").
var probeSamples = func() []any {
	var s []any
	for i := 1; i <= 200; i++ {
		s = append(s, i)
	}
	return append(s, 0, 1000, 1000000, "0.5", "1.5")
}()

// probePlural learns the plural forms go-i18n uses for tag, and a count
// for each, by asking its own rules. go-i18n keeps its rules internal; this
// keeps Waymark's checks the same as what it will render. ok is false when
// go-i18n has no rule for the language and so cannot load it.
func probePlural(tag language.Tag) (forms []string, samples map[string]any, ok bool) {
	pb := i18n.NewBundle(language.English)
	probe := &i18n.Message{ID: "probe", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}
	if err := pb.AddMessages(tag, probe); err != nil {
		return nil, nil, false
	}
	loc := i18n.NewLocalizer(pb, tag.String())
	samples = map[string]any{}
	for _, n := range probeSamples {
		form, used, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: n})
		if err != nil || used != tag {
			return nil, nil, false
		}
		if _, seen := samples[form]; !seen {
			samples[form] = n
		}
	}
	for _, f := range pluralForms {
		if _, seen := samples[f]; seen {
			forms = append(forms, f)
		}
	}
	return forms, samples, true
}
