package flow

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// mapWords is a small Words for tests: lang -> message ID -> words, already
// lower-cased as the locale package gives them. A label is a message
// holding one text.
type mapWords map[string]map[string][]string

func (m mapWords) Words(lang, id string) []string { return m[lang][id] }

func (m mapWords) Label(lang, id string) string {
	if w := m[lang][id]; len(w) == 1 {
		return w[0]
	}
	return ""
}

var testWords = mapWords{
	"en": {
		"keyword.stop": {"stop", "stopall", "unsubscribe"}, "keyword.start": {"start"}, "keyword.help": {"help", "info"},
		"keyword.menu": {"menu"}, "keyword.language": {"language"},
		"checkin.kw.here": {"here", "yes", "ok"}, "checkin.kw.cant": {"no", "can't"},
		"menu.kw.checkin": {"check in"}, "menu.kw.call": {"call"},
		"keyword.present": {"here"},
		"language.kw.en":  {"english"}, "language.kw.es": {"spanish"}, "language.kw.ar": {"arabic"}, "language.kw.uk": {"ukrainian", "українська"},
		"checkin.choice.here": {"I am here"}, "checkin.choice.cant": {"I can't make it"},
		"keyword.time":        {"at", "around", "o'clock"},
		"menu.choice.checkin": {"Check in"}, "menu.choice.call": {"Call me, please"}, "menu.choice.language": {"Change language"},
	},
	"es": {
		"keyword.stop": {"parar", "alto"}, "keyword.start": {"iniciar"}, "keyword.help": {"ayuda"},
		"keyword.menu": {"menú"}, "keyword.language": {"idioma"},
		"checkin.kw.here": {"aquí", "sí"}, "checkin.kw.cant": {"no puedo"},
		"language.kw.en": {"inglés"}, "language.kw.es": {"español"},
		"checkin.choice.here": {"Estoy aquí"}, "checkin.choice.cant": {"No puedo ir"},
		"keyword.time": {"a las", "a"},
	},
	"ar": {
		"keyword.stop": {"توقف", "قف"}, "keyword.start": {"ابدأ"}, "keyword.help": {"مساعدة"},
		"keyword.menu": {"قائمة"}, "keyword.language": {"لغة"},
		"checkin.kw.here": {"نعم", "هنا"}, "checkin.kw.cant": {"لا"},
		"language.kw.ar":      {"العربية"},
		"checkin.choice.here": {"أنا هنا"}, "checkin.choice.cant": {"لا أستطيع الحضور"},
		"keyword.time": {"الساعة"},
	},
	"uk": {
		"keyword.stop": {"стоп"}, "keyword.start": {"старт"}, "keyword.help": {"допомога"},
		"keyword.menu": {"меню"}, "keyword.language": {"мова"},
		"checkin.kw.here": {"так", "тут"}, "checkin.kw.cant": {"ні"},
		"language.kw.uk":      {"українська"},
		"checkin.choice.here": {"Я тут"}, "checkin.choice.cant": {"Не можу прийти"},
		"keyword.time": {"о", "об"},
	},
	// A language the test programme does not offer: a person may keep it
	// from before the programme changed.
	"pt": {
		"checkin.kw.here": {"presente"}, "keyword.help": {"socorro"},
	},
}

func loadTestSet(t testing.TB) *Set {
	t.Helper()
	s, problems := Load(os.DirFS("testdata/flows"))
	if len(problems) > 0 {
		t.Fatalf("fixture flows have problems:\n%s", problemLines(problems))
	}
	return s
}

var (
	t0    = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	en    = Participant{Language: "en", Status: "active"}
	ar    = Participant{Language: "ar", Status: "active"}
	uk    = Participant{Language: "uk", Status: "active"}
	optd  = Participant{Language: "en", Status: "active", OptedOut: true}
	pause = Participant{Language: "en", Status: "paused"}

	checkinWait  = State{Flow: "checkin", Node: "ask", WaitUntil: t0.Add(12 * time.Hour)}
	menuWait     = State{Flow: "menu", Node: "ask"}
	reminderWait = State{Flow: "reminder", Node: "remind"}

	menuAsk = Send{MessageID: "menu.ask", Choices: []ChoiceRef{
		{1, "menu.choice.checkin"}, {2, "menu.choice.call"}, {3, "menu.choice.language"}}}
	checkinAsk = Send{MessageID: "checkin.ask", Choices: []ChoiceRef{
		{1, "checkin.choice.here"}, {2, "checkin.choice.cant"}}}
	languageAsk = Send{MessageID: "language.ask", Choices: []ChoiceRef{
		{1, "language.en"}, {2, "language.es"}, {3, "language.ar"}, {4, "language.uk"}}}
	reminderAsk = Send{MessageID: "reminder.ask", Choices: []ChoiceRef{
		{1, "reminder.choice.ok"}, {2, "reminder.choice.reschedule"}}}
	notUnderstood = Send{MessageID: NotUnderstood}
	recorded      = []Effect{RecordCheckIn{}, Send{MessageID: "checkin.thanks"}}
	cantMakeIt    = []Effect{CantMakeIt{}, Send{MessageID: "checkin.cant_sent"}}
	stopped       = []Effect{OptOut{}, Send{MessageID: "stop.confirm"}}
	reAskCheckin  = []Effect{notUnderstood, checkinAsk}
	confirmed     = []Effect{Send{MessageID: "reminder.ok"}}
)

func text(s string, at time.Time) Event { return Event{Kind: EventText, Text: s, Now: at} }

func TestStep(t *testing.T) {
	s := loadTestSet(t)
	later := t0.Add(time.Hour)
	huge := strings.Repeat("a", 100<<10)
	tests := []struct {
		name       string
		st         State
		p          Participant
		ev         Event
		want       State
		wantEffect []Effect
	}{
		// Answers by number.
		{"number picks choice 1", checkinWait, en, text("1", later), State{}, recorded},
		{"number picks choice 2", checkinWait, en, text("2", later), State{}, cantMakeIt},
		{"number with punctuation and spaces", checkinWait, en, text("  1.  ", later), State{}, recorded},
		{"Arabic-Indic digit", checkinWait, ar, text("١", later), State{}, recorded},
		{"Eastern Arabic digit", checkinWait, ar, text("۲", later), State{}, cantMakeIt},
		{"RTL mark around a digit", checkinWait, ar, text("\u200f١\u200f", later), State{}, recorded},
		{"number out of range", checkinWait, en, text("3", later), checkinWait, reAskCheckin},
		{"zero", checkinWait, en, text("0", later), checkinWait, reAskCheckin},

		// Answers by keyword.
		{"English keyword, any case", checkinWait, en, text("Yes!", later), State{}, recorded},
		{"Arabic keyword", checkinWait, ar, text("نعم", later), State{}, recorded},
		{"Arabic keyword with tatweel", checkinWait, ar, text("نعـــم", later), State{}, recorded},
		{"Ukrainian keyword upper case", checkinWait, uk, text("ТАК", later), State{}, recorded},
		{"Ukrainian keyword for choice 2", checkinWait, uk, text("ні.", later), State{}, cantMakeIt},
		{"English keyword from an Arabic speaker", checkinWait, ar, text("OK", later), State{}, recorded},
		{"two-word keyword, spaces collapsed", menuWait, en, text("CHECK   IN", later),
			State{Flow: "checkin", Node: "ask", WaitUntil: later.Add(12 * time.Hour)}, []Effect{checkinAsk}},
		{"Spanish keyword is not a Ukrainian speaker's", checkinWait, uk, text("sí", later), checkinWait, reAskCheckin},
		{"anything else is not understood", checkinWait, en, text("what?", later), checkinWait, reAskCheckin},

		// Answers by the choice's own label, however it is typed.
		{"English label", checkinWait, en, text("I can't make it", later), State{}, cantMakeIt},
		{"English label, curly apostrophe", checkinWait, en, text("I can’t make it", later), State{}, cantMakeIt},
		{"English label, no apostrophe", checkinWait, en, text("i cant make it", later), State{}, cantMakeIt},
		{"English label of choice 1", checkinWait, en, text("I am here.", later), State{}, recorded},
		{"label with a comma, typed without", menuWait, en, text("call me please", later), State{},
			[]Effect{RequestCallback{}, Send{MessageID: "menu.callback_sent"}}},
		{"a label's words alone are not the label", menuWait, en, text("please", later), menuWait,
			[]Effect{notUnderstood, menuAsk}},
		{"label of a choice without keywords", menuWait, en, text("Change LANGUAGE", later),
			State{Flow: "language", Node: "ask"}, []Effect{languageAsk}},
		{"Spanish label without accents", checkinWait, Participant{Language: "es"}, text("estoy aqui", later), State{}, recorded},
		{"Arabic label", checkinWait, ar, text("لا أستطيع الحضور", later), State{}, cantMakeIt},
		{"Ukrainian label", checkinWait, uk, text("не можу прийти!", later), State{}, cantMakeIt},
		{"English label from an Arabic speaker", checkinWait, ar, text("I am here", later), State{}, recorded},
		{"Spanish label is not a Ukrainian speaker's", checkinWait, uk, text("No puedo ir", later), checkinWait, reAskCheckin},
		{"empty text is not understood", checkinWait, en, text("   ", later), checkinWait, reAskCheckin},

		// A time of day answers the choice that accepts one.
		{"a time with am", reminderWait, en, text("8am", later), State{}, confirmed},
		{"a clock time", reminderWait, en, text("08:30", later), State{}, confirmed},
		{"a French-style time", reminderWait, en, text("8h30", later), State{}, confirmed},
		{"an hour after a time word", reminderWait, en, text("At 8!", later), State{}, confirmed},
		{"an hour before a time word", reminderWait, en, text("8 o’clock", later), State{}, confirmed},
		{"Spanish time words", reminderWait, Participant{Language: "es"}, text("a las 8", later), State{}, confirmed},
		{"Arabic time word and digits", reminderWait, ar, text("الساعة ٨:٣٠", later), State{}, confirmed},
		{"Ukrainian time word", reminderWait, uk, text("о 8", later), State{}, confirmed},
		{"English time words for everyone", reminderWait, uk, text("around 8", later), State{}, confirmed},
		{"a bare hour is a choice number", reminderWait, en, text("8", later), reminderWait, []Effect{notUnderstood, reminderAsk}},
		{"a number of weeks is not a time", reminderWait, en, text("2 weeks", later), reminderWait, []Effect{notUnderstood, reminderAsk}},
		{"Spanish time words are not a Ukrainian speaker's", reminderWait, uk, text("a las 8", later), reminderWait, []Effect{notUnderstood, reminderAsk}},
		{"a question without a choice for times", checkinWait, en, text("8am", later), checkinWait, reAskCheckin},

		// Global keywords, from anywhere and in every language.
		{"STOP inside a question", checkinWait, en, text("STOP", later), State{}, stopped},
		{"Spanish PARAR from an English speaker", checkinWait, en, text("Parar.", later), State{}, stopped},
		{"Arabic stop", checkinWait, en, text("قف", later), State{}, stopped},
		{"Ukrainian stop", State{}, ar, text("Стоп", later), State{}, stopped},
		{"help with no conversation", State{}, en, text("info", later), State{}, []Effect{Send{MessageID: "help.info"}}},
		{"menú with accent", checkinWait, en, text("MENÚ", later), menuWait, []Effect{menuAsk}},
		{"a question's own word wins over a global keyword", State{Flow: "checkin", Node: "ask"}, en, text("here", later), State{}, recorded},
		{"but opt-out words always win", checkinWait, en, text("stop", later), State{}, stopped},

		// No conversation: the default flow.
		{"hello starts the menu", State{}, en, text("hello", later), menuWait, []Effect{menuAsk}},

		// A language the programme no longer offers keeps its words.
		{"keyword of a language not offered", checkinWait, Participant{Language: "pt"}, text("Presente", later), State{}, recorded},
		{"global keyword of a language not offered", State{}, Participant{Language: "pt"}, text("socorro", later), State{},
			[]Effect{Send{MessageID: "help.info"}}},
		{"another's language not offered is not theirs", checkinWait, en, text("presente", later), checkinWait, reAskCheckin},
		{"a reply after the conversation ended", State{Flow: "checkin"}, en, text("1", later), menuWait, []Effect{menuAsk}},

		// Opted out: only keywords.
		{"opted out: text is ignored", State{}, optd, text("hello", later), State{}, nil},
		{"opted out: START works", State{}, optd, text("start", later), State{}, []Effect{OptIn{}, Send{MessageID: "start.confirm"}}},
		{"opted out: Arabic start works", State{}, optd, text("ابدأ", later), State{}, []Effect{OptIn{}, Send{MessageID: "start.confirm"}}},
		{"opted out: a vanished question is dropped", State{Flow: "old", Node: "x"}, optd, text("hello", later), State{}, nil},
		{"opted out: HELP runs no flow", State{}, optd, text("help", later), State{}, []Effect{OptedOutHelp{}}},
		{"opted out: MENU runs no flow", State{}, optd, text("Menú", later), State{}, []Effect{OptedOutHelp{}}},
		{"opted out: a keyword leaves a waiting question alone", checkinWait, optd, text("ayuda", later), checkinWait, []Effect{OptedOutHelp{}}},
		{"opted out: STOP again confirms again", State{}, optd, text("stop", later), State{}, stopped},
		{"opted out: no scheduled flow", State{}, optd, Event{Kind: EventStart, Flow: "checkin", Now: later}, State{}, nil},

		// Timeouts.
		{"timeout before it is due", checkinWait, en, Event{Kind: EventTimeout, Now: t0.Add(11 * time.Hour)}, checkinWait, nil},
		{"timeout exactly due", checkinWait, en, Event{Kind: EventTimeout, Now: t0.Add(12 * time.Hour)}, State{}, []Effect{Send{MessageID: "checkin.later"}}},
		{"timeout after it is due", checkinWait, en, Event{Kind: EventTimeout, Now: t0.Add(13 * time.Hour)}, State{}, []Effect{Send{MessageID: "checkin.later"}}},
		{"timeout with no conversation", State{}, en, Event{Kind: EventTimeout, Now: later}, State{}, nil},
		{"timeout on a question without one", menuWait, en, Event{Kind: EventTimeout, Now: later}, menuWait, nil},

		// Starting flows.
		{"scheduled check-in", State{}, en, Event{Kind: EventStart, Flow: "checkin", Now: t0},
			checkinWait, []Effect{checkinAsk}},
		{"start replaces a conversation", menuWait, en, Event{Kind: EventStart, Flow: "checkin", Now: t0},
			checkinWait, []Effect{checkinAsk}},
		{"start of an unknown flow does nothing", menuWait, en, Event{Kind: EventStart, Flow: "nope", Now: t0}, menuWait, nil},

		// Branches.
		{"enrolment while paused", State{}, pause, Event{Kind: EventStart, Flow: "enrolment", Now: t0}, State{},
			[]Effect{Send{MessageID: "enrolment.welcome"}, Send{MessageID: "enrolment.paused"}}},
		{"enrolment in Arabic", State{}, ar, Event{Kind: EventStart, Flow: "enrolment", Now: t0}, State{},
			[]Effect{Send{MessageID: "enrolment.welcome"}, Send{MessageID: "enrolment.arabic_note"}, Send{MessageID: "enrolment.done"}}},
		{"enrolment in English", State{}, en, Event{Kind: EventStart, Flow: "enrolment", Now: t0}, State{},
			[]Effect{Send{MessageID: "enrolment.welcome"}, Send{MessageID: "enrolment.done"}}},

		// Variables, set_language and goto.
		{"language by number, then the menu", State{Flow: "language", Node: "ask"}, en, text("2", later),
			State{Flow: "menu", Node: "ask", Vars: map[string]string{"lang": "es"}},
			[]Effect{SetLanguage{Language: "es"}, Send{MessageID: "language.confirm", Vars: map[string]string{"lang": "es"}},
				Send{MessageID: "menu.ask", Choices: menuAsk.Choices, Vars: map[string]string{"lang": "es"}}}},
		{"language by its own name", State{Flow: "language", Node: "ask"}, en, text("Українська", later),
			State{Flow: "menu", Node: "ask", Vars: map[string]string{"lang": "uk"}},
			[]Effect{SetLanguage{Language: "uk"}, Send{MessageID: "language.confirm", Vars: map[string]string{"lang": "uk"}},
				Send{MessageID: "menu.ask", Choices: menuAsk.Choices, Vars: map[string]string{"lang": "uk"}}}},
		{"goto from the menu", menuWait, en, text("1", later),
			State{Flow: "checkin", Node: "ask", WaitUntil: later.Add(12 * time.Hour)}, []Effect{checkinAsk}},

		// Flows reloaded under a waiting conversation.
		{"node vanished: same flow again", State{Flow: "checkin", Node: "gone", WaitUntil: t0}, en, text("1", later),
			State{Flow: "checkin", Node: "ask", WaitUntil: later.Add(12 * time.Hour)}, []Effect{Restarted{Flow: "checkin"}, checkinAsk}},
		{"node is no longer a question", State{Flow: "checkin", Node: "thanks"}, en, text("1", later),
			State{Flow: "checkin", Node: "ask", WaitUntil: later.Add(12 * time.Hour)}, []Effect{Restarted{Flow: "checkin"}, checkinAsk}},
		{"flow vanished: default flow", State{Flow: "old", Node: "ask", Vars: map[string]string{"x": "1"}}, en, text("1", later),
			menuWait, []Effect{Restarted{Flow: "menu"}, menuAsk}},
		{"flow vanished, timeout fires", State{Flow: "old", Node: "ask"}, en, Event{Kind: EventTimeout, Now: later},
			menuWait, []Effect{Restarted{Flow: "menu"}, menuAsk}},
		{"keyword still works after a reload", State{Flow: "old", Node: "ask"}, en, text("stop", later), State{}, stopped},

		// Hostile input.
		{"100 KB while waiting", checkinWait, en, text(huge, later), checkinWait, reAskCheckin},
		{"100 KB with no conversation", State{}, en, text(huge, later), menuWait, []Effect{menuAsk}},
		{"a digit then 100 KB of spaces", checkinWait, en, text("1"+strings.Repeat(" ", 100<<10), later), State{}, recorded},
		{"invalid UTF-8", checkinWait, en, text("\xff1", later), checkinWait, reAskCheckin},
		{"invalid UTF-8 next to a keyword", checkinWait, en, text("stop\xc3", later), checkinWait, reAskCheckin},
		{"unknown event kind", checkinWait, en, Event{Kind: EventKind(42), Now: later}, checkinWait, nil},
	}
	// The same answers from the words as given and from the words indexed
	// once for the Set (what the conversation passes).
	words := map[string]Words{"as given": testWords, "indexed": s.Indexed(testWords)}
	for name, w := range words {
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				got, effects := s.Step(tc.st, tc.p, tc.ev, w)
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("state = %+v, want %+v", got, tc.want)
				}
				if !reflect.DeepEqual(effects, tc.wantEffect) {
					t.Errorf("effects:\n got  %s\n want %s", show(effects), show(tc.wantEffect))
				}
			})
		}
	}
}

// TestIndexedWordsAreOfTheirSet: words indexed for one Set are not taken
// for another's (a reload makes a new Set), whose choices they may lack.
func TestIndexedWordsAreOfTheirSet(t *testing.T) {
	s, other := loadTestSet(t), loadTestSet(t)
	got, effects := s.Step(checkinWait, en, text("I am here", t0), other.Indexed(testWords))
	if !reflect.DeepEqual(got, State{}) || !reflect.DeepEqual(effects, recorded) {
		t.Errorf("Step with another Set's index = %+v, %s; want the check-in recorded", got, show(effects))
	}
}

func show(es []Effect) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%T%+v", e, e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TestStepDoesNotChangeItsInputs: Step is pure, so the caller's state and
// variables stay as they were.
func TestStepDoesNotChangeItsInputs(t *testing.T) {
	s := loadTestSet(t)
	vars := map[string]string{"lang": "ar"}
	st := State{Flow: "language", Node: "ask", Vars: vars}
	got, effects := s.Step(st, en, text("2", t0), testWords)
	if vars["lang"] != "ar" || len(vars) != 1 {
		t.Errorf("input variables changed: %v", vars)
	}
	if got.Vars["lang"] != "es" {
		t.Errorf("new state vars = %v", got.Vars)
	}
	// Effects hold their own copies.
	effects[1].(Send).Vars["lang"] = "xx"
	if got.Vars["lang"] != "es" {
		t.Errorf("an effect's vars alias the state's")
	}
}

func TestLoopGuard(t *testing.T) {
	s, problems := Load(fstest.MapFS{
		"programme.yaml": {Data: []byte("flows: {default: loop, enrolment: loop, checkin: loop, reminder: across}\n")},
		"loop.yaml":      {Data: []byte("id: loop\nstart: a\nnodes:\n  a:\n    send: m.a\n    next: b\n  b:\n    do: record_checkin\n    next: a\n")},
		"across.yaml":    {Data: []byte("id: across\nstart: a\nnodes:\n  a:\n    send: m.across\n    next: b\n  b:\n    do: goto\n    flow: back\n")},
		"back.yaml":      {Data: []byte("id: back\nstart: a\nnodes:\n  a:\n    do: goto\n    flow: across\n")},
	})
	if len(problems) != 2 {
		t.Errorf("want the two loops reported by Load, got:\n%s", problemLines(problems))
	}
	st, effects := s.Step(State{}, en, text("hi", t0), nil)
	want := []Effect{Send{MessageID: "m.a"}, RecordCheckIn{}, LoopStopped{Flow: "loop", Node: "a"}}
	if !reflect.DeepEqual(st, State{}) || !reflect.DeepEqual(effects, want) {
		t.Errorf("got %+v %s, want the loop run once and stopped", st, show(effects))
	}
	st, effects = s.Step(State{}, en, Event{Kind: EventStart, Flow: "across", Now: t0}, nil)
	want = []Effect{Send{MessageID: "m.across"}, LoopStopped{Flow: "across", Node: "a"}}
	if !reflect.DeepEqual(st, State{}) || !reflect.DeepEqual(effects, want) {
		t.Errorf("got %+v %s, want the loop through goto stopped", st, show(effects))
	}
}

// TestLongChainStopsAtMaxSteps: even without revisiting a node, one Step
// runs at most maxSteps nodes.
func TestLongChainStopsAtMaxSteps(t *testing.T) {
	var b strings.Builder
	b.WriteString("id: long\nstart: n0\nnodes:\n")
	const n = 150
	for i := range n {
		fmt.Fprintf(&b, "  n%d:\n    do: record_checkin\n", i)
		if i < n-1 {
			fmt.Fprintf(&b, "    next: n%d\n", i+1)
		}
	}
	s, _ := Load(fstest.MapFS{
		"programme.yaml": {Data: []byte("flows: {default: long, enrolment: long, checkin: long, reminder: long}\n")},
		"long.yaml":      {Data: []byte(b.String())},
	})
	_, effects := s.Step(State{}, en, Event{Kind: EventStart, Flow: "long", Now: t0}, nil)
	if len(effects) != maxSteps+1 {
		t.Fatalf("got %d effects, want %d actions then LoopStopped", len(effects), maxSteps+1)
	}
	if last, ok := effects[maxSteps].(LoopStopped); !ok || last.Node != fmt.Sprintf("n%d", maxSteps) {
		t.Errorf("last effect = %#v", effects[maxSteps])
	}
}

// TestStepOnBrokenSet runs the engine over a Set that failed validation:
// it must still never panic nor hang.
func TestStepOnBrokenSet(t *testing.T) {
	s, _ := Load(fstest.MapFS{
		"menu.yaml": {Data: []byte("id: menu\nstart: a\nnodes:\n  a:\n    ask: q\n  b:\n    send: x\n    ask: y\n  c:\n    do: goto\n    flow: nowhere\n  d:\n    branch: var.x\n  e:\n    do: set_language\n    language: var.none\n    next: gone\n")},
	})
	for _, node := range []string{"a", "b", "c", "d", "e", ""} {
		for _, in := range []string{"1", "x", ""} {
			s.Step(State{Flow: "menu", Node: node}, en, text(in, t0), testWords)
		}
		s.Step(State{Flow: "menu", Node: node}, en, Event{Kind: EventTimeout, Now: t0}, testWords)
	}
	// Run each node directly, as a reload might leave a conversation there.
	for _, node := range []string{"a", "b", "c", "d", "e", "nope"} {
		r := &runner{set: s, p: en, now: t0}
		if st := r.run("menu", node, nil); st.Active() && s.waitingNode(st) == nil {
			t.Errorf("run from %s left the state %+v waiting on no question", node, st)
		}
	}
}

func TestNilSetAndFS(t *testing.T) {
	var s *Set
	if st, effects := s.Step(checkinWait, en, text("1", t0), nil); st.Active() || effects != nil {
		t.Errorf("nil Set: got %+v %v", st, effects)
	}
	if set, problems := Load(nil); set == nil || len(problems) != 1 {
		t.Errorf("Load(nil) = %v, %v; want an empty Set and one problem", set, problems)
	}
}

// FuzzStep throws arbitrary text at every kind of state: Step must not
// panic, must leave the state waiting only on a real question, and must
// name a message in every Send.
func FuzzStep(f *testing.F) {
	for _, seed := range []string{"1", "STOP", "نعم", "١", "ТАК", "", " ", "\xff", "menú", "2.", "español", "🙂"} {
		f.Add(seed)
	}
	s := loadTestSet(f)
	states := []State{{}, checkinWait, menuWait, {Flow: "language", Node: "ask"}, {Flow: "checkin", Node: "gone"}, {Flow: "old", Node: "x"}}
	people := []Participant{en, ar, uk, optd, pause, {}}
	f.Fuzz(func(t *testing.T, in string) {
		for _, st := range states {
			for _, p := range people {
				got, effects := s.Step(st, p, text(in, t0.Add(13*time.Hour)), testWords)
				if got.Active() && s.waitingNode(got) == nil {
					t.Fatalf("state %+v waits on no question", got)
				}
				for _, e := range effects {
					if send, ok := e.(Send); ok && send.MessageID == "" {
						t.Fatalf("Send without a message ID after %q", in)
					}
				}
			}
		}
	})
}

func BenchmarkStep(b *testing.B) {
	s := loadTestSet(b)
	huge := strings.Repeat("x", 100<<10)
	cases := []struct {
		name string
		st   State
		p    Participant
		text string
	}{
		{"number", checkinWait, en, "1"},
		{"arabic_keyword", checkinWait, ar, "نعم"},
		{"not_understood", checkinWait, uk, "можливо пізніше"},
		{"global_keyword", checkinWait, en, "STOP"},
		{"100KB", checkinWait, en, huge},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ev := text(c.text, t0)
			b.ReportAllocs()
			for b.Loop() {
				s.Step(c.st, c.p, ev, testWords)
			}
		})
	}
}

func TestOptOutConfirmations(t *testing.T) {
	s := loadTestSet(t)
	got := s.OptOutConfirmations()
	want := []string{"stop.confirm", OptedOutHelpMessage, ErasurePassedOnMessage}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OptOutConfirmations = %q, want %q", got, want)
	}
}
