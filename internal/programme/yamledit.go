package programme

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/waymark-atd/waymark/internal/refusal"
)

// Editing YAML the way a person would: the line that holds a value is
// written again and every other line (comments, order, spacing) stays as
// it was, so that the history's diff shows the change and nothing else.
// Only a change that needs a new key or list item writes the file again
// whole (comments kept).

// ErrNoValue means a path names nothing in the file and cannot be made.
var ErrNoValue = refusal.New("programme", "no such setting")

// Scalar returns a string value for SetValue, quoted as it was in the
// file when it was quoted there.
func Scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// Number returns a value written without quotes: a number, a duration
// (36h) or a word the file reads as it is (true).
func Number(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// List returns a list value for SetValue, written inline: [a, b].
func List(vs ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, Scalar(v))
	}
	return n
}

// step is one place on the way down a path.
type step struct {
	key, value *yaml.Node // key nil for a list item
	line       int        // the line of the key or item
}

func parseDoc(src string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, refusal.Newf("programme", "the file is not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	return &doc, nil
}

// walk follows path from the document's top, making missing mapping keys
// when make is set; it reports whether it made any.
func walk(doc *yaml.Node, path []string, makeMissing bool) ([]step, bool, error) {
	cur := doc.Content[0]
	var steps []step
	made := false
	for i, p := range path {
		switch cur.Kind {
		case yaml.MappingNode:
			var k, v *yaml.Node
			for j := 0; j+1 < len(cur.Content); j += 2 {
				if cur.Content[j].Value == p {
					k, v = cur.Content[j], cur.Content[j+1]
					break
				}
			}
			if k == nil {
				if !makeMissing {
					return nil, false, ErrNoValue.Detail("%s", strings.Join(path[:i+1], "."))
				}
				k = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}
				v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if cur.Style&yaml.FlowStyle != 0 {
					v.Style = yaml.FlowStyle
				}
				cur.Content = append(cur.Content, k, v)
				made = true
			}
			steps = append(steps, step{key: k, value: v, line: k.Line})
			cur = v
		case yaml.SequenceNode:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > len(cur.Content) || n == len(cur.Content) && !makeMissing {
				return nil, false, ErrNoValue.Detail("%s", strings.Join(path[:i+1], "."))
			}
			if n == len(cur.Content) {
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
				made = true
			}
			v := cur.Content[n]
			steps = append(steps, step{value: v, line: v.Line})
			cur = v
		default:
			return nil, false, ErrNoValue.Detail("%s is not a group of settings", strings.Join(path[:i], "."))
		}
	}
	return steps, made, nil
}

// SetValue sets the value at path (mapping keys, or a list index as a
// number) to value, making missing keys. A string keeps the quoting it
// had. It returns the file's new text.
func SetValue(src string, path []string, value *yaml.Node) (string, error) {
	if len(path) == 0 {
		return "", ErrNoValue.Detail("empty path")
	}
	doc, err := parseDoc(src)
	if err != nil {
		return "", err
	}
	steps, made, err := walk(doc, path, true)
	if err != nil {
		return "", err
	}
	target := steps[len(steps)-1].value
	style, line, column, comment := target.Style, target.Line, target.Column, target.LineComment
	*target = *value
	target.Line, target.Column, target.LineComment = line, column, comment
	if value.Kind == yaml.ScalarNode && target.Kind == yaml.ScalarNode && !made {
		target.Style = style
	}
	if !made {
		if out, ok := spliceInline(src, steps); ok {
			return out, nil
		}
	}
	return encode(doc)
}

// spliceInline writes again the line of the first value on the path that
// sits wholly on its key's line (a scalar, or an inline [list] or {map}),
// and reports whether it could.
func spliceInline(src string, steps []step) (string, bool) {
	lines := strings.Split(src, "\n")
	for _, s := range steps {
		if s.key == nil || s.value.Line != s.key.Line {
			continue
		}
		if s.value.Kind != yaml.ScalarNode && s.value.Style&yaml.FlowStyle == 0 {
			continue
		}
		text, ok := inline(s.value)
		if !ok || s.key.Line < 1 || s.key.Line > len(lines) {
			return "", false
		}
		line := []rune(lines[s.key.Line-1])
		start := s.key.Column - 1
		if start < 0 || start > len(line) || !strings.HasPrefix(string(line[start:]), s.key.Value+":") {
			return "", false
		}
		prefix := string(line[:start]) + s.key.Value + ": "
		comment := s.value.LineComment
		if comment == "" {
			comment = s.key.LineComment
		}
		if comment != "" {
			text += " " + comment
		}
		lines[s.key.Line-1] = prefix + text
		return strings.Join(lines, "\n"), true
	}
	return "", false
}

// inline renders a node on one line.
func inline(n *yaml.Node) (string, bool) {
	c := *n
	c.LineComment, c.HeadComment, c.FootComment = "", "", ""
	if c.Kind != yaml.ScalarNode {
		c.Style |= yaml.FlowStyle
	}
	b, err := yaml.Marshal(&c)
	if err != nil {
		return "", false
	}
	s := strings.TrimSuffix(string(b), "\n")
	if strings.Contains(s, "\n") {
		return "", false
	}
	return s, true
}

func encode(doc *yaml.Node) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("programme: write YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("programme: write YAML: %w", err)
	}
	return b.String(), nil
}

// Value returns the text of the scalar at path, and whether there is one.
func Value(src string, path ...string) (string, bool) {
	doc, err := parseDoc(src)
	if err != nil {
		return "", false
	}
	steps, _, err := walk(doc, path, false)
	if err != nil || steps[len(steps)-1].value.Kind != yaml.ScalarNode {
		return "", false
	}
	return steps[len(steps)-1].value.Value, true
}

// Values returns the items of the list at path.
func Values(src string, path ...string) []string {
	doc, err := parseDoc(src)
	if err != nil {
		return nil
	}
	steps, _, err := walk(doc, path, false)
	if err != nil || steps[len(steps)-1].value.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, n := range steps[len(steps)-1].value.Content {
		out = append(out, n.Value)
	}
	return out
}

// reviewed is the line comment that says a native speaker checked a
// message (the translators' workflow, locales/README.md).
const reviewed = "# reviewed"

// SetMessage sets the words of a message in a locale file: form names a
// plural form ("" for a message without them). reviewedBy says whether a
// reader of the language has checked the words (the file keeps "#
// reviewed" on the message's line); words changed without it need review
// again. A message the file lacks is added at its end.
func SetMessage(src, id, form, text string, isReviewed bool) (string, error) {
	doc, err := parseDoc(src)
	if err != nil {
		return "", err
	}
	mark := ""
	if isReviewed {
		mark = " " + reviewed
	}
	path := []string{id}
	if form != "" {
		path = append(path, form)
	}
	steps, _, err := walk(doc, path, false)
	if errors.Is(err, ErrNoValue) {
		v := Scalar(text)
		v.Style = yaml.DoubleQuotedStyle
		line, ok := inline(v)
		if !ok || form != "" {
			return SetValue(src, path, Scalar(text))
		}
		return strings.TrimRight(src, "\n") + "\n" + id + ": " + line + mark + "\n", nil
	}
	if err != nil {
		return "", err
	}
	v := steps[len(steps)-1].value
	if v.Kind != yaml.ScalarNode {
		return "", ErrNoValue.Detail("%s has plural forms: give one", id)
	}
	v.Value, v.Style = text, yaml.DoubleQuotedStyle
	words, ok := inline(v)
	if !ok {
		return "", refusal.Newf("programme", "message %s cannot be written on one line", id)
	}
	lines := strings.Split(src, "\n")
	set := func(s step, value string) bool {
		i := s.key.Line - 1
		if i < 0 || i >= len(lines) || s.value.Line != 0 && s.value.Line != s.key.Line && value != "" {
			return false
		}
		line := []rune(lines[i])
		start := s.key.Column - 1
		if start < 0 || start > len(line) || !strings.HasPrefix(string(line[start:]), s.key.Value+":") {
			return false
		}
		out := string(line[:start]) + s.key.Value + ":"
		if value != "" {
			out += " " + value
		}
		lines[i] = out
		return true
	}
	top := steps[0]
	if form == "" {
		if !set(top, words+mark) {
			return "", refusal.Newf("programme", "message %s is not on one line of its file", id)
		}
	} else if !set(steps[1], words) || !setBare(lines, top, mark) {
		return "", refusal.Newf("programme", "message %s is not written as this editor can change it", id)
	}
	out := strings.Join(lines, "\n")
	if got, ok := Value(out, path...); !ok || got != text {
		return "", refusal.Newf("programme", "message %s could not be written safely", id)
	}
	return out, nil
}

// setBare writes a plural message's key line ("id:") with its mark.
func setBare(lines []string, s step, mark string) bool {
	i := s.key.Line - 1
	if i < 0 || i >= len(lines) {
		return false
	}
	line := []rune(lines[i])
	start := s.key.Column - 1
	if start < 0 || start > len(line) {
		return false
	}
	lines[i] = string(line[:start]) + s.key.Value + ":" + mark
	return true
}

// DeleteValue removes the key at path, or the list item when the last of
// path is an index (the file is written again whole, comments kept);
// nothing happens when there is none.
func DeleteValue(src string, path []string) (string, error) {
	if len(path) == 0 {
		return "", ErrNoValue.Detail("empty path")
	}
	doc, err := parseDoc(src)
	if err != nil {
		return "", err
	}
	parent := doc.Content[0]
	if len(path) > 1 {
		steps, _, err := walk(doc, path[:len(path)-1], false)
		if errors.Is(err, ErrNoValue) {
			return src, nil
		}
		if err != nil {
			return "", err
		}
		parent = steps[len(steps)-1].value
	}
	if parent.Kind == yaml.SequenceNode {
		n, err := strconv.Atoi(path[len(path)-1])
		if err != nil || n < 0 {
			return "", ErrNoValue.Detail("%s", strings.Join(path, "."))
		}
		if n >= len(parent.Content) {
			return src, nil
		}
		parent.Content = append(parent.Content[:n], parent.Content[n+1:]...)
		return encode(doc)
	}
	if parent.Kind != yaml.MappingNode {
		return "", ErrNoValue.Detail("%s", strings.Join(path, "."))
	}
	for i := 0; i+1 < len(parent.Content); i += 2 {
		if parent.Content[i].Value == path[len(path)-1] {
			parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
			return encode(doc)
		}
	}
	return src, nil
}

// Exists reports whether path names anything in the file.
func Exists(src string, path ...string) bool {
	doc, err := parseDoc(src)
	if err != nil {
		return false
	}
	_, _, err = walk(doc, path, false)
	return err == nil
}

// Unreviewed drops the review mark of a message, keeping its words; a
// message without the mark, or not in the file, is left as it is.
func Unreviewed(src, id string) (string, error) {
	doc, err := parseDoc(src)
	if err != nil {
		return "", err
	}
	steps, _, err := walk(doc, []string{id}, false)
	if errors.Is(err, ErrNoValue) {
		return src, nil
	}
	if err != nil {
		return "", err
	}
	k, v := steps[0].key, steps[0].value
	if !strings.Contains(k.LineComment+v.LineComment, strings.TrimPrefix(reviewed, "# ")) {
		return src, nil
	}
	if v.Kind == yaml.ScalarNode {
		return SetMessage(src, id, "", v.Value, false)
	}
	lines := strings.Split(src, "\n")
	if !setBare(lines, steps[0], "") {
		return "", refusal.Newf("programme", "message %s is not written as this editor can change it", id)
	}
	return strings.Join(lines, "\n"), nil
}

// Reached returns the steps of a flow file its start leads to, by any
// way a step can lead on (next, a choice's next, on_timeout, a case's next,
// default), and every step's name in the file's order.
func Reached(src string) (reached map[string]bool, order []string, err error) {
	var doc struct {
		Start string    `yaml:"start"`
		Nodes yaml.Node `yaml:"nodes"`
	}
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, nil, err
	}
	type leads struct {
		Next      string `yaml:"next"`
		OnTimeout string `yaml:"on_timeout"`
		Default   string `yaml:"default"`
		Choices   []struct {
			Next string `yaml:"next"`
		} `yaml:"choices"`
		Cases []struct {
			Next string `yaml:"next"`
		} `yaml:"cases"`
	}
	to := map[string][]string{}
	for i := 0; i+1 < len(doc.Nodes.Content); i += 2 {
		id := doc.Nodes.Content[i].Value
		order = append(order, id)
		var l leads
		if err := doc.Nodes.Content[i+1].Decode(&l); err != nil {
			return nil, nil, fmt.Errorf("step %s: %w", id, err)
		}
		to[id] = append(to[id], l.Next, l.OnTimeout, l.Default)
		for _, c := range l.Choices {
			to[id] = append(to[id], c.Next)
		}
		for _, c := range l.Cases {
			to[id] = append(to[id], c.Next)
		}
	}
	reached = map[string]bool{}
	queue := []string{doc.Start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if id == "" || reached[id] {
			continue
		}
		if _, ok := to[id]; !ok {
			continue
		}
		reached[id] = true
		queue = append(queue, to[id]...)
	}
	return reached, order, nil
}

// DropStranded removes the steps of a flow file that before reached and
// after does not: what a removed choice or step alone led to. Steps no
// longer reached for other reasons are left for the check to report.
func DropStranded(before, after string) (string, []string, error) {
	was, _, err := Reached(before)
	if err != nil {
		return "", nil, err
	}
	now, order, err := Reached(after)
	if err != nil {
		return "", nil, err
	}
	var dropped []string
	for _, id := range order {
		if was[id] && !now[id] {
			if after, err = DeleteValue(after, []string{"nodes", id}); err != nil {
				return "", nil, err
			}
			dropped = append(dropped, id)
		}
	}
	return after, dropped, nil
}

// Repoint makes every way a step of a flow file leads to step from lead
// to step to instead (next, on_timeout, default, a choice's or a case's next); with
// to empty, those ways end the flow there.
func Repoint(src, from, to string) (string, error) {
	_, order, err := Reached(src)
	if err != nil {
		return "", err
	}
	set := func(path []string) error {
		if v, ok := Value(src, path...); !ok || v != from {
			return nil
		}
		var err error
		if to == "" {
			src, err = DeleteValue(src, path)
		} else {
			src, err = SetValue(src, path, Number(to))
		}
		return err
	}
	for _, id := range order {
		for _, key := range []string{"next", "on_timeout", "default"} {
			if err := set([]string{"nodes", id, key}); err != nil {
				return "", err
			}
		}
		for _, list := range []string{"choices", "cases"} {
			for i := 0; Exists(src, "nodes", id, list, strconv.Itoa(i)); i++ {
				if err := set([]string{"nodes", id, list, strconv.Itoa(i), "next"}); err != nil {
					return "", err
				}
			}
		}
	}
	return src, nil
}
