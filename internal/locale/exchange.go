package locale

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/waymark-atd/waymark/internal/diag"
)

// Unit is one thing a translator translates: a message, or one plural
// form of a message in the target language.
type Unit struct {
	ID   string
	Form string // the plural form ("" for a message without them)
	// English is the reference text: for a form, English's form of the
	// same name, else its "other".
	English string
	Text    string // the translation so far; "" when there is none
	// Reviewed is set once a native speaker has checked the translation
	// (kept in the locale file as a "# reviewed" comment on its line).
	Reviewed bool
	Notes    string   // what en.yaml says about the message, for translators
	Fields   []string // the placeholders that must stay, e.g. {{.Org}}
	// MaxChars is how many characters of words fit one SMS segment in
	// the target language once the placeholders are filled; 0 for a
	// message never sent as SMS (keywords, spoken messages).
	MaxChars int
	Line     int // where the unit was read from, for problems
}

// WrittenInLatin reports whether lang is written in Latin letters, so
// that its messages can travel as GSM-7 (160 characters a segment rather
// than 70).
func WrittenInLatin(lang string) bool {
	tag, err := language.Parse(lang)
	if err != nil {
		return false
	}
	script, _ := tag.Script()
	return script.String() == "Latn"
}

// Units lists what a translator of lang needs: every message of en.yaml
// in its order, with lang's plural forms, the current translation if
// lang has a file, the notes written above it in enSource (en.yaml's
// bytes), its placeholders and how long it may be.
func (b *Bundle) Units(lang string, enSource []byte) ([]Unit, error) {
	en := b.by[English]
	if en == nil {
		return nil, fmt.Errorf("locale: no en.yaml to translate from")
	}
	tag, err := language.Parse(lang)
	if err != nil {
		return nil, fmt.Errorf("locale: %q is not a language code", lang)
	}
	target := b.by[tag.String()]
	var forms []string
	if target != nil {
		forms = target.forms
	} else if f, _, ok := probePlural(tag); ok {
		forms = f
	} else {
		return nil, fmt.Errorf("locale: go-i18n has no plural rules for %q", lang)
	}
	notes, reviewed := commentsOf(enSource), map[string]bool{}
	capacity := 70
	if WrittenInLatin(lang) {
		capacity = 160
	}
	data := b.sampleData()
	ids := sortedKeys(en.msgs)
	sort.SliceStable(ids, func(i, j int) bool { return en.msgs[ids[i]].line < en.msgs[ids[j]].line })
	var out []Unit
	for _, id := range ids {
		m := en.msgs[id]
		fs := []string{""}
		if m.plural {
			fs = forms
		}
		for _, f := range fs {
			u := Unit{ID: id, Form: f, Notes: notes[id], Reviewed: reviewed[id]}
			src := m.forms.get("other")
			if f != "" && m.forms.get(f) != "" {
				src = m.forms.get(f)
			}
			u.English = src
			for _, name := range m.fields {
				u.Fields = append(u.Fields, "{{."+name+"}}")
			}
			if target != nil && target.msgs[id] != nil {
				key := f
				if key == "" {
					key = "other"
				}
				u.Text = target.msgs[id].forms.get(key)
			}
			if sent(id) {
				u.MaxChars = capacity - placeholderLength(src, data)
			}
			out = append(out, u)
		}
	}
	if target != nil {
		marks := reviewedMarks(target)
		for i := range out {
			out[i].Reviewed = marks[out[i].ID]
		}
	}
	return out, nil
}

// sent reports whether a message is sent as SMS, so that its length
// matters: not keywords, not the spoken voice. messages.
func sent(id string) bool {
	return !strings.HasPrefix(id, "keyword.") && !strings.HasPrefix(id, "voice.")
}

var fieldRef = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// placeholderLength is how many more characters src's placeholders take
// filled with data than written out.
func placeholderLength(src string, data map[string]any) int {
	n := 0
	for _, m := range fieldRef.FindAllStringSubmatch(src, -1) {
		v, ok := data[m[1]]
		if !ok {
			v = sampleField[m[1]]
		}
		n += utf8.RuneCountInString(fmt.Sprint(v)) - utf8.RuneCountInString(m[0])
	}
	return n
}

// sampleField are lengths to plan for where the programme says nothing:
// an appointment's date, time and place, a number, a key.
var sampleField = map[string]string{
	"Date": "Thursday 8 January", "Time": "10:00", "Place": "Community Support Centre",
	"Count": "3", "Number": "1", "Key": "1", "Org": "Example Community Support",
	"HelpPhone": "+44 20 7946 0000", "HelpHours": "Mon-Fri 9am-5pm",
}

// commentsOf returns, for each message of a locale file, the comment
// written just above it, without the section rulers.
func commentsOf(src []byte) map[string]string {
	out := map[string]string{}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		var lines []string
		for l := range strings.SplitSeq(k.HeadComment, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
			if l == "" || strings.HasPrefix(l, "---") {
				continue
			}
			lines = append(lines, l)
		}
		if len(lines) > 0 {
			out[k.Value] = strings.Join(lines, " ")
		}
	}
	return out
}

// reviewMark is the line comment that says a native speaker checked a
// message: `id: "text" # reviewed`.
const reviewMark = "reviewed"

// reviewedMarks reads which messages of a language's file carry the
// review mark. The file's source is kept for this when it is loaded.
func reviewedMarks(l *langFile) map[string]bool {
	out := map[string]bool{}
	var doc yaml.Node
	if yaml.Unmarshal(l.source, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if strings.Contains(k.LineComment+v.LineComment, reviewMark) {
			out[k.Value] = true
		}
	}
	return out
}

// csvHeader are the columns of a translator's CSV file.
var csvHeader = []string{"id", "form", "english", "translation", "reviewed", "placeholders", "max_chars", "notes"}

// WriteCSV writes units as CSV, one row each under a header row. A
// spreadsheet opens it; the translator fills the translation column.
func WriteCSV(w io.Writer, units []Unit) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, u := range units {
		reviewed, max := "", ""
		if u.Reviewed {
			reviewed = "yes"
		}
		if u.MaxChars > 0 {
			max = strconv.Itoa(u.MaxChars)
		}
		if err := cw.Write([]string{u.ID, u.Form, u.English, u.Text, reviewed, strings.Join(u.Fields, " "), max, u.Notes}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads a translator's CSV file; name is used in problems.
// Only id, form, translation and reviewed are read back: the rest is
// taken from en.yaml again.
func ReadCSV(r io.Reader, name string) ([]Unit, []diag.Problem) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, []diag.Problem{{File: name, Line: 1, Message: "cannot read the header row: " + err.Error()}}
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"id", "translation"} {
		if _, ok := col[need]; !ok {
			return nil, []diag.Problem{{File: name, Line: 1, Message: "the header row has no " + need + " column"}}
		}
	}
	get := func(rec []string, c string) string {
		if i, ok := col[c]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var units []Unit
	var problems []diag.Problem
	for {
		line, _ := cr.FieldPos(0)
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, diag.Problem{File: name, Line: line, Message: "not valid CSV: " + err.Error()})
			break
		}
		line, _ = cr.FieldPos(0)
		units = append(units, Unit{ID: get(rec, "id"), Form: get(rec, "form"), Text: get(rec, "translation"),
			Reviewed: strings.EqualFold(strings.TrimSpace(get(rec, "reviewed")), "yes"), Line: line})
	}
	return units, problems
}

// XLIFF 1.2, the file most translation tools read.
type xliffDoc struct {
	XMLName xml.Name  `xml:"urn:oasis:names:tc:xliff:document:1.2 xliff"`
	Version string    `xml:"version,attr"`
	File    xliffFile `xml:"file"`
}

type xliffFile struct {
	Original string      `xml:"original,attr"`
	Source   string      `xml:"source-language,attr"`
	Target   string      `xml:"target-language,attr"`
	DataType string      `xml:"datatype,attr"`
	Units    []xliffUnit `xml:"body>trans-unit"`
}

type xliffUnit struct {
	ID       string       `xml:"id,attr"`
	MaxWidth int          `xml:"maxwidth,attr,omitempty"`
	SizeUnit string       `xml:"size-unit,attr,omitempty"`
	Approved string       `xml:"approved,attr,omitempty"`
	Source   string       `xml:"source"`
	Target   *xliffTarget `xml:"target"`
	Notes    []string     `xml:"note"`
}

type xliffTarget struct {
	State string `xml:"state,attr,omitempty"`
	Text  string `xml:",chardata"`
}

// unitKey is a unit's XLIFF id: the message ID, and its plural form after
// a "#".
func unitKey(u Unit) string {
	if u.Form == "" {
		return u.ID
	}
	return u.ID + "#" + u.Form
}

// WriteXLIFF writes units as XLIFF 1.2 for lang. maxwidth is MaxChars;
// the placeholders and the notes are notes.
func WriteXLIFF(w io.Writer, lang string, units []Unit) error {
	doc := xliffDoc{Version: "1.2", File: xliffFile{Original: lang + ".yaml", Source: English, Target: lang, DataType: "plaintext"}}
	for _, u := range units {
		x := xliffUnit{ID: unitKey(u), Source: u.English}
		if u.MaxChars > 0 {
			x.MaxWidth, x.SizeUnit = u.MaxChars, "char"
		}
		if u.Text != "" {
			x.Target = &xliffTarget{State: "translated", Text: u.Text}
		}
		if u.Reviewed {
			x.Approved = "yes"
		}
		if len(u.Fields) > 0 {
			x.Notes = append(x.Notes, "Keep exactly: "+strings.Join(u.Fields, " "))
		}
		if u.Notes != "" {
			x.Notes = append(x.Notes, u.Notes)
		}
		doc.File.Units = append(doc.File.Units, x)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// ReadXLIFF reads an XLIFF 1.2 file; name is used in problems, and each
// unit's Line is the line of its trans-unit.
func ReadXLIFF(r io.Reader, name string) ([]Unit, []diag.Problem) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, []diag.Problem{{File: name, Message: err.Error()}}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var units []Unit
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return units, []diag.Problem{{File: name, Line: lineAt(data, dec.InputOffset()), Message: "not valid XLIFF: " + err.Error()}}
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "trans-unit" {
			continue
		}
		var x xliffUnit
		if err := dec.DecodeElement(&x, &se); err != nil {
			return units, []diag.Problem{{File: name, Line: lineAt(data, off), Message: "not valid XLIFF: " + err.Error()}}
		}
		id, form, _ := strings.Cut(x.ID, "#")
		u := Unit{ID: id, Form: form, Reviewed: x.Approved == "yes", Line: lineAt(data, off) + leadingNewlines(data, off)}
		if x.Target != nil {
			u.Text = x.Target.Text
		}
		units = append(units, u)
	}
	return units, nil
}

func lineAt(data []byte, off int64) int { return bytes.Count(data[:off], []byte("\n")) + 1 }

// leadingNewlines counts the line breaks between off and the next '<':
// the decoder's offset before a start tag is after the text before it.
func leadingNewlines(data []byte, off int64) int {
	rest := data[off:]
	if before, _, ok := bytes.Cut(rest, []byte{'<'}); ok {
		return bytes.Count(before, []byte("\n"))
	}
	return 0
}

// Merge checks translated units against the English ones (the same IDs
// and forms as Units gives, with their placeholders) and returns the
// units to write: English's, with the translations and review marks read.
// A placeholder missing or unknown, or a template that does not parse, is
// an error at the unit's line; a message left untranslated is a warning.
func Merge(english, read []Unit, name string) ([]Unit, []diag.Problem) {
	var problems []diag.Problem
	got := map[string]Unit{}
	for _, u := range read {
		k := unitKey(u)
		if _, dup := got[k]; dup {
			problems = append(problems, diag.Problem{File: name, Line: u.Line, Message: fmt.Sprintf("%s is given twice", k)})
		}
		got[k] = u
	}
	known := map[string]bool{}
	out := make([]Unit, 0, len(english))
	var untranslated []string
	for _, e := range english {
		k := unitKey(e)
		known[k] = true
		u, ok := got[k]
		if !ok || strings.TrimSpace(u.Text) == "" {
			untranslated = append(untranslated, k)
			continue
		}
		e.Text, e.Reviewed, e.Line = u.Text, u.Reviewed, u.Line
		problems = append(problems, checkUnit(e, name)...)
		out = append(out, e)
	}
	for _, u := range read {
		if !known[unitKey(u)] && u.ID != "" {
			problems = append(problems, diag.Problem{File: name, Line: u.Line, Message: fmt.Sprintf("%s is not a message of en.yaml (or not a plural form this language has)", unitKey(u))})
		}
	}
	if len(untranslated) > 0 {
		problems = append(problems, diag.Problem{File: name, Warning: true, Message: fmt.Sprintf("%d messages have no translation and will be shown in English: %s",
			len(untranslated), strings.Join(untranslated, ", "))})
	}
	return out, problems
}

// checkUnit refuses a translation whose template does not parse or whose
// placeholders differ from English's.
func checkUnit(u Unit, name string) []diag.Problem {
	at := func(format string, args ...any) diag.Problem {
		return diag.Problem{File: name, Line: u.Line, Message: fmt.Sprintf("%s: ", unitKey(u)) + fmt.Sprintf(format, args...)}
	}
	if _, err := template.New(u.ID).Parse(u.Text); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return []diag.Problem{at("the placeholders are broken (%s): write them as in English, e.g. {{.Org}}", msg)}
	}
	var have []string
	for _, m := range fieldRef.FindAllString(u.Text, -1) {
		have = append(have, "{{."+fieldRef.FindStringSubmatch(m)[1]+"}}")
	}
	var problems []diag.Problem
	for _, f := range u.Fields {
		if !slices.Contains(have, f) && f != "{{.Count}}" {
			problems = append(problems, at("%s is missing: keep it exactly as in English", f))
		}
	}
	for _, f := range have {
		if !slices.Contains(u.Fields, f) && f != "{{.Count}}" {
			problems = append(problems, at("%s is not in English: check its spelling (English has %s)", f, strings.Join(u.Fields, " ")))
		}
	}
	return problems
}

// MarshalFile writes units as a locale file: header (comment lines, each
// starting with #) then every message in order, plural ones as a map of
// their forms, a reviewed one marked "# reviewed".
func MarshalFile(header string, units []Unit) []byte {
	var b bytes.Buffer
	b.WriteString(strings.TrimRight(header, "\n"))
	b.WriteString("\n\n")
	for i := 0; i < len(units); {
		u := units[i]
		mark := ""
		if u.Reviewed {
			mark = " # " + reviewMark
		}
		if u.Form == "" {
			fmt.Fprintf(&b, "%s: %s%s\n", u.ID, quote(u.Text), mark)
			i++
			continue
		}
		fmt.Fprintf(&b, "%s:%s\n", u.ID, mark)
		for ; i < len(units) && units[i].ID == u.ID; i++ {
			fmt.Fprintf(&b, "  %s: %s\n", units[i].Form, quote(units[i].Text))
		}
	}
	return b.Bytes()
}

// quote writes text as a YAML double-quoted string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Header returns the comment lines at the top of a locale file, to keep
// them when the file is written again.
func Header(src []byte) string {
	var lines []string
	for l := range strings.SplitSeq(string(src), "\n") {
		if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			break
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
