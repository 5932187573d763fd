package flows_test

import (
	"hash/crc32"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/locales"
)

// FuzzShippedKeywords throws any text at the shipped flows and messages,
// from every kind of person (each language, opted out or not) and every
// question they may be waiting on: Step never panics, waits only on a real
// question, sends only messages that exist in the person's language, and
// a stop word in any shipped language, however it is capitalised or
// spaced, always opts out, whatever question is open.
func FuzzShippedKeywords(f *testing.F) {
	set, problems := flow.Load(flows.FS)
	b, lp := locale.Load(locales.FS)
	if set == nil || b == nil {
		f.Fatalf("shipped content does not load: %v %v", problems, lp)
	}
	b.SetDefault(set.Programme.DefaultLanguage)
	words := set.Indexed(b) // as the conversation passes them: see indexed in flows_test.go
	var stops []string
	for _, w := range b.AllWords("keyword.stop") {
		stops = append(stops, w)
		f.Add(w)
		f.Add(" " + strings.ToUpper(w) + "\u200f ")
	}
	for _, s := range []string{"1", "2", "99", "١", "delete", "BORRAR", "sí", "join ABCD2345", "menu", "", "\xff", "STOP!", "s t o p", "I can’t make it", "هنا", "8am", "a las 8"} {
		f.Add(s)
	}
	states := []flow.State{{}}
	for _, id := range set.FlowIDs() {
		fl := set.Flows[id]
		for _, nid := range fl.Order {
			if fl.Nodes[nid].Kind == flow.KindAsk {
				states = append(states, flow.State{Flow: id, Node: nid})
			}
		}
	}
	var people []flow.Participant
	for _, lang := range set.Programme.Languages {
		people = append(people, flow.Participant{Language: lang, Status: "active"}, flow.Participant{Language: lang, Status: "active", OptedOut: true})
	}
	f.Fuzz(func(t *testing.T, text string) {
		stop := false
		for _, w := range stops {
			stop = stop || strings.EqualFold(strings.TrimSpace(text), w)
		}
		// Every question, for two of the people: which two turns with the
		// text, so that the run as a whole meets every language, opted out
		// or not, while an input costs two people's steps, not thirty.
		pick := int(crc32.ChecksumIEEE([]byte(text)))
		two := []flow.Participant{people[pick%len(people)], people[(pick/len(people)+1)%len(people)]}
		if stop {
			two = people // a stop word is checked for everyone
		}
		for _, st := range states {
			for _, p := range two {
				next, effects := set.Step(st, p, flow.Event{Kind: flow.EventText, Text: text, Now: now}, words)
				if next.Active() {
					if n := set.Flows[next.Flow].Nodes[next.Node]; n == nil || n.Kind != flow.KindAsk {
						t.Fatalf("after %q the state %+v waits on no question", text, next)
					}
				}
				optedOut := false
				for _, e := range effects {
					switch e := e.(type) {
					case flow.Send:
						if b.Render(p.Language, e.MessageID, map[string]any{}) == "" {
							t.Fatalf("after %q: message %s is empty in %s", text, e.MessageID, p.Language)
						}
					case flow.OptOut:
						optedOut = true
					}
				}
				if stop && !optedOut {
					t.Fatalf("%q (a stop word) did not opt out a %s speaker waiting on %s/%s", text, p.Language, st.Flow, st.Node)
				}
			}
		}
	})
}
