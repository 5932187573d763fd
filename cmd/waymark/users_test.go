package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// runCLI runs the waymark command on a data directory and returns its exit
// code and output.
func runCLI(t *testing.T, dataDir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"WAYMARK_DATA_DIR": dataDir}
	var out, errb bytes.Buffer
	code := run(t.Context(), append([]string{"waymark"}, args...), func(k string) string { return env[k] }, nil,
		strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsersAndTokensCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, dir, "correct horse battery\n", "users", "add", "--username", "Ada", "--role", "admin", "--child-protection-trained")
	if code != 0 || !strings.Contains(out, "added ada") {
		t.Fatalf("users add: %d %q %q", code, out, errs)
	}
	code, _, errs = runCLI(t, dir, "correct horse battery\n", "users", "add", "--username", "ada", "--role", "caseworker")
	if code != 1 || !strings.Contains(errs, "taken") {
		t.Errorf("duplicate: %d %q", code, errs)
	}
	code, _, errs = runCLI(t, dir, "short\n", "users", "add", "--username", "bo", "--role", "caseworker")
	if code != 1 || !strings.Contains(errs, "at least 12") {
		t.Errorf("weak password: %d %q", code, errs)
	}
	code, _, _ = runCLI(t, dir, "", "users", "add", "--username", "bo", "--role", "boss")
	if code != 2 {
		t.Errorf("bad role: exit %d, want 2", code)
	}
	code, _, errs = runCLI(t, dir, "", "users", "add", "--username", "bo", "--role", "caseworker")
	if code != 1 || !strings.Contains(errs, "no password") {
		t.Errorf("no password: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, dir, "", "users", "list")
	if code != 0 || !strings.Contains(out, "ada") || !strings.Contains(out, "trained") || strings.Contains(out, "bo ") {
		t.Errorf("users list: %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, dir, "", "tokens", "create", "--username", "ada")
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "wm_") || !strings.Contains(errs, "shown once") {
		t.Fatalf("tokens create: %d %q %q", code, out, errs)
	}
	code, _, errs = runCLI(t, dir, "", "tokens", "create", "--username", "nobody")
	if code != 1 || !strings.Contains(errs, "no account named nobody") {
		t.Errorf("token for nobody: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, dir, "another good password\n", "users", "passwd", "--username", "ada")
	if code != 0 || !strings.Contains(out, "sessions have ended") {
		t.Errorf("users passwd: %d %q", code, out)
	}

	// What the commands stored works: the password signs in, the token
	// authenticates, and neither is stored as it is.
	st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	au := auth.New(st, clock.System{}, auth.Options{})
	if _, err := au.Login(context.Background(), "ada", "another good password", "cli-test"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if a, err := au.AuthenticateAPI(context.Background(), token); err != nil || a.Username != "ada" {
		t.Errorf("token: %+v, %v", a, err)
	}
	toks, _ := st.APITokensOf(context.Background(), "")
	for _, tk := range toks {
		if strings.Contains(tk.TokenHash, token) {
			t.Error("the token is stored as it is")
		}
	}

	// With the file held by another process (here: this one), the command
	// says so plainly.
	code, _, errs = runCLI(t, dir, "", "users", "list")
	st.Close()
	if code != 1 || !strings.Contains(errs, "in use by a running waymark serve") {
		t.Errorf("store in use: %d %q", code, errs)
	}
}
