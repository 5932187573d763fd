package check

import (
	"bytes"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/sms"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.txt")

// fakeCatalog stands in for the locale package: flat YAML files of
// `id: text`, or `id: {one: …, other: …}` for plural forms, one per
// language, rendered with text/template and the sample data.
type fakeCatalog struct {
	msgs   map[string]map[string][]string // lang -> id -> form texts
	lines  map[string]map[string]int
	sample map[string]any
}

func loadFake(fsys fs.FS) (Catalog, []diag.Problem) {
	c := &fakeCatalog{msgs: map[string]map[string][]string{}, lines: map[string]map[string]int{}}
	var problems []diag.Problem
	names, _ := fs.Glob(fsys, "*.yaml")
	for _, name := range names {
		data, _ := fs.ReadFile(fsys, name)
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			problems = append(problems, diag.Problem{File: name, Message: "cannot parse"})
			continue
		}
		lang := strings.TrimSuffix(name, ".yaml")
		c.msgs[lang], c.lines[lang] = map[string][]string{}, map[string]int{}
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			k, v := top.Content[i], top.Content[i+1]
			var forms []string
			if v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					forms = append(forms, v.Content[j].Value)
				}
			} else {
				forms = []string{v.Value}
			}
			c.msgs[lang][k.Value] = forms
			c.lines[lang][k.Value] = k.Line
		}
	}
	return c, problems
}

func (c *fakeCatalog) Languages() []string {
	var out []string
	for l := range c.msgs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func (c *fakeCatalog) Has(lang, id string) bool { _, ok := c.msgs[lang][id]; return ok }

func (c *fakeCatalog) MessageIDs() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range c.msgs {
		for id := range m {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c *fakeCatalog) Texts(lang, id string) []string {
	var out []string
	for _, src := range c.msgs[lang][id] {
		data := map[string]any{"Count": 22}
		maps.Copy(data, c.sample)
		var b bytes.Buffer
		if tmpl, err := template.New("").Option("missingkey=zero").Parse(src); err == nil && tmpl.Execute(&b, data) == nil {
			out = append(out, b.String())
		} else {
			out = append(out, src)
		}
	}
	return out
}

func (c *fakeCatalog) Position(lang, id string) (string, int) {
	return lang + ".yaml", c.lines[lang][id]
}

func (c *fakeCatalog) SetSampleData(d map[string]any) { c.sample = d }

// fixture builds a case's flows and locales: testdata/base with the case's
// own files laid over it.
func fixture(t *testing.T, dir string) (flows, locales fstest.MapFS) {
	t.Helper()
	layer := func(sub string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, root := range []string{"testdata/base", dir} {
			ents, _ := os.ReadDir(filepath.Join(root, sub))
			for _, e := range ents {
				data, err := os.ReadFile(filepath.Join(root, sub, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				m[e.Name()] = &fstest.MapFile{Data: data}
			}
		}
		return m
	}
	return layer("flows"), layer("locales")
}

func run(t *testing.T, dir string) (Report, string) {
	flows, locales := fixture(t, dir)
	r := Run(Input{Flows: flows, FlowsDir: "flows", Locales: locales, LocalesDir: "locales", LoadLocales: loadFake})
	var b bytes.Buffer
	if err := r.Write(&b, Output{Costs: true}); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

// TestFixtures runs the check over each testdata case and compares the
// whole report with want.txt. Every case but "good" is broken in one way
// and must fail with the error at its exact file and line, given in
// firstError.
func TestFixtures(t *testing.T) {
	firstError := map[string]string{
		"good":             "",
		"unknown_node":     "flows/menu.yaml:8: error: node ask goes to node \"recrod\", which is not in this flow (did you mean \"record\"?)",
		"unreachable_node": "flows/menu.yaml:13: error: node called is never reached from start (ask): link to it or remove it",
		"missing_message":  "flows/menu.yaml:18: error: message menu.thanks (send) is missing in language ar",
		"bad_yaml":         "flows/stop.yaml:8: error: YAML syntax: did not find expected ',' or ']'",
		"bad_duration":     "flows/menu.yaml:12: error: node ask: timeout: bad duration \"7x\": use e.g. 7d, 36h or 90m",
		"unknown_field":    "flows/stop.yaml:6: error: node optout: unknown field \"nxet\": did you mean \"next\"?",
		"invalid_utf8":     "flows/stop.yaml:8: error: not valid UTF-8 text at column 24: save the file as UTF-8",
		"missing_locale":   "flows/programme.yaml:4: error: language uk is offered but has no locale file",
	}
	dirs, _ := filepath.Glob("testdata/*")
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if fi, err := os.Stat(dir); name == "base" || err != nil || !fi.IsDir() {
			continue // the shared files, or shipped.txt (TestShippedReport)
		}
		t.Run(name, func(t *testing.T) {
			want, known := firstError[name]
			if !known {
				t.Fatalf("fixture %s has no expectation here", name)
			}
			r, out := run(t, dir)
			errs := diag.Errors(r.Problems)
			switch {
			case want == "" && !r.OK():
				t.Errorf("want no errors, got:\n%s", out)
			case want != "" && r.OK():
				t.Errorf("want an error, got none:\n%s", out)
			case want != "" && errs[0].String() != want:
				t.Errorf("first error:\n got  %s\n want %s", errs[0], want)
			}
			golden := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if wantOut, err := os.ReadFile(golden); err != nil || string(wantOut) != out {
				t.Errorf("report differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestGoodReport(t *testing.T) {
	r, out := run(t, "testdata/good")
	if !r.OK() {
		t.Fatalf("good fixture failed:\n%s", out)
	}
	cost := map[string]Cost{}
	for _, c := range r.Costs {
		cost[c.Lang+" "+c.ID] = c
	}
	checks := []struct {
		key string
		enc sms.Encoding
		n   int
	}{
		// A question is measured with its numbered choices, as sent.
		{"en menu.ask", sms.GSM7, 1},
		{"ar menu.ask", sms.UCS2, 2},
		// Rendered with the organisation's real name and phone number.
		{"en stop.confirm", sms.GSM7, 1},
		{"ar menu.later", sms.UCS2, 2},
		{"ar reminder.days", sms.UCS2, 1},
	}
	for _, c := range checks {
		got, ok := cost[c.key]
		if !ok || got.Encoding != c.enc || got.Segments != c.n {
			t.Errorf("%s = %+v, want %v %d", c.key, got, c.enc, c.n)
		}
	}
	// Keywords and choice labels are never sent on their own: no rows.
	for _, id := range []string{"keyword.stop", "menu.kw.long", "menu.choice.call"} {
		if _, ok := cost["en "+id]; ok {
			t.Errorf("%s has a cost row, but it is never sent alone", id)
		}
	}
	if len(r.Costs) != 2*10 {
		t.Errorf("got %d costs, want every sent message of both languages (20)", len(r.Costs))
	}
	// Two UCS-2 segments are what Arabic costs: no warning.
	if len(r.Problems) != 0 {
		t.Errorf("problems = %v, want none", r.Problems)
	}
	found := false
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == "ar menu.later UCS-2 2 -" {
			found = true
		}
	}
	if !found {
		t.Errorf("table row for ar menu.later missing:\n%s", out)
	}
}

func TestFlowsOnly(t *testing.T) {
	flows, _ := fixture(t, "testdata/unknown_node")
	r := Run(Input{Flows: flows})
	if r.OK() || len(r.Costs) != 0 {
		t.Fatalf("want flow errors and no table, got %+v", r)
	}
	if got := r.Problems[0].File; got != "menu.yaml" {
		t.Errorf("without FlowsDir the file is %q, want menu.yaml", got)
	}
	var b bytes.Buffer
	_ = r.Write(&b, Output{})
	if !strings.HasSuffix(b.String(), "\n1 error, 0 warnings\n") && !strings.HasSuffix(b.String(), "errors, 0 warnings\n") {
		t.Errorf("summary missing:\n%s", b.String())
	}
}

func TestMeasurePicksCostliestForm(t *testing.T) {
	c := measure("en", "x", []string{"short", strings.Repeat("a", 150) + "’", "ok"}, false)
	if c.Encoding != sms.UCS2 || c.Segments != 3 || c.Chars != 151 {
		t.Errorf("got %+v", c)
	}
	// Folded, the curly apostrophe is straight: one GSM-7 segment, which
	// the programme pays when it folds the language.
	if c.Folded != (Way{sms.GSM7, 1}) || c.Because[0] != '’' {
		t.Errorf("folded %+v because %q", c.Folded, c.Because)
	}
	if c := measure("en", "x", []string{strings.Repeat("a", 150) + "’"}, true); c.Encoding != sms.GSM7 || c.Segments != 1 {
		t.Errorf("with fold: %+v", c)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ dir, file, want string }{
		{"flows", "menu.yaml", "flows/menu.yaml"},
		{"", "menu.yaml", "menu.yaml"},
		{"locales", "locales/en.yaml", "locales/en.yaml"},
		{"flows", ".", "flows"},
	} {
		if got := join(tc.dir, tc.file); got != tc.want {
			t.Errorf("join(%q, %q) = %q, want %q", tc.dir, tc.file, got, tc.want)
		}
	}
}
