package check

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/locales"
)

// copyYAML copies the .yaml files of src, with edit applied to the one
// named name.
func copyYAML(src fs.FS, name string, edit func([]byte) []byte) fstest.MapFS {
	out := fstest.MapFS{}
	names, _ := fs.Glob(src, "*.yaml")
	for _, n := range names {
		data, _ := fs.ReadFile(src, n)
		if n == name {
			data = edit(data)
		}
		out[n] = &fstest.MapFile{Data: data}
	}
	return out
}

func loadReal(fsys fs.FS) (Catalog, []diag.Problem) {
	b, problems := locale.Load(fsys)
	if b == nil {
		return nil, problems
	}
	return b, problems
}

func checkShipped(t *testing.T, loc fs.FS, out Output) (Report, string) {
	t.Helper()
	r := Run(Input{Flows: flows.FS, FlowsDir: "flows", Locales: loc, LocalesDir: "locales", LoadLocales: loadReal})
	var b bytes.Buffer
	if err := r.Write(&b, out); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

// The shape of `waymark check` on the shipped flows and locales, kept in
// testdata/shipped.txt: errors first, then warnings, then one line per
// language, and the counts. Every warning it holds is explained here:
//
//   - the language question lists all fifteen languages, each in its own
//     script, so it is UCS-2 and three or four segments in every language
//     (sent once at joining and on LANGUAGE; locales/README.md says why
//     it is one list and not pages);
//   - Spanish, French, Portuguese and Turkish messages that an accent puts
//     in UCS-2 take two segments, one each with fold, which is off by
//     default.
//
// Nothing else may warn.
func TestShippedReport(t *testing.T) {
	r, out := checkShipped(t, locales.FS, Output{})
	golden := filepath.Join("testdata", "shipped.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || string(want) != out {
		t.Errorf("report differs from %s (run with -update and review the diff):\n%s", golden, out)
	}
	if !r.OK() {
		t.Fatalf("the shipped files have errors:\n%s", out)
	}
	explained := []*regexp.Regexp{
		regexp.MustCompile(`^flows/enrolment\.yaml:\d+: warning: question language\.ask with its 15 choices `),
		regexp.MustCompile(`^locales/(es|fr|pt|tr)\.yaml:\d+: warning: \d+ messages in (es|fr|pt|tr) take more than one SMS segment only because .* make them UCS-2; with (es|fr|pt|tr) in fold `),
	}
	for _, p := range r.Problems {
		ok := false
		for _, re := range explained {
			ok = ok || re.MatchString(p.String())
		}
		if !ok {
			t.Errorf("unexplained: %s", p)
		}
	}
	// The cost of every message is under its language's limit: one
	// segment for a language in Latin letters once folded, two for any
	// other, but for the language question.
	for _, c := range r.Costs {
		limit, segs := 2, c.Segments
		if c.Latin {
			limit, segs = 1, c.Folded.Segments
		}
		if segs > limit && c.ID != "language.ask" {
			t.Errorf("%s %s takes %d segments (%v)", c.Lang, c.ID, segs, c)
		}
	}
	// Keyword and voice messages are never in the table.
	_, withCosts := checkShipped(t, locales.FS, Output{Costs: true})
	for line := range strings.SplitSeq(withCosts, "\n") {
		if f := strings.Fields(line); len(f) > 2 && (strings.HasPrefix(f[1], "keyword.") || strings.HasPrefix(f[1], "voice.")) {
			t.Errorf("a row for a message never sent: %s", line)
		}
	}
}

// A message missing from one language is reported once, at the first flow
// line that needs it, naming the locale file to add it to and the other
// lines that need it.
func TestMissingMessageReportedOnce(t *testing.T) {
	loc := copyYAML(locales.FS, "fr.yaml", func(data []byte) []byte {
		return regexp.MustCompile(`(?m)^checkin\.thanks:.*\n`).ReplaceAll(data, nil)
	})
	r, out := checkShipped(t, loc, Output{})
	var about []string
	for _, p := range r.Problems {
		if strings.Contains(p.Message, "checkin.thanks") {
			about = append(about, p.String())
		}
	}
	if len(about) != 1 {
		t.Fatalf("checkin.thanks missing in fr reported %d times, want once:\n%s", len(about), out)
	}
	for _, want := range []string{"flows/checkin.yaml:", ": error: ", "in language fr", "add it to locales/fr.yaml", "also named at flows/menu.yaml:"} {
		if !strings.Contains(about[0], want) {
			t.Errorf("%q lacks %q", about[0], want)
		}
	}
	if !strings.HasPrefix(out, about[0]) {
		t.Errorf("errors come first:\n%s", out)
	}
}

// With the keypad menu on, a language Twilio cannot speak is listed with
// the spoken messages it has no recording of; a recording takes its
// message off the list, and a language Twilio speaks is not listed.
func TestUnvoicedLanguagesListed(t *testing.T) {
	fl := copyYAML(flows.FS, "programme.yaml", func(data []byte) []byte {
		return bytes.Replace(data, []byte("outside_window: reject"), []byte("outside_window: menu"), 1)
	})
	fl["audio/ti/voice.menu.hello.mp3"] = &fstest.MapFile{Data: []byte("ID3")}
	r := Run(Input{Flows: fl, FlowsDir: "flows", Locales: locales.FS, LocalesDir: "locales", LoadLocales: loadReal})
	var listed []string
	for _, p := range r.Problems {
		if strings.Contains(p.Message, "the keypad menu has no voice for") {
			listed = append(listed, p.String())
		}
	}
	if len(listed) != 4 {
		t.Fatalf("listed %d languages, want fa, ps, ti and so:\n%s", len(listed), strings.Join(listed, "\n"))
	}
	for _, l := range listed {
		if strings.Contains(l, "voice for ti") {
			if !strings.HasPrefix(l, "flows/audio/ti: warning: ") || strings.Contains(l, "voice.menu.hello,") || !strings.Contains(l, "voice.menu.checkin") {
				t.Errorf("ti: %s", l)
			}
		}
	}
}
