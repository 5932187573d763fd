package main

import (
	"bytes"
	"context"
	"errors"
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

	// What the commands stored works: the password signs in, and neither
	// it nor the token is stored as it is.
	st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	au := auth.New(st, clock.System{}, auth.Options{})
	if _, err := au.Login(context.Background(), "ada", "another good password", "cli-test"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	// The password change revoked the token made before it.
	if _, err := au.AuthenticateAPI(context.Background(), token); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("a token made before the password change: %v, want ErrBadToken", err)
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

func TestAccessCommands(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"ada", "amira"} {
		role := "admin"
		if u == "amira" {
			role = "caseworker"
		}
		if code, _, errs := runCLI(t, dir, "correct horse battery\n", "users", "add", "--username", u, "--role", role); code != 0 {
			t.Fatalf("users add %s: %q", u, errs)
		}
	}
	code, out, errs := runCLI(t, dir, "", "tokens", "create", "--username", "amira", "--expires", "90d")
	if code != 0 || !strings.HasPrefix(out, "wm_") {
		t.Fatalf("tokens create --expires: %d %q %q", code, out, errs)
	}
	id := auth.HashToken(strings.TrimSpace(out))[:auth.TokenIDLen]
	if !strings.Contains(errs, id) {
		t.Errorf("tokens create does not name the token's ID %s: %q", id, errs)
	}
	if code, _, _ := runCLI(t, dir, "", "tokens", "create", "--username", "amira", "--expires", "soon"); code != 2 {
		t.Errorf("a bad --expires: exit %d, want 2", code)
	}
	code, out, _ = runCLI(t, dir, "", "tokens", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "amira") || !strings.Contains(out, "never") {
		t.Errorf("tokens list:\n%s", out)
	}
	if code, out, errs := runCLI(t, dir, "", "tokens", "revoke", "--id", id); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("tokens revoke: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, dir, "", "tokens", "revoke", "--id", id); code != 1 || !strings.Contains(errs, "no API token") {
		t.Errorf("revoking twice: %d %q", code, errs)
	}
	runCLI(t, dir, "", "tokens", "create", "--username", "amira")
	runCLI(t, dir, "", "tokens", "create", "--username", "amira")
	if code, out, _ := runCLI(t, dir, "", "tokens", "revoke", "--username", "amira", "--all"); code != 0 || !strings.Contains(out, "revoked 2") {
		t.Errorf("revoke --all: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, dir, "", "tokens", "revoke"); code != 2 {
		t.Errorf("revoke with nothing: exit %d, want 2", code)
	}

	if code, out, errs := runCLI(t, dir, "", "users", "disable", "--username", "amira"); code != 0 || !strings.Contains(out, "disabled amira") {
		t.Errorf("users disable: %d %q %q", code, out, errs)
	}
	if _, out, _ := runCLI(t, dir, "", "users", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("users list does not show the disabled account:\n%s", out)
	}
	if code, _, errs := runCLI(t, dir, "", "users", "disable", "--username", "ada"); code != 1 || !strings.Contains(errs, "at least one active administrator") {
		t.Errorf("disabling the last administrator: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, dir, "", "users", "enable", "--username", "amira"); code != 0 || !strings.Contains(out, "enabled amira") {
		t.Errorf("users enable: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, dir, "", "users", "delete", "--username", "amira"); code != 0 || !strings.Contains(out, "deleted amira") {
		t.Errorf("users delete: %d %q", code, out)
	}
	if _, out, _ := runCLI(t, dir, "", "users", "list"); strings.Contains(out, "amira") {
		t.Errorf("amira is still listed:\n%s", out)
	}
}
