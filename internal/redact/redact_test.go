package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Known values that must never reach a log line.
const (
	phone      = "+447700900123"
	phoneSpace = "+44 7700 900123"
	national   = "07700 900 123"
	chatID     = "987654321"
	botToken   = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	sealKey    = "q3K8x1vJ0mZ2nYb4cW6eR9tU7iO5pA1sD3fG8hJ2kL0="
	authToken  = "authtoken0123456789"
	webhookSec = "s3cr3t-Webhook_token"
	bodyText   = "I am at the station, please call"
	password   = "correct horse battery staple"
)

type person struct{ Phone string }

func (p person) String() string { return "person " + p.Phone }

type lazy struct{}

func (lazy) LogValue() slog.Value { return slog.StringValue("resolved " + phone) }

// logBoth logs through a redacting text handler and a redacting JSON
// handler and returns both outputs.
func logBoth(t *testing.T, fn func(l *slog.Logger)) string {
	t.Helper()
	var text, js bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	fn(Logger(slog.NewTextHandler(&text, opts), sealKey, authToken, webhookSec, botToken))
	fn(Logger(slog.NewJSONHandler(&js, opts), sealKey, authToken, webhookSec, botToken))
	return text.String() + js.String()
}

func TestNothingPersonalOrSecretGetsThrough(t *testing.T) {
	cases := map[string]func(l *slog.Logger){
		"denied keys": func(l *slog.Logger) {
			l.Info("inbound", "from", phone, "to", "+15005550006", "body", bodyText, "Text", bodyText,
				"chat_id", chatID, "ChatID", 42, "address", "whatsapp:"+phone, "password", password,
				"auth_token", "whatever", "webhook-secret", "x", "enrolment_code", "K7Q2M9XD", "label", "Maria G.")
		},
		"phone numbers in the message": func(l *slog.Logger) {
			l.Warn("could not send to " + phone + " or " + phoneSpace + " or " + national)
		},
		"chat ID in an int attribute": func(l *slog.Logger) { l.Info("update", "recipient", int64(987654321)) },
		"errors quoting their input": func(l *slog.Logger) {
			l.Error("send failed", "err", fmt.Errorf("post https://api.telegram.org/bot%s/sendMessage: chat %s not found", botToken, chatID))
		},
		"secrets anywhere": func(l *slog.Logger) {
			l.Info("config "+sealKey, "detail", "token is "+authToken, "hdr", webhookSec)
		},
		"bearer tokens": func(l *slog.Logger) {
			l.Info("request", "header", "Authorization: Bearer wmk_abcdefghijklmnopqrstuvwxyz012345")
		},
		"credentials in a URL": func(l *slog.Logger) {
			l.Error("redis", "err", errors.New("dial redis://default:hunter2hunter2@10.0.0.5:6379/0: refused"))
		},
		"groups, WithAttrs and WithGroup": func(l *slog.Logger) {
			l.With("from", phone).WithGroup("msg").Info("x", slog.Group("sender", "phone", phone, "note", "call "+phone))
		},
		"Stringers, LogValuers and structs": func(l *slog.Logger) {
			l.Info("x", "who", person{Phone: phone}, "lazy", lazy{}, "raw", struct{ N string }{phone})
		},
	}
	leaks := []string{phone, "7700900123", "7700 900123", national, chatID, botToken, sealKey, authToken,
		webhookSec, bodyText, password, "K7Q2M9XD", "Maria", "hunter2", "wmk_abcdefghijklmnop", "+15005550006"}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			out := logBoth(t, fn)
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("log output contains %q:\n%s", leak, out)
				}
			}
			if !strings.Contains(out, Mask) {
				t.Errorf("nothing was masked:\n%s", out)
			}
		})
	}
}

// What helps an operator must survive: pseudonymous IDs, routes, statuses,
// provider error codes, times, durations, counters.
func TestOrdinaryLogLinesAreUnchanged(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	out := logBoth(t, func(l *slog.Logger) {
		l.Info("outbox: temporary failure, will retry", "participant_id", "p_k7q2m9xdab3c", "message_id", "m_abc234",
			"code", "21610", "attempt", 3, "wait", (90 * time.Second).String(), "status", 503,
			"route", "/webhooks/twilio/sms", "at", at, "date", at.Format(time.RFC3339), "update_id", 812345678,
			"err", errors.New("store: not found"))
	})
	for _, keep := range []string{"p_k7q2m9xdab3c", "m_abc234", "21610", "attempt=3", "1m30s", "503",
		"/webhooks/twilio/sms", "2026-01-05T09:00:00Z", "812345678", "store: not found", "will retry"} {
		if !strings.Contains(out, keep) {
			t.Errorf("log output lost %q:\n%s", keep, out)
		}
	}
	if strings.Contains(out, Mask) {
		t.Errorf("an ordinary line was masked:\n%s", out)
	}
}

func TestShortSecretsAreIgnored(t *testing.T) {
	var b bytes.Buffer
	Logger(slog.NewTextHandler(&b, nil), "", "ab", "on").Info("connection on port", "state", "ok")
	if strings.Contains(b.String(), Mask) {
		t.Errorf("a two-letter secret cut ordinary words: %s", b.String())
	}
}

func TestEnabledFollowsTheWrappedHandler(t *testing.T) {
	var b bytes.Buffer
	l := Logger(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l.Info("hidden")
	l.Warn("shown")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), "shown") {
		t.Errorf("levels not respected: %s", b.String())
	}
}

func TestDeniedKey(t *testing.T) {
	for key, want := range map[string]bool{
		"from": true, "From": true, "chat_id": true, "chatId": true, "api-token": true, "new_password": true,
		"sender_phone": true, "participant_id": false, "code": false, "status": false, "err": false, "kind": false,
	} {
		if got := DeniedKey(key); got != want {
			t.Errorf("DeniedKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func BenchmarkHandleOrdinaryLine(b *testing.B) {
	var buf bytes.Buffer
	l := Logger(slog.NewJSONHandler(&buf, nil), sealKey, authToken)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		l.Info("turn", "participant", "p_k7q2m9xdab3c", "effects", 2, "replies", 1)
	}
}

func BenchmarkHandleLineWithNumber(b *testing.B) {
	var buf bytes.Buffer
	l := Logger(slog.NewJSONHandler(&buf, nil), sealKey, authToken)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		l.Warn("send failed", "err", errors.New("number "+phone+" is unreachable"))
	}
}

func TestWithSecretsAddsToTheList(t *testing.T) {
	var b bytes.Buffer
	h := New(slog.NewTextHandler(&b, nil), authToken).WithSecrets(sealKey)
	slog.New(h).Info("both " + authToken + " and " + sealKey)
	if strings.Contains(b.String(), authToken) || strings.Contains(b.String(), sealKey) {
		t.Errorf("a secret got through: %s", b.String())
	}
}

func TestDurationsAreNotMangled(t *testing.T) {
	for _, in := range []string{"wait=1.234567891s", "retry in 2m3.123456789s", "took 150.0000012ms", "+15551234567 after 1.5s", "+15551234567.5s"} {
		out := Text(in)
		for _, d := range []string{"1.234567891s", "3.123456789s", "150.0000012ms", "1.5s"} {
			if strings.Contains(in, d) && !strings.Contains(out, d) {
				t.Errorf("Text(%q) = %q: the duration %s was mangled", in, out, d)
			}
		}
		if strings.Contains(out, "15551234567") {
			t.Errorf("Text(%q) = %q: the number stayed", in, out)
		}
	}
}
