package flow

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxMatchBytes is the longest text that can still be a keyword or a
// choice. Anything longer is an answer nobody's keyword list holds, so it is
// not folded at all: a 100 KB message costs no more than a short one.
const maxMatchBytes = 200

// normalize returns text as keywords, labels and choices are compared, so
// that the many ways a phone writes one answer meet: "I can’t", "I CANT"
// and "i can't" are all "i cant"; "Aquí" is "aqui"; "١" and "1️⃣" are "1".
// Every text a person sends, and every word of a locale file, goes through
// it. ok is false when the text cannot match anything: too long or not
// valid UTF-8.
//
// What it does:
//   - compatibility forms become plain ones (NFKC): full-width letters and
//     digits, ligatures, circled numbers, Arabic presentation forms;
//   - case is folded, not just lowered, so that "STRASSE" and "straße"
//     or "ΣΤΟΠ" and "στοπ" meet;
//   - accents are dropped from Latin letters only ("là" is "la"). In other
//     scripts a mark can make another letter (Ukrainian й and ї, Arabic
//     أ), so those marks stay; Arabic's optional vowel signs (harakat) go,
//     as most people never type them;
//   - digits of any script become ASCII digits, and so do the Ge'ez units ፩…፱;
//   - apostrophes of every shape are dropped, inside words too: cheap
//     phones and predictive text often leave them out, so "cant" and
//     "can't" (and "jaccepte", "j’accepte") must meet; no keyword differs
//     from another by an apostrophe alone;
//   - invisible format characters (direction marks, zero-width joiners,
//     emoji variation selectors) and the Arabic tatweel are dropped;
//   - punctuation, symbols and emoji become spaces, so "Yes, I agree" is
//     "yes i agree", "check-in" is "check in" and "👍 1" is "1". A single
//     ".", ":" or "/" between letters or digits stays ("8:30", "a.m"):
//     it is part of a time or an abbreviation;
//   - spaces are collapsed and trimmed.
//
// normalize is idempotent: normalize(normalize(x)) == normalize(x).
func normalize(text string) (folded string, ok bool) {
	text = strings.TrimSpace(text)
	if len(text) > maxMatchBytes || !utf8.ValidString(text) {
		return "", false
	}
	// Apostrophes and invisible characters go before anything else: NFKC
	// would turn ´ into a space and an accent, a zero-width joiner dropped
	// later would leave an accent beside a letter it was not on, and
	// "8'.30" must read as "8.30" whichever way it comes.
	text = strings.Map(unseen, text)
	if isASCII(text) {
		// Nothing to decompose or fold beyond lower case: skip the tables.
		return squeeze(strings.ToLower(text)), true
	}
	text = strings.Map(unseen, norm.NFKC.String(text)) // NFKC makes ′′′ of ‴
	// A Caser keeps state, so one is made per call rather than shared
	// between goroutines.
	text = strings.Map(afterFold, cases.Fold().String(text))
	text = dropMarks(norm.NFD.String(text))
	return squeeze(norm.NFKC.String(text)), true
}

// unseen drops, for strings.Map, what is not read at all: apostrophes,
// invisible format characters and the tatweel, which stretches Arabic
// words for looks (نعـــم is نعم). Double quotes of any shape become '"'.
func unseen(r rune) rune {
	switch {
	case isApostrophe(r) || unicode.Is(unicode.Cf, r) || r == 'ـ':
		return -1
	case isQuote(r):
		return '"'
	}
	return r
}

// afterFold finishes case folding: Cherokee (see cherokee), and the
// Turkish dotless ı, which folding leaves alone but which capitals lose
// (HAYIR is hayır) and phones without Turkish keys never type: both
// meet at i.
func afterFold(r rune) rune {
	if r == 'ı' {
		return 'i'
	}
	return cherokee(r)
}

// cherokee folds Cherokee small letters to capitals, as Unicode's case
// folding does. x/text's Fold swaps the two cases instead, so that folding
// its own result would change it again.
func cherokee(r rune) rune {
	if r >= '\uAB70' && r <= '\uABBF' || r >= '\u13F8' && r <= '\u13FD' {
		return unicode.ToUpper(r)
	}
	return r
}

// dropMarks removes, from decomposed text, the marks that do not make a
// letter another letter: accents on Latin letters, Arabic harakat, and the
// marks that only dress an emoji (variation selectors, the keycap).
func dropMarks(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var base rune // the character the marks that follow sit on
	for _, r := range s {
		if !unicode.Is(unicode.M, r) {
			base = r
			b.WriteRune(r)
			continue
		}
		switch {
		case unicode.Is(unicode.Me, r), unicode.Is(unicode.Variation_Selector, r):
			continue // 1️⃣ is 1
		case unicode.Is(unicode.Latin, base):
			continue
		case unicode.Is(unicode.Arabic, base) && r >= '\u064B' && r <= '\u0652':
			continue // fathatan … sukun: vowels, not letters (hamza and madda stay)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// squeeze does the per-character work on folded text: digits to ASCII,
// punctuation and symbols to spaces, spaces collapsed and trimmed. A mark whose letter went goes too:
// an accent on an emoji or on nothing means nothing.
func squeeze(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is due before the next character kept
	kept := false  // the previous character was kept
	var prev rune  // the last character written
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			space, kept = true, false
			continue
		case unicode.Is(unicode.M, r):
			if !kept {
				continue
			}
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || isQuote(r):
			if space || !joins(r) || !isLetterOrDigit(prev) || !isLetterOrDigit(nextRune(s, i+utf8.RuneLen(r))) {
				space, kept = true, false
				continue
			}
			// A time or an abbreviation: 8:30, a.m
		case unicode.Is(unicode.Nd, r):
			r = digitValue(r)
		case r >= ethiopicOne && r <= ethiopicOne+8:
			r = '1' + r - ethiopicOne // ፩…፱: a choice's number in Tigrinya or Amharic
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space, kept, prev = false, true, r
		b.WriteRune(r)
	}
	return b.String()
}

// joins reports whether r may stay between two letters or digits: the
// separators of times and abbreviations.
func joins(r rune) bool { return r == '.' || r == ':' || r == '/' }

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func nextRune(s string, i int) rune {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// ethiopicOne is the Ge'ez numeral one (፩). The Ge'ez numerals have no
// zero, so they are not decimal digits; the nine units are still what a
// person who writes Tigrinya or Amharic may type for a choice's number.
const ethiopicOne = '\u1369'

// digitValue turns a decimal digit of any script into its ASCII digit.
// Unicode assigns decimal digits only in runs of ten, from 0 to 9, so a
// digit's value is its distance from the start of its run. Numerals
// without a zero are not decimal digits: squeeze maps the Ge'ez units
// itself.
func digitValue(r rune) rune {
	if r <= '9' {
		return r
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return '0' + (r-start)%10
}

// isApostrophe reports the characters phones and keyboards put where an
// apostrophe goes: the typewriter one, curly ones, primes, accents, and
// the modifier letters Ukrainian writes its apostrophe with.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '`', '´', '‘', '’', '‚', '‛', '′', '‵', 'ʹ', 'ʻ', 'ʼ', 'ʽ', 'Ꞌ', 'ꞌ', '＇':
		return true
	}
	return false
}

// isQuote reports double quotation marks and guillemets of any shape.
func isQuote(r rune) bool {
	switch r {
	case '"', '“', '”', '„', '‟', '″', '‶', '«', '»', '‹', '›', '〝', '〞', '＂':
		return true
	}
	return false
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
