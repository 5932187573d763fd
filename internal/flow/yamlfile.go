package flow

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/waymark-atd/waymark/internal/diag"
)

// yamlFile walks one parsed YAML file and collects problems with the line
// each concerns. Every helper reports what is wrong in words an
// organisation's staff can act on, and never panics on odd input.
type yamlFile struct {
	name     string
	problems *[]diag.Problem
}

func (f *yamlFile) errorf(line int, format string, args ...any) {
	*f.problems = append(*f.problems, diag.Problem{File: f.name, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (f *yamlFile) warnf(line int, format string, args ...any) {
	*f.problems = append(*f.problems, diag.Problem{File: f.name, Line: line, Message: fmt.Sprintf(format, args...), Warning: true})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse checks the bytes are UTF-8 and parses them, returning the top
// mapping or nil after reporting why there is none.
func (f *yamlFile) parse(data []byte) *yaml.Node {
	if !utf8.Valid(data) {
		off := firstInvalidUTF8(data)
		lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
		f.errorf(bytes.Count(data[:off], []byte("\n"))+1, "not valid UTF-8 text at column %d: save the file as UTF-8",
			utf8.RuneCount(data[lineStart:off])+1)
		return nil
	}
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		msg := strings.TrimSpace(err.Error())
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			f.errorf(problemLine(data, line, m[2]), "YAML syntax: %s%s", m[2], syntaxHint(m[2]))
		} else {
			f.errorf(0, "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
		}
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		f.errorf(0, "the file is empty")
		return nil
	}
	top := deref(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		f.errorf(top.Line, "expected a mapping of fields (name: value) at the top of the file, found %s", describe(top))
		return nil
	}
	return top
}

// safeUnmarshal turns a panic inside the YAML parser on hostile input into
// an error: a broken file must be reported, never crash `waymark check` or
// a reload.
func safeUnmarshal(data []byte, doc *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the parser could not read this file")
		}
	}()
	return yaml.Unmarshal(data, doc)
}

// problemLine finds the line where a syntax error really is. The YAML
// parser names the line where the construct it was reading began (often
// the parent of a mis-indented line), so the file is parsed again line by
// line from there: the first prefix that fails with the same complaint ends
// at the culprit. The search is bounded, so a huge file costs a few hundred
// parses at most; past the bound the parser's line stands.
func problemLine(data []byte, reported int, problem string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	first := max(reported-1, 1)
	for k := first; k <= len(lines) && k < first+200; k++ {
		var doc yaml.Node
		err := safeUnmarshal(bytes.Join(lines[:k], nil), &doc)
		if err == nil {
			continue
		}
		if m := yamlLine.FindStringSubmatch(strings.TrimSpace(err.Error())); m != nil && m[2] == problem {
			return k
		}
	}
	return reported
}

func syntaxHint(problem string) string {
	switch problem {
	case "did not find expected key", "mapping values are not allowed in this context", "did not find expected '-' indicator":
		return " (check the indentation: fields of one node line up, two spaces deeper than its name)"
	case "found character that cannot start any token":
		return " (a tab? indent with spaces only)"
	}
	return ""
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// deref follows aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// field is one key: value pair of a mapping.
type field struct {
	key  string
	line int // of the key
	val  *yaml.Node
}

// fields returns a mapping's pairs in file order. Keys not in known are
// reported as unknown (with a suggestion for a likely typo) and skipped;
// duplicate keys are reported and only the first kept. A nil known accepts
// every key (the keys are names chosen by the author, such as node IDs).
func (f *yamlFile) fields(n *yaml.Node, where string, known []string) []field {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		f.errorf(n.Line, "%s must be a mapping (name: value), found %s", where, describe(n))
		return nil
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" || k.Value == "" {
			f.errorf(k.Line, "%s: a name must be plain text, found %s", where, describe(k))
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			f.errorf(k.Line, "%s: %s is given twice (first on line %d)", where, key, first)
			continue
		}
		seen[key] = k.Line
		if known != nil && !contains(known, key) {
			if s := suggest(key, known); s != "" {
				f.errorf(k.Line, "%s: unknown field %q: did you mean %q?", where, key, s)
			} else {
				f.errorf(k.Line, "%s: unknown field %q (expected one of %s)", where, key, strings.Join(known, ", "))
			}
			continue
		}
		out = append(out, field{key: key, line: k.Line, val: v})
	}
	return out
}

// str reads a non-empty scalar.
func (f *yamlFile) str(n *yaml.Node, where string) (string, bool) {
	n = deref(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		f.errorf(n.Line, "%s must be a single value, found %s", where, describe(n))
		return "", false
	}
	if n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		f.errorf(n.Line, "%s is empty", where)
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

func (f *yamlFile) duration(n *yaml.Node, where string) (time.Duration, bool) {
	s, ok := f.str(n, where)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		f.errorf(n.Line, "%s: %v", where, err)
		return 0, false
	}
	return d, true
}

func contains[T comparable](list []T, v T) bool {
	return slices.Contains(list, v)
}

// suggest returns the known name closest to a misspelt one, if close enough
// to be a typo.
func suggest(got string, known []string) string {
	best, bestDist := "", 3
	if len(got) <= 4 {
		bestDist = 2
	}
	cands := append([]string(nil), known...)
	sort.Strings(cands)
	for _, k := range cands {
		if d := editDistance(strings.ToLower(got), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance (Levenshtein
// with swapped neighbours counting as one edit, the commonest typo), for
// short field names only.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 64
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
