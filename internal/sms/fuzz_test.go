package sms

import (
	"testing"
	"unicode/utf8"
)

// FuzzSegments: for any text, Segments never panics, says GSM-7 exactly
// when every character is in the GSM tables, takes no segment only for the
// empty text, and cuts no more parts than the text's units allow: at
// least units/part, and at most units/(part-1), since a part loses at most
// one unit to a pair it will not split.
func FuzzSegments(f *testing.F) {
	for _, s := range []string{"", "a", "Reply 1 to check in", "€€€", "👍", "ç", "مرحبا", "\xff", "a\x00b", "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, n := Segments(s)
		if (n == 0) != (s == "") {
			t.Fatalf("Segments(%q) = %d segments", s, n)
		}
		if s == "" {
			return
		}
		gsm := true
		units := 0
		for _, r := range s {
			if gsmWidth(r) == 0 {
				gsm = false
			}
		}
		if gsm != (enc == GSM7) {
			t.Fatalf("Segments(%q) says %s", s, enc)
		}
		width, single, part := gsmWidth, gsmSingle, gsmPart
		if !gsm {
			width, single, part = ucs2Width, ucs2Single, ucs2Part
		}
		for _, r := range s {
			units += width(r)
		}
		if units <= single {
			if n != 1 {
				t.Fatalf("Segments(%q): %d units in %d segments, want 1", s, units, n)
			}
			return
		}
		lo, hi := (units+part-1)/part, (units+part-2)/(part-1)
		if n < lo || n > hi {
			t.Fatalf("Segments of %d runes (%d units): %d segments, want %d to %d", utf8.RuneCountInString(s), units, n, lo, hi)
		}
	})
}
