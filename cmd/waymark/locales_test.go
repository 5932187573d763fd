package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/locales"
)

// waymarkLocales runs `waymark locales ...` against a copy of the shipped
// locales in dir.
func waymarkLocales(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	env := map[string]string{"WAYMARK_LOCALES_DIR": dir}
	code := run(context.Background(), append([]string{"waymark", "locales"}, args...), func(k string) string { return env[k] }, nil, strings.NewReader(""), &out, &out)
	return code, out.String()
}

func copyLocales(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, locales.FS); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A language exported and imported back, as CSV and as XLIFF, is the
// same file in every message and plural form, review marks included.
func TestLocalesRoundTrip(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	for _, tc := range []struct{ lang, format, ext string }{
		{"ti", "csv", ".csv"}, {"ar", "xliff", ".xlf"}, {"ru", "csv", ".csv"}, {"fa", "xliff", ".xlf"}, {"es", "csv", ".csv"},
	} {
		t.Run(tc.lang+"_"+tc.format, func(t *testing.T) {
			t.Parallel() // each on a copy of its own
			dir := copyLocales(t)
			// Mark one message reviewed, as a reviewer's import would.
			src := filepath.Join(dir, tc.lang+".yaml")
			data, _ := os.ReadFile(src)
			lines := strings.Split(string(data), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "checkin.thanks:") {
					lines[i] = l + " # reviewed"
				}
			}
			if err := os.WriteFile(src, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := locale.Load(os.DirFS(dir))

			file := filepath.Join(t.TempDir(), tc.lang+tc.ext)
			if code, out := waymarkLocales(t, dir, "export", "--lang", tc.lang, "--format", tc.format, "--out", file); code != 0 {
				t.Fatalf("export: %d\n%s", code, out)
			}
			if err := os.Remove(src); err != nil {
				t.Fatal(err)
			}
			code, out := waymarkLocales(t, dir, "import", "--lang", tc.lang, file)
			if code != 0 {
				t.Fatalf("import: %d\n%s", code, out)
			}
			after, problems := locale.Load(os.DirFS(dir))
			for _, p := range problems {
				if !p.Warning {
					t.Errorf("imported file: %s", p)
				}
			}
			for _, id := range before.MessageIDs() {
				if b, a := before.Texts(tc.lang, id), after.Texts(tc.lang, id); strings.Join(b, "\x00") != strings.Join(a, "\x00") {
					t.Errorf("%s: %q became %q", id, b, a)
				}
			}
			enSource, _ := os.ReadFile(filepath.Join(dir, "en.yaml"))
			units, _ := after.Units(tc.lang, enSource)
			reviewed := 0
			for _, u := range units {
				if u.Reviewed {
					reviewed++
					if u.ID != "checkin.thanks" {
						t.Errorf("%s marked reviewed", u.ID)
					}
				}
			}
			if reviewed != 1 {
				t.Errorf("%d reviewed, want checkin.thanks only", reviewed)
			}
		})
	}
}

// The export gives a translator the English, the placeholders to keep,
// how many characters fit one SMS and the notes of en.yaml.
func TestLocalesExportSaysWhatTranslatorsNeed(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	dir := copyLocales(t)
	code, out := waymarkLocales(t, dir, "export", "--lang", "ti")
	if code != 0 {
		t.Fatal(out)
	}
	if !strings.HasPrefix(out, "id,form,english,translation,reviewed,placeholders,max_chars,notes\n") {
		t.Errorf("header: %q", strings.SplitN(out, "\n", 2)[0])
	}
	for _, want := range []string{
		// A plural message has a row per form Tigrinya needs.
		"reminder.upcoming,one,", "reminder.upcoming,other,",
		// The placeholders that must stay, and the room left in one UCS-2 SMS.
		`{{.HelpHours}} {{.HelpPhone}},`,
		// The notes of en.yaml.
		"Sent only on Telegram",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q", want)
		}
	}
	// A new language: every message, none translated yet.
	code, out = waymarkLocales(t, dir, "export", "--lang", "ckb", "--format", "xliff")
	if code != 0 || !strings.Contains(out, `target-language="ckb"`) || strings.Contains(out, "<target") {
		t.Errorf("export of a new language: %d\n%.400s", code, out)
	}
}

// A translation with broken placeholders is refused, each at its line of
// the translator's file, and nothing is written.
func TestLocalesImportRefusesBrokenPlaceholders(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	dir := copyLocales(t)
	before, _ := os.ReadFile(filepath.Join(dir, "ti.yaml"))
	fixture := filepath.Join("testdata", "ti_broken_placeholders.csv")
	code, out := waymarkLocales(t, dir, "import", "--lang", "ti", fixture)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		fixture + ":16: error: enrol.welcome: the placeholders are broken",
		fixture + ":19: error: privacy.end: {{.ExitDays}} is missing",
		fixture + ":27: error: callback.thanks: {{.HelpPhon}} is not in English",
		"refused: nothing written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "ti.yaml")); !bytes.Equal(before, after) {
		t.Error("ti.yaml was changed by a refused import")
	}
}

// The status table counts, per language, translated, reviewed and over
// the SMS limit.
func TestLocalesStatus(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	code, out := waymarkLocales(t, "", "status")
	if code != 0 {
		t.Fatal(out)
	}
	for _, want := range []string{"| language | code | translated |", "| ትግርኛ | ti | ", "| English | en | "} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
