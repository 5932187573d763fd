package flow

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		// Case, spaces and what surrounds the words.
		{"  STOP ", "stop"},
		{"Stop!!!", "stop"},
		{"¿Ayuda?", "ayuda"},
		{"«نعم»", "نعم"},
		{"check \t\n in", "check in"},
		{"STRASSE", "strasse"},
		{"Straße", "strasse"},
		{"ΣΤΟΠ", "στοπ"},
		{"\u200fقف\u200f", "قف"},
		{"ok\u200d", "ok"},
		{"#1", "1"},

		// Apostrophes of every shape, and none at all.
		{"I can't make it", "i cant make it"},
		{"I can’t make it", "i cant make it"},
		{"I CAN‘T", "i cant"},
		{"can`t", "cant"},
		{"can´t", "cant"},
		{"can′t", "cant"},
		{"cant", "cant"},
		{"I'm here", "im here"},
		{"I’m here.", "im here"},
		{"j’accepte", "jaccepte"},
		{"D'ACCORD", "daccord"},
		{"зв'яжеться", "звяжеться"},
		{"звʼяжеться", "звяжеться"},
		{"“yes”", "yes"},
		{"'ok'", "ok"},

		// Punctuation inside: a choice's label written any way.
		{"Yes, I agree", "yes i agree"},
		{"yes,i agree", "yes i agree"},
		{"نعم، أوافق", "نعم أوافق"},
		{"check-in", "check in"},
		{"appelez-moi", "appelez moi"},
		{"ok... thanks", "ok thanks"},
		{"8:30", "8:30"},
		{"8.30", "8.30"},
		{"08h30", "08h30"},
		{"8 a.m.", "8 a.m"},
		{"8 :30", "8 30"},

		// Accents: dropped from Latin letters only.
		{"aquí", "aqui"},
		{"AQUÍ", "aqui"},
		{"là", "la"},
		{"français", "francais"},
		{"Présente", "presente"},
		{"aqui\u0301", "aqui"}, // written decomposed
		{"ñ", "n"},
		{"İ", "i"},
		{"й", "й"},             // Ukrainian: another letter than и
		{"ЇЖАК", "їжак"},       // ї is not і
		{"и\u0306", "й"},       // decomposed, composed back
		{"أنا هنا", "أنا هنا"}, // hamza makes another letter
		{"غدًا", "غدا"},        // tanween is a vowel sign
		{"توقّف", "توقف"},      // shadda too
		{"نعـــم", "نعم"},      // tatweel

		// Digits of every script.
		{"١٢", "12"},
		{"۳", "3"},
		{"３", "3"},
		{"१", "1"},                         // Devanagari
		{"፩", "1"}, {"፫", "3"}, {"፱", "9"}, // Ge'ez numerals, which have no zero
		{"HAYIR", "hayir"}, {"hayır", "hayir"}, {"İPTAL", "iptal"}, // Turkish i with and without its dot
		{"২", "2"}, // Bengali
		{"੩", "3"}, // Gurmukhi
		{"၄", "4"}, // Myanmar
		{"𝟓", "5"}, // mathematical bold
		{"①", "1"}, // circled
		{"٨:٣٠", "8:30"},

		// Emoji and what dresses them.
		{"👍 1 👍", "1"},
		{"1️⃣", "1"},
		{"2⃣", "2"},
		{"👍🏽", ""},
		{"ok 👍🏽", "ok"},
		{"here 👨\u200d👩\u200d👧", "here"},
		{"❤️ yes", "yes"},
		{"🇬🇧 english", "english"},
		{"#️⃣", ""},

		// Where Unicode's own folding needs help.
		{"\u13a0", "\u13a0"}, // Cherokee folds to capitals
		{"\uab70", "\u13a0"},
		{"\ua78b", ""}, // a capital saltillo folds to an apostrophe
	}
	for _, tc := range tests {
		got, ok := normalize(tc.in)
		if !ok || got != tc.want {
			t.Errorf("normalize(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{"\xff", "a\xc3", strings.Repeat("x", maxMatchBytes+1), strings.Repeat("é", maxMatchBytes/2+1)} {
		if _, ok := normalize(in); ok {
			t.Errorf("normalize(%q...) accepted text that cannot match", in[:min(len(in), 10)])
		}
	}
}

// FuzzNormalize: normalize never panics, refuses what it must, and its
// result is a fixed point that no punctuation or emoji around it changes,
// with only ASCII digits and single inner spaces.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{"I can’t make it", "1️⃣", "aquí", "й", "غدًا", "8:30", "Yes, I agree", "👨\u200d👩\u200d👧", "\xff", "a\u200d\u0301", "I'.`Z", "\u13a0", "\ua78b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := normalize(in)
		if ok != (utf8.ValidString(in) && len(strings.TrimSpace(in)) <= maxMatchBytes) {
			t.Fatalf("normalize(%q) ok = %v", in, ok)
		}
		if !ok {
			return
		}
		if again, ok := normalize(got); !ok || again != got {
			t.Fatalf("normalize(%q) = %q, but normalize of that = %q, %v", in, got, again, ok)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("normalize(%q) = %q: spaces left", in, got)
		}
		for _, r := range got {
			if unicode.IsDigit(r) && r > '9' {
				t.Fatalf("normalize(%q) = %q: digit %q not made ASCII", in, got, r)
			}
		}
		for _, wrap := range []string{"¡ " + strings.TrimSpace(in) + " !", "«" + strings.TrimSpace(in) + " 👍🏽"} {
			if len(wrap) > maxMatchBytes {
				continue
			}
			if wrapped, _ := normalize(wrap); wrapped != got {
				t.Fatalf("normalize(%q) = %q, but normalize(%q) = %q", in, got, wrap, wrapped)
			}
		}
	})
}

// Every character of the Basic Multilingual Plane, alone and between a
// letter and an accent: a fixed point after one normalize. (The fuzzer
// seldom builds such characters itself.)
func TestNormalizeIsIdempotentOnEveryCharacter(t *testing.T) {
	for r := rune(1); r <= 0xFFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		for _, in := range []string{string(r), "a" + string(r) + "\u0301"} {
			got, _ := normalize(in)
			if again, _ := normalize(got); again != got {
				t.Errorf("normalize(%+q) = %+q, but normalize of that = %+q", in, got, again)
			}
		}
	}
}
