package locale_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/locales"
)

// The shipped locale files load with no problem at all, and every message
// ID is in every file.
func TestShippedLocales(t *testing.T) {
	b, problems := locale.Load(locales.FS)
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	langs := b.Languages()
	if len(langs) != 15 {
		t.Fatalf("languages %v, want am ar bn en es fa fr ps pt ru so ti tr uk ur", langs)
	}
	for _, id := range b.MessageIDs() {
		for _, l := range langs {
			if !b.Has(l, id) {
				t.Errorf("%s.yaml lacks %s", l, id)
			}
		}
	}
	// Keywords every organisation relies on.
	for _, w := range []string{"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "parar", "arrêt", "توقف", "стоп"} {
		if !contains(b.AllWords("keyword.stop"), w) {
			t.Errorf("keyword.stop lacks %q", w)
		}
	}
	for _, w := range []string{"start", "yes", "unstop"} {
		if !contains(b.AllWords("keyword.start"), w) {
			t.Errorf("keyword.start lacks %q", w)
		}
	}
	for _, w := range []string{"join", "unirse", "rejoindre", "انضم", "приєднатися"} {
		if !contains(b.AllWords("keyword.join"), w) {
			t.Errorf("keyword.join lacks %q", w)
		}
	}
	// STOP works whatever the person's language.
	for _, l := range langs {
		if !contains(b.Words(l, "keyword.stop"), "stop") || !contains(b.Words(l, "keyword.help"), "help") {
			t.Errorf("%s keywords lack the English STOP or HELP", l)
		}
	}
}

// The shipped plural message picks a different wording for each Arabic and
// Ukrainian form, with the count in it where the words need it.
func TestShippedPlurals(t *testing.T) {
	b, _ := locale.Load(locales.FS)
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 2, 3, 11, 100} {
		s := b.RenderCount("ar", "reminder.upcoming", n, nil)
		if seen[s] || s == "" || strings.Contains(s, "<no value>") {
			t.Errorf("ar %d: %q (repeated or empty)", n, s)
		}
		seen[s] = true
	}
	for n, word := range map[int]string{1: "1 день", 2: "2 дні", 5: "5 днів", 21: "21 день"} {
		if s := b.RenderCount("uk", "reminder.upcoming", n, nil); !strings.Contains(s, word) {
			t.Errorf("uk %d: %q lacks %q", n, s, word)
		}
	}
	if got := len(b.Texts("ar", "reminder.upcoming")); got != 6 {
		t.Errorf("ar Texts: %d forms, want 6", got)
	}
	for _, l := range []string{"ar", "fa", "ps", "ur"} {
		if got := b.Direction(l); got != "rtl" {
			t.Errorf("Direction(%s) = %s", l, got)
		}
	}
	for n, word := range map[int]string{1: "1 день", 3: "3 дня", 5: "5 дней", 22: "22 дня"} {
		if s := b.RenderCount("ru", "reminder.upcoming", n, nil); !strings.Contains(s, word) {
			t.Errorf("ru %d: %q lacks %q", n, s, word)
		}
	}
}

func contains(list []string, w string) bool {
	return slices.Contains(list, w)
}

var sink string

func BenchmarkRender(b *testing.B) {
	bundle, _ := locale.Load(locales.FS)
	bundle.SetDefault("en")
	data := map[string]any{"Org": "Example Community Support", "HelpPhone": "+44 20 7946 0000", "HelpHours": "Mon-Fri 9am-5pm", "RetentionMonths": 12}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			sink = bundle.Render("uk", "checkin.thanks", data)
		}
	})
	b.Run("template", func(b *testing.B) {
		for b.Loop() {
			sink = bundle.Render("ar", "enrol.privacy", data)
		}
	})
	b.Run("plural", func(b *testing.B) {
		for b.Loop() {
			sink = bundle.RenderCount("ar", "reminder.upcoming", 3, data)
		}
	})
	b.Run("fallback", func(b *testing.B) {
		for b.Loop() {
			sink = bundle.Render("de", "callback.thanks", data)
		}
	})
	b.Run("words", func(b *testing.B) {
		for b.Loop() {
			_ = bundle.Words("es", "keyword.stop")
		}
	})
}
