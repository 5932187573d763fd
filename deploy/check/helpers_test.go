package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// root is the repository, seen from this module's directory.
var root = filepath.Join("..", "..")

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var documentedVar = regexp.MustCompile("(?m)^\\| `(WAYMARK_[A-Z0-9_]+)` \\|")

// knownVariables are the WAYMARK_* names of docs/operations.md's
// configuration table, which a test of internal/config keeps equal to the
// Config struct. Reading the table keeps this module free of the main
// module's dependencies.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, m := range documentedVar.FindAllSubmatch(repoFile(t, "docs/operations.md"), -1) {
		known[string(m[1])] = true
	}
	if len(known) < 10 {
		t.Fatalf("docs/operations.md lists only %d variables; is its configuration table there?", len(known))
	}
	return known
}

// checkVariable reports a WAYMARK_* name that Waymark does not know: it
// would be ignored with a warning, and the setting meant would not apply.
func checkVariable(t *testing.T, known map[string]bool, where, name string) {
	t.Helper()
	if regexp.MustCompile(`^WAYMARK_`).MatchString(name) && !known[name] {
		t.Errorf("%s: %s is not a Waymark setting (see docs/operations.md)", where, name)
	}
}

// splitDocuments splits a multi-document YAML file at its --- lines.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(b, nil)
}
