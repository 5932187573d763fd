package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of the Compose specification that
// deploy/compose.yaml uses. Decoding with KnownFields catches a misspelt
// key, which docker compose would reject or, worse, ignore.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Build *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Image   string `yaml:"image"`
	Restart string `yaml:"restart"`
	EnvFile []struct {
		Path     string `yaml:"path"`
		Required bool   `yaml:"required"`
	} `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	ReadOnly        bool     `yaml:"read_only"`
	Tmpfs           []string `yaml:"tmpfs"`
	CapDrop         []string `yaml:"cap_drop"`
	SecurityOpt     []string `yaml:"security_opt"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	Command         []string `yaml:"command"`
	Volumes         []string `yaml:"volumes"`
	Healthcheck     *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		StartPeriod string   `yaml:"start_period"`
		Retries     int      `yaml:"retries"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(repoFile(t, "deploy/compose.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return c
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	w, ok := c.Services["waymark"]
	if !ok {
		t.Fatal("no waymark service")
	}
	r, ok := c.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}

	// Waymark builds from the Dockerfile, relative to the compose file.
	deploy := filepath.Join(root, "deploy")
	if w.Build == nil {
		t.Fatal("the waymark service has no build")
	}
	if _, err := os.Stat(filepath.Join(deploy, w.Build.Context, w.Build.Dockerfile)); err != nil {
		t.Errorf("build context %q and dockerfile %q do not name deploy/Dockerfile: %v", w.Build.Context, w.Build.Dockerfile, err)
	}
	if _, err := os.Stat(filepath.Join(deploy, w.Build.Context, "go.mod")); err != nil {
		t.Errorf("the build context %q is not the repository root", w.Build.Context)
	}

	// Secrets come from an env file whose example is committed.
	if len(w.EnvFile) == 0 {
		t.Fatal("the waymark service reads no env_file: secrets would end up in compose.yaml")
	}
	known := knownVariables(t)
	for _, ef := range w.EnvFile {
		example := filepath.Join(deploy, ef.Path+".example")
		raw, err := os.ReadFile(example)
		if err != nil {
			t.Errorf("env_file %s has no committed example %s", ef.Path, example)
			continue
		}
		for _, m := range regexp.MustCompile(`(?m)^(WAYMARK_[A-Z0-9_]+)=`).FindAllSubmatch(raw, -1) {
			checkVariable(t, known, filepath.Base(example), string(m[1]))
		}
		if !bytes.Contains(raw, []byte("WAYMARK_SECRET_KEY=")) {
			t.Errorf("%s does not mention WAYMARK_SECRET_KEY, which Redis mode needs", example)
		}
	}
	for k := range w.Environment {
		checkVariable(t, known, "compose.yaml", k)
	}
	url := w.Environment["WAYMARK_REDIS_URL"]
	if !strings.Contains(url, "@redis:6379") {
		t.Errorf("WAYMARK_REDIS_URL %q does not point at the redis service", url)
	}
	if w.DependsOn["redis"].Condition != "service_healthy" || r.Healthcheck == nil {
		t.Error("waymark should wait for a healthy redis (depends_on condition service_healthy, and a redis healthcheck)")
	}
	if w.Healthcheck == nil || !slices.Contains(w.Healthcheck.Test, "healthcheck") {
		t.Error("the waymark service should check itself with `waymark healthcheck`")
	}
	if !w.ReadOnly || !slices.ContainsFunc(w.Tmpfs, func(s string) bool { return strings.HasPrefix(s, "/tmp") }) {
		t.Error("the waymark container should be read-only with a tmpfs /tmp")
	}

	// Redis runs deploy/redis.conf (AOF) with its data in a named volume.
	var confTarget, dataTarget string
	for _, v := range r.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Errorf("redis volume %q has no target", v)
			continue
		}
		switch {
		case parts[0] == "./redis.conf":
			confTarget = parts[1]
			if len(parts) < 3 || parts[2] != "ro" {
				t.Errorf("mount redis.conf read-only: %q", v)
			}
		case !strings.HasPrefix(parts[0], ".") && !strings.HasPrefix(parts[0], "/"):
			if _, ok := c.Volumes[parts[0]]; !ok {
				t.Errorf("redis mounts volume %q, which is not declared", parts[0])
			}
			dataTarget = parts[1]
		}
	}
	command := strings.Join(r.Command, " ")
	if confTarget == "" || !strings.Contains(command, "redis-server "+confTarget) {
		t.Errorf("redis should run redis-server with the mounted deploy/redis.conf (mounted at %q, command %q)", confTarget, command)
	}
	if dataTarget == "" || !strings.Contains(command, "--dir "+dataTarget) {
		t.Errorf("redis should keep its AOF in the named volume (mounted at %q, command %q)", dataTarget, command)
	}
	if strings.Contains(command, "appendonly no") {
		t.Error("the command turns AOF off")
	}
	conf := repoFile(t, "deploy/redis.conf")
	for _, want := range []string{"appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction"} {
		if !bytes.Contains(conf, []byte("\n"+want+"\n")) {
			t.Errorf("deploy/redis.conf lacks %q", want)
		}
	}
	if len(r.Ports) > 0 {
		t.Error("redis publishes a port: only the compose network should reach it")
	}
}
