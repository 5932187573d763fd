// Package redact keeps personal data and secrets out of log lines. Its
// Handler wraps any slog.Handler and rewrites every record before it is
// written: attributes whose key names something personal or secret lose
// their value whatever it is, and anything in a message or a value that
// looks like a phone number, a chat ID, a bearer token, credentials in a
// URL or one of the configured secrets is cut out.
//
// Waymark's code never logs such things on purpose (log lines name a
// participant by its pseudonymous ID); this layer is for the mistake that
// review misses, such as an error from a library that quotes its input.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Mask replaces whatever is removed.
const Mask = "[redacted]"

// deniedKeys are attribute keys (lower case, without _ - . and spaces)
// whose values are never written: they name what a person wrote, how to
// reach them, or a credential.
var deniedKeys = map[string]bool{
	"from": true, "to": true, "body": true, "text": true, "messagetext": true,
	"address": true, "phone": true, "phonenumber": true, "number": true, "msisdn": true,
	"chatid": true, "chat": true, "userid": true, "waid": true, "profilename": true,
	"token": true, "password": true, "passwd": true, "secret": true, "apikey": true,
	"authorization": true, "cookie": true, "csrf": true, "csrftoken": true,
	"enrolmentcode": true, "enrollmentcode": true, "joincode": true, "payload": true,
	"sealed": true, "label": true, "caption": true, "location": true, "latitude": true,
	"longitude": true, "fromcity": true, "fromstate": true, "fromzip": true, "fromcountry": true,
}

// deniedSuffixes catch compound keys: auth_token, webhook_secret,
// new_password, sender_phone.
var deniedSuffixes = []string{"token", "password", "secret", "phone", "address", "chatid", "apikey"}

// numericKeys may carry long numbers that identify nobody: Telegram's
// update counter.
var numericKeys = map[string]bool{"updateid": true}

// patterns find personal data and credentials inside text; each match is
// replaced by its repl.
var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Bearer and basic credentials in a header quoted by an error.
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`), "$1 " + Mask},
	// Telegram bot tokens: <bot id>:<35 characters>.
	{regexp.MustCompile(`\b\d{5,}:[A-Za-z0-9_-]{30,}`), Mask},
	// Credentials in a URL: scheme://user:password@host.
	{regexp.MustCompile(`://[^/@\s]*@`), "://" + Mask + "@"},
	// International numbers, however they are spaced: +44 7700 900123.
	{regexp.MustCompile(`\+\d(?:[\s().-]*\d){5,}`), Mask},
	// National numbers written with spaces or dashes: 07700 900 123.
	{regexp.MustCompile(`\b0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}\b`), Mask},
	// Any run of seven or more digits: a number without its +, a chat ID.
	{regexp.MustCompile(`\d{7,}`), Mask},
}

// Handler is a slog.Handler that redacts every record before passing it on.
type Handler struct {
	next    slog.Handler
	secrets []string
}

var _ slog.Handler = (*Handler)(nil)

// minSecret is the shortest secret looked for in text: a shorter one
// would cut ordinary words out of log lines and protects nothing.
const minSecret = 6

// New wraps next. Secrets are values that must never appear anywhere in a
// line (the sealing key, provider tokens, the Redis URL): empty and very
// short ones are ignored.
func New(next slog.Handler, secrets ...string) *Handler {
	var keep []string
	for _, s := range secrets {
		if s = strings.TrimSpace(s); len(s) >= minSecret && !slices.Contains(keep, s) {
			keep = append(keep, s)
		}
	}
	// Longest first, so that a secret containing another goes whole.
	slices.SortFunc(keep, func(a, b string) int { return len(b) - len(a) })
	return &Handler{next: next, secrets: keep}
}

// WithSecrets returns a handler that also cuts out secrets, such as a key
// known only after the logger was made.
func (h *Handler) WithSecrets(secrets ...string) *Handler {
	return New(h.next, append(append([]string(nil), h.secrets...), secrets...)...)
}

// Logger is New wrapped in a *slog.Logger.
func Logger(next slog.Handler, secrets ...string) *slog.Logger {
	return slog.New(New(next, secrets...))
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(h.String(name)), secrets: h.secrets}
}

// attr redacts one attribute: by its key first, then by its value.
func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	key := h.String(a.Key)
	if DeniedKey(a.Key) && v.Kind() != slog.KindGroup {
		return slog.String(key, Mask)
	}
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(clean...)}
	case slog.KindString:
		return slog.String(key, h.String(v.String()))
	case slog.KindInt64, slog.KindUint64:
		if s := v.String(); !numericKeys[normalKey(a.Key)] && h.String(s) != s {
			return slog.String(key, Mask)
		}
	case slog.KindAny:
		// Errors, Stringers, structs, byte slices: judged by how they
		// print. The original stays when nothing in it is redacted, so that
		// a JSON handler keeps its structure.
		s := fmt.Sprint(v.Any())
		if clean := h.String(s); clean != s {
			return slog.String(key, clean)
		}
	}
	return slog.Attr{Key: key, Value: v}
}

// String returns s with every secret and every pattern cut out.
func (h *Handler) String(s string) string {
	for _, sec := range h.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return Text(s)
}

// Text cuts what the patterns find out of s. It knows no configured
// secrets; Handler.String does.
func Text(s string) string {
	if !mayMatch(s) {
		return s
	}
	// A duration's fraction ("wait=1.234567891s") is a long run of digits
	// but no number of anyone's: it is set aside while the patterns run.
	var kept []string
	s = durationFraction.ReplaceAllStringFunc(s, func(d string) string {
		kept = append(kept, d)
		return "\x00" + strconv.Itoa(len(kept)-1) + "\x00"
	})
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	for i, d := range kept {
		s = strings.Replace(s, "\x00"+strconv.Itoa(i)+"\x00", d, 1)
	}
	return s
}

// durationFraction is a Go duration with a fraction, as time.Duration
// prints it: "1.234567891s", "2m3.5s", "150.000001ms".
var durationFraction = regexp.MustCompile(`\b(?:\d{1,7}h)?(?:\d{1,2}m)?\d{1,6}\.\d+(?:ns|µs|us|ms|s)\b`)

// mayMatch is a quick test that lets most log text skip the regular
// expressions: the number patterns need at least five digits, the others
// a "://" or a credential word.
func mayMatch(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if digits++; digits >= 5 {
				return true
			}
		}
	}
	if strings.Contains(s, "://") {
		return true
	}
	l := strings.ToLower(s)
	return strings.Contains(l, "bearer") || strings.Contains(l, "basic")
}

// DeniedKey reports whether an attribute key names something whose value
// is never logged.
func DeniedKey(key string) bool {
	k := normalKey(key)
	if deniedKeys[k] {
		return true
	}
	for _, suf := range deniedSuffixes {
		if strings.HasSuffix(k, suf) {
			return true
		}
	}
	return false
}

func normalKey(key string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		switch r {
		case '_', '-', '.', ' ':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
