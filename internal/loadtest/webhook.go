package loadtest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Target is the server under load and what it needs to trust the traffic:
// the same Twilio credentials, public URL and Telegram secret it was
// started with.
type Target struct {
	// BaseURL is where requests are sent, e.g. http://127.0.0.1:8080.
	BaseURL string
	// PublicURL is the base URL Twilio signatures are computed over
	// (WAYMARK_PUBLIC_URL); BaseURL when empty.
	PublicURL string

	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioTo         string // the programme's number (WAYMARK_TWILIO_FROM)

	TelegramSecret string // WAYMARK_TELEGRAM_WEBHOOK_SECRET
}

// Webhook routes, as the server mounts them.
const (
	TwilioInboundPath = "/webhooks/twilio/sms"
	TelegramPath      = "/webhooks/telegram"
)

// SignTwilio computes X-Twilio-Signature the way Twilio does: HMAC-SHA1,
// keyed with the auth token, of the full URL followed by every POST
// parameter's name and value, sorted by name.
func SignTwilio(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha1.New, []byte(authToken))
	h.Write([]byte(fullURL))
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte(form.Get(k)))
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TwilioRequest is an inbound SMS webhook as Twilio posts it, signed. sid
// is the MessageSid, the server's dedupe key.
func (t Target) TwilioRequest(from, body, sid string) *http.Request {
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {t.TwilioAccountSID},
		"From": {from}, "To": {t.TwilioTo}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		"FromCountry": {"GB"}, "ToCountry": {"GB"}, "FromCity": {""}, "FromZip": {""},
	}
	public := t.PublicURL
	if public == "" {
		public = t.BaseURL
	}
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(t.BaseURL, "/")+TwilioInboundPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", SignTwilio(t.TwilioAuthToken, strings.TrimRight(public, "/")+TwilioInboundPath, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	return req
}

// TelegramRequest is a text message update from a private chat, as
// Telegram posts it, with the webhook's secret token.
func (t Target) TelegramRequest(chatID int64, text string, updateID int64) *http.Request {
	from := map[string]any{"id": chatID, "is_bot": false, "first_name": "Load"}
	b, _ := json.Marshal(map[string]any{
		"update_id": updateID,
		"message": map[string]any{
			"message_id": updateID % 1_000_000_000, "date": time.Now().Unix(), "from": from,
			"chat": map[string]any{"id": chatID, "type": "private", "first_name": "Load"}, "text": text,
		},
	})
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(t.BaseURL, "/")+TelegramPath, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", t.TelegramSecret)
	return req
}

// request builds the webhook of one message from p.
func (t Target) request(p Person, text, sid string, updateID int64) *http.Request {
	if p.Channel == "telegram" {
		id, _ := strconv.ParseInt(p.Address, 10, 64)
		return t.TelegramRequest(id, text, updateID)
	}
	return t.TwilioRequest(p.Address, text, sid)
}
