// Package locale holds the words Waymark says, one go-i18n file per
// language, and picks them for a person: their own language, then the
// programme's default, then English. It also keeps the localized keywords
// (STOP, PARAR, توقف…) that the flow engine matches replies against.
package locale

import (
	"errors"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// English is the reference language: every message exists in it, and it is
// the last fallback.
const English = "en"

// Bundle is a loaded set of locale files. It is safe for concurrent use once
// Load has returned; SetDefault and SetSampleData may be called at any time.
type Bundle struct {
	i18n  *i18n.Bundle
	langs []string // loaded language keys, sorted
	by    map[string]*langFile
	ids   []string            // every message ID of any language, sorted
	all   map[string][]string // message ID -> words of every language, deduplicated

	def    atomic.Pointer[string]
	sample atomic.Pointer[map[string]any]
}

// langFile is one loaded locale file.
type langFile struct {
	key  string // canonical tag, e.g. "uk", "pt-BR"
	tag  language.Tag
	file string
	loc  *i18n.Localizer
	msgs map[string]*message
	bad  map[string]bool // messages left out because of a problem already reported
	// forms are the CLDR plural forms the language uses, in CLDR order, and
	// for each a count that selects it (an int, or a decimal string for
	// forms only fractions reach).
	forms   []string
	samples map[string]any
	source  []byte // the file as read, for its review marks (Units)
}

// message is one message of one language as written in its file.
type message struct {
	id     string
	line   int
	plural bool    // written with plural forms
	forms  formSet // template sources by plural form ("other" for plain text)
	ldelim string  // template delimiters when not {{ }}
	rdelim string
	fields []string // top-level template fields ({{.Org}} -> "Org"), sorted
	words  []string // the text as keywords; see Words
	label  string   // the text as a choice's label; see Label
}

// formSet is a message's text in each plural form it is written with,
// and the line each is on. Most messages have one form, and every
// language's messages stay in memory for the life of the process, so it
// is a short list rather than two maps (which held 1.6 MB for the
// shipped languages).
type formSet []form

type form struct {
	name, text string
	line       int
}

// find returns plural form name, and whether the message is written
// with it.
func (fs formSet) find(name string) (form, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return form{}, false
}

// lookup returns the text of plural form name, and whether the message
// is written with it.
func (fs formSet) lookup(name string) (string, bool) {
	f, ok := fs.find(name)
	return f.text, ok
}

// get returns the text of plural form name, "" when there is none.
func (fs formSet) get(name string) string {
	f, _ := fs.find(name)
	return f.text
}

// line returns the line of plural form name's text, 0 when there is none.
func (fs formSet) line(name string) int {
	f, _ := fs.find(name)
	return f.line
}

// set writes plural form name's text and line, replacing any before.
func (fs *formSet) set(name, text string, line int) {
	for i := range *fs {
		if (*fs)[i].name == name {
			(*fs)[i] = form{name, text, line}
			return
		}
	}
	*fs = append(*fs, form{name, text, line})
}

// SetDefault sets the programme's default language, tried after the
// person's own and before English.
func (b *Bundle) SetDefault(lang string) { b.def.Store(&lang) }

// SetSampleData sets template data used by Texts, such as the programme's
// real organisation name and phone number, so that lengths are realistic.
func (b *Bundle) SetSampleData(data map[string]any) {
	cp := make(map[string]any, len(data))
	maps.Copy(cp, data)
	b.sample.Store(&cp)
}

// Position says where a language's own file writes a message: its file
// name and line, or "" when the file lacks it.
func (b *Bundle) Position(lang, id string) (string, int) {
	l := b.by[lang]
	if l == nil || l.msgs[id] == nil {
		return "", 0
	}
	return l.file, l.msgs[id].line
}

// Languages returns the loaded languages, sorted.
func (b *Bundle) Languages() []string { return append([]string(nil), b.langs...) }

// MessageIDs returns every message ID found in any language, sorted.
func (b *Bundle) MessageIDs() []string { return append([]string(nil), b.ids...) }

// Has reports whether the language's own file holds the message, without
// any fallback.
func (b *Bundle) Has(lang, id string) bool {
	l := b.lookup(lang)
	return l != nil && l.msgs[id] != nil
}

// Render returns message id in lang, trying the person's language, then the
// programme default, then English. Data is the template data; when it holds
// "Count" and the message has plural forms, Count picks the form. A field a
// template uses but data lacks renders as nothing, never as "<no value>".
// Render never panics and, for an ID some language holds, never returns "";
// it returns "" for an unknown ID.
func (b *Bundle) Render(lang, id string, data map[string]any) string {
	var count any
	if data != nil {
		count = pluralCount(data["Count"])
	}
	return b.render(lang, id, data, count)
}

// RenderCount renders a plural message for count, which templates see as
// {{.Count}} (and {{.PluralCount}}).
func (b *Bundle) RenderCount(lang, id string, count int, data map[string]any) string {
	d := make(map[string]any, len(data)+2)
	maps.Copy(d, data)
	d["Count"] = count
	d["PluralCount"] = count
	return b.render(lang, id, d, count)
}

func (b *Bundle) render(lang, id string, data map[string]any, count any) string {
	chain := b.chain(lang)
	for _, l := range chain {
		if l == nil {
			continue
		}
		if m := l.msgs[id]; m != nil {
			if s, ok := l.exec(m, data, count); ok {
				return s
			}
		}
	}
	// The chain had no usable text: any language's will do, and as a last
	// resort the raw words, so a known message is never sent empty.
	for _, key := range b.langs {
		l := b.by[key]
		if m := l.msgs[id]; m != nil {
			if s, ok := l.exec(m, data, count); ok {
				return s
			}
		}
	}
	for _, key := range b.langs {
		if m := b.by[key].msgs[id]; m != nil {
			if s := strings.TrimSpace(m.forms.get("other")); s != "" {
				return s
			}
			for _, f := range pluralForms {
				if s := strings.TrimSpace(m.forms.get(f)); s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// exec renders m through go-i18n in l's language.
func (l *langFile) exec(m *message, data map[string]any, count any) (string, bool) {
	data = fillFields(m.fields, data)
	var pc any
	if m.plural {
		pc = count
	}
	s, tag, err := l.loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: m.id, TemplateData: data, PluralCount: pc})
	if tag != l.tag {
		// go-i18n fell back to its own default language; the caller's
		// chain decides the order instead.
		return "", false
	}
	if err != nil {
		if _, ok := errors.AsType[*i18n.MessageNotFoundErr](err); ok {
			return "", false
		}
		// A missing plural form falls back to "other" with an error; the
		// text is still right to send, and Load has reported the gap.
	}
	s = strings.TrimSpace(s)
	return s, s != ""
}

// fillFields returns data with every field the template uses present, so
// that a missing one renders empty rather than as "<no value>". It copies
// data only when something is missing.
func fillFields(fields []string, data map[string]any) map[string]any {
	missing := false
	for _, f := range fields {
		if _, ok := data[f]; !ok {
			missing = true
			break
		}
	}
	if !missing {
		if data == nil {
			return map[string]any{}
		}
		return data
	}
	out := make(map[string]any, len(data)+len(fields))
	maps.Copy(out, data)
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			out[f] = ""
		}
	}
	return out
}

// pluralCount turns a Count value into what go-i18n accepts: an integer or
// a numeric string. Anything else selects the "other" form.
func pluralCount(v any) any {
	switch c := v.(type) {
	case nil:
		return nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return c
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(c), 'f', -1, 32)
	case string:
		s := strings.TrimSpace(c)
		if _, err := strconv.ParseFloat(s, 64); err == nil && s != "" && !strings.ContainsAny(s, "eEinIN") {
			return s
		}
	}
	return nil
}

// Words returns message id in lang (with the same fallback as Render) as
// keywords: split on commas, trimmed, folded to lower case, empty ones
// dropped. The slice is shared: do not modify it.
func (b *Bundle) Words(lang, id string) []string {
	for _, l := range b.chain(lang) {
		if l == nil {
			continue
		}
		if m := l.msgs[id]; m != nil {
			return m.words
		}
	}
	return nil
}

// Label returns message id in lang (with the same fallback as Render) as
// a choice's label is matched: its whole text, not split on commas, so that
// "Yes, I agree" is one answer. It is "" for a message that uses template
// data or plural forms: the person saw it filled in with data the engine
// does not have, so its bare text is not what they would type.
func (b *Bundle) Label(lang, id string) string {
	for _, l := range b.chain(lang) {
		if l == nil {
			continue
		}
		if m := l.msgs[id]; m != nil {
			return m.label
		}
	}
	return ""
}

// AllWords returns the words of message id in every loaded language,
// deduplicated, in language order: global keywords work whatever the
// person's language. The slice is shared: do not modify it.
func (b *Bundle) AllWords(id string) []string { return b.all[id] }

// Texts returns every plural form of message id as it would reach a person
// of lang, rendered with sample data (see SetSampleData) and a count that
// selects each form, so that SMS segment counts are realistic. A message
// without plural forms gives one text.
func (b *Bundle) Texts(lang, id string) []string {
	var l *langFile
	var m *message
	for _, c := range b.chain(lang) {
		if c != nil && c.msgs[id] != nil {
			l, m = c, c.msgs[id]
			break
		}
	}
	if m == nil {
		if s := b.Render(lang, id, nil); s != "" {
			return []string{s}
		}
		return nil
	}
	data := b.sampleData()
	if !m.plural {
		s, _ := l.exec(m, data, nil)
		return []string{s}
	}
	out := make([]string, 0, len(l.forms))
	for _, f := range l.forms {
		d := make(map[string]any, len(data)+2)
		maps.Copy(d, data)
		d["Count"], d["PluralCount"] = l.samples[f], l.samples[f]
		s, _ := l.exec(m, d, l.samples[f])
		out = append(out, s)
	}
	return out
}

// defaultSample is template data that looks like a real programme's.
var defaultSample = map[string]any{
	"Org":             "Community Support Network",
	"HelpPhone":       "+44 20 7946 0000",
	"HelpHours":       "Mon-Fri 9:00-17:00",
	"RetentionMonths": 12,
	"CheckInMonths":   12,
	"AuditMonths":     24,
	"AttentionMonths": 12,
	"SentDays":        7,
	"ExitDays":        30,
	"Date":            "Tue 14 Apr",
	"Time":            "10:30",
	"Place":           "12 High Street",
	"Until":           "18:00",
	"Number":          1,
	"Label":           "Check in",
}

func (b *Bundle) sampleData() map[string]any {
	d := make(map[string]any, len(defaultSample)+4)
	maps.Copy(d, defaultSample)
	if p := b.sample.Load(); p != nil {
		maps.Copy(d, *p)
	}
	return d
}

// chain is the fallback order for a person's language: theirs, the
// programme default, English. Entries may be nil or repeat.
func (b *Bundle) chain(lang string) [3]*langFile {
	var def string
	if p := b.def.Load(); p != nil {
		def = *p
	}
	c := [3]*langFile{b.lookup(lang), b.lookup(def), b.by[English]}
	if c[1] == c[0] {
		c[1] = nil
	}
	if c[2] == c[0] || c[2] == c[1] {
		c[2] = nil
	}
	return c
}

// lookup finds the loaded language for a code: exactly, then by its
// canonical form, then by its base language ("ar-EG" -> "ar").
func (b *Bundle) lookup(code string) *langFile {
	if l := b.by[code]; l != nil {
		return l
	}
	if code == "" {
		return nil
	}
	tag, err := language.Parse(code)
	if err != nil {
		return nil
	}
	if l := b.by[tag.String()]; l != nil {
		return l
	}
	base, conf := tag.Base()
	if conf == language.No {
		return nil
	}
	return b.by[base.String()]
}

// rtlScripts are the scripts written right to left that Waymark may meet.
var rtlScripts = map[string]bool{
	"Arab": true, "Hebr": true, "Thaa": true, "Syrc": true, "Nkoo": true,
	"Adlm": true, "Rohg": true, "Mand": true, "Samr": true,
}

// Direction returns "rtl" for a language written right to left (Arabic,
// Farsi, Pashto, Urdu, Hebrew…) and "ltr" otherwise.
func Direction(lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		return "ltr"
	}
	script, _ := tag.Script()
	if rtlScripts[script.String()] {
		return "rtl"
	}
	return "ltr"
}

// Direction returns "rtl" for a language written right to left, "ltr"
// otherwise.
func (b *Bundle) Direction(lang string) string { return Direction(lang) }

// Name returns the language's name in itself ("Español", "العربية"),
// capitalised as at the start of a list item, or the code if unknown.
func Name(lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		return lang
	}
	n := display.Self.Name(tag)
	if n == "" {
		return lang
	}
	r, size := utf8.DecodeRuneInString(n)
	return string(unicode.ToUpper(r)) + n[size:]
}

// Name returns the language's name in itself.
func (b *Bundle) Name(lang string) string { return Name(lang) }

// Fold prepares text for comparison with Words: Unicode case folding, so
// that "STOP", "Stop" and "stop" (and "СТОП", "стоп") compare equal.
func Fold(s string) string { return cases.Fold().String(s) }

// splitWords is how a keyword message becomes words: split on commas
// (and the Arabic comma), folded, inner spaces collapsed, empty and
// repeated words dropped.
func splitWords(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '،' }) {
		w = strings.Join(strings.Fields(Fold(w)), " ")
		if w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Forms returns the plural forms message id is written with in lang's own
// file (nil for a message without plural forms), and false when that file
// does not hold the message. WhatsApp templates are made one per form,
// since a template's words cannot change with a number.
func (b *Bundle) Forms(lang, id string) ([]string, bool) {
	l := b.by[lang]
	if l == nil || l.msgs[id] == nil {
		return nil, false
	}
	m := l.msgs[id]
	if !m.plural {
		return nil, true
	}
	var out []string
	for _, f := range l.forms {
		if _, ok := m.forms.lookup(f); ok {
			out = append(out, f)
		}
	}
	return out, true
}

// RenderForm renders message id from lang's own file in plural form form,
// with data as given: {{.Count}} may be anything, such as a template's
// placeholder. False when the file has no such message or form.
func (b *Bundle) RenderForm(lang, id, form string, data map[string]any) (string, bool) {
	l := b.by[lang]
	if l == nil || l.msgs[id] == nil {
		return "", false
	}
	m := l.msgs[id]
	var count any
	if m.plural {
		c, ok := l.samples[form]
		if !ok {
			return "", false
		}
		count = c
	}
	return l.exec(m, data, count)
}

// Fields returns the template fields ({{.Org}} is "Org") message id uses
// in lang's own file, sorted.
func (b *Bundle) Fields(lang, id string) []string {
	l := b.by[lang]
	if l == nil || l.msgs[id] == nil {
		return nil
	}
	return append([]string(nil), l.msgs[id].fields...)
}

// PluralForm returns the plural form that count selects in lang ("other"
// for a language Waymark has not loaded), by go-i18n's own rules, as
// probePlural learns them.
func (b *Bundle) PluralForm(lang string, count int) string {
	l := b.by[lang]
	if l == nil {
		return "other"
	}
	pb := i18n.NewBundle(language.English)
	probe := &i18n.Message{ID: "probe", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}
	if err := pb.AddMessages(l.tag, probe); err != nil {
		return "other"
	}
	form, used, err := i18n.NewLocalizer(pb, l.tag.String()).LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: count})
	if err != nil || used != l.tag {
		return "other"
	}
	return form
}
