package flow

import (
	"fmt"
	"strings"

	"github.com/waymark-atd/waymark/internal/diag"
)

// checkWords warns about words that cannot do what the locale files mean
// them to, compared as the engine compares them (after normalize, so
// "aquí" and "aqui" are one word):
//   - a word of two global keywords: the first in keywords.yaml wins;
//   - a word or label shared by two choices of one question, in the
//     languages a person of some language is understood in: the first
//     choice wins;
//   - a choice's word that is also an opt-out keyword: STOP wins
//     everywhere, so it never picks the choice;
//   - a choice's word that is a number: numbers pick choices by position.
func (s *Set) checkWords(w Words, langs []string) []diag.Problem {
	var problems []diag.Problem
	seen := map[diag.Problem]bool{}
	warn := func(file string, line int, format string, args ...any) {
		p := diag.Problem{File: file, Line: line, Warning: true, Message: fmt.Sprintf(format, args...)}
		if !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
	}

	global := map[string]Keyword{} // normalized word -> the keyword it starts
	optOut := map[string]Keyword{}
	for _, kw := range s.Keywords {
		for _, lang := range langs {
			for _, word := range w.Words(lang, kw.MessageID) {
				nw := normalizedWord(word)
				if nw == "" || nw == "\x00" {
					continue // matches nothing
				}
				if first, ok := global[nw]; ok && first.MessageID != kw.MessageID {
					warn(kw.File, kw.Line, "keyword %s: %q (%s) is also a word of %s, which comes first, so it never starts flow %s", kw.MessageID, word, lang, first.MessageID, kw.Flow)
					continue
				}
				global[nw] = kw
				if s.hasAction(kw.Flow, ActionOptOut) {
					optOut[nw] = kw
				}
			}
		}
	}

	for _, id := range s.FlowIDs() {
		fl := s.Flows[id]
		for _, nid := range fl.Order {
			n := fl.Nodes[nid]
			if n.Kind != KindAsk {
				continue
			}
			for _, lang := range langs {
				understood := []string{lang}
				for _, l := range []string{s.Programme.DefaultLanguage, "en"} {
					if !contains(understood, l) {
						understood = append(understood, l)
					}
				}
				owner := map[string]int{} // normalized word -> index of the choice it picks
				for i, c := range n.Choices {
					line := c.Line
					for _, a := range choiceAnswers(w, c, understood) {
						nw := normalizedWord(a.text)
						if nw == "" || nw == "\x00" {
							continue
						}
						if j, ok := owner[nw]; ok && j != i {
							warn(fl.File, line, "node %s: %q (%s, %s) picks choice %d, so it never picks choice %d: keep it in one of them", nid, a.text, a.from, a.lang, j+1, i+1)
							continue
						}
						owner[nw] = i
						if kw, ok := optOut[nw]; ok {
							warn(fl.File, line, "node %s choice %d: %q (%s, %s) is also the keyword %s, which opts out from anywhere, so it never picks this choice", nid, i+1, a.text, a.from, a.lang, kw.MessageID)
						}
						if _, ok := choiceNumber(nw); ok {
							warn(fl.File, line, "node %s choice %d: %q (%s, %s) is a number; numbers pick choices by their position", nid, i+1, a.text, a.from, a.lang)
						}
					}
				}
			}
		}
	}
	return problems
}

// answer is a text that picks a choice, and where it comes from.
type answer struct{ text, from, lang string }

// choiceAnswers lists the words and the label that pick c in langs, in the
// order the engine tries them.
func choiceAnswers(w Words, c Choice, langs []string) []answer {
	var out []answer
	for _, lang := range langs {
		if c.Keywords != "" {
			for _, word := range w.Words(lang, c.Keywords) {
				out = append(out, answer{word, c.Keywords, lang})
			}
		}
		if c.Label != "" {
			if l := w.Label(lang, c.Label); strings.TrimSpace(l) != "" {
				out = append(out, answer{l, "the label " + c.Label, lang})
			}
		}
	}
	return out
}
