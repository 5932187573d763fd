package redact

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

var (
	digitRun = regexp.MustCompile(`\d{7,}`)
	e164     = regexp.MustCompile(`\+\d(?:[\s().-]*\d){5,}`)
)

// FuzzText: whatever text goes in, what comes out holds no run of seven
// digits, no international number however spaced, and no configured
// secret; the handler never panics, whatever the key, the message or the
// value.
func FuzzText(f *testing.F) {
	for _, s := range []string{"+447700900123", "+44 7700 900123", "987654321", "call 07700 900 123", "Bearer abcdefghijkl",
		"redis://u:p@h", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "p_k7q2m9xd", "2026-01-05T09:00:00Z", "+1+2+3+4+5+6+7", "\xff1234567"} {
		f.Add(s, "detail")
	}
	f.Add("secret s3cr3t-value inside", "from")
	f.Fuzz(func(t *testing.T, s, key string) {
		const secret = "s3cr3t-value"
		var got capture
		h := New(&got, secret)
		out := h.String(s)
		if m := digitRun.FindString(out); m != "" {
			t.Fatalf("Text(%q) keeps digits %q: %q", s, m, out)
		}
		if m := e164.FindString(out); m != "" {
			t.Fatalf("Text(%q) keeps a number %q: %q", s, m, out)
		}
		if strings.Contains(out, secret) {
			t.Fatalf("Text(%q) keeps the secret: %q", s, out)
		}
		// What reaches the wrapped handler, before it escapes anything
		// (JSON's \u0002 followed by "000" would look like a digit run).
		slog.New(h).Info(s, key, s, "err", s, slog.Group(key, key, s))
		for _, v := range got.strings {
			if strings.Contains(v, secret) || digitRun.MatchString(v) || e164.MatchString(v) {
				t.Fatalf("a log line keeps a secret or a number: %q", v)
			}
		}
	})
}

// capture is a handler that keeps every string a record carries: its
// message, and each attribute's key and value, groups included.
type capture struct{ strings []string }

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.strings = append(c.strings, r.Message)
	r.Attrs(func(a slog.Attr) bool { c.add(a); return true })
	return nil
}

func (c *capture) add(a slog.Attr) {
	c.strings = append(c.strings, a.Key)
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			c.add(g)
		}
		return
	}
	c.strings = append(c.strings, a.Value.String())
}
