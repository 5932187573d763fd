package flow

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// maxMatchBytes is the longest text that can still be a keyword or a
// choice. Anything longer is an answer nobody's keyword list holds, so it is
// not folded at all: a 100 KB message costs no more than a short one.
const maxMatchBytes = 200

// normalize returns text as keywords and choices are compared: trimmed,
// case-folded, without surrounding punctuation or symbols, inner spaces
// collapsed, invisible format characters (RTL marks, zero-width joiners)
// dropped and Arabic-Indic digits as ASCII digits. ok is false when the
// text cannot match anything: too long or not valid UTF-8.
func normalize(text string) (norm string, ok bool) {
	text = strings.TrimSpace(text)
	if len(text) > maxMatchBytes || !utf8.ValidString(text) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r >= '٠' && r <= '٩': // Arabic-Indic digits
			r = '0' + (r - '٠')
		case r >= '۰' && r <= '۹': // Eastern Arabic (Persian, Urdu) digits
			r = '0' + (r - '۰')
		case r >= '０' && r <= '９': // full-width digits
			r = '0' + (r - '０')
		case unicode.Is(unicode.Cf, r) || r == 'ـ': // format marks, Arabic tatweel
			continue
		case unicode.IsSpace(r):
			r = ' '
		}
		b.WriteRune(r)
	}
	s := b.String()
	if isASCII(s) {
		s = strings.ToLower(s) // folding ASCII is lower-casing; skip the tables
	} else {
		// Full case folding, not just lower case, so that "STRASSE" and
		// "straße" or "ΣΤΟΠ" and "στοπ" meet. A Caser keeps state, so one
		// is made per call rather than shared between goroutines.
		s = cases.Fold().String(s)
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
	if strings.Contains(s, "  ") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// choiceNumber reads a normalized answer as a choice number.
func choiceNumber(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
