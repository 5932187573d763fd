package locale

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/waymark-atd/waymark/internal/diag"
)

func loadGood(t testing.TB) *Bundle {
	t.Helper()
	b, _ := Load(os.DirFS("testdata/good"))
	if got := b.Languages(); !slices.Equal(got, []string{"ar", "en", "es", "fr", "uk"}) {
		t.Fatalf("Languages() = %v", got)
	}
	return b
}

// The fallback order is the person's language, then the programme's
// default, then English; never go-i18n's own order (straight to English).
func TestRenderFallbackOrder(t *testing.T) {
	b := loadGood(t)
	data := map[string]any{"Org": "Acme"}
	tests := []struct {
		def, lang, id, want string
	}{
		{"", "fr", "greeting", "Bonjour de la part de Acme."},
		{"", "ar-EG", "greeting", "مرحبا من Acme."},             // regional tag: its base language
		{"", "es", "in.fr", "English text of in.fr."},           // no default: English
		{"fr", "es", "in.fr", "Texte français."},                // the programme default before English
		{"fr", "es", "only.en", "Only in English."},             // in neither: English
		{"fr", "ti", "greeting", "Bonjour de la part de Acme."}, // no file for the person: default
		{"fr", "", "greeting", "Bonjour de la part de Acme."},   // no language known
		{"de", "xx-invalid-!", "greeting", "Hello from Acme."},  // nonsense everywhere: English
		{"uk", "es", "nested.thanks", "Gracias."},               // nested keys read as dotted IDs
		{"", "fr", "nested.thanks", "Merci."},                   // flat dotted key
		{"", "en", "no.such.message", ""},                       // unknown ID: nothing to send
	}
	for _, tt := range tests {
		b.SetDefault(tt.def)
		if got := b.Render(tt.lang, tt.id, data); got != tt.want {
			t.Errorf("default %q: Render(%q, %q) = %q, want %q", tt.def, tt.lang, tt.id, got, tt.want)
		}
	}
}

// A field the template uses but the data lacks renders as nothing: a person
// must never read "<no value>".
func TestRenderMissingFieldIsEmpty(t *testing.T) {
	b := loadGood(t)
	for _, data := range []map[string]any{nil, {}, {"Other": 1}} {
		got := b.Render("en", "greeting", data)
		if got != "Hello from ." {
			t.Errorf("Render with %v = %q, want %q", data, got, "Hello from .")
		}
	}
}

func TestPluralArabic(t *testing.T) {
	b := loadGood(t)
	for _, tt := range []struct {
		n    int
		form string
	}{{0, "zero"}, {1, "one"}, {2, "two"}, {3, "few"}, {10, "few"}, {11, "many"}, {99, "many"}, {100, "other"}, {102, "other"}} {
		want := fmt.Sprintf("%s:%d", tt.form, tt.n)
		if got := b.RenderCount("ar", "days", tt.n, nil); got != want {
			t.Errorf("RenderCount(ar, %d) = %q, want %q", tt.n, got, want)
		}
		// A count arriving as a flow variable is a string in Count.
		if got := b.Render("ar", "days", map[string]any{"Count": fmt.Sprint(tt.n)}); got != want {
			t.Errorf("Render(ar, Count=%q) = %q, want %q", fmt.Sprint(tt.n), got, want)
		}
	}
}

func TestPluralUkrainian(t *testing.T) {
	b := loadGood(t)
	for _, tt := range []struct {
		n    int
		form string
	}{{1, "one"}, {2, "few"}, {4, "few"}, {5, "many"}, {11, "many"}, {21, "one"}, {22, "few"}, {0, "many"}} {
		want := fmt.Sprintf("%s:%d", tt.form, tt.n)
		if got := b.RenderCount("uk", "days", tt.n, nil); got != want {
			t.Errorf("RenderCount(uk, %d) = %q, want %q", tt.n, got, want)
		}
	}
}

// go-i18n renders {{.Count}} as "<no value>" when only PluralCount is set;
// RenderCount passes the count as data too.
func TestRenderCountFillsCount(t *testing.T) {
	b := loadGood(t)
	for _, tt := range []struct {
		lang string
		n    int
		want string
	}{{"en", 1, "1 day left"}, {"en", 7, "7 days left"}, {"fr", 0, "0 jour"}, {"fr", 1000000, "1000000 de jours"}, {"es", 3, "3 días"}} {
		if got := b.RenderCount(tt.lang, "days", tt.n, map[string]any{"Org": "x"}); got != tt.want {
			t.Errorf("RenderCount(%s, %d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
	// Without a count the "other" form is used, with nothing for Count.
	if got := b.Render("en", "days", nil); got != "days left" {
		t.Errorf("Render without count = %q", got)
	}
	// A count that is not a number does not break rendering.
	if got := b.Render("en", "days", map[string]any{"Count": "soon"}); got != "soon days left" {
		t.Errorf("Render with non-numeric count = %q", got)
	}
}

func TestWords(t *testing.T) {
	b := loadGood(t)
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{"stop", "optout"}}, // folded, trimmed, empty and repeated entries dropped
		{"fr", []string{"stop", "arret", "arrêt"}},
		{"uk", []string{"stop", "стоп", "відписатися"}},
		{"ar", []string{"stop", "توقف"}},
		{"ti", []string{"stop", "optout"}}, // falls back like Render
	}
	for _, tt := range tests {
		if got := b.Words(tt.lang, "keyword.stop"); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%s) = %q, want %q", tt.lang, got, tt.want)
		}
	}
	all := b.AllWords("keyword.stop")
	for _, w := range []string{"stop", "optout", "arrêt", "стоп", "توقف", "parar"} {
		if !slices.Contains(all, w) {
			t.Errorf("AllWords lacks %q: %q", w, all)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(all), func(w string) bool { return w != "stop" })); n != 1 {
		t.Errorf("AllWords repeats a word: %q", all)
	}
	if Fold("СТОП") != "стоп" || Fold("Arrêt") != "arrêt" {
		t.Errorf("Fold does not fold case")
	}
}

// A label is the message's whole text, as the person saw it under the
// question; one filled in with data or a count has none.
func TestLabel(t *testing.T) {
	b := loadGood(t)
	tests := []struct{ lang, id, want string }{
		{"fr", "nested.thanks", "Merci."},
		{"ar", "nested.thanks", "شكرا."},
		{"ti", "nested.thanks", "Thank you."}, // falls back like Render
		{"es", "in.fr", "English text of in.fr."},
		{"en", "keyword.stop", "STOP, Stop , , OPTOUT"}, // whole, not split
		{"en", "greeting", ""},                          // template data
		{"en", "days", ""},                              // plural forms
		{"en", "nope", ""},
	}
	for _, tt := range tests {
		if got := b.Label(tt.lang, tt.id); got != tt.want {
			t.Errorf("Label(%s, %s) = %q, want %q", tt.lang, tt.id, got, tt.want)
		}
	}
}

func TestTextsEveryPluralForm(t *testing.T) {
	b := loadGood(t)
	got := b.Texts("ar", "days")
	want := []string{"zero:0", "one:1", "two:2", "few:3", "many:11", "other:100"}
	if !slices.Equal(got, want) {
		t.Errorf("Texts(ar) = %q, want %q", got, want)
	}
	got = b.Texts("uk", "days")
	want = []string{"one:1", "few:2", "many:5", "other:0.5"}
	if !slices.Equal(got, want) {
		t.Errorf("Texts(uk) = %q, want %q", got, want)
	}
	b.SetSampleData(map[string]any{"Org": "Refugee Action Example"})
	if got := b.Texts("en", "greeting"); !slices.Equal(got, []string{"Hello from Refugee Action Example."}) {
		t.Errorf("Texts(en, greeting) = %q", got)
	}
	if got := b.Texts("ar", "only.en"); !slices.Equal(got, []string{"Only in English."}) {
		t.Errorf("Texts falls back like Render: %q", got)
	}
}

func TestHasAndIDs(t *testing.T) {
	b := loadGood(t)
	if !b.Has("fr", "in.fr") || b.Has("es", "in.fr") || b.Has("xx", "greeting") {
		t.Error("Has must answer for the language's own file, without fallback")
	}
	if !b.Has("ar-EG", "greeting") {
		t.Error("Has(ar-EG) should use the ar file")
	}
	want := []string{"days", "greeting", "in.fr", "keyword.stop", "nested.thanks", "only.en"}
	if got := b.MessageIDs(); !slices.Equal(got, want) {
		t.Errorf("MessageIDs() = %q, want %q", got, want)
	}
}

func TestDirectionAndName(t *testing.T) {
	for lang, want := range map[string]string{"ar": "rtl", "fa": "rtl", "ps": "rtl", "ur": "rtl", "he": "rtl", "en": "ltr", "uk": "ltr", "ti": "ltr", "???": "ltr"} {
		if got := Direction(lang); got != want {
			t.Errorf("Direction(%s) = %s, want %s", lang, got, want)
		}
	}
	for lang, want := range map[string]string{"ar": "العربية", "uk": "Українська", "es": "Español", "fr": "Français", "en": "English"} {
		if got := Name(lang); got != want {
			t.Errorf("Name(%s) = %s, want %s", lang, got, want)
		}
	}
}

// Each mistake is reported once, at its file and line.
func TestLoadReportsMistakes(t *testing.T) {
	b, problems := Load(os.DirFS("testdata/broken"))
	want := []string{
		"ar.yaml:4: error: message visits lacks the plural form(s) zero, two, many that ar needs (it needs zero, one, two, few, many, other)",
		"es.yaml:6: error: not valid YAML: line 6: found unexpected end of stream",
		"fr.yaml: error: message checkin.help is missing (en.yaml:3 has it); people reading fr get it in another language",
		"fr.yaml:7: error: message extra.key is not in en.yaml: English is the reference, so add it there or remove it here",
		"uk.yaml:2: error: message checkin.help: the template does not parse: bad character U+007D '}'",
		"uk.yaml:7: error: message visits: unknown key \"ohter\"; a plural message has only the forms zero, one, two, few, many, other (and description)",
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// What could be read is still used: the good message of the file go-i18n
	// refused, and English for the broken ones.
	if got := b.Render("uk", "checkin.thanks", nil); got != "Дякуємо." {
		t.Errorf("uk checkin.thanks = %q", got)
	}
	if got := b.Render("uk", "checkin.help", map[string]any{"HelpPhone": "0800"}); got != "Call 0800." {
		t.Errorf("uk checkin.help should fall back to English, got %q", got)
	}
	if got := b.Render("es", "checkin.thanks", nil); got != "Thank you." {
		t.Errorf("es (bad YAML) should fall back to English, got %q", got)
	}
	// Arabic "visits" lacks forms: the other form stands in, never "".
	if got := b.RenderCount("ar", "visits", 2, nil); got != "2 زيارة" {
		t.Errorf("ar visits for 2 = %q", got)
	}
}

func TestLoadEdgeCases(t *testing.T) {
	en := &fstest.MapFile{Data: []byte("a: \"A\"\nb:\n  one: \"{{.Count}} b\"\n  other: \"{{.Count}} bs\"\n")}
	tests := []struct {
		name  string
		files fstest.MapFS
		want  []string // substrings of the problems, in order
	}{
		{"invalid UTF-8", fstest.MapFS{"en.yaml": en, "fr.yaml": {Data: []byte("a: \"A\"\nb: \"caf\xe9\"\n")}},
			[]string{"fr.yaml:2: error: not valid UTF-8"}},
		{"no plural rule", fstest.MapFS{"en.yaml": en, "prs.yaml": {Data: []byte("a: \"A\"\n")}},
			[]string{`prs.yaml: error: go-i18n has no plural rules for language "prs"`}},
		{"no English", fstest.MapFS{"fr.yaml": {Data: []byte("a: \"A\"\n")}},
			[]string{"en.yaml: error: missing: English is the reference language"}},
		{"plain text for a plural message", fstest.MapFS{"en.yaml": en, "uk.yaml": {Data: []byte("a: \"A\"\nb: \"б\"\n")}},
			[]string{"uk.yaml:2: error: message b has plural forms in en.yaml; write it here with the forms uk needs: one, few, many, other"}},
		{"unused plural form", fstest.MapFS{"en.yaml": {Data: []byte("a: \"A\"\nb:\n  zero: \"none\"\n  one: \"one\"\n  other: \"many\"\n")}},
			[]string{`en.yaml:3: warning: message b: en never uses the plural form "zero"`}},
		{"not text", fstest.MapFS{"en.yaml": {Data: []byte("a: true\nb: 12\nc:\nd: \"\"\n")}},
			[]string{`en.yaml:1: error: message a: "true" is read as bool, not text: put it in quotes`,
				`en.yaml:2: error: message b: "12" is read as int, not text`,
				"en.yaml:3: error: message c has no text",
				"en.yaml:4: error: message d has no text"}},
		{"duplicate", fstest.MapFS{"en.yaml": {Data: []byte("a.b: \"A\"\na:\n  b: \"B\"\n")}},
			[]string{"en.yaml:3: error: message a.b is written twice (first at line 1)"}},
		{"list", fstest.MapFS{"en.yaml": {Data: []byte("- a\n- b\n")}},
			[]string{"en.yaml:1: error: a locale file is a list of `message.id: text` lines"}},
		{"field typo in a translation", fstest.MapFS{"en.yaml": {Data: []byte("a: \"Call {{.HelpPhone}}\"\n")}, "fr.yaml": {Data: []byte("a: \"Appelez {{.HelpPhon}}\"\n")}},
			[]string{"fr.yaml:1: warning: message a uses {{.HelpPhon}}, which the English text does not",
				"fr.yaml:1: warning: message a leaves out {{.HelpPhone}}"}},
		{"bad file name", fstest.MapFS{"en.yaml": en, "active.fr.yaml": {Data: []byte("a: \"A\"\n")}, "fr.yml": {Data: []byte("a: \"A\"\n")}},
			[]string{"active.fr.yaml: error: file name must be <language>.yaml", "fr.yml: warning: ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Load(tt.files)
			if len(problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(tt.want), joinProblems(problems))
			}
			for i, p := range problems {
				if !strings.Contains(p.String(), tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, tt.want[i])
				}
			}
		})
	}
}

func joinProblems(ps []diag.Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "\n")
}

// Reads are safe while the default changes (run with -race).
func TestConcurrentReads(t *testing.T) {
	b := loadGood(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			langs := []string{"en", "fr", "ar", "uk", "es", "ti"}
			for j := range 200 {
				l := langs[(i+j)%len(langs)]
				if b.Render(l, "greeting", map[string]any{"Org": "x"}) == "" {
					t.Error("empty render")
					return
				}
				b.RenderCount(l, "days", j, nil)
				b.Words(l, "keyword.stop")
				b.Texts(l, "days")
				if j%50 == 0 {
					b.SetDefault(langs[j%len(langs)])
					b.SetSampleData(map[string]any{"Org": "y"})
				}
			}
		}(i)
	}
	wg.Wait()
}
