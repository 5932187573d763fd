package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// runBackup runs `waymark backup` with WAYMARK_DATA_DIR set.
func runBackup(t *testing.T, dataDir, to string) (int, string) {
	t.Helper()
	env := map[string]string{"WAYMARK_DATA_DIR": dataDir}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"waymark", "backup", "--to", to}, func(k string) string { return env[k] }, nil, nil, &out, &errb)
	return code, out.String() + errb.String()
}

// participantsIn opens a backup copy as a store and lists who is in it.
func participantsIn(t *testing.T, path string) []store.Participant {
	t.Helper()
	st, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	defer st.Close()
	ps, err := st.ListParticipants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestBackupOfAStoppedStore(t *testing.T) {
	dataDir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dataDir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := enrolParticipant(t, st, "en")
	st.Close()

	to := filepath.Join(t.TempDir(), "copy.db")
	code, out := runBackup(t, dataDir, to)
	if code != 0 || !strings.Contains(out, "no server running") {
		t.Fatalf("backup = %d %q", code, out)
	}
	if ps := participantsIn(t, to); len(ps) != 1 || ps[0].ID != id {
		t.Errorf("the copy holds %+v, want %s", ps, id)
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy's mode: %v %v, want 0600: it holds personal data", fi, err)
	}
}

// While serve runs it holds the file's lock; the copy comes through its
// socket, consistent even while webhooks write.
func TestBackupWhileServing(t *testing.T) {
	fake := twiliotest.New(t, testAccount, testToken)
	dataDir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dataDir, "waymark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := startServiceIn(t, st, fake, seal.NewKey(), dataDir)
	defer func() { s.stop() }() // s.stop is replaced once stopped below
	id, code := enrolParticipant(t, st, "en")

	// Writes go on during the backups.
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sms("SM0000000000000000000000000000bk01", testPhone, "JOIN "+code)
		for i := range 5 {
			s.sms("SM000000000000000000000000000bk1"+string(rune('0'+i)), testPhone, "hello")
		}
	}()
	to := filepath.Join(t.TempDir(), "live.db")
	for range 3 {
		code, out := runBackup(t, dataDir, to)
		if code != 0 || !strings.Contains(out, "from the running server") {
			t.Fatalf("backup while serving = %d %q", code, out)
		}
		if ps := participantsIn(t, to); len(ps) != 1 || ps[0].ID != id {
			t.Errorf("the copy holds %+v, want %s", ps, id)
		}
	}
	<-done
	if _, err := os.Stat(filepath.Join(dataDir, backupSocketName)); err != nil {
		t.Errorf("no backup socket while serving: %v", err)
	}
	s.stop()
	s.stop = func() {}
	if _, err := os.Stat(filepath.Join(dataDir, backupSocketName)); !os.IsNotExist(err) {
		t.Errorf("the backup socket outlives the server: %v", err)
	}
}

func TestBackupRefusesRedisAndNeedsATarget(t *testing.T) {
	env := map[string]string{"WAYMARK_REDIS_URL": "redis://127.0.0.1:6379/0", "WAYMARK_SECRET_KEY": seal.NewKey()}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"waymark", "backup", "--to", filepath.Join(t.TempDir(), "x")}, func(k string) string { return env[k] }, nil, nil, &out, &out); code != 1 || !strings.Contains(out.String(), "append-only") {
		t.Errorf("backup with Redis = %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"waymark", "backup"}, func(string) string { return "" }, nil, nil, &out, &out); code != 2 {
		t.Errorf("backup without --to = %d %q", code, out.String())
	}
	// No data file: an error, and no empty store is made.
	dataDir := t.TempDir()
	if code, out := runBackup(t, dataDir, filepath.Join(t.TempDir(), "x.db")); code != 1 || !strings.Contains(out, "no data file") {
		t.Errorf("backup of nothing = %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "waymark.db")); !os.IsNotExist(err) {
		t.Error("backup created a data file")
	}
}

// startServiceIn is startService with the data directory given, where the
// backup socket appears.
func startServiceIn(t *testing.T, st store.Store, fake *twiliotest.Server, key, dataDir string) *service {
	t.Helper()
	addr := freeAddr(t)
	public := "http://" + addr
	env := map[string]string{
		"WAYMARK_ADDR": addr, "WAYMARK_DATA_DIR": dataDir, "WAYMARK_PUBLIC_URL": public, "WAYMARK_SECRET_KEY": key,
		"WAYMARK_TWILIO_ACCOUNT_SID": testAccount, "WAYMARK_TWILIO_AUTH_TOKEN": testToken, "WAYMARK_TWILIO_FROM": testFrom,
		"WAYMARK_TWILIO_API_URL": fake.URL, "WAYMARK_TWILIO_MPS": "1000", "WAYMARK_SIMULATOR": "false",
	}
	cfg, _, err := config.Load(func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Logs{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	s := &service{t: t, public: public, store: st, twilio: fake, logs: logs}
	s.stop = serveInTest(t, cfg, log, st, clock.System{}, public)
	return s
}
