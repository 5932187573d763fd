package web

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
)

// The Programme page draws the flows with the words people read, in the
// language chosen, folds the warnings, and says lengths of time in words.
func TestProgrammePageShowsWords(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	b := e.signedIn(e.cara)
	content := e.conv.Content()
	var ask *flow.Node
	for _, id := range content.Flows.Flows["checkin"].Order {
		if n := content.Flows.Flows["checkin"].Nodes[id]; n.Kind == flow.KindAsk {
			ask = n
			break
		}
	}
	if ask == nil {
		t.Fatal("the check-in flow asks nothing")
	}
	for _, lang := range []string{"en", "ar"} {
		page := html.UnescapeString(b.get("/programme?lang=" + lang).Body.String())
		words := strings.Join(strings.Fields(content.Locale.Texts(lang, ask.Message)[0]), " ")
		start := string([]rune(words)[:12])
		if !strings.Contains(page, `class="node-words" lang="`+lang+`"`) || !strings.Contains(page, start) {
			t.Errorf("%s: the diagrams lack the words %q", lang, start)
		}
		if lang == "ar" && !strings.Contains(page, `direction="rtl"`) {
			t.Error("Arabic words are not drawn right to left")
		}
	}
	page := b.get("/programme").Body.String()
	if !strings.Contains(page, `<details class="warnings">`) {
		t.Error("the warnings are not folded")
	}
	if strings.Contains(page, "24h0m0s") || !strings.Contains(page, "1 day") {
		t.Error("the grace period is not in words")
	}
	if !strings.Contains(page, `class="scroll" tabindex="0" role="region"`) {
		t.Error("the diagram's scrolling region cannot be reached by keyboard")
	}
}

func TestWrapWords(t *testing.T) {
	t.Parallel()
	got := wrapWords("one two three four five six seven eight nine ten eleven twelve", 10, 2)
	if len(got) != 2 || got[0] != "one two" || got[1] != "three fou…" {
		t.Errorf("%q", got)
	}
	if got := wrapWords("short", 10, 3); len(got) != 1 || got[0] != "short" {
		t.Errorf("%q", got)
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		caseloadWords(16, 1):                       "16 people, 1 of them a child",
		caseloadWords(1, 1):                        "1 person, a child",
		caseloadWords(3, 2):                        "3 people, 2 of them children",
		caseloadWords(0, 0):                        "0 people",
		durationWords(2 * time.Minute):             "2 minutes",
		durationWords(36 * time.Hour):              "1 day and 12 hours",
		durationWords(90 * time.Second):            "1 minute and 30 seconds",
		appointmentKindLabel("caseworker_meeting"): "Meeting with the caseworker",
		appointmentKindLabel("court_date"):         "Court date",
		dayLabel("2026-03-03"):                     "Tue 3 Mar 2026",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
