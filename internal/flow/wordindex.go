package flow

import "slices"

// Indexed returns words with every word a Step of s compares a person's
// text with already in normal form, for each language the programme
// offers: the global keywords, each choice's keywords and label, and the
// time words. Pass it to Step in place of words. Working them out for
// every message (each keyword's words through the locale's fallback, each
// word's normal form looked up) cost about a sixth of an inbound
// message's CPU; this does it once per content load.
//
// A language the programme does not offer (a person's own, kept from
// before a programme change) is worked out for the message that needs it.
func (s *Set) Indexed(words Words) Words {
	ix := &indexedWords{base: words, set: s, langs: map[string]*langWords{}}
	for _, lang := range s.offeredLanguages() {
		ix.langs[lang] = s.langWords(words, lang, false)
	}
	return ix
}

// indexedWords is Words with the Set's words of some languages in normal
// form. It is read-only once made, so Steps share it freely.
type indexedWords struct {
	base  Words
	set   *Set
	langs map[string]*langWords
}

func (ix *indexedWords) Words(lang, id string) []string { return ix.base.Words(lang, id) }
func (ix *indexedWords) Label(lang, id string) string   { return ix.base.Label(lang, id) }

// langWords are a Set's words of one language, in normal form and as the
// locale gives them (Step compares a person's text with both).
type langWords struct {
	// keyword maps a word to the position in Set.Keywords of the first
	// keyword that has it.
	keyword  map[string]int
	messages map[string]messageWords
	// lazy, when set, is where messages not yet in messages are read
	// from: a runner's own langWords, filled as its Step needs them. An
	// index's are complete and never change.
	lazy Words
	lang string
}

type messageWords struct {
	match  []string // the words as written and in normal form
	normal []string // the words in normal form only
	label  string   // the whole text in normal form, when it can be a label
}

// message returns the words of message id.
func (lw *langWords) message(id string) messageWords {
	mw, ok := lw.messages[id]
	if !ok && lw.lazy != nil {
		mw = wordsOf(lw.lazy, lw.lang, id)
		lw.messages[id] = mw
	}
	return mw
}

// offeredLanguages are the languages a Step reads words in for nearly
// everyone: the programme's, its default and English.
func (s *Set) offeredLanguages() []string {
	langs := slices.Clone(s.Programme.Languages)
	for _, l := range []string{s.Programme.DefaultLanguage, "en"} {
		if l != "" && !contains(langs, l) {
			langs = append(langs, l)
		}
	}
	return langs
}

// langWords works out the words of lang that a Step compares text with:
// all of them, or with lazy only the keywords', the rest as they are asked
// for.
func (s *Set) langWords(words Words, lang string, lazy bool) *langWords {
	lw := &langWords{keyword: map[string]int{}, messages: map[string]messageWords{}, lang: lang}
	if lazy {
		lw.lazy = words
	} else {
		for _, id := range s.wordMessages() {
			lw.messages[id] = wordsOf(words, lang, id)
		}
	}
	for i, kw := range s.Keywords {
		if kw.MessageID == "" {
			continue
		}
		for _, w := range lw.message(kw.MessageID).match {
			if _, taken := lw.keyword[w]; !taken {
				lw.keyword[w] = i
			}
		}
	}
	return lw
}

// wordMessages lists the message IDs whose words a Step may compare text
// with.
func (s *Set) wordMessages() []string {
	ids := []string{TimeWords}
	add := func(id string) {
		if id != "" && !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, kw := range s.Keywords {
		add(kw.MessageID)
	}
	for _, fl := range s.Flows {
		for _, n := range fl.Nodes {
			for _, c := range n.Choices {
				add(c.Keywords)
				add(c.Label)
			}
		}
	}
	return ids
}

func wordsOf(words Words, lang, id string) messageWords {
	var mw messageWords
	for _, w := range words.Words(lang, id) {
		nw := normalizedWord(w)
		for _, form := range []string{w, nw} {
			if form != "" && form != "\x00" && !contains(mw.match, form) {
				mw.match = append(mw.match, form)
			}
		}
		if nw != "" && nw != "\x00" && !contains(mw.normal, nw) {
			mw.normal = append(mw.normal, nw)
		}
	}
	if l := words.Label(lang, id); l != "" {
		if nl := normalizedWord(l); nl != "\x00" {
			mw.label = nl
		}
	}
	return mw
}

// lang returns the words of lang: the index's, or for words not indexed
// for this Set or a language it does not hold, worked out as the Step
// asks for them (no more than it did before there was an index).
func (r *runner) lang(lang string) *langWords {
	if ix, ok := r.words.(*indexedWords); ok && ix.set == r.set {
		if lw := ix.langs[lang]; lw != nil {
			return lw
		}
	}
	if r.worked == nil {
		r.worked = map[string]*langWords{}
	}
	lw := r.worked[lang]
	if lw == nil {
		lw = r.set.langWords(r.words, lang, true)
		r.worked[lang] = lw
	}
	return lw
}
