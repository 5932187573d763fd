package flow

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Words gives the localized words the engine matches answers against.
type Words interface {
	// Words returns the words of a keyword message, split on commas, e.g.
	// Words("es", "keyword.stop") = ["parar", "alto"].
	Words(lang, id string) []string
	// Label returns the whole text of a choice's label message ("Yes, I
	// agree"), or "" if the label cannot be typed back as it was shown
	// (it is filled in with data).
	Label(lang, id string) string
}

// maxSteps bounds the nodes one Step may run without stopping at a
// question. Validation rejects loops, but a Set is run even while someone
// is editing it, and the engine must never spin.
const maxSteps = 100

// Step moves a conversation on by one event and returns the new State and
// the Effects to apply, in order. It reads no clock (ev.Now is the time)
// and does no I/O, and it never panics, whatever the state or the text.
//
// While the person has opted out only global keywords are answered: STOP
// and START run their flows; the keyword of a flow that forgets (DELETE)
// gives RequestErasure instead of the flow, whose question could not reach
// them; any other keyword (HELP, MENU) gives OptedOutHelp. Nothing else is
// sent.
func (s *Set) Step(st State, p Participant, ev Event, words Words) (State, []Effect) {
	if s == nil {
		return State{}, nil
	}
	r := &runner{set: s, p: p, now: ev.Now, words: words}
	switch ev.Kind {
	case EventStart:
		if p.OptedOut || s.startable(ev.Flow) == nil {
			return s.idle(st), nil
		}
		return r.start(ev.Flow, copyVars(ev.Vars)), r.effects
	case EventTimeout:
		return r.timeout(st)
	case EventText:
		return r.text(st, ev.Text)
	}
	return s.idle(st), nil
}

// idle is the state to keep when an event changes nothing: st itself,
// unless it waits on a question that no longer exists.
func (s *Set) idle(st State) State {
	if st.Active() && s.waitingNode(st) == nil {
		return State{}
	}
	return st
}

// runner carries one Step's inputs and collects its effects.
type runner struct {
	set     *Set
	p       Participant
	now     time.Time
	words   Words
	worked  map[string]*langWords // words of languages words does not index (see lang)
	effects []Effect
}

func (r *runner) emit(e Effect) { r.effects = append(r.effects, e) }

func (r *runner) timeout(st State) (State, []Effect) {
	if !st.Active() || r.p.OptedOut {
		return r.set.idle(st), nil
	}
	n := r.set.waitingNode(st)
	if n == nil {
		return r.restart(st), r.effects
	}
	if n.Timeout <= 0 || n.OnTimeout == "" || st.WaitUntil.IsZero() || r.now.Before(st.WaitUntil) {
		return st, nil // not due, or a stale timer for a question already answered
	}
	return r.run(st.Flow, n.OnTimeout, st.Vars), r.effects
}

func (r *runner) text(st State, raw string) (State, []Effect) {
	text, ok := normalize(raw)
	if ok && text != "" {
		if flowID := r.matchKeyword(text); flowID != "" && !r.answersQuestion(st, text, flowID) {
			if r.p.OptedOut && !r.set.hasAction(flowID, ActionOptOut) && !r.set.hasAction(flowID, ActionOptIn) {
				return r.optedOutKeyword(st, flowID)
			}
			return r.start(flowID, nil), r.effects
		}
	}
	if r.p.OptedOut {
		return r.set.idle(st), nil
	}
	if !st.Active() {
		return r.start(r.set.Programme.Flows.Default, nil), r.effects
	}
	n := r.set.waitingNode(st)
	if n == nil {
		return r.restart(st), r.effects
	}
	if ok {
		if c := r.matchChoice(n, text); c != nil {
			vars := st.Vars
			if len(c.Set) > 0 {
				vars = make(map[string]string, len(st.Vars)+len(c.Set))
				maps.Copy(vars, st.Vars)
				maps.Copy(vars, c.Set)
			}
			if c.Next == "" {
				return State{}, r.effects
			}
			return r.run(st.Flow, c.Next, vars), r.effects
		}
	}
	// Not understood: say so and ask again. The question keeps its
	// original deadline, so an unclear reply does not push a timeout back.
	r.emit(Send{MessageID: NotUnderstood, Vars: copyVars(st.Vars)})
	r.emit(askSend(n, st.Vars))
	return st, r.effects
}

// optedOutKeyword answers a keyword from a person who has opted out, other
// than STOP and START. Its flow is not run: nothing it says could reach
// them (Twilio refuses to send to a number that sent STOP), and its
// questions would go unanswered. A request to be forgotten is still
// passed on, unconfirmed, for a caseworker to carry out.
func (r *runner) optedOutKeyword(st State, flowID string) (State, []Effect) {
	if r.set.hasAction(flowID, ActionForgetMe) {
		r.emit(RequestErasure{})
	} else {
		r.emit(OptedOutHelp{})
	}
	return r.set.idle(st), r.effects
}

// answersQuestion reports whether text, which matched the global keyword of
// flowID, is better taken as an answer to the question st waits on: "yes"
// to "Do you agree?" is an answer, not a request to opt in again. Words
// that opt out always win: STOP must work from anywhere.
func (r *runner) answersQuestion(st State, text, flowID string) bool {
	if r.p.OptedOut || !st.Active() || r.set.hasAction(flowID, ActionOptOut) {
		return false
	}
	n := r.set.waitingNode(st)
	return n != nil && r.matchChoice(n, text) != nil
}

// hasAction reports whether a flow contains a do node with the action.
func (s *Set) hasAction(flowID string, action Action) bool {
	fl := s.Flows[flowID]
	if fl == nil {
		return false
	}
	for _, n := range fl.Nodes {
		if n.Kind == KindDo && n.Action == action {
			return true
		}
	}
	return false
}

// waitingNode returns the ask node st waits on, or nil if the flow or the
// node is gone or is no longer a question (the flows were reloaded).
func (s *Set) waitingNode(st State) *Node {
	fl := s.Flows[st.Flow]
	if fl == nil {
		return nil
	}
	if n := fl.Nodes[st.Node]; n != nil && n.Kind == KindAsk {
		return n
	}
	return nil
}

// startable returns the flow if it exists and has a start node.
func (s *Set) startable(id string) *Flow {
	if fl := s.Flows[id]; fl != nil && fl.Nodes[fl.Start] != nil {
		return fl
	}
	return nil
}

// restart begins again a conversation whose question has vanished: the
// same flow if it is still there, else the default flow.
func (r *runner) restart(st State) State {
	id := st.Flow
	if r.set.startable(id) == nil {
		id = r.set.Programme.Flows.Default
	}
	if r.set.startable(id) == nil {
		return State{}
	}
	r.emit(Restarted{Flow: id})
	return r.start(id, nil)
}

func (r *runner) start(flowID string, vars map[string]string) State {
	fl := r.set.startable(flowID)
	if fl == nil {
		return State{}
	}
	return r.run(flowID, fl.Start, vars)
}

// run executes nodes from flowID/nodeID until a question (the returned
// State waits on it) or the end (the zero State).
func (r *runner) run(flowID, nodeID string, vars map[string]string) State {
	type at struct{ flow, node string }
	var visited []at
	for step := 0; ; step++ {
		fl := r.set.Flows[flowID]
		if fl == nil {
			return State{}
		}
		n := fl.Nodes[nodeID]
		if n == nil {
			return State{}
		}
		here := at{flowID, nodeID}
		// Without a question in between, coming back to a node means going
		// round for ever: stop, keeping what was already done once.
		if step >= maxSteps || contains(visited, here) {
			r.emit(LoopStopped{Flow: flowID, Node: nodeID})
			return State{}
		}
		visited = append(visited, here)

		next := ""
		switch n.Kind {
		case KindSend:
			r.emit(Send{MessageID: n.Message, Vars: copyVars(vars)})
			next = n.Next
		case KindAsk:
			r.emit(askSend(n, vars))
			st := State{Flow: flowID, Node: nodeID, Vars: vars}
			if n.Timeout > 0 && n.OnTimeout != "" {
				st.WaitUntil = r.now.Add(n.Timeout)
			}
			return st
		case KindBranch:
			value := r.branchValue(n.Field, vars)
			next = n.Default
			for _, c := range n.Cases {
				if c.Value == value {
					next = c.Next
					break
				}
			}
		case KindDo:
			switch n.Action {
			case ActionGoto:
				to := r.set.startable(n.Flow)
				if to == nil {
					return State{}
				}
				flowID, nodeID = to.ID, to.Start
				continue // variables go along to the next flow
			case ActionEnd:
				return State{}
			case ActionSetLanguage:
				if lang := r.languageOf(n.Language, vars); lang != "" {
					r.emit(SetLanguage{Language: lang})
					r.p.Language = lang // later branches see the new language
				}
			case ActionRecordCheckIn:
				r.emit(RecordCheckIn{})
			case ActionRequestCallback:
				r.emit(RequestCallback{})
			case ActionCantMakeIt:
				r.emit(CantMakeIt{})
			case ActionReschedule:
				r.emit(Reschedule{})
			case ActionOptOut:
				r.emit(OptOut{})
				r.p.OptedOut = true
			case ActionOptIn:
				r.emit(OptIn{})
				r.p.OptedOut = false
			case ActionConsent:
				r.emit(Consent{})
			case ActionAgreeSMS:
				r.emit(AgreeSMS{})
			case ActionForgetMe:
				r.emit(ForgetMe{})
			default:
				return State{}
			}
			next = n.Next
		default:
			return State{} // a node the loader could not read
		}
		if next == "" {
			return State{}
		}
		nodeID = next
	}
}

func askSend(n *Node, vars map[string]string) Send {
	choices := make([]ChoiceRef, len(n.Choices))
	for i, c := range n.Choices {
		choices[i] = ChoiceRef{Number: i + 1, LabelID: c.Label}
	}
	return Send{MessageID: n.Message, Choices: choices, Vars: copyVars(vars)}
}

func copyVars(vars map[string]string) map[string]string {
	if len(vars) == 0 {
		return nil
	}
	out := make(map[string]string, len(vars))
	maps.Copy(out, vars)
	return out
}

func (r *runner) branchValue(field string, vars map[string]string) string {
	switch field {
	case "participant.language":
		return r.p.Language
	case "participant.status":
		return r.p.Status
	}
	if name, ok := strings.CutPrefix(field, "var."); ok {
		return vars[name]
	}
	return ""
}

// languageOf resolves set_language's value, refusing a language the
// programme does not offer (a variable may hold anything).
func (r *runner) languageOf(v string, vars map[string]string) string {
	if name, ok := strings.CutPrefix(v, "var."); ok {
		v = vars[name]
	}
	if !contains(r.set.Programme.Languages, v) {
		return ""
	}
	return v
}

// matchKeyword returns the flow of the first global keyword whose words,
// in any language the programme offers or the person's own, equal text.
func (r *runner) matchKeyword(text string) string {
	if len(r.set.Keywords) == 0 || r.words == nil {
		return ""
	}
	langs := r.set.Programme.Languages
	if r.p.Language != "" && !contains(langs, r.p.Language) {
		langs = append(append([]string(nil), langs...), r.p.Language)
	}
	first := -1
	for _, lang := range langs {
		if i, ok := r.lang(lang).keyword[text]; ok && (first < 0 || i < first) {
			first = i
		}
	}
	if first < 0 {
		return ""
	}
	return r.set.Keywords[first].Flow
}

// matchChoice picks a choice by its number, or by its keywords or its own
// label in the person's language, the programme's default language or
// English: someone who types back "I can't make it" under a choice of
// that name means that choice. Failing those, a time of day picks the
// choice that accepts one.
func (r *runner) matchChoice(n *Node, text string) *Choice {
	if num, ok := choiceNumber(text); ok {
		if num >= 1 && num <= len(n.Choices) {
			return &n.Choices[num-1]
		}
		return nil
	}
	if r.words == nil {
		return nil
	}
	langs := make([]string, 0, 3)
	for _, l := range []string{r.p.Language, r.set.Programme.DefaultLanguage, "en"} {
		if l != "" && !contains(langs, l) {
			langs = append(langs, l)
		}
	}
	for i := range n.Choices {
		c := &n.Choices[i]
		for _, lang := range langs {
			if r.anyWordIs(lang, c.Keywords, text) || r.labelIs(lang, c.Label, text) {
				return c
			}
		}
	}
	for i := range n.Choices {
		if c := &n.Choices[i]; c.Accepts == AcceptTime && isTime(text, r.timeWords(langs)) {
			return c
		}
	}
	return nil
}

// timeWords returns the normalized words that may stand around a time in
// langs.
func (r *runner) timeWords(langs []string) []string {
	var out []string
	for _, lang := range langs {
		for _, nw := range r.lang(lang).message(TimeWords).normal {
			if !contains(out, nw) {
				out = append(out, nw)
			}
		}
	}
	return out
}

// labelIs reports whether text is the label message id, whole.
func (r *runner) labelIs(lang, id, text string) bool {
	if id == "" || text == "" {
		return false
	}
	l := r.lang(lang).message(id).label
	return l != "" && l == text
}

func (r *runner) anyWordIs(lang, id, text string) bool {
	if id == "" || text == "" {
		return false // an empty word in a locale must not turn silence into an answer
	}
	return contains(r.lang(lang).message(id).match, text)
}

// Keyword words and labels come from the locale files, a small fixed set,
// and are compared on every message; their normal forms are remembered so
// that a Step folds only the person's text. The cache is bounded in case a
// Words ever hands out an endless variety.
var (
	wordCache     sync.Map // string -> string
	wordCacheSize atomic.Int64
)

const maxWordCache = 50_000

func normalizedWord(w string) string {
	if v, ok := wordCache.Load(w); ok {
		return v.(string)
	}
	nw, ok := normalize(w)
	if !ok {
		nw = "\x00" // matches no normalized text
	}
	if wordCacheSize.Load() < maxWordCache {
		if _, loaded := wordCache.LoadOrStore(w, nw); !loaded {
			wordCacheSize.Add(1)
		}
	}
	return nw
}

// OptOutConfirmations lists the messages an opted-out person may still
// receive, which the outbox lets through: those a flow sends right after
// an opt_out action (the confirmation), then the answers to their own
// keywords (OptedOutHelpMessage, ErasurePassedOnMessage), which the
// conversation layer sends only on channels that allow it.
func (s *Set) OptOutConfirmations() []string {
	seen := map[string]bool{OptedOutHelpMessage: true, ErasurePassedOnMessage: true}
	var out []string
	for _, id := range s.FlowIDs() {
		fl := s.Flows[id]
		for _, nid := range fl.Order {
			n := fl.Nodes[nid]
			if n.Kind != KindDo || n.Action != ActionOptOut {
				continue
			}
			for next, steps := fl.Nodes[n.Next], 0; next != nil && next.Kind == KindSend && steps < maxSteps; next, steps = fl.Nodes[next.Next], steps+1 {
				if !seen[next.Message] {
					seen[next.Message] = true
					out = append(out, next.Message)
				}
			}
		}
	}
	return append(out, OptedOutHelpMessage, ErasurePassedOnMessage)
}

// Listening returns a State that waits, without asking again, on the first
// question of flowID: after a single message that invites a numbered reply
// ("reply 1 to check in, 2 for a call"), the reply is read as an answer to
// that question rather than as the start of a new conversation. False when
// the flow does not start with a question.
//
// A flow that starts by branching (checkin.yaml picks its question by
// var.Stage) is followed down each branch's default to its question.
func (s *Set) Listening(flowID string) (State, bool) {
	fl := s.startable(flowID)
	if fl == nil {
		return State{}, false
	}
	id := fl.Start
	for range maxSteps {
		n := fl.Nodes[id]
		switch {
		case n == nil:
			return State{}, false
		case n.Kind == KindAsk:
			return State{Flow: flowID, Node: id}, true
		case n.Kind == KindBranch && n.Default != "":
			id = n.Default
		default:
			return State{}, false
		}
	}
	return State{}, false
}

// Answers reports whether text, from a person p, picks one of the choices
// of the question st waits on (by number, keyword or label), and whether
// it did so by number.
func (s *Set) Answers(st State, p Participant, text string, words Words) (answers, byNumber bool) {
	n := s.waitingNode(st)
	norm, ok := normalize(text)
	if n == nil || !ok || norm == "" {
		return false, false
	}
	r := &runner{set: s, p: p, words: words}
	if r.matchChoice(n, norm) == nil {
		return false, false
	}
	_, byNumber = choiceNumber(norm)
	return true, byNumber
}

// AsksConsent reports whether st waits on a question one of whose choices
// records consent (a consent action reached through do and send nodes):
// the question that asks the person whether they agree to get messages.
// The conversation notes when it is asked, so that the scheduler can ask
// once more, and then tell a caseworker, when nobody answers.
func (s *Set) AsksConsent(st State) bool {
	n := s.waitingNode(st)
	if n == nil {
		return false
	}
	fl := s.Flows[st.Flow]
	for _, c := range n.Choices {
		next := fl.Nodes[c.Next]
		for steps := 0; next != nil && steps < maxSteps; steps++ {
			if next.Kind == KindDo && next.Action == ActionConsent {
				return true
			}
			if next.Kind != KindDo && next.Kind != KindSend || next.Kind == KindDo && next.Action == ActionGoto {
				break
			}
			next = fl.Nodes[next.Next]
		}
	}
	return false
}

// QuestionOf returns the message ID of the question st waits on, or "".
func (s *Set) QuestionOf(st State) string {
	if n := s.waitingNode(st); n != nil {
		return n.Message
	}
	return ""
}
