package sms

import "strings"

// smartMap is the look-alike characters Twilio's Smart Encoding replaces
// with GSM-7 ones in an SMS (SmartEncoded=true), as far as Waymark knows
// them: typographic quotes, dashes and spaces, the ellipsis, and accented
// Latin letters the GSM-7 alphabet lacks (á í ó ú, â ê î ô û, ç...), each
// by its plain letter. Twilio's own list decides what it sends; this one
// only estimates, for `waymark check` and the rate budget, so it keeps to
// replacements Twilio is documented to make.
var smartMap = map[rune]string{
	'\u00A0': " ", '\u2000': " ", '\u2001': " ", '\u2002': " ", '\u2003': " ",
	'\u2004': " ", '\u2005': " ", '\u2006': " ", '\u2007': " ", '\u2008': " ",
	'\u2009': " ", '\u200A': " ", '\u202F': " ", '\u205F': " ", '\u3000': " ",
	'\u200B': "", '\uFEFF': "",
	'\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'",
	'\u201C': "\"", '\u201D': "\"", '\u201E': "\"", '\u201F': "\"", '\u2033': "\"",
	'\u00AB': "\"", '\u00BB': "\"", '\u2039': "'", '\u203A': "'",
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
	'\u2026': "...",
	'\u2022': "-",
	'á':      "a", 'â': "a", 'ã': "a", 'ª': "a",
	'Á': "A", 'Â': "A", 'Ã': "A", 'À': "A",
	'ê': "e", 'ë': "e", 'Ê': "E", 'Ë': "E", 'È': "E",
	'í': "i", 'î': "i", 'ï': "i", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ì': "I",
	'ó': "o", 'ô': "o", 'õ': "o", 'º': "o", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ò': "O",
	'ú': "u", 'û': "u", 'Ú': "U", 'Û': "U", 'Ù': "U",
	'ç': "Ç",
	'œ': "oe", 'Œ': "OE",
	'ÿ': "y",
}

// SmartEncode returns text as Twilio's Smart Encoding would send it:
// look-alike characters replaced by GSM-7 ones, but only when that makes
// the whole text GSM-7; a text that stays UCS-2 anyway (Arabic,
// Ukrainian, an emoji) goes unchanged, as Twilio sends it.
func SmartEncode(text string) string {
	var b strings.Builder
	changed := false
	for _, r := range text {
		if gsmWidth(r) > 0 {
			b.WriteRune(r)
			continue
		}
		rep, ok := smartMap[r]
		if !ok {
			return text
		}
		b.WriteString(rep)
		changed = true
	}
	if !changed {
		return text
	}
	return b.String()
}
