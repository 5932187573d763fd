package deploycheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unit is a systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, raw []byte) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section == "":
			t.Fatalf("waymark.service:%d: a setting outside any section", n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("waymark.service:%d: not key=value: %q", n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestSystemdUnit(t *testing.T) {
	raw := repoFile(t, "deploy/systemd/waymark.service")
	u := parseUnit(t, raw)
	for key, want := range map[string]string{
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
		"StateDirectory":  "waymark",
		"ExecReload":      "/bin/kill -HUP $MAINPID",
	} {
		if got := u.last("Service", key); got != want {
			t.Errorf("[Service] %s=%q, want %q", key, got, want)
		}
	}
	if u.last("Service", "DynamicUser") != "yes" && u.last("Service", "User") == "" {
		t.Error("[Service] needs DynamicUser=yes or a dedicated User=")
	}
	if !strings.HasSuffix(u.last("Service", "ExecStart"), "waymark serve") {
		t.Errorf("ExecStart=%q, want `.../waymark serve`", u.last("Service", "ExecStart"))
	}
	if u.last("Service", "EnvironmentFile") == "" {
		t.Error("[Service] needs an EnvironmentFile for the secrets")
	}
	if r := u.last("Service", "Restart"); r != "on-failure" && r != "always" {
		t.Errorf("Restart=%q, want on-failure or always", r)
	}
	env := map[string]string{}
	known := knownVariables(t)
	for _, e := range u["Service"]["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
		checkVariable(t, known, "waymark.service", k)
	}
	if env["WAYMARK_DATA_DIR"] != "/var/lib/waymark" {
		t.Errorf("WAYMARK_DATA_DIR=%q, want the state directory /var/lib/waymark", env["WAYMARK_DATA_DIR"])
	}
	stop, err := time.ParseDuration(u.last("Service", "TimeoutStopSec"))
	if err != nil || stop <= 15*time.Second {
		t.Errorf("TimeoutStopSec=%q: want more than WAYMARK_SHUTDOWN_TIMEOUT (15s) (%v)", u.last("Service", "TimeoutStopSec"), err)
	}
	for _, key := range []string{"StartLimitIntervalSec", "StartLimitBurst"} {
		if len(u["Service"][key]) > 0 {
			t.Errorf("%s belongs in [Unit]; systemd ignores it in [Service]", key)
		}
	}
}

// systemd's own checker, where the machine has it: it reads the unit as
// systemd would and names unknown settings. ExecStart must exist, so it
// is pointed at a real executable for the check.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; TestSystemdUnit still checks the unit")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.ReplaceAll(repoFile(t, "deploy/systemd/waymark.service"), []byte("/usr/local/bin/waymark"), []byte(self))
	dir := t.TempDir()
	path := filepath.Join(dir, "waymark.service")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
