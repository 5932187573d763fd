package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/redact"
)

// Every log line of the process goes through one redacting handler
// (internal/redact): Waymark's own loggers, slog's default (which the
// stores and the log package use), and go-redis's internal logger.

// protectLog returns log behind the redaction layer, knowing every secret
// of cfg and any extra ones (a generated key), and makes it the process's
// default for slog, the log package and go-redis.
func protectLog(log *slog.Logger, cfg config.Config, extra ...string) *slog.Logger {
	secrets := append(secretValues(cfg), extra...)
	var h *redact.Handler
	if rh, ok := log.Handler().(*redact.Handler); ok {
		h = rh.WithSecrets(secrets...)
	} else {
		h = redact.New(log.Handler(), secrets...)
	}
	out := slog.New(h)
	slog.SetDefault(out)
	goredis.SetLogger(redisLogger{out})
	return out
}

// secretValues lists the values of the configuration fields marked
// secret, and the password of the Redis URL on its own.
func secretValues(cfg config.Config) []string {
	var out []string
	v := reflect.ValueOf(cfg)
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("secret") == "true" && v.Field(i).Kind() == reflect.String {
			out = append(out, v.Field(i).String())
		}
	}
	if u, err := url.Parse(cfg.RedisURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
	}
	return out
}

// keySecret is how a raw key appears if it is ever printed: base64.
func keySecret(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// redisLogger passes go-redis's own messages (reconnections, sentinel
// failovers) to slog, so that they are redacted and formatted like the
// rest.
type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.InfoContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}
