package flow

import (
	"strconv"
	"strings"

	"github.com/waymark-atd/waymark/internal/diag"
)

// NotUnderstood is the message the engine sends when an answer is neither
// a choice nor a keyword, before asking again.
const NotUnderstood = "common.not_understood"

// The messages a person who has opted out may still be sent, in answer to
// their own keyword, on a channel where Waymark may write to them after
// STOP (Telegram; Twilio refuses SMS to a number that sent STOP). The
// conversation layer sends them for OptedOutHelp and RequestErasure.
const (
	// OptedOutHelpMessage says they get no messages, how to start again,
	// how to ask to be deleted and whom to call.
	OptedOutHelpMessage = "optout.help"
	// ErasurePassedOnMessage says their request to be deleted went to
	// their caseworker.
	ErasurePassedOnMessage = "optout.erasure"
)

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
		missing := missingIn(msgs, langs, ref.ID)
		f := &yamlFile{name: ref.File, problems: &problems}
		switch {
		case len(missing) == 0:
		case len(missing) == len(langs) && len(langs) > 1:
			f.errorf(ref.Line, "message %s (%s) is in no locale: check the spelling or add it to every language", ref.ID, ref.What)
		default:
			for _, l := range missing {
				f.errorf(ref.Line, "message %s (%s) is missing in language %s", ref.ID, ref.What, l)
				problems[len(problems)-1].Key = diag.MissingKey(l, ref.ID)
			}
		}
	}
	for _, ref := range s.MessageRefs() {
		check(ref)
	}
	if missing := missingIn(msgs, langs, NotUnderstood); s.hasAsk() && len(missing) > 0 {
		pf.errorf(0, "message %s (sent when an answer is not understood) is missing in language %s", NotUnderstood, strings.Join(missing, ", "))
	}
	if len(s.Keywords) > 0 {
		// Warnings, not errors: without them an opted-out person's HELP
		// or DELETE is still handled, only not answered.
		for _, id := range []string{OptedOutHelpMessage, ErasurePassedOnMessage} {
			if missing := missingIn(msgs, langs, id); len(missing) > 0 {
				pf.warnf(0, "message %s (the answer to a keyword from a person who has opted out) is missing in language %s", id, strings.Join(missing, ", "))
			}
		}
	}
	if w, ok := msgs.(Words); ok {
		problems = append(problems, s.checkWords(w, langs)...)
	}
	sortProblems(problems)
	return problems
}

// missingIn lists the languages whose own file lacks message id.
func missingIn(msgs Messages, langs []string, id string) []string {
	var missing []string
	for _, l := range langs {
		if !msgs.Has(l, id) {
			missing = append(missing, l)
		}
	}
	return missing
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
