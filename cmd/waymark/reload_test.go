package main

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/seal"
)

// copyFlows writes the built-in flows into a directory an organisation
// could edit.
func copyFlows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(flows.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := fs.ReadFile(flows.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReloadKeepsTheOldSetWhenTheNewOneIsBroken(t *testing.T) {
	dir := copyFlows(t)
	cfg := config.Config{FlowsDir: dir}
	flowsFS, localesFS := contentFS(cfg.FlowsDir, "")
	content, problems := loadContent(flowsFS, localesFS)
	if content == nil {
		t.Fatalf("copied flows are not valid: %v", problems)
	}
	box, _ := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	conv := conversation.New(openBolt(t), box, conversation.NewLive(content), clock.System{}, slog.New(slog.DiscardHandler), nil)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// A typo in a node name: refused, the running set stays, the log says
	// where.
	path := filepath.Join(dir, "checkin.yaml")
	good, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(good, []byte("next: record"), []byte("next: recrod"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	reload(conv, cfg, log)
	if conv.Content() != content {
		t.Fatal("a broken set replaced the running one")
	}
	if !strings.Contains(logs.String(), "checkin.yaml:") || !strings.Contains(logs.String(), "recrod") {
		t.Errorf("the log does not say what is wrong and where:\n%s", logs.String())
	}

	// Fixed and changed: swapped in.
	changed := bytes.Replace(good, []byte("label: choice.cant"), []byte("label: choice.callback"), 1)
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	reload(conv, cfg, log)
	if conv.Content() == content {
		t.Fatalf("a valid set was not swapped in; log:\n%s", logs.String())
	}
}

// TestNoHangupListenerOutlivesTheServer: what waits for SIGHUP is one of
// the server's workers, gone once runServer has returned, so that a
// reload never lands in a service that has stopped.
func TestNoHangupListenerOutlivesTheServer(t *testing.T) {
	s := startService(t, openBolt(t), twiliotest.New(t, testAccount, testToken), seal.NewKey())
	waitFor(t, "the SIGHUP listener", func() bool { return goroutinesIn("reloadOnHangup") == 1 })
	s.stop()
	if n := goroutinesIn("reloadOnHangup"); n != 0 {
		t.Errorf("%d goroutines still wait for SIGHUP after the server returned", n)
	}
}

// goroutinesIn counts the goroutines with the package's function fn on
// their stack.
func goroutinesIn(fn string) int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "cmd/waymark."+fn+"(")
}
