package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
)

// SecretHeader carries the secret token Telegram was given in setWebhook.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// ReasonBlocked is a Telegram link's Reason once the person has blocked the
// bot; the caseworker sees "can't reach" with "telegram:blocked".
const ReasonBlocked = "blocked"

const (
	// maxUpdateBytes bounds what is read of one update, whatever the
	// server's own limit.
	maxUpdateBytes = 64 << 10
	// groupRepliesPerDay bounds the polite refusals one group gets, so
	// that a busy group cannot make the bot talk all day.
	groupRepliesPerDay = 3
)

// commandKeywords maps bot commands to the global keyword they stand for;
// the keyword's first word in the default language is handed on, so that
// the flows decide what each does. Plain /start (opening the bot without a
// code) shows the menu.
var commandKeywords = map[string]string{
	"start":    "keyword.menu",
	"menu":     "keyword.menu",
	"help":     "keyword.help",
	"stop":     "keyword.stop",
	"language": "keyword.language",
}

// HandleWebhook receives one update on POST /webhooks/telegram. It checks
// the secret token before reading the body, answers every button press,
// hands messages to the conversation, and answers 200 for anything it has
// dealt with or chosen to ignore, so that Telegram does not resend it. A
// store failure gives 5xx: Telegram retries and the dedupe key keeps a
// retry from counting twice.
func (c *Channel) HandleWebhook(ec echo.Context) error {
	got := sha256.Sum256([]byte(ec.Request().Header.Get(SecretHeader)))
	if !c.hasSec || subtle.ConstantTimeCompare(got[:], c.secret[:]) != 1 {
		return echo.NewHTTPError(http.StatusUnauthorized, "unauthorized")
	}
	if c.conv == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "telegram webhook not configured")
	}
	// Telegram always posts JSON; anything else is refused before it is read.
	if mt, _, err := mime.ParseMediaType(ec.Request().Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the update as application/json")
	}
	body := http.MaxBytesReader(ec.Response(), ec.Request().Body, maxUpdateBytes)
	u, err := decodeUpdate(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "malformed update")
	}
	switch {
	case u.Message != nil:
		return c.onMessage(ec, u)
	case u.CallbackQuery != nil:
		return c.onCallback(ec, u)
	case u.MyChatMember != nil:
		return c.onChatMember(ec, u)
	case bool(u.EditedMessage):
		// An edit is not a new answer: acknowledged and dropped.
		c.log.Debug("telegram: edited message ignored", "update_id", u.UpdateID)
	}
	return ec.NoContent(http.StatusOK)
}

func (c *Channel) onMessage(ec echo.Context, u update) error {
	m := u.Message
	if !m.Chat.private() {
		return c.refuseGroup(ec, m.Chat)
	}
	in := conversation.Inbound{
		Channel:   store.Telegram,
		Address:   strconv.FormatInt(m.Chat.ID, 10),
		DedupeKey: u.dedupeKey(),
	}
	switch {
	case m.media():
		in.Problem = conversation.MediaOnly
	case strings.TrimSpace(m.Text) == "":
		// A service message (a pinned message, a changed setting): there
		// is nothing to answer.
		return ec.NoContent(http.StatusOK)
	case utf8.RuneCountInString(m.Text) > conversation.MaxText:
		in.Problem = conversation.TooLong
	default:
		c.readText(&in, m.Text)
	}
	return c.handle(ec, m.Chat.ID, in, "message")
}

// readText fills in the text of a message, turning /start CODE into an
// enrolment code and the other commands into their keywords.
func (c *Channel) readText(in *conversation.Inbound, text string) {
	in.Text = text
	name, args, ok := command(text)
	if !ok {
		return
	}
	if name == "start" {
		code, _, _ := strings.Cut(args, " ")
		if startPayload.MatchString(code) {
			in.JoinCode, in.Text = code, ""
			return
		}
	}
	if id, ok := commandKeywords[name]; ok {
		if w := c.keyword(id); w != "" {
			in.Text = w
		}
	}
}

// keyword returns the first word of a keyword message in the default
// language, or "" if there is none.
func (c *Channel) keyword(id string) string {
	content := c.conv.Content()
	if content == nil {
		return ""
	}
	words := content.Locale.Words(content.Flows.Programme.DefaultLanguage, id)
	if len(words) == 0 {
		return ""
	}
	return words[0]
}

func (c *Channel) onCallback(ec echo.Context, u update) error {
	cq := u.CallbackQuery
	// Answered first and whatever follows: until it is, the person's app
	// shows a spinner on the button. A retried update is answered again,
	// which Telegram refuses harmlessly.
	c.answerCallback(ec.Request().Context(), cq.ID)
	if cq.Message == nil || !cq.Message.Chat.private() || cq.Message.Chat.ID == 0 {
		// Not a button on a message of ours in a private chat.
		return ec.NoContent(http.StatusOK)
	}
	n, ok := choiceNumber(cq.Data)
	if !ok {
		c.log.Debug("telegram: button press with unknown data ignored", "update_id", u.UpdateID)
		return ec.NoContent(http.StatusOK)
	}
	in := conversation.Inbound{
		Channel:   store.Telegram,
		Address:   strconv.FormatInt(cq.Message.Chat.ID, 10),
		Text:      strconv.Itoa(n),
		DedupeKey: u.dedupeKey(),
	}
	return c.handle(ec, cq.Message.Chat.ID, in, "button")
}

// answerCallback stops the spinner on a pressed button. A failure is
// logged and otherwise ignored: the press itself is still handled.
func (c *Channel) answerCallback(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.callTimeout)
	defer cancel()
	b, _ := c.bot(ctx)
	if _, err := b.Request(tgbotapi.NewCallback(id, "")); err != nil {
		c.log.Info("telegram: could not answer a button press", "code", errorCode(err))
	}
}

// handle runs one inbound message through the conversation and gives any
// direct reply in the webhook answer.
func (c *Channel) handle(ec echo.Context, chatID int64, in conversation.Inbound, kind string) error {
	out, err := c.conv.Handle(ec.Request().Context(), in)
	if err != nil {
		return fmt.Errorf("telegram: %s: %w", kind, err)
	}
	c.log.Debug("telegram: update handled", "kind", kind, "participant_id", out.ParticipantID,
		"duplicate", out.Duplicate, "problem", string(in.Problem))
	// A known person's replies were queued; an unknown sender's come back
	// in the answer, and a duplicate queued nothing.
	if c.wake != nil && len(out.Direct) == 0 && !out.Duplicate {
		c.wake()
	}
	return c.reply(ec, chatID, out.Direct)
}

// webhookReply is a Bot API call given as the webhook's answer: Telegram
// makes it itself, so that nothing about a sender Waymark does not know
// passes through the outbox.
type webhookReply struct {
	Method string `json:"method"`
	ChatID int64  `json:"chat_id"`
	Text   string `json:"text"`
}

// reply answers the webhook with the direct replies, if any, as one plain
// text message.
func (c *Channel) reply(ec echo.Context, chatID int64, texts []string) error {
	text := strings.TrimSpace(strings.Join(texts, "\n\n"))
	if text == "" {
		return ec.NoContent(http.StatusOK)
	}
	parts := splitText(text, MaxMessageUnits)
	if len(parts) == 1 {
		return ec.JSON(http.StatusOK, webhookReply{Method: "sendMessage", ChatID: chatID, Text: text})
	}
	// The answer carries a single call, and it would be made after any
	// sent now: send every part now, in order.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ec.Request().Context()), c.callTimeout)
	defer cancel()
	for _, p := range parts {
		if _, err := c.sendPart(ctx, chatID, p, nil); err != nil {
			c.log.Info("telegram: could not send a direct reply", "code", errorCode(err))
			break
		}
	}
	return ec.NoContent(http.StatusOK)
}

// refuseGroup tells a group, politely and a few times a day at most, that
// Waymark works only in private chats. Nothing about the group is kept
// but a counter under the blind index of its ID.
func (c *Channel) refuseGroup(ec echo.Context, ch *chat) error {
	if ch.Type == "channel" {
		return ec.NoContent(http.StatusOK)
	}
	ctx := ec.Request().Context()
	now := c.clock.Now()
	key := "tg:group:" + c.box.Index("telegram-group", strconv.FormatInt(ch.ID, 10))
	n, err := c.store.Increment(ctx, key, now.Add(24*time.Hour))
	if err != nil {
		return fmt.Errorf("telegram: count group replies: %w", err)
	}
	if n > groupRepliesPerDay {
		return ec.NoContent(http.StatusOK)
	}
	content := c.conv.Content()
	text := content.Locale.Render(content.Flows.Programme.DefaultLanguage, "group.refused",
		conversation.TemplateData(content, content.Flows.Programme.DefaultLanguage, nil))
	return c.reply(ec, ch.ID, []string{text})
}

func (c *Channel) onChatMember(ec echo.Context, u update) error {
	cm := u.MyChatMember
	if !cm.Chat.private() {
		// The bot was added to or removed from a group: nothing to do; a
		// message there gets the refusal.
		return ec.NoContent(http.StatusOK)
	}
	var err error
	switch cm.NewChatMember.Status {
	case "kicked":
		err = c.setReachable(ec.Request().Context(), cm.Chat.ID, false)
	case "member":
		err = c.setReachable(ec.Request().Context(), cm.Chat.ID, true)
	}
	if err != nil {
		return err
	}
	return ec.NoContent(http.StatusOK)
}

// setReachable records that a person blocked the bot (the link becomes
// unreachable and the caseworker sees "can't reach", never a missed
// check-in) or unblocked it (the link is restored and the "can't reach"
// items it raised are resolved). An unknown chat changes nothing.
//
// The link is written last: if anything before it fails, Telegram retries
// the update and the work is done again rather than lost.
func (c *Channel) setReachable(ctx context.Context, chatID int64, reachable bool) error {
	index := c.box.Index(string(store.Telegram), strconv.FormatInt(chatID, 10))
	link, err := c.store.GetLink(ctx, index)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("telegram: find link: %w", err)
	}
	if link.Unreachable != reachable {
		return nil // already so
	}
	now := c.clock.Now()
	pid := link.ParticipantID
	if !reachable {
		// The mark, the item and the entry in one step, as the outbox
		// marks a link: never a mark without its item.
		marked, err := c.store.MarkUnreachable(ctx, store.CantReach(link, ReasonBlocked, "participant", now))
		if err != nil {
			return fmt.Errorf("telegram: mark a blocked bot's link: %w", err)
		}
		if marked {
			c.log.Info("telegram: link reachability changed", "participant_id", pid, "reachable", reachable)
		}
		return nil
	}
	if err := c.resolveCantReach(ctx, pid, now); err != nil {
		return err
	}
	if err := c.store.AppendAudit(ctx, store.AuditEntry{
		ID: store.NewID("au_"), At: now, Actor: "participant", Action: "link_reachable",
		ParticipantID: pid, Detail: string(store.Telegram),
	}); err != nil {
		return fmt.Errorf("telegram: audit an unblocked bot: %w", err)
	}
	link.Unreachable, link.Reason = false, ""
	if err := c.store.PutLink(ctx, link); err != nil {
		return fmt.Errorf("telegram: update link: %w", err)
	}
	c.log.Info("telegram: link reachability changed", "participant_id", pid, "reachable", reachable)
	return nil
}

// resolveCantReach closes the open "can't reach" items that a Telegram
// failure raised for a person, now that they can be reached again.
func (c *Channel) resolveCantReach(ctx context.Context, pid string, now time.Time) error {
	items, err := c.store.AttentionOfMany(ctx, []string{pid}, true)
	if err != nil {
		return fmt.Errorf("telegram: attention of %s: %w", pid, err)
	}
	prefix := string(store.Telegram) + ":"
	for _, it := range items {
		if it.Kind != store.AttentionCantReach || !strings.HasPrefix(it.Reason, prefix) {
			continue
		}
		if err := c.store.ResolveAttention(ctx, it.ID, "system", "resolved", now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("telegram: resolve attention: %w", err)
		}
	}
	return nil
}
