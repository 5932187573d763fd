package flow

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// withWords is testWords with some messages replaced.
func withWords(changes mapWords) mapWords {
	out := mapWords{}
	for lang, msgs := range testWords {
		out[lang] = map[string][]string{}
		maps.Copy(out[lang], msgs)
	}
	for lang, msgs := range changes {
		if out[lang] == nil {
			out[lang] = map[string][]string{}
		}
		maps.Copy(out[lang], msgs)
	}
	return out
}

// withMessages makes a Words also the Messages of CheckMessages: every
// message exists in every language.
type withMessages struct{ mapWords }

func (withMessages) Languages() []string  { return []string{"ar", "en", "es", "uk"} }
func (withMessages) Has(_, _ string) bool { return true }

func TestCheckWords(t *testing.T) {
	s := loadTestSet(t)
	langs := []string{"ar", "en", "es", "uk"}
	if problems := s.checkWords(testWords, langs); len(problems) > 0 {
		t.Fatalf("the test words have problems:\n%s", problemLines(problems))
	}
	tests := []struct {
		name    string
		changes mapWords
		want    string
	}{
		{"two choices, one word once normalized",
			mapWords{"es": {"checkin.kw.here": {"aquí"}, "checkin.kw.cant": {"no puedo", "AQUI"}}},
			`checkin.yaml:10: warning: node ask: "AQUI" (checkin.kw.cant, es) picks choice 1, so it never picks choice 2: keep it in one of them`},
		{"a label and another choice's word",
			mapWords{"en": {"checkin.choice.cant": {"Yes, I can't"}, "checkin.kw.here": {"here", "yes i cant"}}},
			`checkin.yaml:10: warning: node ask: "Yes, I can't" (the label checkin.choice.cant, en) picks choice 1, so it never picks choice 2: keep it in one of them`},
		{"English words count for everyone",
			mapWords{"uk": {"checkin.kw.cant": {"ні", "ok"}}},
			`checkin.yaml:10: warning: node ask: "ok" (checkin.kw.cant, uk) picks choice 1, so it never picks choice 2: keep it in one of them`},
		{"an opt-out word",
			mapWords{"ar": {"checkin.kw.cant": {"لا", "توقّف"}}},
			`checkin.yaml:10: warning: node ask choice 2: "توقّف" (checkin.kw.cant, ar) is also the keyword keyword.stop, which opts out from anywhere, so it never picks this choice`},
		{"a number",
			mapWords{"en": {"checkin.kw.cant": {"no", "١"}}},
			`checkin.yaml:10: warning: node ask choice 2: "١" (checkin.kw.cant, en) is a number; numbers pick choices by their position`},
		{"two global keywords",
			mapWords{"es": {"keyword.help": {"ayuda", "Stop!"}}},
			`keywords.yaml:4: warning: keyword keyword.help: "Stop!" (es) is also a word of keyword.stop, which comes first, so it never starts flow help`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := problemLines(s.CheckMessages(withMessages{withWords(tc.changes)}))
			if !slices.Contains(strings.Split(got, "\n"), tc.want) {
				t.Errorf("got:\n%s\nwant a line:\n%s", got, tc.want)
			}
		})
	}
}
