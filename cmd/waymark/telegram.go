package main

import (
	"context"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/config"
)

// telegramCmd registers the webhook with Telegram, or shows its status.
func telegramCmd(ctx context.Context, env cmdEnv, args []string) int {
	if len(args) != 1 || (args[0] != "set-webhook" && args[0] != "info") {
		fmt.Fprintln(env.stderr, "usage: waymark telegram set-webhook | info")
		return 2
	}
	cfg, _, err := config.Load(env.getenv, env.environ, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark: configuration is not valid:\n%v\n", err)
		return 1
	}
	if cfg.TelegramToken == "" {
		fmt.Fprintln(env.stderr, "waymark telegram: WAYMARK_TELEGRAM_TOKEN is not set")
		return 1
	}
	ch, err := telegram.New(telegram.Options{Token: cfg.TelegramToken, APIURL: cfg.TelegramAPIURL, WebhookSecret: cfg.TelegramWebhookSecret})
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark telegram:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if args[0] == "set-webhook" {
		if err := ch.SetWebhook(ctx, cfg.PublicURL); err != nil {
			fmt.Fprintln(env.stderr, "waymark telegram set-webhook:", err)
			return 1
		}
		fmt.Fprintf(env.stdout, "webhook set to %s\n", telegram.WebhookURL(cfg.PublicURL))
		return 0
	}
	st, err := ch.WebhookInfo(ctx)
	if err != nil {
		fmt.Fprintln(env.stderr, "waymark telegram info:", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "url:             %s\npending updates: %d\nallowed updates: %v\n", st.URL, st.PendingUpdateCount, st.AllowedUpdates)
	if st.LastErrorMessage != "" {
		fmt.Fprintf(env.stdout, "last error:      %s (%s)\n", st.LastErrorMessage, st.LastErrorAt.Format(time.RFC3339))
	}
	problems := st.Problems(cfg.PublicURL, time.Now())
	for _, p := range problems {
		fmt.Fprintln(env.stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}
