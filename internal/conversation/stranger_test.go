package conversation_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// A stranger is answered in the language their message's script and
// letters point to, among the fifteen shipped; plain Latin letters and
// scripts no offered language uses get the programme's first two.
func TestStrangerLanguages(t *testing.T) {
	c := testkit.Content(t)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"hello", []string{"en", "es"}},
		{"JOIN", []string{"en", "es"}},
		{"hola, ¿qué tal?", []string{"es"}},
		{"Olá, não sei", []string{"pt"}},
		{"Merhaba, nasılsın", []string{"tr"}},
		{"привіт", []string{"uk"}},
		{"здравствуйте, вы кто", []string{"ru"}},
		{"привет", []string{"uk", "ru"}}, // nothing tells them apart
		{"مرحبا، كيف حالك", []string{"ar"}},
		{"سلام، من اینجا هستم", []string{"fa"}},
		{"ښه یم", []string{"ps"}},
		{"ٹھیک ہے", []string{"ur"}},
		{"سلام", []string{"ar", "fa"}},
		{"ሰላም ኣለኹ", []string{"ti"}},
		{"ሰላም", []string{"ti", "am"}},
		{"হ্যালো", []string{"bn"}},
		{"你好", []string{"en", "es"}},
		{"👍 123", []string{"en", "es"}},
	} {
		if got := conversation.StrangerLanguages(c, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.text, got, tc.want)
		}
	}
}

// The reply fits: one language in one SMS, two in at most two (one if
// both are GSM-7), for every pair StrangerLanguages can give.
func TestStrangerReplyFits(t *testing.T) {
	c := testkit.Content(t)
	pairs := [][]string{{"en", "es"}, {"uk", "ru"}, {"ar", "fa"}, {"ti", "am"}}
	for _, l := range c.Flows.Programme.Languages {
		pairs = append(pairs, []string{l})
	}
	for _, p := range pairs {
		var parts []string
		for _, l := range p {
			parts = append(parts, c.Locale.Render(l, "enrol.unknown_sender", conversation.TemplateData(c, l, nil)))
		}
		text := strings.Join(parts, "\n")
		enc, n := sms.Segments(text)
		if limit := len(p); enc == sms.GSM7 && n > 1 || n > limit {
			t.Errorf("%v: %d segments (%v): %q", p, n, enc, text)
		}
	}
	if got := conversation.StrangerReply(c, "hola"); !strings.Contains(got, "JOIN") || strings.Count(got, "\n") != 1 {
		t.Errorf("StrangerReply(hola) = %q, want English and Spanish", got)
	}
}
