package locale

import "fmt"

// Filled returns text with each placeholder written out as the programme
// would fill it ({{.Org}} as the organisation's name, a date as a date),
// so that its SMS length and encoding can be measured while it is still
// being written. Anything but a plain {{.Field}} stays as it is.
func (b *Bundle) Filled(text string) string {
	data := b.sampleData()
	return fieldRef.ReplaceAllStringFunc(text, func(m string) string {
		name := fieldRef.FindStringSubmatch(m)[1]
		if v, ok := data[name]; ok {
			return fmt.Sprint(v)
		}
		if v, ok := sampleField[name]; ok {
			return v
		}
		return m
	})
}

// Fields returns the placeholders of text, {{.Org}} and the like, in
// order, each once.
func Fields(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range fieldRef.FindAllString(text, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// Piece is a run of a message's text: words, or one placeholder.
type Piece struct {
	Text  string
	Field bool
}

// Pieces cuts text into words and placeholders, in order, so that a page
// can show the placeholders that must stay.
func Pieces(text string) []Piece {
	var out []Piece
	last := 0
	for _, m := range fieldRef.FindAllStringIndex(text, -1) {
		if m[0] > last {
			out = append(out, Piece{Text: text[last:m[0]]})
		}
		out = append(out, Piece{Text: text[m[0]:m[1]], Field: true})
		last = m[1]
	}
	if last < len(text) {
		out = append(out, Piece{Text: text[last:]})
	}
	return out
}
