package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
)

func TestTelegramSetWebhookAndInfo(t *testing.T) {
	const token = "123456:TESTtoken"
	fake := telegramtest.New(t, token)
	env := map[string]string{
		"WAYMARK_TELEGRAM_TOKEN":          token,
		"WAYMARK_TELEGRAM_API_URL":        fake.URL,
		"WAYMARK_TELEGRAM_WEBHOOK_SECRET": "s3cret_token-1",
		"WAYMARK_PUBLIC_URL":              "https://waymark.example.org",
	}
	runCmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"waymark"}, args...), func(k string) string { return env[k] }, nil, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := runCmd("telegram", "set-webhook"); code != 0 {
		t.Fatalf("set-webhook exit %d: %s %s", code, out, errs)
	}
	wh := fake.Webhook()
	if wh.URL != "https://waymark.example.org/webhooks/telegram" || wh.SecretToken != "s3cret_token-1" {
		t.Errorf("webhook registered as %+v", wh)
	}
	code, out, errs := runCmd("telegram", "info")
	if code != 0 || !strings.Contains(out, "https://waymark.example.org/webhooks/telegram") {
		t.Errorf("info exit %d: %s %s", code, out, errs)
	}
	if strings.Contains(out+errs, token) || strings.Contains(out+errs, "s3cret") {
		t.Error("output shows the token or the secret")
	}
}
