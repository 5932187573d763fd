package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/loadtest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// seed writes people with codes into the embedded store the server would
// open, and the people file names them.
func TestSeedIntoTheEmbeddedStore(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "people.jsonl")
	var stdout, stderr bytes.Buffer
	env := getenv(map[string]string{"WAYMARK_SECRET_KEY": seal.NewKey()})
	if code := run(context.Background(), []string{"waymark-load", "seed", "-n", "20", "-telegram", "0.25", "-out", out, "-data-dir", dir}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("seed exited %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	people, err := loadtest.ReadPeople(f)
	f.Close()
	if err != nil || len(people) != 20 {
		t.Fatalf("people file: %d people, %v", len(people), err)
	}
	st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	telegram := 0
	for _, p := range people {
		if p.Channel == store.Telegram {
			telegram++
		}
		ec, err := st.TakeEnrolmentCode(context.Background(), p.Code)
		if err != nil || ec.ParticipantID != p.ID {
			t.Fatalf("code of %s: %+v %v", p.ID, ec, err)
		}
		if _, err := st.GetParticipant(context.Background(), p.ID); err != nil {
			t.Fatalf("participant %s: %v", p.ID, err)
		}
	}
	if telegram != 5 {
		t.Errorf("%d of 20 on Telegram, want 5", telegram)
	}
	if strings.Contains(stdout.String()+stderr.String(), people[0].Address) {
		t.Error("output names an address")
	}
}

func TestRefusals(t *testing.T) {
	env := getenv(map[string]string{})
	for name, tc := range map[string]struct {
		args []string
		code int
		says string
	}{
		"no command":      {[]string{"waymark-load"}, 2, "Usage"},
		"unknown command": {[]string{"waymark-load", "bench"}, 2, "unknown command"},
		"run, no people":  {[]string{"waymark-load", "run"}, 1, "-people"},
		"run, no file":    {[]string{"waymark-load", "run", "-people", filepath.Join(t.TempDir(), "none.jsonl")}, 1, "no such file"},
		"bad seed count":  {[]string{"waymark-load", "seed", "-n", "0", "-data-dir", t.TempDir(), "-out", filepath.Join(t.TempDir(), "p")}, 1, "between 1 and"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, env, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.says) {
			t.Errorf("%s: exit %d, output %q; want %d and %q", name, code, stdout.String()+stderr.String(), tc.code, tc.says)
		}
	}
}
