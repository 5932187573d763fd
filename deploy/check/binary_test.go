package deploycheck

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// waymarkBinary builds cmd/waymark exactly as deploy/Dockerfile does (its
// own RUN line, parsed and expanded), for this machine's architecture.
func waymarkBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		build := parseDockerfile(t)[0]
		var run string
		for _, r := range build.all("run") {
			if len(r.args) == 1 && strings.Contains(r.args[0], "go build") {
				run = r.args[0]
			}
		}
		words, err := shell.NewLex('\\').ProcessWords(run, shell.EnvsFromSlice([]string{
			"VERSION=deploycheck", "TARGETOS=" + runtime.GOOS, "TARGETARCH=" + runtime.GOARCH}))
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "waymark-deploycheck-")
		if buildErr != nil {
			return
		}
		builtPath = filepath.Join(buildDir, "waymark")
		env := os.Environ()
		for len(words) > 0 && strings.Contains(words[0], "=") {
			env = append(env, words[0])
			words = words[1:]
		}
		for i := range words {
			if words[i] == "-o" && i+1 < len(words) {
				words[i+1] = builtPath
			}
		}
		cmd := exec.Command(words[0], words[1:]...)
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%s: %v\n%s", strings.Join(words, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building waymark as the Dockerfile does: %v", buildErr)
	}
	return builtPath
}

// The Dockerfile's binary must run on an empty image: no dynamic loader,
// no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(waymarkBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP header: it is dynamically linked and will not start on scratch")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	out, err := exec.Command(waymarkBinary(t), "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "waymark deploycheck" {
		t.Errorf("waymark version = %q (%v), want the version from -X main.version", out, err)
	}
}

// writeMounted lays files out as the kubelet mounts a ConfigMap: each file
// a symlink into ..data, itself a symlink to a timestamped directory.
func writeMounted(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	stamp := "..2026_01_02_03_04_05.000000001"
	if err := os.Mkdir(filepath.Join(dir, stamp), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, stamp, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(stamp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mountedContent returns the flows and locales ConfigMaps of deploy/k8s
// laid out as a pod sees them.
func mountedContent(t *testing.T) (flowsDir, localesDir string) {
	t.Helper()
	m := loadManifests(t)
	f, l := m.configMaps["waymark-flows"], m.configMaps["waymark-locales"]
	if f == nil || l == nil {
		t.Fatal("deploy/k8s lacks the waymark-flows or waymark-locales ConfigMap (content.yaml)")
	}
	return writeMounted(t, f.Data), writeMounted(t, l.Data)
}

// The ConfigMaps load: waymark check accepts them as mounted in a pod.
func TestContentConfigMapsPassWaymarkCheck(t *testing.T) {
	flowsDir, localesDir := mountedContent(t)
	out, err := exec.Command(waymarkBinary(t), "check", "--flows", flowsDir, "--locales", localesDir).CombinedOutput()
	if err != nil {
		t.Fatalf("waymark check on deploy/k8s/content.yaml: %v\n%s\nIf flows/ and locales/ pass, regenerate the ConfigMaps from them with\n\t(cd deploy/check && go test -run 'TestContentConfigMaps$' -update)", err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The image's HEALTHCHECK: `waymark healthcheck` finds the server through
// WAYMARK_ADDR, passes while it runs and fails once it has stopped. The
// server runs as in the pod, on the mounted ConfigMaps.
func TestHealthcheckCommand(t *testing.T) {
	bin := waymarkBinary(t)
	flowsDir, localesDir := mountedContent(t)
	addr := freePort(t)
	serve := exec.Command(bin, "serve")
	serve.Env = append(os.Environ(),
		"WAYMARK_ADDR="+addr, "WAYMARK_DATA_DIR="+t.TempDir(), "WAYMARK_SIMULATOR=false",
		"WAYMARK_FLOWS_DIR="+flowsDir, "WAYMARK_LOCALES_DIR="+localesDir)
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	t.Cleanup(func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
			<-done
		}
	})

	check := func(args ...string) error {
		cmd := exec.Command(bin, append([]string{"healthcheck"}, args...)...)
		cmd.Env = append(os.Environ(), "WAYMARK_ADDR="+addr)
		return cmd.Run()
	}
	deadline := time.Now().Add(20 * time.Second)
	for check("--ready") != nil {
		if time.Now().After(deadline) {
			t.Fatalf("waymark healthcheck --ready never passed; server log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := check(); err != nil {
		t.Errorf("healthcheck: %v", err)
	}

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM; log:\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	err := check()
	var exit *exec.ExitError
	if err == nil || !asExit(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("healthcheck with no server: %v, want exit status 1", err)
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
