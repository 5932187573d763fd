package deploycheck

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite deploy/k8s/content.yaml from flows/ and locales/")

const contentHeader = `# The built-in flows and locales as ConfigMaps, mounted at
# /etc/waymark/flows and /etc/waymark/locales (WAYMARK_FLOWS_DIR and
# WAYMARK_LOCALES_DIR). Generated from flows/ and locales/ by
#   (cd deploy/check && go test -run 'TestContentConfigMaps$' -update)
# For your own programme, make them from your own files instead:
#   kubectl create configmap waymark-flows --from-file=my-flows/ --dry-run=client -o yaml
#   kubectl create configmap waymark-locales --from-file=my-locales/ --dry-run=client -o yaml
# then check them with waymark check, apply, and restart the Deployment
# (kubectl rollout restart deployment/waymark) to load them.
`

// contentFiles reads the *.yaml files of a repository directory.
func contentFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no YAML in %s: %v", dir, err)
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// configMapYAML renders a ConfigMap with each file as a literal block, so
// that the manifest reads like the files it holds.
func configMapYAML(name string, files map[string]string) ([]byte, error) {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	data := &yaml.Node{Kind: yaml.MappingNode}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		data.Content = append(data.Content, str(n), &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.LiteralStyle, Value: files[n]})
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("apiVersion"), str("v1"),
		str("kind"), str("ConfigMap"),
		str("metadata"), {Kind: yaml.MappingNode, Content: []*yaml.Node{
			str("name"), str(name),
			str("labels"), {Kind: yaml.MappingNode, Content: []*yaml.Node{str("app.kubernetes.io/name"), str("waymark")}},
		}},
		str("data"), data,
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// The ConfigMaps hold the repository's flows and locales. They are an
// example to start from, so a flow edited since they were generated is
// reported but does not fail; whether they still load is checked by
// TestBinary with waymark check.
func TestContentConfigMaps(t *testing.T) {
	flows, locales := contentFiles(t, "flows"), contentFiles(t, "locales")
	if *update {
		f, err := configMapYAML("waymark-flows", flows)
		if err != nil {
			t.Fatal(err)
		}
		l, err := configMapYAML("waymark-locales", locales)
		if err != nil {
			t.Fatal(err)
		}
		out := contentHeader + "---\n" + string(f) + "---\n" + string(l)
		if err := os.WriteFile(filepath.Join(root, "deploy", "k8s", "content.yaml"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := loadManifests(t)
	for name, want := range map[string]map[string]string{"waymark-flows": flows, "waymark-locales": locales} {
		cm := m.configMaps[name]
		if cm == nil {
			t.Fatalf("no ConfigMap %s; generate deploy/k8s/content.yaml with -update", name)
		}
		var stale []string
		for file, text := range want {
			if cm.Data[file] != text {
				stale = append(stale, file)
			}
		}
		for file := range cm.Data {
			if _, ok := want[file]; !ok {
				stale = append(stale, file)
			}
		}
		if len(stale) > 0 {
			slices.Sort(stale)
			t.Logf("ConfigMap %s differs from the repository in %s; regenerate with (cd deploy/check && go test -run 'TestContentConfigMaps$' -update)",
				name, strings.Join(stale, ", "))
		}
	}
}
