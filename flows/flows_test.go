package flows_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/locales"
)

// load reads the shipped flows and locales as `waymark serve` does.
func load(t *testing.T) (*flow.Set, *locale.Bundle) {
	t.Helper()
	set, problems := flow.Load(flows.FS)
	b, lp := locale.Load(locales.FS)
	problems = append(problems, lp...)
	problems = append(problems, set.CheckMessages(b)...)
	// Warnings count too: the shipped files are the example organisations
	// copy, so they must be spotless.
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	b.SetDefault(set.Programme.DefaultLanguage)
	return set, b
}

// indexed: the tests that take thousands of answers through Step pass
// the words as the conversation does, indexed once for the set
// (Set.Indexed), rather than the bundle, from which Step works out the
// normal form of every keyword of the language again for each answer
// (under the race detector, two minutes of CPU for these tests). It is
// the same engine and the same words; internal/flow's TestStep checks
// that the two give the same answers.

func TestShippedFilesHaveNoProblems(t *testing.T) {
	set, b := load(t)
	langs := []string{"am", "ar", "bn", "en", "es", "fa", "fr", "ps", "pt", "ru", "so", "ti", "tr", "uk", "ur"}
	if !slices.Equal(b.Languages(), langs) {
		t.Errorf("locales: %v, want %v", b.Languages(), langs)
	}
	got := slices.Clone(set.Programme.Languages)
	slices.Sort(got)
	if !slices.Equal(got, langs) {
		t.Errorf("programme languages: %v, want %v", set.Programme.Languages, langs)
	}
	// Every message in every file, not only those the flows name: the
	// conversation layer sends some by ID.
	for _, id := range b.MessageIDs() {
		for _, l := range langs {
			if !b.Has(l, id) {
				t.Errorf("%s.yaml lacks %s", l, id)
			}
		}
	}
	for _, id := range outsideFlows {
		if !b.Has("en", id) {
			t.Errorf("message %s, sent outside the flows, is missing", id)
		}
	}
}

// outsideFlows are the messages Waymark sends by ID outside any flow.
var outsideFlows = []string{
	"common.not_understood", "common.restarted", "common.choice", "common.too_long",
	"common.media_not_needed", "enrol.unknown_sender", "enrol.bad_code", "enrol.already",
	"checkin.missed", "checkin.window_open", "checkin.closing_soon", "appointment.followup",
	"optout.confirm", "group.refused", "keyword.join",
}

// sample is template data like a real programme's, with long-ish values so
// that the length checks leave room for real names and places.
var sample = map[string]any{
	"Org":             "Example Community Support",
	"HelpPhone":       "+44 20 7946 0000",
	"HelpHours":       "Mon-Fri 9am-5pm",
	"RetentionMonths": 12,
	"CheckInMonths":   12,
	"AuditMonths":     24,
	"AttentionMonths": 12,
	"SentDays":        7,
	"ExitDays":        30,
	"Date":            "Tue 14 April",
	"Time":            "10:30",
	"Place":           "Refugee Centre, 45 Station Road",
}

// Every English message fits one SMS in GSM-7, the cheapest encoding most
// phones read: 160 characters, no curly quotes. The languages' own names
// are the exception: they must be written in their own script.
func TestEnglishFitsOneSMS(t *testing.T) {
	_, b := load(t)
	b.SetSampleData(sample)
	for _, id := range b.MessageIDs() {
		if strings.HasPrefix(id, "keyword.") {
			continue // never sent
		}
		for _, text := range b.Texts("en", id) {
			enc, n := sms.Segments(text)
			if n != 1 {
				t.Errorf("%s takes %d SMS (%s), not one: %q", id, n, enc, text)
			}
			if enc != sms.GSM7 && !strings.HasPrefix(id, "language.name.") {
				t.Errorf("%s has characters outside GSM-7, which more than doubles its cost: %q", id, text)
			}
		}
	}
}

// A question goes out with its numbered choices in the same SMS; in
// English that still fits one, except where the choices are language
// names in their own scripts.
func TestEnglishQuestionsWithChoicesFitOneSMS(t *testing.T) {
	set, b := load(t)
	for _, fid := range set.FlowIDs() {
		fl := set.Flows[fid]
		for _, nid := range fl.Order {
			n := fl.Nodes[nid]
			if n.Kind != flow.KindAsk {
				continue
			}
			for _, text := range composed(b, "en", n) {
				enc, segs := sms.Segments(text)
				if enc != sms.GSM7 && strings.HasPrefix(n.Choices[0].Label, "language.name.") {
					continue // Arabic and Cyrillic names: UCS-2 whatever we do
				}
				if enc != sms.GSM7 || segs != 1 {
					t.Errorf("%s/%s with its choices takes %d SMS (%s), not one:\n%s", fid, nid, segs, enc, text)
				}
			}
		}
	}
}

// composed is the question as the person receives it: the message, then one
// "N - label" line per choice, for each of its plural forms.
func composed(b *locale.Bundle, lang string, n *flow.Node) []string {
	b.SetSampleData(sample)
	var out []string
	for _, q := range b.Texts(lang, n.Message) {
		var s strings.Builder
		s.WriteString(q)
		for i, c := range n.Choices {
			s.WriteString("\n")
			s.WriteString(b.Render(lang, "common.choice", map[string]any{"Number": i + 1, "Label": b.Render(lang, c.Label, sample)}))
		}
		out = append(out, s.String())
	}
	return out
}

// Every choice has words besides its number and label. Words that could
// never pick their choice (shared by two choices, an opt-out word, a
// number) are warnings of CheckMessages, which load turns into failures.
func TestEveryChoiceHasKeywords(t *testing.T) {
	set, _ := load(t)
	for _, fid := range set.FlowIDs() {
		fl := set.Flows[fid]
		for _, nid := range fl.Order {
			for i, c := range fl.Nodes[nid].Choices {
				if c.Keywords == "" {
					t.Errorf("%s/%s choice %d has no keywords", fid, nid, i+1)
				}
			}
		}
	}
}

var now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// step runs the engine as the conversation layer does and returns the new
// state and the IDs of the messages sent, with the effects.
func step(t *testing.T, set *flow.Set, b *locale.Bundle, st flow.State, p flow.Participant, ev flow.Event) (flow.State, []string, []flow.Effect) {
	t.Helper()
	ev.Now = now
	next, effects := set.Step(st, p, ev, b)
	var sent []string
	for _, e := range effects {
		if s, ok := e.(flow.Send); ok {
			sent = append(sent, s.MessageID)
			if text := b.Render(p.Language, s.MessageID, sample); text == "" {
				t.Errorf("message %s renders empty in %s", s.MessageID, p.Language)
			}
		}
		if _, ok := e.(flow.LoopStopped); ok {
			t.Errorf("the engine stopped a loop: %+v", e)
		}
	}
	return next, sent, effects
}

func has[T flow.Effect](effects []flow.Effect) bool {
	for _, e := range effects {
		if _, ok := e.(T); ok {
			return true
		}
	}
	return false
}

// The enrolment conversation in each language: welcome, the data notice,
// agreeing, choosing a language by its name, and how to check in.
func TestEnrolmentInEveryLanguage(t *testing.T) {
	set, b := load(t)
	// Each language agrees in its own words (or the Latin spelling its
	// speakers type) and picks the next by that language's own name.
	agree := map[string]string{"en": "Agree", "es": "Sí", "fr": "oui", "ar": "نعم", "uk": "Так",
		"fa": "بلی", "ps": "هو", "ti": "እወ", "am": "አዎ", "so": "Haa", "pt": "Sim", "ru": "Да", "tr": "Evet", "ur": "haan", "bn": "হ্যাঁ"}
	pick := map[string]string{"en": "español", "es": "Français", "fr": "العربية", "ar": "українська", "uk": "فارسی",
		"fa": "پښتو", "ps": "ትግርኛ", "ti": "አማርኛ", "am": "Soomaali", "so": "português", "pt": "русский", "ru": "Türkçe", "tr": "اردو", "ur": "বাংলা", "bn": "English"}
	picked := map[string]string{"en": "es", "es": "fr", "fr": "ar", "ar": "uk", "uk": "fa",
		"fa": "ps", "ps": "ti", "ti": "am", "am": "so", "so": "pt", "pt": "ru", "ru": "tr", "tr": "ur", "ur": "bn", "bn": "en"}
	for _, lang := range b.Languages() {
		t.Run(lang, func(t *testing.T) {
			p := flow.Participant{Language: lang, Status: "active"}
			st, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "enrolment"})
			if want := []string{"enrol.welcome", "enrol.privacy", "privacy.more", "privacy.end", "enrol.consent"}; !slices.Equal(sent, want) {
				t.Fatalf("start sent %v, want %v", sent, want)
			}
			notice := strings.Join([]string{b.Render(lang, "enrol.privacy", sample), b.Render(lang, "privacy.more", sample), b.Render(lang, "privacy.end", sample)}, "\n")
			if !strings.Contains(notice, "12") || !strings.Contains(notice, "STOP") || !strings.Contains(notice, "+44 20 7946 0000") {
				t.Errorf("the data notice must say how long, how to stop and whom to ask: %q", notice)
			}
			st, sent, _ = step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: agree[lang]})
			if !slices.Equal(sent, []string{"language.ask"}) {
				t.Fatalf("agreeing with %q sent %v", agree[lang], sent)
			}
			st, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: pick[lang]})
			if !slices.Equal(sent, []string{"enrol.howto"}) || !slices.Contains(effects, flow.Effect(flow.SetLanguage{Language: picked[lang]})) {
				t.Fatalf("choosing %q gave %v %+v", pick[lang], sent, effects)
			}
			if st.Active() {
				t.Errorf("enrolment should be over, waiting on %s", st.Node)
			}
		})
	}
}

// Someone who can check in by a free missed call (Waymark starts the
// enrolment with missed_call "yes") is told so; anyone else is not.
func TestEnrolmentTellsOfTheMissedCall(t *testing.T) {
	set, b := load(t)
	p := flow.Participant{Language: "en", Status: "active"}
	for vars, want := range map[string]string{"yes": "enrol.howto_call", "": "enrol.howto"} {
		ev := flow.Event{Kind: flow.EventStart, Flow: "enrolment"}
		if vars != "" {
			ev.Vars = map[string]string{"missed_call": vars}
		}
		st, _, _ := step(t, set, b, flow.State{}, p, ev)
		st, _, _ = step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "1"})
		_, sent, _ := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "1"})
		if !slices.Equal(sent, []string{want}) {
			t.Errorf("missed_call %q: the last enrolment message is %v, want %s", vars, sent, want)
		}
	}
	if text := b.Render("en", "enrol.howto_call", sample); !strings.Contains(text, "reply 1") || !strings.Contains(text, "ring this number") {
		t.Errorf("enrol.howto_call must say both ways to check in: %q", text)
	}
}

// Saying no opts out kindly, in the same turn as its message.
func TestEnrolmentDeclined(t *testing.T) {
	set, b := load(t)
	p := flow.Participant{Language: "fr", Status: "active"}
	st, _, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "enrolment"})
	st, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "2"})
	if !has[flow.OptOut](effects) || !slices.Equal(sent, []string{"enrol.declined"}) || st.Active() {
		t.Errorf("declining gave %v %+v", sent, effects)
	}
	if text := b.Render("en", "enrol.declined", sample); !strings.Contains(text, "caseworker") || !strings.Contains(text, "START") {
		t.Errorf("enrol.declined must point to the caseworker and to START: %q", text)
	}
}

// STOP in any language, from the middle of any conversation, opts out with
// a confirmation; START in any language opts back in.
func TestStopAndStartInEveryLanguage(t *testing.T) {
	set, b := load(t)
	stops := []string{"STOP", "stop", "Parar", "ARRÊT", "arret", "توقف", "СТОП", "unsubscribe", "Cancel"}
	for _, word := range stops {
		p := flow.Participant{Language: "en", Status: "active"}
		st, _, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "checkin"})
		_, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: word})
		if !has[flow.OptOut](effects) || !slices.Equal(sent, []string{"optout.confirm"}) {
			t.Errorf("%q gave %v %+v", word, sent, effects)
		}
	}
	for _, word := range []string{"START", "yes", "Unstop", "Empezar", "commencer", "ابدأ", "почати"} {
		p := flow.Participant{Language: "ar", Status: "active", OptedOut: true}
		_, sent, effects := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventText, Text: word})
		if !has[flow.OptIn](effects) || !slices.Equal(sent, []string{"optin.confirm"}) {
			t.Errorf("%q gave %v %+v", word, sent, effects)
		}
	}
	confirm := b.Render("en", "optout.confirm", sample)
	if !strings.Contains(confirm, "START") || !strings.Contains(confirm, "not count against you") {
		t.Errorf("optout.confirm must say how to start again and that it does not count against them: %q", confirm)
	}
}

// Every word and every label of every choice, in every language, picks
// that choice just as its number does: as written in the locale file, in
// capitals, with a curly apostrophe, without apostrophes or accents, and
// with an emoji after it.
func TestEveryWordAndLabelPicksItsChoice(t *testing.T) {
	set, b := load(t)
	words := set.Indexed(b) // as the conversation passes them: see indexed
	variants := func(w string) []string {
		return []string{w, strings.ToUpper(w), strings.ReplaceAll(w, "'", "’"), strings.ReplaceAll(w, "'", ""),
			strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "à", "a", "è", "e", "ç", "c", "ê", "e").Replace(w),
			w + " 👍🏽"}
	}
	for _, fid := range set.FlowIDs() {
		fl := set.Flows[fid]
		for _, nid := range fl.Order {
			n := fl.Nodes[nid]
			for _, lang := range b.Languages() {
				p := flow.Participant{Language: lang, Status: "active"}
				st := flow.State{Flow: fid, Node: nid}
				for i, c := range n.Choices {
					wantSt, wantFx := set.Step(st, p, flow.Event{Kind: flow.EventText, Text: fmt.Sprint(i + 1), Now: now}, words)
					answers := slices.Clone(b.Words(lang, c.Keywords))
					if l := b.Label(lang, c.Label); l != "" {
						answers = append(answers, l)
					}
					for _, a := range answers {
						for _, v := range variants(a) {
							gotSt, gotFx := set.Step(st, p, flow.Event{Kind: flow.EventText, Text: v, Now: now}, words)
							if !reflect.DeepEqual(gotSt, wantSt) || !reflect.DeepEqual(gotFx, wantFx) {
								t.Errorf("%s/%s, %s: %q does not pick choice %d (%s)", fid, nid, lang, v, i+1, c.Label)
							}
						}
					}
				}
			}
		}
	}
}

// Every word of every global keyword, in every language, starts its flow
// from no conversation, for a person of any language, however it is
// written.
func TestEveryGlobalKeywordStartsItsFlow(t *testing.T) {
	set, b := load(t)
	words := set.Indexed(b) // as the conversation passes them: see indexed
	for _, kw := range set.Keywords {
		for _, lang := range b.Languages() {
			p := flow.Participant{Language: lang, Status: "active"}
			wantSt, wantFx := set.Step(flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: kw.Flow, Now: now}, words)
			for _, w := range b.AllWords(kw.MessageID) {
				for _, v := range []string{w, strings.ToUpper(w), strings.ReplaceAll(w, "'", "’"), "«" + w + "»", w + " 👍🏽"} {
					gotSt, gotFx := set.Step(flow.State{}, p, flow.Event{Kind: flow.EventText, Text: v, Now: now}, words)
					if !reflect.DeepEqual(gotSt, wantSt) || !reflect.DeepEqual(gotFx, wantFx) {
						t.Errorf("%s: %q (%s) does not start flow %s", lang, v, kw.MessageID, kw.Flow)
					}
				}
			}
		}
	}
}

// The answers people actually send, refused before: each picks the choice
// it means, in each language.
func TestNaturalAnswers(t *testing.T) {
	set, b := load(t)
	for _, o := range []struct {
		lang, flow, reply, sent string
	}{
		{"en", "checkin", "I can't make it", "checkin.cant"},
		{"en", "checkin", "I can’t make it", "checkin.cant"},
		{"en", "checkin", "can’t", "checkin.cant"},
		{"en", "checkin", "I CANT COME", "checkin.cant"},
		{"en", "checkin", "I'm here", "checkin.thanks"},
		{"en", "checkin", "im here!", "checkin.thanks"},
		{"en", "checkin", "Checking in", "checkin.thanks"},
		{"en", "checkin", "Check in", "checkin.thanks"},
		{"en", "checkin", "Talk to my caseworker", "callback.thanks"},
		{"en", "checkin", "1️⃣", "checkin.thanks"},
		{"en", "enrolment", "Yes, I agree", "language.ask"},
		{"en", "enrolment", "yes i agree", "language.ask"},
		{"en", "reminder", "8am", "reminder.confirmed"},
		{"en", "reminder", "I’ll be there", "reminder.confirmed"},
		{"en", "reminder", "I need a new time", "reminder.rescheduling"},
		{"en", "reminder", "Yes", "reminder.confirmed"},
		{"en", "reminder", "No", "reminder.rescheduling"},
		{"es", "checkin", "Aquí estoy", "checkin.thanks"},
		{"es", "checkin", "aqui", "checkin.thanks"},
		{"es", "checkin", "No puedo ir", "checkin.cant"},
		{"es", "checkin", "Hablar con mi trabajador social", "callback.thanks"},
		{"es", "enrolment", "Sí, acepto", "language.ask"},
		{"es", "reminder", "a las 8", "reminder.confirmed"},
		{"es", "reminder", "Allí estaré", "reminder.confirmed"},
		{"es", "reminder", "no puedo", "reminder.rescheduling"},
		{"fr", "checkin", "Je suis là", "checkin.thanks"},
		{"fr", "checkin", "me voici", "checkin.thanks"},
		{"fr", "checkin", "Je ne peux pas venir", "checkin.cant"},
		{"fr", "checkin", "je peux pas", "checkin.cant"},
		{"fr", "enrolment", "Oui, j’accepte", "language.ask"},
		{"fr", "reminder", "08h30", "reminder.confirmed"},
		{"fr", "reminder", "Je serai là", "reminder.confirmed"},
		{"ar", "checkin", "هنا", "checkin.thanks"},
		{"ar", "checkin", "أنا هنا", "checkin.thanks"},
		{"ar", "checkin", "لا أستطيع الحضور", "checkin.cant"},
		{"ar", "checkin", "لا أستطيع", "checkin.cant"},
		{"ar", "enrolment", "نعم، أوافق", "language.ask"},
		{"ar", "reminder", "الساعة ٨", "reminder.confirmed"},
		{"ar", "reminder", "٨:٣٠", "reminder.confirmed"},
		{"uk", "checkin", "Я тут", "checkin.thanks"},
		{"uk", "checkin", "на місці", "checkin.thanks"},
		{"uk", "checkin", "Не можу прийти", "checkin.cant"},
		{"uk", "enrolment", "Так, погоджуюся", "language.ask"},
		{"uk", "reminder", "о 8:30", "reminder.confirmed"},
		{"uk", "reminder", "Я прийду", "reminder.confirmed"},
		// The newer drafts: own script, the Latin spelling people type,
		// and the digits of their script.
		{"fa", "checkin", "اینجا هستم", "checkin.thanks"},
		{"fa", "checkin", "hazer", "checkin.thanks"},
		{"fa", "checkin", "۱", "checkin.thanks"},
		{"fa", "checkin", "نمی\u200cتونم", "checkin.cant"},
		{"fa", "enrolment", "bale", "language.ask"},
		{"fa", "reminder", "ساعت ۸", "reminder.confirmed"},
		{"ps", "checkin", "زه دلته یم", "checkin.thanks"},
		{"ps", "checkin", "۳", "checkin.cant"},
		{"ps", "enrolment", "ho", "language.ask"},
		{"ti", "checkin", "ኣለኹ", "checkin.thanks"},
		{"ti", "checkin", "፩", "checkin.thanks"},
		{"ti", "checkin", "ኣይክእልን", "checkin.cant"},
		{"ti", "enrolment", "ewe", "language.ask"},
		{"am", "checkin", "እዚህ ነኝ", "checkin.thanks"},
		{"am", "checkin", "alehu", "checkin.thanks"},
		{"am", "checkin", "፫", "checkin.cant"},
		{"am", "enrolment", "awo", "language.ask"},
		{"so", "checkin", "Waan joogaa", "checkin.thanks"},
		{"so", "checkin", "ma imaan karo", "checkin.cant"},
		{"so", "enrolment", "Haa", "language.ask"},
		{"so", "reminder", "waan imaan doonaa", "reminder.confirmed"},
		{"pt", "checkin", "Estou aqui", "checkin.thanks"},
		{"pt", "checkin", "nao posso", "checkin.cant"},
		{"pt", "enrolment", "Sim, aceito", "language.ask"},
		{"pt", "reminder", "Vou estar lá", "reminder.confirmed"},
		{"ru", "checkin", "Я здесь", "checkin.thanks"},
		{"ru", "checkin", "tut", "checkin.thanks"},
		{"ru", "checkin", "не могу", "checkin.cant"},
		{"ru", "enrolment", "da", "language.ask"},
		{"ru", "reminder", "в 8:30", "reminder.confirmed"},
		{"tr", "checkin", "Buradayım", "checkin.thanks"},
		{"tr", "checkin", "BURADAYIM", "checkin.thanks"},
		{"tr", "checkin", "gelemiyorum", "checkin.cant"},
		{"tr", "enrolment", "Evet", "language.ask"},
		{"tr", "reminder", "saat 8", "reminder.confirmed"},
		{"ur", "checkin", "میں یہاں ہوں", "checkin.thanks"},
		{"ur", "checkin", "hazir", "checkin.thanks"},
		{"ur", "checkin", "۱", "checkin.thanks"},
		{"ur", "checkin", "nahi aa sakta", "checkin.cant"},
		{"ur", "enrolment", "ji haan", "language.ask"},
		{"bn", "checkin", "আমি এখানে", "checkin.thanks"},
		{"bn", "checkin", "hajir", "checkin.thanks"},
		{"bn", "checkin", "১", "checkin.thanks"},
		{"bn", "checkin", "parbo na", "checkin.cant"},
		{"bn", "enrolment", "হ্যাঁ", "language.ask"},
	} {
		p := flow.Participant{Language: o.lang, Status: "active"}
		vars := map[string]string{"Count": "1", "Date": "Tue 14 April", "Time": "10:30", "Place": "the office"}
		st, _, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: o.flow, Vars: vars})
		_, sent, _ := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: o.reply})
		if !slices.Equal(sent, []string{o.sent}) {
			t.Errorf("%s %s %q gave %v, want %s", o.lang, o.flow, o.reply, sent, o.sent)
		}
	}
}

// The check-in question: each choice by number and by a word, in each
// language, does what it says.
func TestCheckInChoices(t *testing.T) {
	set, b := load(t)
	type outcome struct {
		reply string
		want  flow.Effect
		sent  string
	}
	byLang := map[string][]outcome{
		"en": {{"1", flow.RecordCheckIn{}, "checkin.thanks"}, {"Call me", flow.RequestCallback{}, "callback.thanks"}, {"can't", flow.CantMakeIt{}, "checkin.cant"}},
		"es": {{"presente", flow.RecordCheckIn{}, "checkin.thanks"}, {"2", flow.RequestCallback{}, "callback.thanks"}, {"No puedo", flow.CantMakeIt{}, "checkin.cant"}},
		"fr": {{"Présent", flow.RecordCheckIn{}, "checkin.thanks"}, {"appeler", flow.RequestCallback{}, "callback.thanks"}, {"3", flow.CantMakeIt{}, "checkin.cant"}},
		"ar": {{"١", flow.RecordCheckIn{}, "checkin.thanks"}, {"اتصل بي", flow.RequestCallback{}, "callback.thanks"}, {"لا أستطيع", flow.CantMakeIt{}, "checkin.cant"}},
		"uk": {{"я тут", flow.RecordCheckIn{}, "checkin.thanks"}, {"Зателефонуйте", flow.RequestCallback{}, "callback.thanks"}, {"не можу", flow.CantMakeIt{}, "checkin.cant"}},
	}
	for lang, outcomes := range byLang {
		for _, o := range outcomes {
			p := flow.Participant{Language: lang, Status: "active"}
			st, _, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "checkin"})
			_, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: o.reply})
			if !slices.Contains(effects, o.want) || !slices.Equal(sent, []string{o.sent}) {
				t.Errorf("%s %q gave %v %+v, want %T and %s", lang, o.reply, sent, effects, o.want, o.sent)
			}
		}
	}
}

// Outside any question, "1" checks in and "2" asks for a call, as the
// menu and checkin.window_open say; the scheduler's other messages are
// questions with their choices.
func TestMenuMatchesWhatMessagesPromise(t *testing.T) {
	set, b := load(t)
	p := flow.Participant{Language: "en", Status: "active"}
	st, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventText, Text: "hello"})
	if !slices.Equal(sent, []string{"menu.ask"}) {
		t.Fatalf("a message out of the blue gave %v", sent)
	}
	_, _, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "1"})
	if !has[flow.RecordCheckIn](effects) {
		t.Errorf("menu 1 should check in: %+v", effects)
	}
	_, _, effects = step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "2"})
	if !has[flow.RequestCallback](effects) {
		t.Errorf("menu 2 should ask for a call: %+v", effects)
	}
	if text := b.Render("en", "checkin.window_open", sample); !strings.Contains(text, "Reply 1") {
		t.Errorf("checkin.window_open should say reply 1: %q", text)
	}
	// The reminders the scheduler sends about a window and an appointment
	// are questions, each with the choices it offers: what "reply N" means
	// is written under it, and answered whatever the time.
	for stage, want := range map[string]string{"closing": "checkin.closing_soon", "missed": "checkin.missed", "": "checkin.ask"} {
		qs, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "checkin", Vars: map[string]string{"Stage": stage}})
		if !slices.Equal(sent, []string{want}) || !qs.Active() {
			t.Errorf("check-in at stage %q asked %v (waiting %v), want %s", stage, sent, qs.Active(), want)
			continue
		}
		replies := map[string]func([]flow.Effect) bool{"1": has[flow.RecordCheckIn], "2": has[flow.RequestCallback], "3": has[flow.CantMakeIt]}
		if stage == "missed" {
			delete(replies, "3") // after the grace, "can't make it" would change nothing: a call instead
		}
		for reply, effect := range replies {
			if _, _, effects := step(t, set, b, qs, p, flow.Event{Kind: flow.EventText, Text: reply}); !effect(effects) {
				t.Errorf("stage %q, reply %s gave %+v", stage, reply, effects)
			}
		}
	}
	qs, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "reminder", Vars: map[string]string{"Stage": "followup"}})
	if !slices.Equal(sent, []string{"appointment.followup"}) {
		t.Fatalf("follow-up asked %v", sent)
	}
	if _, _, effects := step(t, set, b, qs, p, flow.Event{Kind: flow.EventText, Text: "1"}); !has[flow.Reschedule](effects) {
		t.Errorf("follow-up, reply 1 gave %+v", effects)
	}
	if _, _, effects := step(t, set, b, qs, p, flow.Event{Kind: flow.EventText, Text: "2"}); !has[flow.RequestCallback](effects) {
		t.Errorf("follow-up, reply 2 gave %+v", effects)
	}
	_, sent, _ = step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "3"})
	if !slices.Equal(sent, []string{"info.ask"}) {
		t.Errorf("menu 3 gave %v", sent)
	}
	_, sent, _ = step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: "4"})
	if !slices.Equal(sent, []string{"language.ask"}) {
		t.Errorf("menu 4 gave %v", sent)
	}
}

// Every answer of the information menu, and HELP in each language.
func TestInfoMenu(t *testing.T) {
	set, b := load(t)
	want := [][]string{{"info.rights"}, {"info.legal"}, {"info.credit"}, {"info.caseworker"}, {"info.data", "privacy.more", "privacy.end"}, {"info.stop"}}
	for _, help := range []string{"HELP", "info", "Ayuda", "aide", "مساعدة", "допомога"} {
		p := flow.Participant{Language: "en", Status: "active"}
		st, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventText, Text: help})
		if !slices.Equal(sent, []string{"info.ask"}) {
			t.Fatalf("%q gave %v", help, sent)
		}
		for i, id := range want {
			_, sent, _ := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: fmt.Sprint(i + 1)})
			if !slices.Equal(sent, id) {
				t.Errorf("info %d gave %v, want %v", i+1, sent, id)
			}
		}
	}
}

// The reminder asks the planning question, and both answers work. The
// appointment's details arrive as flow variables; Count picks the words.
func TestReminder(t *testing.T) {
	set, b := load(t)
	for lang, tomorrow := range map[string]string{"en": "tomorrow", "es": "mañana", "ar": "غدًا"} {
		got := b.Render(lang, "reminder.upcoming", map[string]any{"Count": "1", "Date": "Tue 14 April", "Time": "10:30", "Place": "the office"})
		if !strings.Contains(got, tomorrow) || !strings.Contains(got, "10:30") {
			t.Errorf("%s reminder for tomorrow: %q", lang, got)
		}
	}
	if got := b.RenderCount("uk", "reminder.upcoming", 3, nil); !strings.Contains(got, "3 дні") {
		t.Errorf("uk reminder in 3 days: %q", got)
	}
	if got := b.RenderCount("en", "reminder.upcoming", 7, nil); !strings.Contains(got, "in 7 days") || !strings.Contains(got, "Will you be there?") {
		t.Errorf("en reminder in 7 days: %q", got)
	}
	for _, o := range []struct {
		reply string
		want  string
	}{{"1", "reminder.confirmed"}, {"I will be there", "reminder.confirmed"}, {"2", "reminder.rescheduling"}, {"new time", "reminder.rescheduling"}} {
		p := flow.Participant{Language: "en", Status: "active"}
		st, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventStart, Flow: "reminder"})
		if len(sent) != 1 || !strings.HasPrefix(sent[0], "reminder.") {
			t.Fatalf("reminder start sent %v", sent)
		}
		_, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: o.reply})
		if !slices.Equal(sent, []string{o.want}) {
			t.Errorf("%q gave %v", o.reply, sent)
		}
		if o.want == "reminder.rescheduling" && !has[flow.Reschedule](effects) {
			t.Errorf("%q should ask to reschedule: %+v", o.reply, effects)
		}
	}
}

// LANGUAGE in any language, then a language picked by number or by name.
func TestLanguageFlow(t *testing.T) {
	set, b := load(t)
	for _, o := range []struct{ keyword, reply, want string }{
		{"language", "3", "fr"}, {"Idioma", "arabic", "ar"}, {"langue", "Українська", "uk"}, {"اللغة", "english", "en"}, {"мова", "Español", "es"},
	} {
		p := flow.Participant{Language: "en", Status: "active"}
		st, sent, _ := step(t, set, b, flow.State{}, p, flow.Event{Kind: flow.EventText, Text: o.keyword})
		if !slices.Equal(sent, []string{"language.ask"}) {
			t.Fatalf("%q gave %v", o.keyword, sent)
		}
		_, sent, effects := step(t, set, b, st, p, flow.Event{Kind: flow.EventText, Text: o.reply})
		if !slices.Contains(effects, flow.Effect(flow.SetLanguage{Language: o.want})) || !slices.Equal(sent, []string{"language.done"}) {
			t.Errorf("%q then %q gave %v %+v", o.keyword, o.reply, sent, effects)
		}
	}
	for _, lang := range b.Languages() {
		if name := b.Render("en", "language.name."+lang, nil); name != locale.Name(lang) {
			t.Errorf("language.name.%s = %q, want its own name %q", lang, name, locale.Name(lang))
		}
	}
}

// The files other than English say they are drafts needing a native
// speaker's review.
func TestTranslationsAreMarkedAsDrafts(t *testing.T) {
	_, b := load(t)
	for _, lang := range b.Languages() {
		if lang == "en" {
			continue
		}
		data, err := locales.FS.ReadFile(lang + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		head := string(data[:min(len(data), 400)])
		if !strings.Contains(head, "machine-assisted") || !strings.Contains(head, "native speaker") {
			t.Errorf("%s.yaml does not start by saying it is a machine-assisted draft needing a native speaker's review", lang)
		}
	}
}
