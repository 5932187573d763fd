package flow

import (
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/waymark-atd/waymark/internal/diag"
)

// The files of a flows directory that are not flows.
const (
	KeywordsFile  = "keywords.yaml"
	ProgrammeFile = "programme.yaml"
)

// Load reads every flow file (*.yaml), keywords.yaml and programme.yaml at
// the root of fsys and validates them. Problems carry the file name (as
// seen in fsys) and line. The Set is always returned, holding whatever
// could be read; it is safe to run only when no problem is an error.
func Load(fsys fs.FS) (*Set, []diag.Problem) {
	var problems []diag.Problem
	s := &Set{
		Flows:     map[string]*Flow{},
		Programme: DefaultProgramme(),
		progFile:  ProgrammeFile,
		progLines: map[string]int{},
		broken:    map[string]bool{},
	}
	if fsys == nil {
		problems = append(problems, diag.Problem{File: ".", Message: "no flows directory given"})
		return s, problems
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		problems = append(problems, diag.Problem{File: ".", Message: "cannot read the flows directory: " + err.Error()})
		return s, problems
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if path.Ext(name) == ".yml" {
			problems = append(problems, diag.Problem{File: name, Warning: true,
				Message: "ignored: flow files must end in .yaml"})
			continue
		}
		if path.Ext(name) != ".yaml" {
			continue // embed.go, README and the like
		}
		data, err := fs.ReadFile(fsys, name)
		f := &yamlFile{name: name, problems: &problems}
		if err != nil {
			f.errorf(0, "cannot read: %v", err)
			s.broken[strings.TrimSuffix(name, ".yaml")] = true
			continue
		}
		top := f.parse(data)
		if top == nil {
			if name != ProgrammeFile && name != KeywordsFile {
				s.broken[strings.TrimSuffix(name, ".yaml")] = true
			}
			continue
		}
		switch name {
		case ProgrammeFile:
			s.loadProgramme(f, top)
		case KeywordsFile:
			s.loadKeywords(f, top)
		default:
			s.loadFlow(f, top)
		}
	}
	s.validate(&problems)
	s.loadAudio(fsys, &problems)
	sortProblems(problems)
	return s, problems
}

func sortProblems(ps []diag.Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

func (s *Set) loadKeywords(f *yamlFile, top *yaml.Node) {
	for _, fl := range f.fields(top, KeywordsFile, []string{"keywords"}) {
		for _, kw := range f.fields(fl.val, "keywords", nil) {
			flowID, ok := f.str(kw.val, "keyword "+kw.key)
			if !ok {
				continue
			}
			s.Keywords = append(s.Keywords, Keyword{MessageID: kw.key, Flow: flowID, File: f.name, Line: kw.line})
			s.refs = append(s.refs, MessageRef{ID: kw.key, File: f.name, Line: kw.line, What: "keyword"})
		}
	}
}

var flowFields = []string{"id", "start", "nodes"}

func (s *Set) loadFlow(f *yamlFile, top *yaml.Node) {
	id := strings.TrimSuffix(f.name, ".yaml")
	fl := &Flow{ID: id, Nodes: map[string]*Node{}, File: f.name, Line: top.Line}
	var haveID, haveStart, haveNodes bool
	for _, fd := range f.fields(top, "flow", flowFields) {
		switch fd.key {
		case "id":
			haveID = true
			fl.Line = fd.line
			if v, ok := f.str(fd.val, "id"); ok && v != id {
				f.errorf(fd.line, "id %q must match the file name (%s.yaml): rename one of them", v, id)
			}
		case "start":
			haveStart = true
			fl.startAt = fd.line
			if v, ok := f.str(fd.val, "start"); ok {
				fl.Start = v
			}
		case "nodes":
			haveNodes = true
			nodes := f.fields(fd.val, "nodes", nil)
			if len(nodes) == 0 && deref(fd.val).Kind == yaml.MappingNode {
				f.errorf(fd.line, "nodes is empty: a flow needs at least one node")
			}
			for _, nd := range nodes {
				n := s.loadNode(f, nd)
				fl.Nodes[n.ID] = n
				fl.Order = append(fl.Order, n.ID)
			}
		}
	}
	if !haveID {
		f.errorf(top.Line, "missing id: the first line should be `id: %s`", id)
	}
	if !haveStart {
		f.errorf(top.Line, "missing start: name the first node, e.g. `start: %s`", firstOr(fl.Order, "ask"))
	}
	if !haveNodes {
		f.errorf(top.Line, "missing nodes: a flow needs at least one node")
	}
	s.Flows[id] = fl
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

var (
	nodeFields   = []string{"send", "ask", "branch", "do", "next", "choices", "timeout", "on_timeout", "cases", "default", "language", "flow"}
	kinds        = []Kind{KindSend, KindAsk, KindBranch, KindDo}
	fieldsOfKind = map[Kind][]string{
		KindSend:   {"next"},
		KindAsk:    {"choices", "timeout", "on_timeout"},
		KindBranch: {"cases", "default"},
		KindDo:     {"next", "language", "flow"},
	}
	choiceFields = []string{"label", "keywords", "set", "next", "accepts"}
)

func (s *Set) loadNode(f *yamlFile, nd field) *Node {
	n := &Node{ID: nd.key, Line: nd.line, lines: map[string]int{}}
	where := "node " + nd.key
	fds := f.fields(nd.val, where, nodeFields)
	var found []Kind
	var kindField field
	for _, fd := range fds {
		n.lines[fd.key] = fd.line
		if k := Kind(fd.key); contains(kinds, k) {
			found = append(found, k)
			kindField = fd
		}
	}
	switch len(found) {
	case 0:
		if deref(nd.val).Kind == yaml.MappingNode {
			f.errorf(nd.line, "%s has no kind: give it one of send, ask, branch or do", where)
		}
		return n
	case 1:
		n.Kind = found[0]
	default:
		names := make([]string, len(found))
		for i, k := range found {
			names[i] = string(k)
		}
		f.errorf(nd.line, "%s has %s: a node does exactly one of send, ask, branch or do; split it into several nodes", where, strings.Join(names, " and "))
		return n
	}

	value, ok := f.str(kindField.val, where+": "+string(n.Kind))
	if !ok {
		value = ""
	}
	switch n.Kind {
	case KindSend, KindAsk:
		n.Message = value
		if value != "" {
			s.refs = append(s.refs, MessageRef{ID: value, File: f.name, Line: kindField.line, What: string(n.Kind)})
		}
	case KindBranch:
		n.Field = value
		if value != "" && !validBranchField(value) {
			f.errorf(kindField.line, "%s: cannot branch on %q: use participant.language, participant.status or var.NAME", where, value)
		}
	case KindDo:
		n.Action = Action(value)
		if value != "" && !contains(actions, n.Action) {
			names := make([]string, len(actions))
			for i, a := range actions {
				names[i] = string(a)
			}
			if sg := suggest(value, names); sg != "" {
				f.errorf(kindField.line, "%s: unknown action %q: did you mean %q?", where, value, sg)
			} else {
				f.errorf(kindField.line, "%s: unknown action %q (expected one of %s)", where, value, strings.Join(names, ", "))
			}
		}
	}

	allowed := fieldsOfKind[n.Kind]
	for _, fd := range fds {
		if fd.key == kindField.key {
			continue
		}
		if !contains(allowed, fd.key) {
			f.errorf(fd.line, "%s: %s does not belong in %s node%s", where, fd.key, article(n.Kind), misplacedHint(n.Kind, fd.key))
			continue
		}
		switch fd.key {
		case "next":
			n.Next, _ = f.str(fd.val, where+": next")
		case "default":
			n.Default, _ = f.str(fd.val, where+": default")
		case "on_timeout":
			n.OnTimeout, _ = f.str(fd.val, where+": on_timeout")
		case "timeout":
			if d, ok := f.duration(fd.val, where+": timeout"); ok {
				if d <= 0 {
					f.errorf(fd.line, "%s: timeout must be longer than zero", where)
				} else {
					n.Timeout = d
				}
			}
		case "language":
			n.Language, _ = f.str(fd.val, where+": language")
		case "flow":
			n.Flow, _ = f.str(fd.val, where+": flow")
		case "choices":
			n.Choices = s.loadChoices(f, fd, where)
		case "cases":
			for _, c := range f.fields(fd.val, where+": cases", nil) {
				if next, ok := f.str(c.val, where+": case "+c.key); ok {
					n.Cases = append(n.Cases, Case{Value: c.key, Next: next, Line: c.line})
				}
			}
		}
	}

	if n.Kind == KindDo {
		switch n.Action {
		case ActionSetLanguage:
			if _, ok := n.lines["language"]; !ok {
				f.errorf(nd.line, "%s: set_language needs `language:` (a code such as es, or var.NAME)", where)
			}
		case ActionGoto:
			if _, ok := n.lines["flow"]; !ok {
				f.errorf(nd.line, "%s: goto needs `flow:` naming the flow to start", where)
			}
		}
		if l, ok := n.lines["language"]; ok && n.Action != ActionSetLanguage && n.Action != "" {
			f.errorf(l, "%s: language is only used by set_language", where)
		}
		if l, ok := n.lines["flow"]; ok && n.Action != ActionGoto && n.Action != "" {
			f.errorf(l, "%s: flow is only used by goto", where)
		}
		if l, ok := n.lines["next"]; ok && (n.Action == ActionGoto || n.Action == ActionEnd) {
			f.errorf(l, "%s: next has no effect after %s; remove it", where, n.Action)
		}
	}
	return n
}

func article(k Kind) string {
	if k == KindAsk {
		return "an ask"
	}
	return "a " + string(k)
}

func misplacedHint(k Kind, key string) string {
	switch {
	case k == KindAsk && key == "next":
		return " (each choice says where it goes)"
	case key == "choices" || key == "timeout" || key == "on_timeout":
		return " (only ask nodes have it)"
	case key == "cases" || key == "default":
		return " (only branch nodes have it)"
	case key == "language" || key == "flow":
		return " (only do: set_language and do: goto use it)"
	}
	return ""
}

func validBranchField(v string) bool {
	if v == "participant.language" || v == "participant.status" {
		return true
	}
	name, ok := strings.CutPrefix(v, "var.")
	return ok && name != ""
}

func (s *Set) loadChoices(f *yamlFile, fd field, where string) []Choice {
	seq := deref(fd.val)
	if seq.Kind != yaml.SequenceNode {
		f.errorf(fd.line, "%s: choices must be a list (each item starting with -), found %s", where, describe(seq))
		return nil
	}
	var out []Choice
	for i, item := range seq.Content {
		item = deref(item)
		cw := where + ": choice " + strconv.Itoa(i+1)
		c := Choice{Line: item.Line, lines: map[string]int{}}
		for _, cf := range f.fields(item, cw, choiceFields) {
			c.lines[cf.key] = cf.line
			switch cf.key {
			case "label":
				if v, ok := f.str(cf.val, cw+": label"); ok {
					c.Label = v
					s.refs = append(s.refs, MessageRef{ID: v, File: f.name, Line: cf.line, What: "choice label"})
				}
			case "keywords":
				if v, ok := f.str(cf.val, cw+": keywords"); ok {
					c.Keywords = v
					s.refs = append(s.refs, MessageRef{ID: v, File: f.name, Line: cf.line, What: "choice keywords"})
				}
			case "next":
				c.Next, _ = f.str(cf.val, cw+": next")
			case "accepts":
				v, ok := f.str(cf.val, cw+": accepts")
				if !ok {
					break
				}
				if v != AcceptTime {
					f.errorf(cf.line, "%s: accepts %q is not known: the one kind of answer a choice can accept is %s (a time of day)", cw, v, AcceptTime)
					break
				}
				c.Accepts = v
				s.refs = append(s.refs, MessageRef{ID: TimeWords, File: f.name, Line: cf.line, What: "time words"})
			case "set":
				for _, sv := range f.fields(cf.val, cw+": set", nil) {
					if v, ok := f.str(sv.val, cw+": set "+sv.key); ok {
						if c.Set == nil {
							c.Set = map[string]string{}
						}
						c.Set[sv.key] = v
					}
				}
			}
		}
		if _, ok := c.lines["label"]; !ok && item.Kind == yaml.MappingNode {
			f.errorf(item.Line, "%s has no label: give the message ID of its words", cw)
		}
		out = append(out, c)
	}
	return out
}
