package flow

import (
	"fmt"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/diag"
)

// validate checks what needs every file at once: node and flow names, what
// can be reached, loops, and the programme's references to flows.
func (s *Set) validate(problems *[]diag.Problem) {
	for _, id := range s.FlowIDs() {
		s.validateFlow(s.Flows[id], problems)
	}
	s.findLoops(problems)

	kw := &yamlFile{name: KeywordsFile, problems: problems}
	for _, k := range s.Keywords {
		if !s.known(k.Flow) {
			kw.errorf(k.Line, "keyword %s starts flow %q, which does not exist%s", k.MessageID, k.Flow, s.flowHint(k.Flow))
		}
	}

	pf := &yamlFile{name: s.progFile, problems: problems}
	p := s.Programme
	roles := []struct{ key, flow string }{
		{"default", p.Flows.Default}, {"enrolment", p.Flows.Enrolment},
		{"checkin", p.Flows.CheckIn}, {"reminder", p.Flows.Reminder},
	}
	if _, given := s.progLines["flows.consent"]; given || s.known(p.Flows.Consent) {
		// Optional: without it, the scheduler asks again with the
		// enrolment flow.
		roles = append(roles, struct{ key, flow string }{"consent", p.Flows.Consent})
	}
	for _, r := range roles {
		if s.known(r.flow) {
			continue
		}
		line, given := s.progLines["flows."+r.key]
		if r.flow == "" {
			pf.errorf(line, "flows.%s is empty: name the flow to use", r.key)
		} else if given {
			pf.errorf(line, "flows.%s names flow %q, which does not exist%s", r.key, r.flow, s.flowHint(r.flow))
		} else {
			pf.errorf(s.progLines["flows"], "flows.%s defaults to %q, which does not exist: add %s.yaml or name another flow", r.key, r.flow, r.flow)
		}
	}
	if !contains(p.Languages, p.DefaultLanguage) {
		line := s.progLines["default_language"]
		if line == 0 {
			line = s.progLines["languages"]
		}
		pf.errorf(line, "default_language %q is not one of languages (%s)", p.DefaultLanguage, strings.Join(p.Languages, ", "))
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" || p.TimeZone == "Local" {
		pf.errorf(s.progLines["time_zone"], "time_zone %q is not a time zone: use an IANA name such as Europe/London or America/Mexico_City", p.TimeZone)
	}
}

// known reports whether a flow exists, counting a flow whose file is
// broken (its problem is reported once, at the file).
func (s *Set) known(id string) bool {
	return s.Flows[id] != nil || s.broken[id]
}

func (s *Set) flowHint(id string) string {
	if sg := suggest(id, s.FlowIDs()); sg != "" {
		return fmt.Sprintf(" (did you mean %q?)", sg)
	}
	return ""
}

func nodeHint(fl *Flow, id string) string {
	if sg := suggest(id, fl.Order); sg != "" {
		return fmt.Sprintf(" (did you mean %q?)", sg)
	}
	return ""
}

func (s *Set) validateFlow(fl *Flow, problems *[]diag.Problem) {
	f := &yamlFile{name: fl.File, problems: problems}
	startOK := fl.Start != "" && fl.Nodes[fl.Start] != nil
	if fl.Start != "" && !startOK {
		f.errorf(fl.startLine(), "start names node %q, which is not in this flow%s", fl.Start, nodeHint(fl, fl.Start))
	}
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		for _, t := range n.targets() {
			if fl.Nodes[t.node] == nil {
				f.errorf(t.line, "node %s goes to node %q, which is not in this flow%s", id, t.node, nodeHint(fl, t.node))
			}
		}
		switch n.Kind {
		case KindAsk:
			if len(n.Choices) == 0 {
				f.errorf(n.Line, "node %s asks a question with no choices: add `choices:`", id)
			}
			first := 0
			for i, c := range n.Choices {
				if c.Accepts != AcceptTime {
					continue
				}
				if first > 0 {
					f.errorf(c.lines["accepts"], "node %s: choices %d and %d both accept a time, so a time would always pick choice %d: keep it on one", id, first, i+1, first)
				} else {
					first = i + 1
				}
			}
			if n.Timeout > 0 && n.OnTimeout == "" {
				f.errorf(n.lines["timeout"], "node %s has a timeout but no on_timeout: say which node follows it", id)
			}
			if _, ok := n.lines["on_timeout"]; ok && n.Timeout == 0 && n.lines["timeout"] == 0 {
				f.errorf(n.lines["on_timeout"], "node %s has on_timeout but no timeout: say how long to wait, e.g. `timeout: 12h`", id)
			}
		case KindDo:
			switch n.Action {
			case ActionGoto:
				if n.Flow != "" && !s.known(n.Flow) {
					f.errorf(n.lines["flow"], "node %s goes to flow %q, which does not exist%s", id, n.Flow, s.flowHint(n.Flow))
				}
			case ActionSetLanguage:
				if n.Language != "" && !strings.HasPrefix(n.Language, "var.") && !contains(s.Programme.Languages, n.Language) {
					f.errorf(n.lines["language"], "node %s sets language %q, which is not in programme.yaml languages (%s)", id, n.Language, strings.Join(s.Programme.Languages, ", "))
				}
				if n.Language == "var." {
					f.errorf(n.lines["language"], "node %s: language var. needs a variable name, e.g. var.lang", id)
				}
			}
		case KindBranch:
			if n.Field == "participant.language" {
				for _, c := range n.Cases {
					if !contains(s.Programme.Languages, c.Value) {
						f.warnf(c.Line, "node %s: language %q is not in programme.yaml languages, so this case never matches", id, c.Value)
					}
				}
			}
			if n.Field == "participant.status" {
				for _, c := range n.Cases {
					if c.Value != "active" && c.Value != "paused" && c.Value != "exited" {
						f.warnf(c.Line, "node %s: status %q never matches (a status is active, paused or exited)", id, c.Value)
					}
				}
			}
		}
	}
	if !startOK {
		return // reachability means nothing without a start
	}
	reached := map[string]bool{fl.Start: true}
	queue := []string{fl.Start}
	for len(queue) > 0 {
		n := fl.Nodes[queue[0]]
		queue = queue[1:]
		for _, t := range n.targets() {
			if !reached[t.node] && fl.Nodes[t.node] != nil {
				reached[t.node] = true
				queue = append(queue, t.node)
			}
		}
	}
	for _, id := range fl.Order {
		if !reached[id] {
			f.errorf(fl.Nodes[id].Line, "node %s is never reached from start (%s): link to it or remove it", id, fl.Start)
		}
	}
	checkForgetMe(fl, f)
}

// checkForgetMe keeps forget_me safe. It must follow a question, so that a
// DELETE sent by mistake, or by someone else holding the phone, changes
// nothing until it is confirmed. And nothing after it may ask a question
// or go to another flow: the person's links are gone, so no answer can
// come back, and only the messages right after it reach them.
func checkForgetMe(fl *Flow, f *yamlFile) {
	unasked := map[string]bool{fl.Start: true}
	queue := []string{fl.Start}
	for len(queue) > 0 {
		n := fl.Nodes[queue[0]]
		queue = queue[1:]
		if n == nil || n.Kind == KindAsk {
			continue
		}
		for _, t := range n.targets() {
			if !unasked[t.node] && fl.Nodes[t.node] != nil {
				unasked[t.node] = true
				queue = append(queue, t.node)
			}
		}
	}
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		if n.Kind != KindDo || n.Action != ActionForgetMe {
			continue
		}
		if unasked[id] {
			f.errorf(n.Line, "node %s forgets the person without asking first: put it after a question's choice (\"Reply 1 to delete\"), so that a DELETE sent by mistake changes nothing", id)
		}
		seen := map[string]bool{}
		after := []string{n.Next}
		for len(after) > 0 {
			aid := after[0]
			after = after[1:]
			m := fl.Nodes[aid]
			if m == nil || seen[aid] {
				continue
			}
			seen[aid] = true
			switch {
			case m.Kind == KindAsk:
				f.errorf(m.Line, "node %s asks a question after forget_me (node %s): the person's links are gone, so no answer can come; send a message instead", aid, id)
				continue
			case m.Kind == KindDo && m.Action == ActionGoto:
				f.errorf(m.Line, "node %s goes to another flow after forget_me (node %s): only messages may follow it", aid, id)
				continue
			}
			for _, t := range m.targets() {
				after = append(after, t.node)
			}
		}
	}
}

func (fl *Flow) startLine() int {
	if fl.startAt > 0 {
		return fl.startAt
	}
	return fl.Line
}

// findLoops reports cycles of nodes that never stop at a question, across
// goto as well: the engine would cut such a loop short at run time, but
// the person would get a broken conversation.
func (s *Set) findLoops(problems *[]diag.Problem) {
	type key struct{ flow, node string }
	const (
		unseen = iota
		onPath
		done
	)
	state := map[key]int{}
	var path []key
	reported := map[key]bool{}

	next := func(k key) []key {
		fl := s.Flows[k.flow]
		n := fl.Nodes[k.node]
		if n.Kind == KindAsk {
			return nil // a question waits for the person: a cycle through it is a conversation, not a loop
		}
		var out []key
		if n.Kind == KindDo && n.Action == ActionGoto {
			if to := s.Flows[n.Flow]; to != nil && to.Nodes[to.Start] != nil {
				out = append(out, key{to.ID, to.Start})
			}
			return out
		}
		for _, t := range n.targets() {
			if fl.Nodes[t.node] != nil {
				out = append(out, key{k.flow, t.node})
			}
		}
		return out
	}

	var visit func(k key)
	visit = func(k key) {
		state[k] = onPath
		path = append(path, k)
		for _, nk := range next(k) {
			switch state[nk] {
			case unseen:
				visit(nk)
			case onPath:
				i := len(path) - 1
				for path[i] != nk {
					i--
				}
				cycle := path[i:]
				if reported[k] {
					continue
				}
				names := make([]string, 0, len(cycle)+1)
				for _, c := range cycle {
					reported[c] = true
					names = append(names, c.flow+"/"+c.node)
				}
				names = append(names, nk.flow+"/"+nk.node)
				fl := s.Flows[k.flow]
				f := &yamlFile{name: fl.File, problems: problems}
				f.errorf(fl.Nodes[k.node].Line, "node %s loops without asking anything (%s): the conversation would never stop", k.node, strings.Join(names, " → "))
			}
		}
		path = path[:len(path)-1]
		state[k] = done
	}
	for _, id := range s.FlowIDs() {
		fl := s.Flows[id]
		for _, nid := range fl.Order {
			if k := (key{id, nid}); state[k] == unseen {
				visit(k)
			}
		}
	}
}
