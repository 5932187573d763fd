// Package config loads Waymark's typed configuration from WAYMARK_*
// environment variables, validates every value with a clear message, and
// warns about variables it does not know (a typo must not pass silently).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/seal"
)

// Config is every setting of `waymark serve`. Each field's env tag names
// its variable, default its value when unset, and help its meaning; the
// operations guide is generated from these tags.
type Config struct {
	Addr       string `env:"WAYMARK_ADDR" default:":8080" help:"address the HTTP server listens on"`
	PublicURL  string `env:"WAYMARK_PUBLIC_URL" help:"public base URL as providers call it, e.g. https://waymark.example.org (webhook signatures are checked against it)"`
	DataDir    string `env:"WAYMARK_DATA_DIR" default:"./data" help:"directory of the embedded store (and the generated key when WAYMARK_SECRET_KEY is unset)"`
	SecretKey  string `env:"WAYMARK_SECRET_KEY" secret:"true" help:"base64 of 32 random bytes; seals stored phone numbers and chat IDs (waymark keygen prints one)"`
	FlowsDir   string `env:"WAYMARK_FLOWS_DIR" help:"directory of flows and programme.yaml to use instead of the built-in ones"`
	LocalesDir string `env:"WAYMARK_LOCALES_DIR" help:"directory of locale files to use instead of the built-in ones"`
	// ProgrammeEditor keeps the programme's published versions in the
	// store and serves the editor; off, the folders are the only source.
	ProgrammeEditor bool          `env:"WAYMARK_PROGRAMME_EDITOR" default:"true" help:"keep the published programme in the store, edited in the browser by administrators and followed by every process; false: the flows and locales folders are the only source, reloaded by SIGHUP"`
	ProgrammePoll   time.Duration `env:"WAYMARK_PROGRAMME_POLL" default:"2s" help:"how often each process looks for a newly published programme version"`
	LogLevel        string        `env:"WAYMARK_LOG_LEVEL" default:"info" help:"debug, info, warn or error"`
	LogFormat       string        `env:"WAYMARK_LOG_FORMAT" default:"text" help:"text or json"`
	Simulator       Switch        `env:"WAYMARK_SIMULATOR" default:"auto" help:"serve the flow simulator at /simulator: true, false, or auto (on only while no real channel, Twilio or Telegram, is configured)"`

	RedisURL            string `env:"WAYMARK_REDIS_URL" secret:"true" help:"redis:// or rediss:// URL; when set, Redis is the store instead of the embedded file"`
	RedisPrefix         string `env:"WAYMARK_REDIS_PREFIX" default:"waymark:" help:"prefix of every Redis key"`
	RedisSentinelMaster string `env:"WAYMARK_REDIS_SENTINEL_MASTER" help:"Sentinel master name; the URL's hosts are then sentinels"`
	RedisCluster        bool   `env:"WAYMARK_REDIS_CLUSTER" default:"false" help:"treat the URL's hosts as a Redis Cluster"`

	TwilioAccountSID          string  `env:"WAYMARK_TWILIO_ACCOUNT_SID" help:"Twilio account SID (AC...)"`
	TwilioAuthToken           string  `env:"WAYMARK_TWILIO_AUTH_TOKEN" secret:"true" help:"Twilio auth token; also verifies webhook signatures"`
	TwilioFrom                string  `env:"WAYMARK_TWILIO_FROM" help:"sending number in E.164 (or whatsapp:+...), unless a messaging service is used"`
	TwilioMessagingServiceSID string  `env:"WAYMARK_TWILIO_MESSAGING_SERVICE_SID" help:"Twilio messaging service SID (MG...), instead of WAYMARK_TWILIO_FROM"`
	TwilioAPIURL              string  `env:"WAYMARK_TWILIO_API_URL" default:"https://api.twilio.com" help:"Twilio REST API base URL (for tests and regional edges)"`
	TwilioMPS                 float64 `env:"WAYMARK_TWILIO_MPS" default:"1" help:"SMS segments per second per sender, shared by all processes"`
	TwilioSmartEncoded        bool    `env:"WAYMARK_TWILIO_SMART_ENCODED" default:"false" help:"ask Twilio to replace look-alike characters in SMS so a message stays GSM-7 (waymark check shows what it saves)"`
	TwilioContentRetention    string  `env:"WAYMARK_TWILIO_CONTENT_RETENTION" help:"discard: ask Twilio to drop each message's body once sent (needs Message Redaction on the account; see docs/whatsapp.md); retain; empty leaves the account's setting"`

	TelegramToken         string `env:"WAYMARK_TELEGRAM_TOKEN" secret:"true" help:"Telegram bot token"`
	TelegramAPIURL        string `env:"WAYMARK_TELEGRAM_API_URL" default:"https://api.telegram.org" help:"Telegram Bot API base URL (for tests)"`
	TelegramWebhookSecret string `env:"WAYMARK_TELEGRAM_WEBHOOK_SECRET" secret:"true" help:"secret token Telegram sends with every webhook (1-256 of A-Z a-z 0-9 _ -)"`

	TelegramBotUsername string `env:"WAYMARK_TELEGRAM_BOT_USERNAME" help:"the bot's username without @, e.g. ExampleCheckInBot; enrolment then shows a https://t.me/<bot>?start=CODE link and its QR code"`

	TrustedProxies string        `env:"WAYMARK_TRUSTED_PROXIES" help:"comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed, e.g. 10.0.0.0/8; empty means the client address is the connection's (login limits count per client address)"`
	SessionTTL     time.Duration `env:"WAYMARK_SESSION_TTL" default:"12h" help:"how long a caseworker stays signed in"`

	SchedulerTick   time.Duration `env:"WAYMARK_SCHEDULER_TICK" default:"15s" help:"how often the scheduler looks for due reminders"`
	OutboxLease     time.Duration `env:"WAYMARK_OUTBOX_LEASE" default:"2m" help:"how long a process's claim of a message it is about to send lasts (10s to 1h); on Redis, the messages a process that died had claimed wait this long before another sends them, and one provider call may take a quarter of it, at most 30s"`
	OutboxDoubtWait time.Duration `env:"WAYMARK_OUTBOX_DOUBT_WAIT" default:"5m" help:"how long after its send began a message in doubt (the process sending it stopped, or Twilio did not answer) waits for Twilio's status callback before it is sent again (1s to 1h); Telegram, which has no such callback, sends it again at once"`
	ShutdownTimeout time.Duration `env:"WAYMARK_SHUTDOWN_TIMEOUT" default:"15s" help:"how long shutdown waits for requests in flight"`
}

// Field describes one configuration variable, for help and documentation.
type Field struct {
	Env, Default, Help string
	Secret             bool
}

// Fields lists every variable in declaration order.
func Fields() []Field {
	t := reflect.TypeFor[Config]()
	out := make([]Field, 0, t.NumField())
	for f := range t.Fields() {
		out = append(out, Field{Env: f.Tag.Get("env"), Default: f.Tag.Get("default"), Help: f.Tag.Get("help"), Secret: f.Tag.Get("secret") == "true"})
	}
	return out
}

// Load reads the configuration from getenv, applying overrides (from flags,
// keyed by variable name) last. It returns every bad value at once, and the
// names of WAYMARK_* variables it does not know among environ.
func Load(getenv func(string) string, environ []string, overrides map[string]string) (Config, []string, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	known := map[string]bool{}
	var errs []error
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("env")
		known[name] = true
		raw, ok := overrides[name]
		if !ok {
			raw = getenv(name)
		}
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			continue
		}
		if err := set(v.Field(i), raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "WAYMARK_") && !known[name] && !strings.HasPrefix(name, "WAYMARK_TEST_") {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if err := errors.Join(errs...); err != nil {
		return c, unknown, err
	}
	return c, unknown, c.Validate()
}

func set(f reflect.Value, raw string) error {
	if f.Type() == reflect.TypeFor[Switch]() {
		if _, err := Switch(raw).on(false); err != nil {
			return err
		}
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		f.SetBool(b)
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		f.SetFloat(x)
	case reflect.Int64: // time.Duration
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 15s or 2m", raw)
		}
		f.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported field kind %s", f.Kind())
	}
	return nil
}

// Validate checks each value and reports every problem at once. Messages
// name the variable but never echo a secret.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if c.Addr == "" {
		bad("WAYMARK_ADDR", "must not be empty")
	}
	if c.ProgrammePoll < 100*time.Millisecond || c.ProgrammePoll > time.Hour {
		bad("WAYMARK_PROGRAMME_POLL", "must be between 100ms and 1h, like 2s")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			bad("WAYMARK_PUBLIC_URL", "%q is not an http(s) URL like https://waymark.example.org", c.PublicURL)
		case strings.HasSuffix(c.PublicURL, "/") || u.RawQuery != "":
			bad("WAYMARK_PUBLIC_URL", "give the base URL without a trailing slash or query")
		}
	}
	if c.SecretKey != "" {
		if _, err := seal.ParseKey(c.SecretKey); err != nil {
			bad("WAYMARK_SECRET_KEY", "%v (waymark keygen prints a valid key)", err)
		}
	} else if c.RedisURL != "" {
		bad("WAYMARK_SECRET_KEY", "must be set when the store is Redis, so that every process seals addresses with the same key")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("WAYMARK_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("WAYMARK_LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	for name, dir := range map[string]string{"WAYMARK_FLOWS_DIR": c.FlowsDir, "WAYMARK_LOCALES_DIR": c.LocalesDir} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			bad(name, "%q is not a directory", dir)
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("WAYMARK_REDIS_URL", "is not a redis:// or rediss:// URL")
		}
	}
	if c.RedisSentinelMaster != "" && c.RedisCluster {
		bad("WAYMARK_REDIS_SENTINEL_MASTER", "cannot be used together with WAYMARK_REDIS_CLUSTER")
	}
	if c.TwilioAccountSID != "" || c.TwilioAuthToken != "" {
		if !strings.HasPrefix(c.TwilioAccountSID, "AC") || !alnum(c.TwilioAccountSID) {
			bad("WAYMARK_TWILIO_ACCOUNT_SID", "must be an account SID starting with AC")
		}
		if c.TwilioAuthToken == "" || !alnum(c.TwilioAuthToken) {
			bad("WAYMARK_TWILIO_AUTH_TOKEN", "must be set (letters and digits only) when Twilio is configured")
		}
		if (c.TwilioFrom == "") == (c.TwilioMessagingServiceSID == "") {
			bad("WAYMARK_TWILIO_FROM", "set exactly one of WAYMARK_TWILIO_FROM or WAYMARK_TWILIO_MESSAGING_SERVICE_SID")
		}
		if c.PublicURL == "" {
			bad("WAYMARK_PUBLIC_URL", "must be set when Twilio is configured: webhook signatures are checked against it")
		}
	}
	if u, err := url.Parse(c.TwilioAPIURL); err != nil || u.Host == "" {
		bad("WAYMARK_TWILIO_API_URL", "%q is not a URL", c.TwilioAPIURL)
	}
	if r := c.TwilioContentRetention; r != "" && r != "discard" && r != "retain" {
		bad("WAYMARK_TWILIO_CONTENT_RETENTION", "must be discard, retain or empty, not %q", r)
	}
	if c.TwilioMPS <= 0 {
		bad("WAYMARK_TWILIO_MPS", "must be above 0")
	}
	if c.TelegramToken != "" {
		if c.TelegramWebhookSecret == "" {
			bad("WAYMARK_TELEGRAM_WEBHOOK_SECRET", "must be set when WAYMARK_TELEGRAM_TOKEN is, or anyone could post fake updates")
		}
		if c.PublicURL == "" {
			bad("WAYMARK_PUBLIC_URL", "must be set when Telegram is configured")
		}
	}
	if s := c.TelegramWebhookSecret; s != "" && !validTelegramSecret(s) {
		bad("WAYMARK_TELEGRAM_WEBHOOK_SECRET", "must be 1-256 characters of A-Z a-z 0-9 _ -")
	}
	if u, err := url.Parse(c.TelegramAPIURL); err != nil || u.Host == "" {
		bad("WAYMARK_TELEGRAM_API_URL", "%q is not a URL", c.TelegramAPIURL)
	}
	if c.TelegramBotUsername != "" && !validBotUsername(c.TelegramBotUsername) {
		bad("WAYMARK_TELEGRAM_BOT_USERNAME", "%q is not a bot username: 5-32 of A-Z a-z 0-9 _, ending in bot, without @", c.TelegramBotUsername)
	}
	if _, err := c.TrustedProxyNets(); err != nil {
		bad("WAYMARK_TRUSTED_PROXIES", "%v", err)
	}
	if c.SessionTTL < 5*time.Minute || c.SessionTTL > 30*24*time.Hour {
		bad("WAYMARK_SESSION_TTL", "must be between 5m and 720h")
	}
	if c.SchedulerTick < time.Second {
		bad("WAYMARK_SCHEDULER_TICK", "must be at least 1s")
	}
	if c.OutboxLease < 10*time.Second || c.OutboxLease > time.Hour {
		bad("WAYMARK_OUTBOX_LEASE", "must be between 10s and 1h")
	}
	if c.OutboxDoubtWait < time.Second || c.OutboxDoubtWait > time.Hour {
		bad("WAYMARK_OUTBOX_DOUBT_WAIT", "must be between 1s and 1h")
	}
	if c.ShutdownTimeout <= 0 {
		bad("WAYMARK_SHUTDOWN_TIMEOUT", "must be above 0")
	}
	return errors.Join(errs...)
}

// TrustedProxyNets parses WAYMARK_TRUSTED_PROXIES. A bare address is a
// network of one. Empty means none: no forwarded header is believed.
// SimulatorOn says whether /simulator is served. "auto" turns it on for
// the quick start and off as soon as a real channel is configured: the
// simulator is for trying flows, not for the internet.
func (c Config) SimulatorOn() bool {
	on, _ := c.Simulator.on(c.TwilioAccountSID == "" && c.TelegramToken == "") // Load refuses a bad value
	return on
}

// Switch is true, false, or auto (decided by the rest of the settings).
type Switch string

func (s Switch) on(auto bool) (bool, error) {
	v := strings.TrimSpace(string(s))
	if v == "" || strings.EqualFold(v, "auto") {
		return auto, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true, false or auto", string(s))
	}
	return b, nil
}

func (c Config) TrustedProxyNets() ([]*net.IPNet, error) {
	var out []*net.IPNet
	var errs []error
	for part := range strings.SplitSeq(c.TrustedProxies, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if ip := net.ParseIP(part); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", part))
			continue
		}
		if ones, _ := n.Mask.Size(); ones == 0 {
			errs = append(errs, fmt.Errorf("%q would trust every address: name your proxies' networks", part))
			continue
		}
		out = append(out, n)
	}
	return out, errors.Join(errs...)
}

// validBotUsername follows Telegram's rules for bot usernames.
func validBotUsername(s string) bool {
	if len(s) < 5 || len(s) > 32 || !strings.HasSuffix(strings.ToLower(s), "bot") {
		return false
	}
	for _, r := range s {
		if !(alnum(string(r)) || r == '_') {
			return false
		}
	}
	return true
}

// KeyFile is where embedded mode keeps a generated secret key.
func (c Config) KeyFile() string { return filepath.Join(c.DataDir, "secret.key") }

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validTelegramSecret(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(alnum(string(r)) || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
