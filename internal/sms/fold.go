package sms

import (
	"slices"
	"strings"
)

// gsmFold is the table FoldGSM applies: each character outside GSM-7 that
// a reader of a Latin-script language still recognises without its
// accent, mapped to its GSM-7 look-alike. Accented letters GSM-7 has
// (é è ù ì ò à ä ö ü ñ å æ ø ß, É Ä Ö Ü Ñ Å Æ Ø Ç) are kept; the rest lose
// their accent: Spanish and Portuguese á í ó ú, ã õ, â ê î ô û, ç;
// French ë ï ÿ œ; Turkish ş ğ ı İ; Somali and Haitian Creole need none.
// Typography becomes plain: curly quotes and apostrophes, long dashes,
// the ellipsis and the no-break space.
//
// Nothing outside this table is touched, so a text in another script
// stays UCS-2: folding is for languages written in Latin letters.
var gsmFold = map[rune]string{
	'á': "a", 'í': "i", 'ó': "o", 'ú': "u", 'ý': "y",
	'Á': "A", 'Í': "I", 'Ó': "O", 'Ú': "U", 'Ý': "Y",
	'â': "a", 'ê': "e", 'î': "i", 'ô': "o", 'û': "u",
	'Â': "A", 'Ê': "E", 'Î': "I", 'Ô': "O", 'Û': "U",
	'ã': "a", 'õ': "o", 'Ã': "A", 'Õ': "O",
	'ë': "e", 'ï': "i", 'ÿ': "y", 'Ë': "E", 'Ï': "I",
	'È': "E", 'Ù': "U", 'Ì': "I", 'Ò': "O", 'À': "A",
	'ç': "c", 'œ': "oe", 'Œ': "OE",
	'ş': "s", 'Ş': "S", 'ğ': "g", 'Ğ': "G", 'ı': "i", 'İ': "I",
	'‘': "'", '’': "'", '‚': "'", '“': `"`, '”': `"`, '„': `"`, '«': `"`, '»': `"`,
	'–': "-", '—': "-", '…': "...", '\u00a0': " ", '\u202f': " ",
}

// FoldGSM returns text with the characters of gsmFold replaced by their
// GSM-7 look-alikes, so that a message in a Latin-script language that
// would travel as UCS-2 for one accent travels as GSM-7: 160 characters a
// segment instead of 70. Organisations turn it on per language (fold in
// programme.yaml); it is off by default, as an accent dropped can change
// a word (Spanish "año" keeps its ñ, but "sí" becomes "si").
func FoldGSM(text string) string {
	if !strings.ContainsFunc(text, func(r rune) bool { _, ok := gsmFold[r]; return ok }) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		if s, ok := gsmFold[r]; ok {
			b.WriteString(s)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NotGSM returns the distinct characters of text that GSM-7 cannot carry,
// in order of appearance, at most max of them: what makes it UCS-2.
func NotGSM(text string, max int) []rune {
	var out []rune
	for _, r := range text {
		if len(out) == max {
			break
		}
		if gsmWidth(r) == 0 && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
