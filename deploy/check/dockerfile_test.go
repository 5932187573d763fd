package deploycheck

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// instruction is one Dockerfile instruction as BuildKit's parser sees it.
type instruction struct {
	cmd   string   // lower case: from, run, copy, ...
	args  []string // the words after the instruction, or the one shell-form command
	flags []string // --from=build, --mount=..., ...
	line  int
}

// stage is the instructions from one FROM to the next.
type stage struct {
	from, name string
	body       []instruction
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(repoFile(t, "deploy/Dockerfile")))
	if err != nil {
		t.Fatalf("deploy/Dockerfile does not parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("deploy/Dockerfile:%d: %s", w.Location.Start.Line, w.Short)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.cmd == "from":
			s := stage{from: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
		case len(stages) == 0:
			if in.cmd != "arg" {
				t.Errorf("deploy/Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func flagValue(in instruction, name string) string {
	for _, f := range in.flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build (a Go builder, then a small image), found %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("the build stage starts from %q, want a golang image", build.from)
	}
	if final.from != "scratch" && !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("the final image is %q, want scratch or distroless static", final.from)
	}

	// Every COPY --from names an earlier stage.
	names := map[string]bool{}
	for _, s := range stages {
		for _, c := range s.all("copy") {
			if from := flagValue(c, "from"); from != "" && !names[from] {
				t.Errorf("deploy/Dockerfile:%d: COPY --from=%s names no earlier stage", c.line, from)
			}
		}
		if s.name != "" {
			names[s.name] = true
		}
	}

	// Not root: the last USER of the final stage is a non-zero numeric ID.
	users := final.all("user")
	if len(users) == 0 {
		t.Fatal("the final stage sets no USER: the service would run as root")
	}
	user := strings.SplitN(users[len(users)-1].args[0], ":", 2)[0]
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(user) {
		t.Errorf("USER %q: want a numeric non-zero ID, so that runAsNonRoot can be checked", user)
	}

	// The image checks itself with the binary (no curl on scratch).
	hc := final.all("healthcheck")
	if len(hc) != 1 || !slices.Contains(hc[0].args, "CMD") || !strings.Contains(strings.Join(hc[0].args, " "), "healthcheck") {
		t.Errorf("want one HEALTHCHECK running `waymark healthcheck`, found %+v", hc)
	}
	entry := final.all("entrypoint")
	if len(entry) != 1 {
		t.Fatal("want one ENTRYPOINT in the final stage")
	}
	binary := entry[0].args[0]
	if !strings.Contains(strings.Join(hc[0].args, " "), binary) {
		t.Errorf("HEALTHCHECK does not run the entrypoint %s", binary)
	}
	copied := false
	for _, c := range final.all("copy") {
		if c.args[len(c.args)-1] == binary && flagValue(c, "from") == build.name {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the final stage does not copy %s from the %s stage", binary, build.name)
	}
	certs := false
	for _, c := range final.all("copy") {
		if strings.Contains(strings.Join(c.args, " "), "ca-certificates.crt") {
			certs = true
		}
	}
	if !certs && final.from == "scratch" {
		t.Error("scratch has no CA certificates: copy them, or the Twilio and Telegram APIs cannot be reached")
	}

	// The binary is built static, trimmed, with its version.
	env, cmd := goBuild(t, build)
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("the go build runs with CGO_ENABLED=%q, want 0 (a static binary for scratch)", env["CGO_ENABLED"])
	}
	joined := strings.Join(cmd, " ")
	for _, want := range []string{"-trimpath", "-X main.version=", "./cmd/waymark"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the go build lacks %q: %s", want, joined)
		}
	}
	if !bytes.Contains(repoFile(t, "cmd/waymark/main.go"), []byte("var version = ")) {
		t.Error("cmd/waymark/main.go has no `var version`, which -X main.version sets")
	}
}

// goBuild finds the build stage's `go build` and returns its environment
// and words, with the Dockerfile's ARG defaults and VERSION=test expanded,
// as BuildKit's shell lexer would.
func goBuild(t *testing.T, build stage) (map[string]string, []string) {
	t.Helper()
	args := []string{"VERSION=test", "TARGETOS=linux", "TARGETARCH=amd64"}
	for _, r := range build.all("run") {
		if len(r.args) != 1 || !strings.Contains(r.args[0], "go build") {
			continue
		}
		words, err := shell.NewLex('\\').ProcessWords(r.args[0], shell.EnvsFromSlice(args))
		if err != nil {
			t.Fatalf("deploy/Dockerfile:%d: %v", r.line, err)
		}
		env := map[string]string{}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			k, v, _ := strings.Cut(words[0], "=")
			env[k] = v
			words = words[1:]
		}
		if len(words) < 2 || words[0] != "go" || words[1] != "build" {
			t.Fatalf("deploy/Dockerfile:%d: want `VAR=... go build ...` as its own RUN, found %q", r.line, words)
		}
		return env, words
	}
	t.Fatal("the build stage has no RUN with go build")
	return nil, nil
}

// dockerfileUser is the user ID the image runs as.
func dockerfileUser(t *testing.T) string {
	t.Helper()
	stages := parseDockerfile(t)
	users := stages[len(stages)-1].all("user")
	if len(users) == 0 {
		return ""
	}
	return strings.SplitN(users[len(users)-1].args[0], ":", 2)[0]
}
