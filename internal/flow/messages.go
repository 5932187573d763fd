package flow

import (
	"strconv"
	"strings"

	"github.com/waymark-atd/waymark/internal/diag"
)

// NotUnderstood is the message the engine sends when an answer is neither
// a choice nor a keyword, before asking again.
const NotUnderstood = "common.not_understood"

// Messages is what validation needs to know of the locale files. When it
// also gives Words, the words are checked too.
type Messages interface {
	Languages() []string
	Has(lang, id string) bool
}

// CheckMessages reports every message ID that a flow or keywords.yaml names
// and some language lacks, at the line that names it, and every language
// programme.yaml offers without a locale. If msgs is also Words, it warns
// about words and labels that could never pick what they name (see
// checkWords).
func (s *Set) CheckMessages(msgs Messages) []diag.Problem {
	var problems []diag.Problem
	langs := msgs.Languages()
	pf := &yamlFile{name: s.progFile, problems: &problems}
	for i, l := range s.Programme.Languages {
		if !contains(langs, l) {
			line := s.progLines["languages["+strconv.Itoa(i)+"]"]
			pf.errorf(line, "language %s is offered but has no locale file", l)
		}
	}
	if len(langs) == 0 {
		pf.errorf(0, "no locale files: every message needs its words in at least one language")
		return problems
	}

	check := func(ref MessageRef) {
		var missing []string
		for _, l := range langs {
			if !msgs.Has(l, ref.ID) {
				missing = append(missing, l)
			}
		}
		f := &yamlFile{name: ref.File, problems: &problems}
		switch {
		case len(missing) == 0:
		case len(missing) == len(langs) && len(langs) > 1:
			f.errorf(ref.Line, "message %s (%s) is in no locale: check the spelling or add it to every language", ref.ID, ref.What)
		default:
			for _, l := range missing {
				f.errorf(ref.Line, "message %s (%s) is missing in language %s", ref.ID, ref.What, l)
			}
		}
	}
	for _, ref := range s.MessageRefs() {
		check(ref)
	}
	if s.hasAsk() {
		var missing []string
		for _, l := range langs {
			if !msgs.Has(l, NotUnderstood) {
				missing = append(missing, l)
			}
		}
		if len(missing) > 0 {
			pf.errorf(0, "message %s (sent when an answer is not understood) is missing in language %s", NotUnderstood, strings.Join(missing, ", "))
		}
	}
	if w, ok := msgs.(Words); ok {
		problems = append(problems, s.checkWords(w, langs)...)
	}
	sortProblems(problems)
	return problems
}

func (s *Set) hasAsk() bool {
	for _, fl := range s.Flows {
		for _, n := range fl.Nodes {
			if n.Kind == KindAsk {
				return true
			}
		}
	}
	return false
}
