// Package layering holds the test that keeps Waymark's packages in their
// layers (docs/architecture.md): web above the channels, the channels
// above the conversation, the conversation above flow, and the store
// below everything, importing nothing above it.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/waymark-atd/waymark/"

// deps lists the project's packages that pattern's packages import,
// directly or not, each with its own: package -> its dependencies.
func deps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	m := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		for _, d := range fields[1:] {
			if rest, ok := strings.CutPrefix(d, module); ok {
				m[pkg] = append(m[pkg], rest)
			}
		}
		if _, ok := m[pkg]; !ok {
			m[pkg] = nil
		}
	}
	return m
}

// above reports whether dependency d is one of the layers named.
func above(d string, layers ...string) bool {
	for _, l := range layers {
		if d == l || strings.HasPrefix(d, l+"/") {
			return true
		}
	}
	return false
}

func TestLayers(t *testing.T) {
	for _, rule := range []struct {
		pattern string
		must    string
		not     []string
	}{
		{"./../channel/...", "a channel verifies, parses and sends; the conversation and the scheduler decide",
			[]string{"internal/schedule", "internal/web"}},
		{"./../store/...", "the store is below everything",
			[]string{"internal/conversation", "internal/schedule", "internal/web", "internal/channel", "internal/outbox", "internal/report"}},
		{"./../conversation/...", "the conversation is below the channels, the scheduler and the pages",
			[]string{"internal/channel", "internal/schedule", "internal/web", "internal/outbox"}},
		{"./../ledger/...", "the ledger's rules are pure",
			[]string{"internal/conversation", "internal/schedule", "internal/web", "internal/channel", "internal/outbox"}},
	} {
		for pkg, ds := range deps(t, rule.pattern) {
			for _, d := range ds {
				if above(d, rule.not...) {
					t.Errorf("%s imports %s: %s", pkg, d, rule.must)
				}
			}
		}
	}
}

// flow, the pure engine, imports only leaf packages: ones that import
// nothing of the project themselves.
func TestFlowImportsOnlyLeaves(t *testing.T) {
	all := deps(t, "./../...")
	for _, d := range all["internal/flow"] {
		if len(all[d]) > 0 {
			t.Errorf("internal/flow imports %s, which imports %v: flow may use only leaf packages", d, all[d])
		}
	}
}
