package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifests is every object in deploy/k8s, decoded strictly: a field the
// API does not have (a typo, a wrong indentation) fails the test, as it
// would fail `kubectl apply --validate=strict`.
type manifests struct {
	files       map[string][]string // file -> "Kind/name" of its objects
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
}

// kinds maps each kind used to its API version and a fresh object.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Deployment":          {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"Service":             {"v1", func() any { return &corev1.Service{} }},
	"ConfigMap":           {"v1", func() any { return &corev1.ConfigMap{} }},
	"Secret":              {"v1", func() any { return &corev1.Secret{} }},
	"PodDisruptionBudget": {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{files: map[string][]string{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	paths, err := filepath.Glob(filepath.Join(root, "deploy", "k8s", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		if name == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(raw) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: document %d: %v", name, i+1, err)
			}
			k, ok := kinds[tm.Kind]
			if !ok {
				t.Fatalf("%s: document %d: kind %q is not one this check knows; add it to kinds", name, i+1, tm.Kind)
			}
			if tm.APIVersion != k.apiVersion {
				t.Errorf("%s: %s has apiVersion %q, want %q", name, tm.Kind, tm.APIVersion, k.apiVersion)
			}
			obj := k.new()
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: document %d (%s) does not decode strictly: %v", name, i+1, tm.Kind, err)
			}
			meta := obj.(metav1.Object)
			if meta.GetName() == "" {
				t.Errorf("%s: a %s has no name", name, tm.Kind)
			}
			m.files[name] = append(m.files[name], tm.Kind+"/"+meta.GetName())
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments = append(m.deployments, o)
			case *corev1.Service:
				m.services = append(m.services, o)
			case *corev1.ConfigMap:
				m.configMaps[o.Name] = o
			case *corev1.Secret:
				m.secrets[o.Name] = o
			case *policyv1.PodDisruptionBudget:
				m.pdbs = append(m.pdbs, o)
			}
		}
	}
	if len(m.deployments) != 1 {
		t.Fatalf("want one Deployment, found %d", len(m.deployments))
	}
	return m
}

// The strict decoder must really refuse what kubectl would: a manifest
// with a misspelt field fails.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 2\n  replica: 3\n")
	if err := yaml.UnmarshalStrict(bad, &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a misspelt field was accepted: %v", err)
	}
}

// yamlOf shows a value as it would read in the manifest.
func yamlOf(v any) string {
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

func waymarkContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "waymark" {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container named waymark", d.Name)
	return corev1.Container{}
}

func TestDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	spec := d.Spec.Template.Spec
	c := waymarkContainer(t, d)

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %s, want 2 or more (with Redis, so that one pod can restart while the other serves)", yamlOf(d.Spec.Replicas))
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Deployment's selector %v does not select its own pods %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}

	// Probes: alive is /healthz, ready is /readyz, on the container's port.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of %s", what, path)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s probe asks %s, want %s", what, p.HTTPGet.Path, path)
		}
		if _, ok := ports[p.HTTPGet.Port.StrVal]; p.HTTPGet.Port.StrVal != "" && !ok {
			t.Errorf("%s probe uses port %q, which the container does not name", what, p.HTTPGet.Port.StrVal)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if ports["http"] != 8080 {
		t.Errorf("container port http = %d, want 8080 (WAYMARK_ADDR :8080)", ports["http"])
	}

	// Resources: a scheduler cannot place, and a node cannot protect, a
	// pod without them.
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() {
		t.Errorf("requests = %v, want cpu and memory", req)
	}
	if lim.Memory().IsZero() || lim.Memory().Cmp(*req.Memory()) < 0 {
		t.Errorf("memory limit %v must be set and at least the request %v", lim.Memory(), req.Memory())
	}

	// Not root, read-only, nothing to escalate to.
	psc, csc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	} else if uid := dockerfileUser(t); fmt.Sprint(*psc.RunAsUser) != uid {
		t.Errorf("pod runs as user %d, the image as %s: keep them equal", *psc.RunAsUser, uid)
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("container: want readOnlyRootFilesystem")
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("container: want allowPrivilegeEscalation false")
	}
	if csc == nil || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("container: want every capability dropped")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("Waymark never talks to the Kubernetes API: set automountServiceAccountToken false")
	}

	// Mounts: the flows and locales ConfigMaps where the variables point,
	// and a writable /tmp since the root filesystem is read-only.
	env := map[string]string{}
	known := knownVariables(t)
	for _, e := range c.Env {
		env[e.Name] = e.Value
		checkVariable(t, known, "deployment.yaml", e.Name)
	}
	mounts := map[string]string{} // volume -> path
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for variable, cm := range map[string]string{"WAYMARK_FLOWS_DIR": "waymark-flows", "WAYMARK_LOCALES_DIR": "waymark-locales"} {
		found := false
		for name, v := range volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name == cm {
				found = true
				if mounts[name] == "" || mounts[name] != env[variable] {
					t.Errorf("ConfigMap %s is mounted at %q but %s is %q", cm, mounts[name], variable, env[variable])
				}
			}
		}
		if !found {
			t.Errorf("no volume from ConfigMap %s", cm)
		}
		if m.configMaps[cm] == nil {
			t.Errorf("ConfigMap %s is mounted but not defined in deploy/k8s", cm)
		}
	}
	tmp := false
	for name, path := range mounts {
		if path == "/tmp" && volumes[name].EmptyDir != nil {
			tmp = true
		}
	}
	if !tmp {
		t.Error("with a read-only root filesystem, /tmp needs an emptyDir (the simulator's scratch store lives there)")
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil && m.configMaps[from.ConfigMapRef.Name] == nil:
			t.Errorf("envFrom names ConfigMap %s, which deploy/k8s does not define", from.ConfigMapRef.Name)
		case from.SecretRef != nil && m.secrets[from.SecretRef.Name] == nil:
			t.Errorf("envFrom names Secret %s, which deploy/k8s has no example of", from.SecretRef.Name)
		}
	}

	// Shutdown: the grace period must cover the preStop pause, the
	// shutdown timeout for requests in flight and a send in progress.
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	var pause time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if need := pause + 15*time.Second + 10*time.Second; grace < need {
		t.Errorf("terminationGracePeriodSeconds %v < preStop %v + WAYMARK_SHUTDOWN_TIMEOUT 15s + 10s for a send", grace, pause)
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Error("a rollout should never take a replica away before its replacement is ready: maxUnavailable 0")
	}
}

func TestServiceAndDisruptionBudgetSelectThePods(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	pods := labels.Set(d.Spec.Template.Labels)
	c := waymarkContainer(t, d)
	if len(m.services) == 0 {
		t.Fatal("no Service")
	}
	for _, s := range m.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(pods) {
			t.Errorf("Service %s selects %v, not the pods %v", s.Name, s.Spec.Selector, pods)
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.StrVal != "" && !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal }) {
				t.Errorf("Service %s targets port %q, which the container does not name", s.Name, p.TargetPort.StrVal)
			}
		}
	}
	if len(m.pdbs) != 1 {
		t.Fatalf("want one PodDisruptionBudget, found %d", len(m.pdbs))
	}
	pdb := m.pdbs[0]
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(pods) {
		t.Errorf("PodDisruptionBudget selects %v, not the pods %v (%v)", pdb.Spec.Selector, pods, err)
	}
	// It must also select nothing else the Deployment's selector would not.
	if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(pdb.Spec.Selector.MatchLabels)) {
		t.Errorf("PodDisruptionBudget selector %v is wider than the Deployment's %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("minAvailable %v: want at least 1 and below the replicas (%d), or no node could ever be drained", pdb.Spec.MinAvailable, *d.Spec.Replicas)
	}
}

func TestSettingsAndSecretNameRealVariables(t *testing.T) {
	m := loadManifests(t)
	known := knownVariables(t)
	cfg := m.configMaps["waymark-config"]
	if cfg == nil {
		t.Fatal("no ConfigMap waymark-config")
	}
	for k := range cfg.Data {
		checkVariable(t, known, "config.yaml", k)
		if !strings.HasPrefix(k, "WAYMARK_") {
			t.Errorf("config.yaml: %s is not a WAYMARK_ setting", k)
		}
	}
	sec := m.secrets["waymark-secrets"]
	if sec == nil {
		t.Fatal("no example Secret waymark-secrets")
	}
	for _, k := range []string{"WAYMARK_SECRET_KEY", "WAYMARK_REDIS_URL"} {
		if _, ok := sec.StringData[k]; !ok {
			t.Errorf("the example Secret lacks %s, which two or more replicas need", k)
		}
	}
	for k := range sec.StringData {
		checkVariable(t, known, "secret.example.yaml", k)
		if _, ok := cfg.Data[k]; ok {
			t.Errorf("%s is in both the ConfigMap and the Secret", k)
		}
	}
}

// kustomization.yaml applies every manifest but the example Secret, which
// must never overwrite a real one.
func TestKustomizationListsTheManifests(t *testing.T) {
	m := loadManifests(t)
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Resources  []string
		Labels     []struct {
			Pairs map[string]string `json:"pairs"`
		} `json:"labels"`
	}
	if err := yaml.UnmarshalStrict(repoFile(t, "deploy/k8s/kustomization.yaml"), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml kind %q", k.Kind)
	}
	for file := range m.files {
		listed := slices.Contains(k.Resources, file)
		switch {
		case file == "secret.example.yaml" && listed:
			t.Error("kustomization.yaml applies the example Secret: it would overwrite the real one")
		case file != "secret.example.yaml" && !listed:
			t.Errorf("kustomization.yaml does not list %s", file)
		}
	}
	for _, r := range k.Resources {
		if _, ok := m.files[r]; !ok {
			t.Errorf("kustomization.yaml lists %s, which is not a manifest here", r)
		}
	}
}
