package telegram

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestSplitText(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "one two three", 20, []string{"one two three"}},
		{"exact", "abcde", 5, []string{"abcde"}},
		{"at a space", "one two three", 8, []string{"one two", "three"}},
		{"prefers a line break", "one two\nthree four", 16, []string{"one two", "three four"}},
		{"drops whitespace at the cut", "one   two", 5, []string{"one", "two"}},
		{"one long word", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"emoji count twice", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"no surrogate half", "a😀b", 2, []string{"a", "😀", "b"}},
		{"leading space", "  abc def", 5, []string{"  abc", "def"}},
		{"tiny limit", "😀", 1, []string{"😀"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := splitText(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("splitText(%q, %d) = %q; want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
}

func TestSplitTextProperties(t *testing.T) {
	texts := []string{
		strings.Repeat("مرحبا بكم في البرنامج ", 500),
		strings.Repeat("Привіт 👋🏽 ", 900),
		strings.Repeat("x", 10000),
		strings.Repeat("line\n", 3000),
	}
	for _, text := range texts {
		parts := splitText(text, MaxMessageUnits)
		for i, p := range parts {
			if n := len(utf16.Encode([]rune(p))); n > MaxMessageUnits || n == 0 {
				t.Errorf("part %d has %d UTF-16 units", i, n)
			}
		}
		// Only whitespace at the cuts may go.
		if strings.Join(parts, "") != strings.Join(strings.Fields(text), "") &&
			strings.Join(strings.Fields(strings.Join(parts, " ")), " ") != strings.Join(strings.Fields(text), " ") {
			t.Error("the parts lose or change characters")
		}
	}
}

func TestCommand(t *testing.T) {
	for _, tc := range []struct{ text, name, args string }{
		{"/start", "start", ""},
		{"/start K7Q2M9XD", "start", "K7Q2M9XD"},
		{"/START@waymark_bot  abc ", "start", "abc"},
		{"/help", "help", ""},
	} {
		name, args, ok := command(tc.text)
		if !ok || name != tc.name || args != tc.args {
			t.Errorf("command(%q) = %q, %q, %v", tc.text, name, args, ok)
		}
	}
	for _, text := range []string{"start", "/", "/@bot", " /start"} {
		if _, _, ok := command(text); ok {
			t.Errorf("command(%q) ok", text)
		}
	}
}

func TestChoiceNumber(t *testing.T) {
	for data, want := range map[string]int{"c:1": 1, "c:12": 12, "c:0": 0, "c:": 0, "c:-1": 0, "c:1000": 0, "lang:ar": 0, "c:1x": 0, "": 0} {
		n, ok := choiceNumber(data)
		if ok != (want > 0) || n != want {
			t.Errorf("choiceNumber(%q) = %d, %v; want %d", data, n, ok, want)
		}
	}
}

func BenchmarkSplitText(b *testing.B) {
	text := strings.Repeat("مرحبا بكم في البرنامج 👋🏽\n", 800)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		splitText(text, MaxMessageUnits)
	}
}

func BenchmarkDecodeUpdate(b *testing.B) {
	body := []byte(`{"update_id":500000101,"message":{"message_id":1365,"date":1767603600,` +
		`"from":{"id":987654321,"is_bot":false,"first_name":"A","username":"a","language_code":"ar"},` +
		`"chat":{"id":987654321,"type":"private","first_name":"A","username":"a"},"text":"menu"}}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeUpdate(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
