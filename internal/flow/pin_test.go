package flow

import "testing"

func TestPINCommand(t *testing.T) {
	words := mapWords{"en": {PINKeyword: {"PIN"}}, "ar": {PINKeyword: {"PIN", "رمز"}}}
	langs := []string{"en", "ar"}
	for _, tc := range []struct {
		text, pin string
		ok        bool
	}{
		{"PIN 4821", "4821", true},
		{"pin 48 21", "4821", true},
		{"Pin: 12345678", "12345678", true},
		{"رمز ٤٨٢١", "4821", true}, // Arabic-Indic digits
		{"PIN ۴۸۲۱", "4821", true}, // Persian digits
		{"PIN", "", true},          // the keyword alone: how to choose one
		{"PIN 123", "", true},      // too short
		{"PIN 123456789", "", true},
		{"PIN abcd", "", true},
		{"PINK 4821", "", false},
		{"4821", "", false},
		{"my pin is 4821", "", false},
		{"", "", false},
	} {
		pin, ok := PINCommand(tc.text, words, langs)
		if pin != tc.pin || ok != tc.ok {
			t.Errorf("PINCommand(%q) = %q, %v; want %q, %v", tc.text, pin, ok, tc.pin, tc.ok)
		}
	}
}
