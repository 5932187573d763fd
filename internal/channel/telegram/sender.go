package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// maxCallbackData is Telegram's limit on a button's data, in bytes.
const maxCallbackData = 64

// Send sends msg to the chat whose ID is address, as plain text (no parse
// mode, so no translator's or person's text can break it), its choices as
// inline buttons under the last part. A text over MaxMessageUnits goes as
// several messages; the provider ID lists their message IDs.
//
// If a later part fails after an earlier one went, the whole message is
// retried and the earlier part arrives twice: Waymark's messages are far
// shorter than the limit, and a repeated paragraph does less harm than a
// lost one.
//
// Errors are *outbox.PermanentError, *outbox.RetryAfterError or
// *outbox.TemporaryError and carry codes only, never the chat ID or text.
func (c *Channel) Send(ctx context.Context, address string, msg store.OutboundMessage) (string, error) {
	if msg.Channel != store.Telegram {
		return "", &outbox.PermanentError{Code: "unsupported_channel"}
	}
	chatID, err := strconv.ParseInt(address, 10, 64)
	if err != nil || chatID == 0 {
		return "", &outbox.PermanentError{Code: "bad_address", Unreachable: true}
	}
	if strings.TrimSpace(msg.Text) == "" {
		return "", &outbox.PermanentError{Code: "empty_text"} // Telegram refuses it
	}
	parts := splitText(msg.Text, MaxMessageUnits)
	ids := make([]string, 0, len(parts))
	for i, p := range parts {
		var kb *tgbotapi.InlineKeyboardMarkup
		if i == len(parts)-1 {
			kb = keyboard(msg.Choices)
		}
		id, err := c.sendPart(ctx, chatID, p, kb)
		if err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, ","), nil
}

// sendPart makes one sendMessage call and returns Telegram's message ID.
func (c *Channel) sendPart(ctx context.Context, chatID int64, text string, kb *tgbotapi.InlineKeyboardMarkup) (string, error) {
	cfg := tgbotapi.NewMessage(chatID, text)
	if kb != nil {
		cfg.ReplyMarkup = *kb // a nil pointer here would be sent as "null"
	}
	b, cl := c.bot(ctx)
	resp, err := b.Request(cfg)
	if err != nil {
		return "", classify(ctx, err, cl.status)
	}
	// The message went; an unreadable result must not make it go again.
	var sent struct {
		MessageID int64 `json:"message_id"`
	}
	if json.Unmarshal(resp.Result, &sent) != nil || sent.MessageID == 0 {
		return "", nil
	}
	return strconv.FormatInt(sent.MessageID, 10), nil
}

// keyboard lays out choices as inline buttons, one a row so that long
// labels and right-to-left scripts stay whole. A button's data is always
// "c:N", which HandleWebhook reads back as the answer N.
func keyboard(choices []store.Choice) *tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, ch := range choices {
		if ch.Number < 1 {
			continue
		}
		data := "c:" + strconv.Itoa(ch.Number)
		if len(data) > maxCallbackData {
			continue
		}
		label := strings.TrimSpace(ch.Label)
		if label == "" {
			label = strconv.Itoa(ch.Number)
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(label, data)))
	}
	if len(rows) == 0 {
		return nil
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// Throttles draws each message on its chat's budget and on the bot's, one
// unit for each part it is sent in. The chat's budget is keyed by the
// link's blind index, never the chat ID.
func (c *Channel) Throttles(msg store.OutboundMessage) []outbox.Throttle {
	units := len(splitText(msg.Text, MaxMessageUnits))
	return []outbox.Throttle{
		{Key: "telegram:chat:" + msg.LinkIndex, Units: units, PerSecond: c.chatRate},
		{Key: c.botKey, Units: units, PerSecond: c.botRate},
	}
}

// classify turns an error of the library into the outbox's error kinds.
// The library reports Telegram's refusals as *tgbotapi.Error and ignores
// the HTTP status, which the call recorded for answers that are not JSON
// (a proxy's error page).
func classify(ctx context.Context, err error, status int) error {
	if te, ok := errors.AsType[*tgbotapi.Error](err); ok {
		return classifyAPI(te)
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &outbox.RetryAfterError{Code: "429", After: time.Second}
	case status >= 500:
		return &outbox.TemporaryError{Code: strconv.Itoa(status), Err: errors.New("telegram: server error")}
	case ctx.Err() != nil:
		return &outbox.TemporaryError{Code: "timeout", Err: ctx.Err()}
	case status == 0:
		return &outbox.TemporaryError{Code: "network", Err: scrub(err)}
	}
	// An answer came but could not be read: whether the message went is
	// unknown, and trying again is the lesser harm.
	return &outbox.TemporaryError{Code: "bad_response", Err: errors.New("telegram: unreadable answer")}
}

func classifyAPI(te *tgbotapi.Error) error {
	desc := strings.ToLower(te.Message)
	switch {
	case te.Code == http.StatusTooManyRequests || te.RetryAfter > 0:
		after := time.Duration(te.RetryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		return &outbox.RetryAfterError{Code: "429", After: after}
	case te.Code == http.StatusForbidden:
		// Blocked by the person, account deleted, or never started: the
		// chat cannot be reached until the person writes again.
		return &outbox.PermanentError{Code: forbiddenReason(desc), Unreachable: true}
	case te.Code == http.StatusBadRequest && strings.Contains(desc, "chat not found"):
		return &outbox.PermanentError{Code: "chat_not_found", Unreachable: true}
	case te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound:
		// A revoked or mistyped token: an operator fixes it, and the
		// messages wait for that rather than fail at once.
		return &outbox.TemporaryError{Code: strconv.Itoa(te.Code), Err: errors.New("telegram: the bot token was refused")}
	case te.Code >= 500 || te.Code == 0:
		return &outbox.TemporaryError{Code: strconv.Itoa(te.Code), Err: errors.New("telegram: server error")}
	}
	// Another refusal (a malformed request): the same request gets the same
	// answer, and it says nothing about the person.
	return &outbox.PermanentError{Code: strconv.Itoa(te.Code)}
}

// forbiddenReason names why Telegram refused a chat, for the link's Reason.
// Only a label depends on the wording; the decision rests on the code.
func forbiddenReason(desc string) string {
	switch {
	case strings.Contains(desc, "blocked"):
		return ReasonBlocked
	case strings.Contains(desc, "deactivated"):
		return "deactivated"
	}
	return "403"
}

// errorCode is a short, loggable name for a failed call.
func errorCode(err error) string {
	var (
		te   *tgbotapi.Error
		perm *outbox.PermanentError
		ra   *outbox.RetryAfterError
		tmp  *outbox.TemporaryError
	)
	switch {
	case errors.As(err, &te):
		return strconv.Itoa(te.Code)
	case errors.As(err, &perm):
		return perm.Code
	case errors.As(err, &ra):
		return ra.Code
	case errors.As(err, &tmp):
		return tmp.Code
	}
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	return "network"
}
