package flow

import "time"

// The engine's inputs and outputs. The engine is pure: it reads a Set, a
// State, the participant's view and an Event, and returns the new State and
// the Effects to apply. It never touches a store, a clock or a network.

// State is where a conversation stands. The zero State means no
// conversation is in progress.
type State struct {
	Flow      string
	Node      string // the ask node being waited on; "" when not waiting
	Vars      map[string]string
	WaitUntil time.Time // the ask node's timeout, zero if none
}

// Active reports whether a conversation is waiting for an answer.
func (s State) Active() bool { return s.Flow != "" && s.Node != "" }

// Participant is what the engine may read about the person.
type Participant struct {
	Language string
	Status   string // active, paused, exited
	OptedOut bool
}

// EventKind says what woke the engine.
type EventKind int

const (
	// EventText: the person sent text (or pressed a button; Text then holds
	// the choice number).
	EventText EventKind = iota
	// EventTimeout: an ask node's timeout passed.
	EventTimeout
	// EventStart: start Flow from its start node (enrolment, reminders).
	EventStart
)

// Event wakes the engine.
type Event struct {
	Kind EventKind
	Text string // EventText
	Flow string // EventStart
	// Vars are the variables an EventStart's flow begins with (an
	// appointment's Date, Time, Place and Count), so that its first branch
	// can read them.
	Vars map[string]string
	Now  time.Time
}

// Effect is something the engine asks the caller to do. Effects are data.
type Effect interface{ effect() }

// Send asks for message MessageID to be sent in the person's language, with
// numbered Choices (label message IDs) when it is a question.
type Send struct {
	MessageID string
	Choices   []ChoiceRef
	Vars      map[string]string // template data from the flow's variables
}

// ChoiceRef is one numbered choice of a question.
type ChoiceRef struct {
	Number  int
	LabelID string
}

// RecordCheckIn asks for a check-in to be recorded.
type RecordCheckIn struct{}

// RequestCallback asks for the caseworker to call the person.
type RequestCallback struct{}

// CantMakeIt reports that the person cannot make a check-in or appointment.
type CantMakeIt struct{}

// Reschedule asks for an appointment to be moved.
type Reschedule struct{}

// SetLanguage changes the person's language.
type SetLanguage struct{ Language string }

// OptOut stops every message to the person but the confirmation.
type OptOut struct{}

// OptIn resumes messages.
type OptIn struct{}

// Consent records the person's agreement to get messages.
type Consent struct{}

// AgreeSMS records the person's agreement to get by SMS, on the same
// number, what WhatsApp will not carry.
type AgreeSMS struct{}

// ForgetMe asks for the person's channel links to be removed at once and
// for a caseworker to be asked to erase everything else. Messages the flow
// sends after it are the last the person gets, given straight in the
// answer to their message, since no link is left to send them through.
type ForgetMe struct{}

// RequestErasure asks for a caseworker to be asked to erase the person,
// removing nothing now. The engine gives it in place of a flow that
// forgets (DELETE) when the person has opted out: that flow asks first,
// and its question could not reach them, so the request goes to a human
// unconfirmed, and one who can check with the person carries it out.
type RequestErasure struct{}

// OptedOutHelp says that a person who has opted out sent a keyword that
// does nothing while they are opted out (HELP, MENU). The caller may tell
// them how to start again and whom to call, where the channel lets it
// write to them (see OptedOutHelpMessage).
type OptedOutHelp struct{}

// Restarted tells the caller the conversation's node had gone (flows were
// reloaded) and the flow was started again.
type Restarted struct{ Flow string }

// LoopStopped tells the caller that the flows went round a loop without a
// question, so the engine ended the conversation at Flow/Node. Nothing is
// sent for it; it is worth a log line, since `waymark check` reports such
// loops and a running Set should never have one.
type LoopStopped struct{ Flow, Node string }

func (Send) effect()            {}
func (RecordCheckIn) effect()   {}
func (RequestCallback) effect() {}
func (CantMakeIt) effect()      {}
func (Reschedule) effect()      {}
func (SetLanguage) effect()     {}
func (OptOut) effect()          {}
func (OptIn) effect()           {}
func (ForgetMe) effect()        {}
func (Consent) effect()         {}
func (AgreeSMS) effect()        {}
func (RequestErasure) effect()  {}
func (OptedOutHelp) effect()    {}
func (Restarted) effect()       {}
func (LoopStopped) effect()     {}
