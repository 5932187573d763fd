package flow

import (
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/waymark-atd/waymark/internal/diag"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/broken")

// base is a minimal valid flows directory; each broken case adds or
// replaces files on top of it, so that its want.txt lists only the problems
// the case is about.
var base = fstest.MapFS{
	"programme.yaml": {Data: []byte("languages: [en]\nflows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}\n")},
	"menu.yaml":      {Data: []byte("id: menu\nstart: hello\nnodes:\n  hello:\n    send: menu.hello\n")},
}

func overlay(t *testing.T, dir string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	maps.Copy(m, base)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "want.txt" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = &fstest.MapFile{Data: data}
	}
	return m
}

func problemLines(ps []diag.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestBrokenFixtures loads each directory of testdata/broken over a valid
// base and compares every problem, with its file and line, to want.txt.
func TestBrokenFixtures(t *testing.T) {
	dirs, err := filepath.Glob("testdata/broken/*")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no fixtures", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, problems := Load(overlay(t, dir))
			got := problemLines(problems)
			wantFile := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("problems differ\n--- got\n%s--- want\n%s", got, want)
			}
			if len(diag.Errors(problems)) == 0 {
				t.Errorf("a broken fixture must give at least one error")
			}
		})
	}
}

func TestBaseIsValid(t *testing.T) {
	_, problems := Load(base)
	if len(problems) > 0 {
		t.Fatalf("base fixture has problems:\n%s", problemLines(problems))
	}
}

func TestLoadValidSet(t *testing.T) {
	s, problems := Load(os.DirFS("testdata/flows"))
	if len(problems) > 0 {
		t.Fatalf("unexpected problems:\n%s", problemLines(problems))
	}
	wantFlows := []string{"checkin", "enrolment", "help", "language", "menu", "reminder", "start", "stop"}
	if got := s.FlowIDs(); strings.Join(got, ",") != strings.Join(wantFlows, ",") {
		t.Errorf("flows = %v, want %v", got, wantFlows)
	}
	var kws []string
	for _, k := range s.Keywords {
		kws = append(kws, k.MessageID+"="+k.Flow)
	}
	if got, want := strings.Join(kws, " "), "keyword.stop=stop keyword.start=start keyword.help=help keyword.menu=menu keyword.language=language keyword.present=menu"; got != want {
		t.Errorf("keywords in file order = %q, want %q", got, want)
	}

	p := s.Programme
	if p.Organisation.Name != "Test Org" || p.Organisation.Phone != "+44 20 0000 0000" {
		t.Errorf("organisation = %+v", p.Organisation)
	}
	if strings.Join(p.Languages, ",") != "en,es,ar,uk" {
		t.Errorf("languages = %v", p.Languages)
	}
	if p.Reminders.AppointmentHour != "09:30" || !p.Reminders.SameMorning {
		t.Errorf("reminders = %+v", p.Reminders)
	}
	if got := p.Reminders.BeforeClose; len(got) != 2 || got[0].D() != 6*time.Hour || got[1].D() != time.Hour {
		t.Errorf("before_close = %v", got)
	}
	if p.Retention.CheckIns.D() != 180*24*time.Hour {
		t.Errorf("retention.checkins = %v, want the file's 180d", p.Retention.CheckIns)
	}
	// Left out of the file: the defaults hold.
	if p.Retention.Audit.D() != 730*24*time.Hour || p.Retention.DedupeKeys.D() != 48*time.Hour {
		t.Errorf("retention defaults not applied: %+v", p.Retention)
	}

	ask := s.Flows["checkin"].Nodes["ask"]
	if ask.Kind != KindAsk || ask.Timeout != 12*time.Hour || ask.OnTimeout != "later" || len(ask.Choices) != 2 {
		t.Errorf("checkin ask = %+v", ask)
	}
	if c := s.Flows["language"].Nodes["ask"].Choices[1]; c.Set["lang"] != "es" || c.Keywords != "language.kw.es" {
		t.Errorf("language choice 2 = %+v", c)
	}
}

func TestDefaultsWithoutProgramme(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, id := range []string{"menu", "enrolment", "checkin", "reminder"} {
		fsys[id+".yaml"] = &fstest.MapFile{Data: []byte("id: " + id + "\nstart: a\nnodes:\n  a:\n    send: x\n")}
	}
	s, problems := Load(fsys)
	if len(problems) > 0 {
		t.Fatalf("problems:\n%s", problemLines(problems))
	}
	p := s.Programme
	day := 24 * time.Hour
	checks := []struct {
		name      string
		got, want any
	}{
		{"languages", strings.Join(p.Languages, ","), "en"},
		{"default_language", p.DefaultLanguage, "en"},
		{"flows", p.Flows, FlowRoles{"menu", "enrolment", "checkin", "reminder", "consent"}},
		{"session_timeout", p.SessionTimeout.D(), 2 * time.Hour},
		{"grace_period", p.CheckIn.GracePeriod.D(), day},
		{"before_close", p.Reminders.BeforeClose[0].D(), 6 * time.Hour},
		{"appointment", p.Reminders.Appointment[0].String() + p.Reminders.Appointment[1].String() + p.Reminders.Appointment[2].String(), "7d3d1d"},
		{"appointment_hour", p.Reminders.AppointmentHour, "09:00"},
		{"quiet_hours", p.QuietHours, QuietHours{"21:00", "08:00"}},
		{"checkins", p.Retention.CheckIns.D(), 365 * day},
		{"audit", p.Retention.Audit.D(), 730 * day},
		{"exited", p.Retention.ExitedAfter.D(), 30 * day},
		{"dedupe", p.Retention.DedupeKeys.D(), 48 * time.Hour},
		{"codes", p.Retention.EnrolmentCodeTTL.D(), 14 * day},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestYmlIsIgnoredWithWarning(t *testing.T) {
	fsys := overlayMap(map[string]string{"checkin.yml": "id: checkin\n"})
	_, problems := Load(fsys)
	if len(problems) != 1 || !problems[0].Warning || problems[0].File != "checkin.yml" {
		t.Fatalf("want one warning about checkin.yml, got:\n%s", problemLines(problems))
	}
}

func overlayMap(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	maps.Copy(m, base)
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return m
}

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	good := map[string]time.Duration{"7d": 7 * day, "1d12h": day + 12*time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, " 2h ": 2 * time.Hour, "0s": 0}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"7x", "", "d", "-1d", "+1d", "1d-2h", "99999999999d", "100d9999999999h", "7", "h", "1dd"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := map[string]time.Duration{"00:00": 0, "09:00": 9 * time.Hour, "9:05": 9*time.Hour + 5*time.Minute, "23:59": 23*time.Hour + 59*time.Minute}
	for in, want := range good {
		if got, err := ParseClock(in); err != nil || got != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"25:00", "24:00", "12:60", "9am", "", "12", "12:5", "-1:00", "+1:00", "12:+5", "123:00"} {
		if _, err := ParseClock(in); err == nil {
			t.Errorf("ParseClock(%q): want an error", in)
		}
	}
}

// mapMessages is a locale stand-in: lang -> set of message IDs.
type mapMessages map[string]map[string]bool

func (m mapMessages) Languages() []string {
	var out []string
	for _, l := range []string{"en", "es", "ar", "uk", "fr"} {
		if _, ok := m[l]; ok {
			out = append(out, l)
		}
	}
	return out
}

func (m mapMessages) Has(lang, id string) bool { return m[lang][id] }

func TestCheckMessages(t *testing.T) {
	s, problems := Load(os.DirFS("testdata/flows"))
	if len(problems) > 0 {
		t.Fatalf("problems:\n%s", problemLines(problems))
	}
	all := map[string]bool{NotUnderstood: true, OptedOutHelpMessage: true, ErasurePassedOnMessage: true}
	for _, r := range s.MessageRefs() {
		all[r.ID] = true
	}
	full := func() map[string]bool {
		m := map[string]bool{}
		for k := range all {
			m[k] = true
		}
		return m
	}
	msgs := mapMessages{"en": full(), "es": full(), "ar": full(), "uk": full()}
	if ps := s.CheckMessages(msgs); len(ps) > 0 {
		t.Fatalf("complete locales gave problems:\n%s", problemLines(ps))
	}

	delete(msgs["ar"], "checkin.thanks") // checkin.yaml line 20
	delete(msgs["uk"], "language.kw.es") // language.yaml line 12
	delete(msgs["es"], "keyword.stop")   // keywords.yaml line 2
	for _, l := range []string{"en", "es", "ar", "uk"} {
		delete(msgs[l], "menu.callback_sent") // menu.yaml line 22, in no locale
	}
	delete(msgs["uk"], NotUnderstood)
	delete(msgs["es"], OptedOutHelpMessage) // a warning: HELP after STOP goes unanswered
	want := strings.Join([]string{
		"checkin.yaml:19: error: message checkin.thanks (send) is missing in language ar",
		"keywords.yaml:2: error: message keyword.stop (keyword) is missing in language es",
		"language.yaml:12: error: message language.kw.es (choice keywords) is missing in language uk",
		"menu.yaml:22: error: message menu.callback_sent (send) is in no locale: check the spelling or add it to every language",
		"programme.yaml: error: message common.not_understood (sent when an answer is not understood) is missing in language uk",
		"programme.yaml: warning: message optout.help (the answer to a keyword from a person who has opted out) is missing in language es",
	}, "\n") + "\n"
	if got := problemLines(s.CheckMessages(msgs)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// A language offered by programme.yaml without a locale.
	delete(msgs, "uk")
	got := problemLines(s.CheckMessages(msgs))
	if !strings.Contains(got, "programme.yaml:10: error: language uk is offered but has no locale file\n") {
		t.Errorf("missing locale for uk not reported at programme.yaml:10:\n%s", got)
	}
}

// TestLoadNeverPanics feeds mangled versions of a valid flow to Load.
func TestLoadNeverPanics(t *testing.T) {
	src, err := fs.ReadFile(os.DirFS("testdata/flows"), "checkin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		"", "---", "- a\n- b\n", "id: [1, 2]\nstart: {a: b}\nnodes: [x]\n", "nodes:\n  a: 1\n  b: [1]\n  c: ~\n",
		"a: &x [*x]\n", "id: checkin\nstart: a\nnodes:\n  a: &n\n    send: x\n    next: b\n  b: *n\n",
		"id: checkin\nstart: a\nnodes:\n  a:\n    ask: q\n    choices: 3\n", "id: checkin\nstart: a\nnodes:\n  a:\n    ask: q\n    choices: [1, ~, [a]]\n",
		"id: checkin\nstart: a\nnodes:\n  a:\n    branch: var.\n    cases: [a]\n",
		"\t\tbad", "{{{{", "id: \"\\xff\"\n",
	}
	for i := 0; i < len(src); i += 7 {
		inputs = append(inputs, string(src[:i]), string(src[i:]))
	}
	for _, in := range inputs {
		_, _ = Load(overlayMap(map[string]string{"checkin.yaml": in}))
	}
}

// TestShippedFlows loads the default flows in flows/: they must have no
// problem at all, warnings included.
func TestShippedFlows(t *testing.T) {
	s, problems := Load(os.DirFS("../../flows"))
	if len(problems) > 0 {
		t.Fatalf("flows/ has problems:\n%s", problemLines(problems))
	}
	if s.startable(s.Programme.Flows.Default) == nil {
		t.Errorf("the default flow %q cannot start", s.Programme.Flows.Default)
	}
}

// FuzzLoad: whatever a flow file holds, Load reports problems and never
// panics, and every problem names a file.
func FuzzLoad(f *testing.F) {
	ents, _ := os.ReadDir("testdata/flows")
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join("testdata/flows", e.Name()))
		f.Add(data)
	}
	f.Add([]byte("id: checkin\nstart: a\nnodes:\n  a: &x\n    send: m\n    next: a\n  b: *x\n"))
	f.Add([]byte("\xef\xbb\xbfid: checkin\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"checkin.yaml", ProgrammeFile, KeywordsFile} {
			_, problems := Load(fstest.MapFS{name: {Data: data}})
			for _, p := range problems {
				if p.File == "" {
					t.Fatalf("problem without a file: %v", p)
				}
			}
		}
	})
}
