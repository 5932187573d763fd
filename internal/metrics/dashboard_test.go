package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The example Grafana dashboard asks only for metrics that exist, with
// label names they have: a renamed metric would leave a panel empty
// without anyone noticing.
func TestGrafanaDashboardUsesRealMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana-dashboard.json: %v", err)
	}
	m := New("test")
	m.AddWebhookRoute("/twilio/sms")
	m.Webhook("/twilio/sms", 403, false)
	m.Outbox().Sent("sms", 1)
	m.Outbox().Failed("sms", "gave_up")
	m.Outbox().Status("sms", "delivered")
	m.SchedulerLag("checkin_open", 1)
	m.StoreError("Ping", os.ErrClosed)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{} // metric -> its label names
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if !slices.Contains(labels[f.GetName()], l.GetName()) {
					labels[f.GetName()] = append(labels[f.GetName()], l.GetName())
				}
			}
		}
		if _, ok := labels[f.GetName()]; !ok {
			labels[f.GetName()] = nil
		}
	}

	name := regexp.MustCompile(`\b((?:waymark|go|process)_[a-z_]+)\b`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	used := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			used++
			for _, n := range name.FindAllString(target.Expr, -1) {
				base := n
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && labels[b] != nil {
						base = b
					}
				}
				have, ok := labels[base]
				if !ok {
					t.Errorf("panel %q asks for %s, which Waymark does not export", p.Title, n)
					continue
				}
				if !strings.HasPrefix(base, "waymark_") {
					continue
				}
				for _, group := range by.FindAllStringSubmatch(target.Expr, -1) {
					for l := range strings.SplitSeq(group[1], ",") {
						if l = strings.TrimSpace(l); l != "le" && !slices.Contains(have, l) {
							t.Errorf("panel %q groups %s by %q, a label it does not have (%v)", p.Title, base, l, have)
						}
					}
				}
			}
		}
	}
	if used < 10 {
		t.Errorf("the dashboard has only %d queries", used)
	}
}
