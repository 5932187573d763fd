package sms

import "testing"

func TestSmartEncode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		enc      Encoding
	}{
		{"Plain text", "Plain text", GSM7},
		{"It’s “fine” – really…", "It's \"fine\" - really...", GSM7},
		{"¿Podría venir? Sí, el miércoles.", "¿Podria venir? Si, el miércoles.", GSM7},
		{"Façon", "FaÇon", GSM7},
		// Cyrillic cannot become GSM-7: the text is sent as it is.
		{"Привіт – так", "Привіт – так", UCS2},
		{"Thanks 🙂", "Thanks 🙂", UCS2},
	} {
		got := SmartEncode(tc.in)
		if got != tc.want {
			t.Errorf("SmartEncode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if enc, _ := Segments(got); enc != tc.enc {
			t.Errorf("SmartEncode(%q) travels as %s, want %s", tc.in, enc, tc.enc)
		}
	}
}
