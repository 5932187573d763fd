// Package flow reads the conversation flows an organisation writes as YAML
// (flows/*.yaml, keywords.yaml, programme.yaml), validates them with a
// file:line for every mistake, and runs them with a pure engine: state and
// event in, new state and effects out.
package flow

import (
	"io/fs"
	"sort"
	"time"
)

// Set is everything loaded from a flows directory.
type Set struct {
	// Flows by ID (the file name without .yaml).
	Flows map[string]*Flow
	// Keywords are the global keywords of keywords.yaml, in file order.
	Keywords []Keyword
	// Programme is programme.yaml with defaults applied.
	Programme Programme

	refs      []MessageRef
	broken    map[string]bool // flows whose file could not be read: already reported
	progFile  string
	progLines map[string]int               // dotted field path ("languages[1]") -> line
	audio     map[string]map[string]string // lang -> message ID -> recording (see audio.go)
	audioFS   fs.FS
}

// Flow is one flow file.
type Flow struct {
	ID    string
	Start string
	Nodes map[string]*Node
	// Order lists the node IDs as they appear in the file.
	Order []string
	File  string
	Line  int // line of `id:`

	startAt int // line of `start:`
}

// Kind is what a node does.
type Kind string

// The node kinds; a node has exactly one.
const (
	KindSend   Kind = "send"
	KindAsk    Kind = "ask"
	KindBranch Kind = "branch"
	KindDo     Kind = "do"
)

// Action is what a `do:` node does.
type Action string

// The actions of `do:` nodes.
const (
	ActionRecordCheckIn   Action = "record_checkin"
	ActionRequestCallback Action = "request_callback"
	ActionCantMakeIt      Action = "cant_make_it"
	ActionReschedule      Action = "reschedule"
	ActionSetLanguage     Action = "set_language"
	ActionOptOut          Action = "opt_out"
	ActionOptIn           Action = "opt_in"
	// ActionConsent records that the person agreed to get messages, with
	// the time and the wording they saw. Nothing is scheduled for them
	// before it: silence is never consent.
	ActionConsent Action = "consent"
	// ActionAgreeSMS records that a person who joined by WhatsApp agreed
	// that a message WhatsApp will not carry may go to the same number by
	// SMS (programme.yaml whatsapp.fallback: sms).
	ActionAgreeSMS Action = "agree_sms"
	// ActionForgetMe removes the person's channel links at once and asks a
	// caseworker to erase the rest: the answer to DELETE, once confirmed.
	ActionForgetMe Action = "forget_me"
	ActionGoto     Action = "goto"
	ActionEnd      Action = "end"
)

var actions = []Action{
	ActionRecordCheckIn, ActionRequestCallback, ActionCantMakeIt, ActionReschedule,
	ActionSetLanguage, ActionOptOut, ActionOptIn, ActionConsent, ActionAgreeSMS, ActionForgetMe, ActionGoto, ActionEnd,
}

// Node is one step of a flow.
type Node struct {
	ID   string
	Kind Kind
	Line int // line of the node's name

	Message string // send, ask: the message ID
	Next    string // send, do: the node after; "" ends the flow

	Choices   []Choice      // ask
	Timeout   time.Duration // ask: 0 means wait until the session expires
	OnTimeout string        // ask

	Field   string // branch: participant.language, participant.status or var.NAME
	Cases   []Case // branch, in file order
	Default string // branch: when no case matches; "" ends the flow

	Action   Action // do
	Language string // do: set_language; a language code or var.NAME
	Flow     string // do: goto

	lines map[string]int // field name -> line of its value
}

// Choice is one numbered answer of an ask node.
type Choice struct {
	Label    string            // message ID of the choice's words
	Keywords string            // message ID of localized words that also pick it
	Set      map[string]string // variables to set when picked
	Next     string            // "" ends the flow
	Accepts  string            // AcceptTime: a time of day also picks it
	Line     int

	lines map[string]int
}

// Case is one value of a branch.
type Case struct {
	Value string
	Next  string
	Line  int
}

// Keyword is one global keyword: a message ID holding localized words, and
// the flow those words start from anywhere.
type Keyword struct {
	MessageID string
	Flow      string
	File      string
	Line      int
}

// MessageRef is one place where a flow file or keywords.yaml names a
// message ID.
type MessageRef struct {
	ID   string
	File string
	Line int
	What string // "send", "ask", "choice label", "choice keywords", "keyword", "time words"
}

// MessageRefs returns every message ID reference, in file and line order.
func (s *Set) MessageRefs() []MessageRef {
	out := append([]MessageRef(nil), s.refs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// FlowIDs returns the IDs of the loaded flows, sorted.
func (s *Set) FlowIDs() []string {
	ids := make([]string, 0, len(s.Flows))
	for id := range s.Flows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// targets lists the nodes a node can go to within its flow, with the line
// that names each.
func (n *Node) targets() []target {
	var ts []target
	add := func(id string, line int) {
		if id != "" {
			ts = append(ts, target{id, line})
		}
	}
	switch n.Kind {
	case KindSend, KindDo:
		add(n.Next, n.lines["next"])
	case KindAsk:
		for _, c := range n.Choices {
			add(c.Next, c.lines["next"])
		}
		add(n.OnTimeout, n.lines["on_timeout"])
	case KindBranch:
		for _, c := range n.Cases {
			add(c.Next, c.Line)
		}
		add(n.Default, n.lines["default"])
	}
	return ts
}

type target struct {
	node string
	line int
}
