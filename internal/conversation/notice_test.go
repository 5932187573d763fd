package conversation_test

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/locales"
)

// toldRow is a row of the retention table of docs/privacy.md that people
// are told: its programme.yaml setting and the template field telling it.
type toldRow struct{ setting, field string }

var templateField = regexp.MustCompile(`\{\{\.(\w+)\}\}`)

// toldPeriods reads the retention table of docs/privacy.md. Every row must
// name a template field in its last column, or say "not told" and why.
func toldPeriods(t *testing.T) []toldRow {
	t.Helper()
	doc, err := os.ReadFile("../../docs/privacy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Retention\n")
	if !ok {
		t.Fatal("docs/privacy.md has no Retention section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []toldRow
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 7 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue // not a row of the table, or its header
		}
		setting := strings.Trim(strings.TrimSpace(cells[2]), "`")
		told := strings.TrimSpace(cells[5])
		m := templateField.FindStringSubmatch(told)
		switch {
		case m != nil:
			rows = append(rows, toldRow{setting: setting, field: m[1]})
		case !strings.HasPrefix(told, "not told: "):
			t.Errorf("docs/privacy.md: the row of %s must name the field people are told it by, or say \"not told: \" and why", setting)
		}
	}
	if len(rows) < 5 {
		t.Fatalf("docs/privacy.md: found %d periods people are told, want the retention table's", len(rows))
	}
	return rows
}

// withRetention returns the shipped flows with retention settings changed.
func withRetention(t *testing.T, values map[string]string) fs.FS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(flows.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(flows.FS, path)
		fsys[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(fsys["programme.yaml"].Data), "\n")
	in := false
	for i, l := range lines {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#") && l != "" {
			in = l == "retention:"
			continue
		}
		key, _, ok := strings.Cut(strings.TrimSpace(l), ":")
		if v, set := values["retention."+key]; in && ok && set {
			lines[i] = "  " + key + ": " + v
			delete(values, "retention."+key)
		}
	}
	if len(values) > 0 {
		t.Fatalf("flows/programme.yaml has no retention setting for %v", values)
	}
	fsys["programme.yaml"] = &fstest.MapFile{Data: []byte(strings.Join(lines, "\n"))}
	return fsys
}

// notices returns what a person is told about their data, as they get it:
// every message of the enrolment's opening turn, and the answer to "Your
// data" in the information menu, each joined in one text.
func notices(t *testing.T, c *conversation.Content, lang string) map[string][]flow.Send {
	t.Helper()
	p := flow.Participant{Language: lang, Status: "active"}
	_, enrol := c.Flows.Step(flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: c.Flows.Programme.Flows.Enrolment}, c.Locale)
	st, _ := c.Flows.Step(flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "info"}, c.Locale)
	ask := c.Flows.Flows[st.Flow].Nodes[st.Node]
	number := slices.IndexFunc(ask.Choices, func(ch flow.Choice) bool { return ch.Label == "info.choice.data" }) + 1
	_, data := c.Flows.Step(st, p, flow.Event{Kind: flow.EventText, Text: strconv.Itoa(number)}, c.Locale)
	out := map[string][]flow.Send{}
	for name, effects := range map[string][]flow.Effect{"enrolment": enrol, "info data": data} {
		for _, e := range effects {
			if snd, ok := e.(flow.Send); ok {
				out[name] = append(out[name], snd)
			}
		}
		if len(out[name]) == 0 {
			t.Fatalf("the %s notice sends nothing", name)
		}
	}
	return out
}

func render(c *conversation.Content, lang string, sends []flow.Send) string {
	var texts []string
	for _, snd := range sends {
		text, _ := conversation.Render(c, lang, snd)
		texts = append(texts, text)
	}
	return strings.Join(texts, "\n")
}

func hasNumber(text string, n int) bool {
	return regexp.MustCompile(`(^|[^0-9])` + strconv.Itoa(n) + `([^0-9]|$)`).MatchString(text)
}

// What people are told of their data when they join, and in the menu, says
// every period docs/privacy.md says they are told, with the figure taken
// from programme.yaml: each period is set to a figure of its own, and the
// English notice must show it. Every language's notice uses the same
// template fields as English, so none leaves a period out.
func TestNoticeTellsEveryPeriodThisDocumentNames(t *testing.T) {
	rows := toldPeriods(t)
	values, want := map[string]string{}, map[string]int{}
	for i, r := range rows {
		n := 13 + i // a figure no other part of the notice holds
		switch {
		case strings.HasSuffix(r.field, "Months"):
			values[r.setting] = strconv.Itoa(n*730) + "h" // 730 hours: a twelfth of a year
		case strings.HasSuffix(r.field, "Days"):
			values[r.setting] = strconv.Itoa(n) + "d"
		default:
			t.Fatalf("docs/privacy.md tells %s by {{.%s}}: name it ...Months or ...Days", r.setting, r.field)
		}
		want[r.field] = n
	}
	c, problems := conversation.LoadContent(withRetention(t, values), locales.FS)
	if c == nil {
		t.Fatalf("changed programme.yaml does not load: %v", diag.Errors(problems))
	}
	for name, sends := range notices(t, c, "en") {
		text := render(c, "en", sends)
		for _, r := range rows {
			if !hasNumber(text, want[r.field]) {
				t.Errorf("the %s notice does not say %s (%d, {{.%s}}) from programme.yaml:\n%s", name, r.setting, want[r.field], r.field, text)
			}
		}
	}

	// The shipped programme's own figures, which the messages are written for.
	shipped := testkit.Content(t)
	data := conversation.TemplateData(shipped, "en", nil)
	for name, sends := range notices(t, shipped, "en") {
		for _, r := range rows {
			if n, _ := data[r.field].(int); !hasNumber(render(shipped, "en", sends), n) {
				t.Errorf("the %s notice does not say %s, %d", name, r.setting, n)
			}
		}
	}

	// Each language's messages use English's fields: render with a marker
	// for every field and see which come out.
	markers := map[string]any{}
	for k := range data {
		markers[k] = "<" + k + ">"
	}
	fieldsOf := func(lang, id string) []string {
		text := shipped.Locale.Render(lang, id, markers)
		var out []string
		for k := range markers {
			if strings.Contains(text, "<"+k+">") {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	for name, sends := range notices(t, shipped, "en") {
		for _, snd := range sends {
			en := fieldsOf("en", snd.MessageID)
			for _, lang := range shipped.Locale.Languages() {
				if got := fieldsOf(lang, snd.MessageID); !slices.Equal(got, en) {
					t.Errorf("%s notice, %s in %s uses %v, English %v", name, snd.MessageID, lang, got, en)
				}
			}
		}
	}
}

// A person who joins by SMS while the voice line is on is told of the free
// missed-call check-in; on Telegram, or with the line off, they are not.
func TestEnrolmentTellsOfTheMissedCallWhereItWorks(t *testing.T) {
	voiceOff := *testkit.Content(t)
	set := *voiceOff.Flows
	set.Programme.Voice.Enabled = false
	voiceOff.Flows = &set
	for _, tc := range []struct {
		name    string
		content *conversation.Content
		channel store.Channel
		want    string
	}{
		{"SMS, voice on", nil, store.SMS, "enrol.howto_call"},
		{"Telegram, voice on", nil, store.Telegram, "enrol.howto"},
		{"SMS, voice off", &voiceOff, store.SMS, "enrol.howto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.content != nil {
				h.conv.SetContent(tc.content)
			}
			_, code := h.enrol("fr")
			say := func(in conversation.Inbound) []string {
				in.Channel, in.Address = tc.channel, "447700900999"
				return h.sayWith(in)
			}
			say(conversation.Inbound{JoinCode: code})
			say(conversation.Inbound{Text: "1"})        // agree
			got := say(conversation.Inbound{Text: "3"}) // Français
			want := h.conv.Content().Locale.Render("fr", tc.want, conversation.TemplateData(h.conv.Content(), "fr", nil))
			if len(got) != 1 || got[0] != want {
				t.Errorf("the last enrolment message is %q, want %s: %q", got, tc.want, want)
			}
		})
	}
}
