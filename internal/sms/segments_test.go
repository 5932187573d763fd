package sms

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name     string
		text     string
		enc      Encoding
		segments int
	}{
		{"empty", "", GSM7, 0},
		{"plain English", "Reply 1 to check in, 2 if you can't make it.", GSM7, 1},
		{"GSM symbols", "@£$¥ ¤ §¡¿ _ !\"#%&'()*+,-./:;<=>?", GSM7, 1},
		{"line breaks", "Hello\r\nworld\n", GSM7, 1},
		{"Greek capitals in the table", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 1},
		{"Greek lower case is not", "ω", UCS2, 1},
		{"French with GSM accents", "Votre rendez-vous est à 9h. Réponse: oui, très bien. ÉCOLE", GSM7, 1},
		{"French ç lower case is not GSM", "Français", UCS2, 1},
		{"French Ç upper case is GSM", "FRANÇAIS", GSM7, 1},
		{"Spanish ñ and é are GSM", "Señor, ¿qué tal? Mañana", GSM7, 1},
		{"Spanish í is not", "¿Sí?", UCS2, 1},
		{"Spanish á is not", "Está bien", UCS2, 1},
		{"German umlauts and ß", "Grüße aus Köln, Äpfel", GSM7, 1},
		{"Arabic", "مرحبا، ردّ بـ ١ للتسجيل", UCS2, 1},
		{"Ukrainian", "Привіт! Надішліть 1, щоб відзначитися.", UCS2, 1},
		{"emoji", "Thanks 👍", UCS2, 1},
		{"curly apostrophe", "can’t", UCS2, 1},
		{"tab is not GSM", "a\tb", UCS2, 1},
		{"backtick is not GSM", "`", UCS2, 1},
		{"extension characters", "^{}\\[]~|€\f", GSM7, 1},

		// GSM-7 boundaries.
		{"160 septets", r("a", 160), GSM7, 1},
		{"161 septets", r("a", 161), GSM7, 2},
		{"306 septets", r("a", 306), GSM7, 2},
		{"307 septets", r("a", 307), GSM7, 3},
		{"459 septets", r("a", 459), GSM7, 3},
		{"460 septets", r("a", 460), GSM7, 4},
		{"extension counts 2: 158+€ = 160", r("a", 158) + "€", GSM7, 1},
		{"extension counts 2: 159+€ = 161", r("a", 159) + "€", GSM7, 2},
		{"80 euro signs = 160 septets", r("€", 80), GSM7, 1},
		{"81 euro signs", r("€", 81), GSM7, 2},
		{"form feed counts 2", r("a", 159) + "\f", GSM7, 2},
		// 152 + 2 + 152 = 306 septets would fit in two parts of 153, but the
		// escape pair cannot straddle the cut: 152 | 2+152 overflows.
		{"escape pair never split", r("a", 152) + "{" + r("a", 152), GSM7, 3},
		{"escape pair fits at the end", r("a", 151) + "{" + r("a", 153), GSM7, 2},

		// UCS-2 boundaries.
		{"70 units", r("ж", 70), UCS2, 1},
		{"71 units", r("ж", 71), UCS2, 2},
		{"134 units", r("ж", 134), UCS2, 2},
		{"135 units", r("ж", 135), UCS2, 3},
		{"one Arabic letter makes Latin text UCS-2", r("a", 69) + "ب", UCS2, 1},
		{"one Arabic letter at 71", r("a", 70) + "ب", UCS2, 2},
		{"35 emoji = 70 units", r("😀", 35), UCS2, 1},
		{"36 emoji = 72 units", r("😀", 36), UCS2, 2},
		// 66 + 2 + 66 = 134 units would fit in two parts of 67, but the
		// surrogate pair cannot straddle the cut.
		{"surrogate pair never split", r("ж", 66) + "😀" + r("ж", 66), UCS2, 3},
		{"surrogate pair fits at the end", r("ж", 65) + "😀" + r("ж", 67), UCS2, 2},
		{"invalid UTF-8 counts as UCS-2", "ok\xff", UCS2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, n := Segments(tc.text)
			if enc != tc.enc || n != tc.segments {
				t.Errorf("Segments = %v, %d; want %v, %d", enc, n, tc.enc, tc.segments)
			}
		})
	}
}

// TestGSMTables checks the tables themselves: 127 characters of the
// default alphabet (128 code points less the escape) and 10 of the
// extension table.
func TestGSMTables(t *testing.T) {
	basic, ext := 0, 0
	count := func(w uint8) {
		switch w {
		case 1:
			basic++
		case 2:
			ext++
		}
	}
	for _, w := range gsmASCII {
		count(w)
	}
	for _, w := range gsmOther {
		count(w)
	}
	if basic != 127 || ext != 10 {
		t.Errorf("tables hold %d basic and %d extension characters, want 127 and 10", basic, ext)
	}
	if gsmWidth('`') != 0 || gsmWidth('\t') != 0 || gsmWidth(0x1B) != 0 {
		t.Errorf("characters outside GSM 03.38 are in the table")
	}
}

func TestEncodingString(t *testing.T) {
	if GSM7.String() != "GSM-7" || UCS2.String() != "UCS-2" {
		t.Errorf("got %s and %s", GSM7, UCS2)
	}
}

func BenchmarkSegments(b *testing.B) {
	texts := map[string]string{
		"gsm_160":  strings.Repeat("Please reply 1. ", 10),
		"gsm_long": strings.Repeat("Your appointment is on Monday {ref}. ", 20),
		"arabic":   strings.Repeat("موعدك يوم الاثنين. ", 10),
		"emoji":    strings.Repeat("👍 ok ", 30),
	}
	for name, text := range texts {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				Segments(text)
			}
		})
	}
}
