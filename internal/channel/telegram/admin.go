package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// WebhookURL is the webhook address for a public base URL.
func WebhookURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + PublicWebhookPath
}

// SetWebhook registers publicURL + /webhooks/telegram with Telegram, with
// the secret token and AllowedUpdates. Pending updates are kept: they are
// messages people have already sent. Telegram accepts only https URLs on
// ports 443, 80, 88 and 8443; it says so in the error if not.
//
// The library's WebhookConfig has no secret_token, so the call is made
// with MakeRequest. Errors quote Telegram's description, never the token
// or the secret.
func (c *Channel) SetWebhook(ctx context.Context, publicURL string) error {
	if !c.hasSec {
		return errors.New("telegram: set-webhook needs the webhook secret (WAYMARK_TELEGRAM_WEBHOOK_SECRET)")
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("telegram: the public URL must be an https URL without query, such as https://waymark.example.org")
	}
	allowed, err := json.Marshal(AllowedUpdates)
	if err != nil {
		return fmt.Errorf("telegram: allowed updates: %w", err)
	}
	resp, err := c.request(ctx, "setWebhook", tgbotapi.Params{
		"url":             WebhookURL(publicURL),
		"secret_token":    c.secretText,
		"allowed_updates": string(allowed),
	})
	if err != nil {
		return err
	}
	var ok bool
	if json.Unmarshal(resp.Result, &ok) != nil || !ok {
		return errors.New("telegram: setWebhook: Telegram did not confirm the webhook")
	}
	return nil
}

// WebhookStatus is what Telegram reports about the bot's webhook.
type WebhookStatus struct {
	URL                string
	PendingUpdateCount int
	LastErrorAt        time.Time // zero when there was none
	LastErrorMessage   string
	MaxConnections     int
	AllowedUpdates     []string // empty means every kind but chat_member
	IPAddress          string
	CustomCertificate  bool
}

// WebhookInfo asks Telegram for the webhook's status.
func (c *Channel) WebhookInfo(ctx context.Context) (WebhookStatus, error) {
	resp, err := c.request(ctx, "getWebhookInfo", nil)
	if err != nil {
		return WebhookStatus{}, err
	}
	var info tgbotapi.WebhookInfo
	if err := json.Unmarshal(resp.Result, &info); err != nil {
		return WebhookStatus{}, errors.New("telegram: getWebhookInfo: unreadable answer")
	}
	st := WebhookStatus{
		URL:                info.URL,
		PendingUpdateCount: info.PendingUpdateCount,
		LastErrorMessage:   info.LastErrorMessage,
		MaxConnections:     info.MaxConnections,
		AllowedUpdates:     info.AllowedUpdates,
		IPAddress:          info.IPAddress,
		CustomCertificate:  info.HasCustomCertificate,
	}
	if info.LastErrorDate > 0 {
		st.LastErrorAt = time.Unix(int64(info.LastErrorDate), 0).UTC()
	}
	return st, nil
}

// Problems lists, in plain words, what is wrong with the webhook for a
// Waymark served at publicURL; none when all is well.
func (s WebhookStatus) Problems(publicURL string, now time.Time) []string {
	var out []string
	want := WebhookURL(publicURL)
	switch {
	case s.URL == "":
		out = append(out, "no webhook is set: run `waymark telegram set-webhook`")
	case s.URL != want:
		out = append(out, fmt.Sprintf("the webhook points to %s, not %s: run `waymark telegram set-webhook`", s.URL, want))
	}
	if s.URL != "" {
		// An empty list means Telegram's default, which includes them all.
		for _, kind := range AllowedUpdates {
			if len(s.AllowedUpdates) > 0 && !slices.Contains(s.AllowedUpdates, kind) {
				out = append(out, fmt.Sprintf("updates of kind %q are not asked for: run `waymark telegram set-webhook`", kind))
			}
		}
	}
	if !s.LastErrorAt.IsZero() && now.Sub(s.LastErrorAt) < 24*time.Hour {
		out = append(out, fmt.Sprintf("Telegram could not deliver an update at %s: %s",
			s.LastErrorAt.Format(time.RFC3339), s.LastErrorMessage))
	}
	if s.PendingUpdateCount > 100 {
		out = append(out, fmt.Sprintf("%d updates are waiting to be delivered", s.PendingUpdateCount))
	}
	return out
}
