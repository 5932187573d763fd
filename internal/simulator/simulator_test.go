package simulator_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/locales"
)

func content(t *testing.T) *conversation.Content {
	t.Helper()
	set, problems := flow.Load(flows.FS)
	bundle, lp := locale.Load(locales.FS)
	problems = append(problems, lp...)
	if errs := diag.Errors(problems); len(errs) > 0 || set == nil || bundle == nil {
		t.Fatalf("shipped content: %v", errs)
	}
	bundle.SetDefault(set.Programme.DefaultLanguage)
	return &conversation.Content{Flows: set, Locale: bundle}
}

// TestSkipRunsTheSchedule: skipping a week ahead shows the demo schedule's
// reminders and a missed check-in, each at its own simulated time, in
// order.
func TestSkipRunsTheSchedule(t *testing.T) {
	scratch, err := bolt.Open(filepath.Join(t.TempDir(), "sim.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	c := content(t)
	sim, err := simulator.New(scratch, func() *conversation.Content { return c }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	sess, err := sim.NewSession(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"JOIN " + sess.Code, "1", "1"} { // join, agree, English
		if _, err := sess.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	began := sess.Now()
	replies, err := sess.Skip(ctx, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.Now().Equal(began.Add(7 * 24 * time.Hour)) {
		t.Errorf("clock at %s after a week's skip from %s", sess.Now(), began)
	}
	render := func(id string) string { return c.Locale.Render("en", id, conversation.TemplateData(c, "en", nil)) }
	ask, closing, missed := render("checkin.ask"), render("checkin.closing_soon"), render("checkin.missed")
	var seen []string
	var last time.Time
	for _, r := range replies {
		if r.At.Before(last) {
			t.Errorf("replies out of order: %s after %s", r.At, last)
		}
		last = r.At
		if r.At.Before(began) || r.At.After(sess.Now()) {
			t.Errorf("reply at %s, outside the skip", r.At)
		}
		switch {
		case strings.HasPrefix(r.Text, ask):
			seen = append(seen, "open")
			if r.At.Hour() != 9 || r.At.Minute() != 0 {
				t.Errorf("window opened at %s, want 09:00", r.At.Format("Mon 15:04"))
			}
		case strings.HasPrefix(r.Text, closing):
			seen = append(seen, "closing")
			if r.At.Hour() != 15 {
				t.Errorf("closing reminder at %s, want 15:00 (six hours before 21:00)", r.At.Format("Mon 15:04"))
			}
		case strings.HasPrefix(r.Text, missed):
			seen = append(seen, "missed")
			if r.At.Hour() != 8 {
				t.Errorf("missed message at %s, want 08:00 (after quiet hours)", r.At.Format("Mon 15:04"))
			}
		}
	}
	joined := strings.Join(seen, " ")
	if !strings.Contains(joined, "open closing missed") {
		t.Errorf("a week showed %q, want a window opening, a closing reminder and a miss, in that order", joined)
	}
}
