package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the configuration table in docs/operations.md")

// The table in docs/operations.md must be the one Markdown generates from
// the Config struct: a variable added, renamed or re-described without the
// documentation fails here.
func TestOperationsGuideListsEveryVariable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "operations.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin := strings.Index(doc, DocsBegin)
	end := strings.Index(doc, DocsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s: the markers %q and %q around the configuration table are missing", path, DocsBegin, DocsEnd)
	}
	head, tail := doc[:begin+len(DocsBegin)], doc[end:]
	want := head + "\n" + Markdown() + tail
	if doc == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: configuration table rewritten", path)
		return
	}
	t.Errorf("%s: the configuration table is out of date with the Config struct; regenerate it with\n\tgo test ./internal/config -run TestOperationsGuide -update-docs", path)
}

func TestMarkdownHasEveryFieldOnce(t *testing.T) {
	md := Markdown()
	for _, f := range Fields() {
		if f.Env == "" || f.Help == "" {
			t.Errorf("a Config field lacks an env or help tag: %+v", f)
		}
		if n := strings.Count(md, "| `"+f.Env+"` |"); n != 1 {
			t.Errorf("%s appears %d times in the table", f.Env, n)
		}
		row := md[strings.Index(md, "`"+f.Env+"`"):]
		row = row[:strings.Index(row, "\n")]
		if f.Secret != strings.Contains(row, "**Secret**") {
			t.Errorf("%s: secret=%v but the row says %q", f.Env, f.Secret, row)
		}
	}
}
