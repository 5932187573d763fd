package conversation

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/language"
)

// scripts are the writing systems a stranger's message is told apart by,
// with their ISO 15924 codes (those x/text gives a language's script).
var scripts = []struct {
	code  string
	table *unicode.RangeTable
}{
	{"Latn", unicode.Latin}, {"Arab", unicode.Arabic}, {"Cyrl", unicode.Cyrillic},
	{"Ethi", unicode.Ethiopic}, {"Beng", unicode.Bengali}, {"Deva", unicode.Devanagari},
	{"Grek", unicode.Greek}, {"Hebr", unicode.Hebrew}, {"Geor", unicode.Georgian},
	{"Armn", unicode.Armenian}, {"Guru", unicode.Gurmukhi}, {"Thai", unicode.Thai},
	{"Hans", unicode.Han},
}

// marks are letters that, among the languages sharing a script, only one
// of them writes (or writes far more often), so that a few words are
// enough to tell it: Pashto's ټ ډ ړ ښ, Urdu's ٹ ڈ ڑ ے, Persian's پ چ ژ گ
// with none of those, Arabic's ة and its own ي and ك; Ukrainian's і ї є ґ,
// Russian's ы э ъ ё; Tigrinya's ቐ and ኸ series and ኣ; Spanish ñ ¿ ¡,
// Portuguese ã õ, Turkish ş ğ ı. Checked in this order: the first that
// matches and is offered wins.
var marks = []struct{ lang, letters string }{
	{"ps", "ټډړښږځڅېۍڼ"},
	{"ur", "ٹڈڑںےھۓ"},
	{"fa", "پچژگکی"},
	{"ar", "ةيكى"},
	{"uk", "іїєґІЇЄҐ"},
	{"ru", "ыэъёЫЭЪЁ"},
	{"ti", "ቐቑቒቓቔቕቖኸኹኺኻኼኽኾኣ"},
	{"es", "ñ¿¡Ñ"},
	{"pt", "ãõÃÕ"},
	{"tr", "şğıŞĞİ"},
}

// StrangerLanguages picks the languages to answer an unknown sender in,
// from what they wrote, without keeping it: the script it is written in
// (and the letters only one language of that script uses) among the
// languages the programme offers. When the script is shared and nothing
// tells them apart, two at most of those languages, in the programme's
// order; when the script is none of them, the programme's first two
// languages (programme.yaml lists the most used first).
func StrangerLanguages(c *Content, text string) []string {
	offered := c.Flows.Programme.Languages
	first := func(langs []string) []string {
		if len(langs) > 2 {
			return langs[:2]
		}
		return langs
	}
	fallback := first(offered)
	script := scriptOf(text)
	if script == "" {
		return fallback
	}
	var same []string
	for _, l := range offered {
		if langScript(l) == script {
			same = append(same, l)
		}
	}
	if len(same) == 0 {
		return fallback
	}
	for _, m := range marks {
		if containsString(same, m.lang) && strings.ContainsAny(text, m.letters) {
			return []string{m.lang}
		}
	}
	if script == "Latn" {
		return fallback // plain Latin letters say nothing of the language
	}
	return first(same)
}

// scriptOf returns the script most of text's letters are written in, or
// "" for none of scripts.
func scriptOf(text string) string {
	counts := make([]int, len(scripts))
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		for i, s := range scripts {
			if unicode.Is(s.table, r) {
				counts[i]++
				break
			}
		}
	}
	best := -1
	for i, n := range counts {
		if n > 0 && (best < 0 || n > counts[best]) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return scripts[best].code
}

func langScript(lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		return ""
	}
	s, _ := tag.Script()
	return s.String()
}

func containsString(list []string, s string) bool {
	return slices.Contains(list, s)
}

// StrangerReply is the answer to a message from a number nobody signed up
// with: enrol.unknown_sender in each of StrangerLanguages, one under the
// other, in one message.
func StrangerReply(c *Content, text string) string {
	var parts []string
	for _, lang := range StrangerLanguages(c, text) {
		if t := c.Locale.Render(lang, "enrol.unknown_sender", TemplateData(c, lang, nil)); t != "" && !containsString(parts, t) {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}
