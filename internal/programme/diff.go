package programme

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Change is what changed in one file between two versions, for people to
// read: the words of each message for a locale file, the lines otherwise.
type Change struct {
	File    string
	Added   bool // the file is new
	Removed bool // the file is gone
	// Messages lists the changed messages of a locale file.
	Messages []MessageChange
	// Lines is a line diff of any other file, with a little context.
	Lines []DiffLine
}

// MessageChange is one message of a locale file whose words changed.
type MessageChange struct {
	ID       string // with ".<form>" for a plural form
	Old, New string // "" when it was added or removed
}

// DiffLine is one line of a line diff: Op is ' ', '-' or '+'; a line
// with Op 0 stands for lines left out.
type DiffLine struct {
	Op   byte
	Text string
}

// Diff lists what changed from old to new, file by file in name order.
func Diff(old, new Files) []Change {
	var out []Change
	for _, n := range unionNames(old, new) {
		a, inOld := old[n]
		b, inNew := new[n]
		if inOld && inNew && a == b {
			continue
		}
		c := Change{File: n, Added: !inOld, Removed: !inNew}
		if strings.HasPrefix(n, LocalesDir+"/") {
			c.Messages = messageChanges(a, b)
		}
		if len(c.Messages) == 0 {
			c.Lines = lineDiff(a, b, 2)
		}
		out = append(out, c)
	}
	return out
}

// Summary says in a line which files and messages changed, for the
// history and the audit log (IDs and file names only).
func Summary(cs []Change) string {
	var parts []string
	for _, c := range cs {
		name := strings.TrimSuffix(c.File, ".yaml")
		switch {
		case c.Added:
			parts = append(parts, name+" added")
		case c.Removed:
			parts = append(parts, name+" removed")
		case len(c.Messages) > 0:
			ids := make([]string, 0, len(c.Messages))
			for _, m := range c.Messages {
				ids = append(ids, m.ID)
			}
			if len(ids) > 4 {
				ids = append(ids[:3], fmt.Sprintf("%d more", len(ids)-3))
			}
			parts = append(parts, name+": "+strings.Join(ids, ", "))
		default:
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	s := strings.Join(parts, "; ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:299]) + "…"
	}
	return s
}

// messages flattens a locale file: message ID (".<form>" for a plural
// form) to words.
func messages(src string) map[string]string {
	out := map[string]string{}
	var top map[string]yaml.Node
	if yaml.Unmarshal([]byte(src), &top) != nil {
		return out
	}
	for id, n := range top {
		switch n.Kind {
		case yaml.ScalarNode:
			out[id] = n.Value
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				out[id+"."+n.Content[i].Value] = n.Content[i+1].Value
			}
		}
	}
	return out
}

func messageChanges(a, b string) []MessageChange {
	ma, mb := messages(a), messages(b)
	var out []MessageChange
	for _, id := range unionNames(ma, mb) {
		if ma[id] != mb[id] {
			out = append(out, MessageChange{ID: id, Old: ma[id], New: mb[id]})
		}
	}
	return out
}

// lineDiff is the longest-common-subsequence diff of two texts, with
// context lines around each change and a gap line (Op 0) for the rest.
func lineDiff(a, b string, context int) []DiffLine {
	x, y := splitLines(a), splitLines(b)
	// Trim what both share at the ends: most edits touch a few lines.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	lcs := make([][]int, len(mx)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(my)+1)
	}
	for i, m := range slices.Backward(mx) {
		for j := len(my) - 1; j >= 0; j-- {
			if m == my[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var all []DiffLine
	for _, l := range x[:pre] {
		all = append(all, DiffLine{' ', l})
	}
	i, j := 0, 0
	for i < len(mx) || j < len(my) {
		switch {
		case i < len(mx) && j < len(my) && mx[i] == my[j]:
			all = append(all, DiffLine{' ', mx[i]})
			i, j = i+1, j+1
		case j < len(my) && (i == len(mx) || lcs[i][j+1] >= lcs[i+1][j]):
			all = append(all, DiffLine{'+', my[j]})
			j++
		default:
			all = append(all, DiffLine{'-', mx[i]})
			i++
		}
	}
	for _, l := range x[len(x)-suf:] {
		all = append(all, DiffLine{' ', l})
	}
	// Keep changes and their context.
	keep := make([]bool, len(all))
	for k, l := range all {
		if l.Op != ' ' {
			for c := max(0, k-context); c <= min(len(all)-1, k+context); c++ {
				keep[c] = true
			}
		}
	}
	var out []DiffLine
	for k, l := range all {
		if keep[k] {
			out = append(out, l)
		} else if len(out) == 0 || out[len(out)-1].Op != 0 {
			out = append(out, DiffLine{})
		}
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
