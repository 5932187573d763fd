package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/seal"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, unknown, err := Load(env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.RedisPrefix != "waymark:" || c.SchedulerTick != 15*time.Second || c.OutboxDoubtWait != 5*time.Minute || c.TwilioMPS != 1 || !c.SimulatorOn() {
		t.Errorf("defaults not applied: %+v", c)
	}
	if len(unknown) != 0 {
		t.Errorf("unknown = %v", unknown)
	}
}

func TestEveryBadValueIsReportedByName(t *testing.T) {
	_, _, err := Load(env(map[string]string{
		"WAYMARK_LOG_LEVEL":      "loud",
		"WAYMARK_SECRET_KEY":     "c2hvcnQ=",
		"WAYMARK_SCHEDULER_TICK": "soon",
		"WAYMARK_PUBLIC_URL":     "ftp://x",
		"WAYMARK_TWILIO_MPS":     "-1",
		"WAYMARK_SIMULATOR":      "maybe",
	}), nil, nil)
	if err == nil {
		t.Fatal("bad values accepted")
	}
	// Parse errors are reported before validation; both kinds name the variable.
	for _, name := range []string{"WAYMARK_SCHEDULER_TICK", "WAYMARK_SIMULATOR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	_, _, err = Load(env(map[string]string{
		"WAYMARK_LOG_LEVEL":  "loud",
		"WAYMARK_SECRET_KEY": "c2hvcnQ=",
		"WAYMARK_PUBLIC_URL": "ftp://x",
		"WAYMARK_TWILIO_MPS": "-1",
		// A send in doubt that never waits would go twice after every
		// crash; one that waits for hours would leave a person unanswered.
		"WAYMARK_OUTBOX_DOUBT_WAIT": "2h",
	}), nil, nil)
	for _, name := range []string{"WAYMARK_LOG_LEVEL", "WAYMARK_SECRET_KEY", "WAYMARK_PUBLIC_URL", "WAYMARK_TWILIO_MPS", "WAYMARK_OUTBOX_DOUBT_WAIT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestSecretsAreNeverEchoed(t *testing.T) {
	_, _, err := Load(env(map[string]string{
		"WAYMARK_TWILIO_ACCOUNT_SID": "ACabc",
		"WAYMARK_TWILIO_AUTH_TOKEN":  "tok-with-dash-zq9x",
		"WAYMARK_SECRET_KEY":         "zq9xzq9x",
	}), nil, nil)
	if err == nil || strings.Contains(err.Error(), "zq9x") {
		t.Errorf("err = %v, want an error that does not echo secrets", err)
	}
}

func TestUnknownVariablesAreReported(t *testing.T) {
	_, unknown, err := Load(env(nil), []string{"WAYMARK_ADDRR=:1", "PATH=/bin", "WAYMARK_ADDR=:2", "WAYMARK_TEST_REDIS_URL=x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 1 || unknown[0] != "WAYMARK_ADDRR" {
		t.Errorf("unknown = %v, want [WAYMARK_ADDRR]", unknown)
	}
}

func TestOverridesWin(t *testing.T) {
	c, _, err := Load(env(map[string]string{"WAYMARK_ADDR": ":1"}), nil, map[string]string{"WAYMARK_ADDR": ":2"})
	if err != nil || c.Addr != ":2" {
		t.Errorf("Addr = %q, %v", c.Addr, err)
	}
}

func TestRedisNeedsAnExplicitKey(t *testing.T) {
	_, _, err := Load(env(map[string]string{"WAYMARK_REDIS_URL": "redis://127.0.0.1:6379/0"}), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "WAYMARK_SECRET_KEY") {
		t.Errorf("err = %v", err)
	}
}

func TestKeyIsGeneratedOnceAndReused(t *testing.T) {
	c := Config{DataDir: filepath.Join(t.TempDir(), "data")}
	k1, gen, err := c.Key()
	if err != nil || !gen || len(k1) != seal.KeySize {
		t.Fatalf("first Key: %v %v %d", err, gen, len(k1))
	}
	st, err := os.Stat(c.KeyFile())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st.Mode())
	}
	k2, gen, err := c.Key()
	if err != nil || gen || !bytes.Equal(k1, k2) {
		t.Fatalf("second Key: %v %v equal=%v", err, gen, bytes.Equal(k1, k2))
	}
}

func TestSimulatorIsOffOnceARealChannelIsConfigured(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"WAYMARK_TWILIO_ACCOUNT_SID": "AC123", "WAYMARK_TWILIO_AUTH_TOKEN": "x", "WAYMARK_TWILIO_FROM": "+15550100", "WAYMARK_PUBLIC_URL": "https://w.example"}, false},
		{map[string]string{"WAYMARK_TELEGRAM_TOKEN": "1:x", "WAYMARK_TELEGRAM_WEBHOOK_SECRET": "s", "WAYMARK_PUBLIC_URL": "https://w.example"}, false},
		{map[string]string{"WAYMARK_TELEGRAM_TOKEN": "1:x", "WAYMARK_TELEGRAM_WEBHOOK_SECRET": "s", "WAYMARK_PUBLIC_URL": "https://w.example", "WAYMARK_SIMULATOR": "true"}, true},
		{map[string]string{"WAYMARK_SIMULATOR": "false"}, false},
	} {
		c, _, err := Load(env(tc.env), nil, nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if got := c.SimulatorOn(); got != tc.want {
			t.Errorf("%v: simulator on = %v, want %v", tc.env, got, tc.want)
		}
	}
}
