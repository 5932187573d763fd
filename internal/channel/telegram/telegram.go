// Package telegram is Waymark's Telegram channel: it receives the bot's
// webhook (verified by its secret token before anything is read), turns
// updates into conversation turns, enrols people through /start deep links,
// keeps links reachable or not as people block and unblock the bot, and
// sends the outbox's messages with inline buttons through
// go-telegram-bot-api.
//
// Inbound updates are decoded into this package's own narrow types rather
// than the library's: a contact card carries a phone number, a location
// carries coordinates, and a sender carries a name and username. None of
// them is ever decoded into a Go value here, so none can reach a log or the
// store by mistake.
package telegram

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// DefaultAPIURL is Telegram's Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// WebhookPath is the channel's route under /webhooks; PublicWebhookPath is
// the same route from the server's root, as registered with Telegram.
const (
	WebhookPath       = "/telegram"
	PublicWebhookPath = "/webhooks" + WebhookPath
)

// AllowedUpdates are the update types the webhook asks Telegram for. Edited
// messages are asked for only to be acknowledged and ignored: an edit must
// not count as a second answer.
var AllowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// Default rates: Telegram's Bot FAQ asks for no more than about one message
// a second to one chat and about thirty a second from the whole bot.
const (
	DefaultChatPerSecond = 1
	DefaultBotPerSecond  = 30
)

// Store is what the Telegram channel reads and writes itself, beside the
// conversation: the links of chats, a blocked bot's mark and its
// can't-reach item, and the counters of stranger replies.
type Store interface {
	store.LinkMarks
	store.Counters
	store.Audit
	PutLink(ctx context.Context, l store.Link) error
	GetLink(ctx context.Context, index string) (store.Link, error)
	AttentionOfMany(ctx context.Context, participantIDs []string, openOnly bool) ([]store.AttentionItem, error)
	ResolveAttention(ctx context.Context, id, by, resolution string, at time.Time) error
}

// Options configure a Channel. Token is always needed. Conversation, Store
// and Box are needed to receive the webhook, and come together; the
// commands that only talk to Telegram (set-webhook, info) may leave them
// out.
type Options struct {
	Token         string // WAYMARK_TELEGRAM_TOKEN, "<bot id>:<secret>"
	APIURL        string // WAYMARK_TELEGRAM_API_URL; DefaultAPIURL when empty
	WebhookSecret string // WAYMARK_TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ -
	// BotUsername, without "@", spares a getMe call when deep links are
	// made; when empty it is asked of Telegram the first time it is needed.
	BotUsername string
	// HTTPClient carries every Bot API call; a client with a 10s timeout
	// when nil. A client without a timeout is given one.
	HTTPClient *http.Client

	Conversation *conversation.Service
	Store        Store
	Box          *seal.Box
	Clock        clock.Clock  // clock.System when nil
	Log          *slog.Logger // discarded when nil

	// Rate budgets in messages a second; the defaults above when zero.
	ChatPerSecond, BotPerSecond float64
	// CallTimeout bounds one call made while answering a webhook
	// (answerCallbackQuery, a long reply); default 5s.
	CallTimeout time.Duration
	// Wake tells the outbox a turn queued messages, so that replies leave
	// at once rather than at its next poll; may be nil.
	Wake func()
}

// Channel is the Telegram channel. It implements outbox.Sender and
// outbox.Throttler. Safe for concurrent use.
type Channel struct {
	token    string
	endpoint string // the library's fmt pattern: <base>/bot%s/%s
	// secretText is sent to setWebhook; secret, its hash, is what
	// requests are compared with.
	secretText string
	secret     [sha256.Size]byte
	hasSec     bool
	http       *http.Client

	conv  *conversation.Service
	store Store
	box   *seal.Box
	clock clock.Clock
	log   *slog.Logger

	chatRate, botRate float64
	botKey            string
	callTimeout       time.Duration
	wake              func()

	mu       sync.Mutex
	username string
}

var (
	_ outbox.Sender    = (*Channel)(nil)
	_ outbox.Throttler = (*Channel)(nil)
)

var (
	tokenPattern  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// New checks opts and returns a Channel. It makes no network call: the
// library's constructors call getMe and fail when Telegram cannot be
// reached, and Waymark must start all the same. Its errors never include
// the token or the secret.
func New(opts Options) (*Channel, error) {
	if !tokenPattern.MatchString(opts.Token) {
		return nil, errors.New("telegram: the bot token must look like 123456:ABC-def (as BotFather gives it)")
	}
	base := opts.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || strings.Contains(base, "%") {
		return nil, errors.New("telegram: the API URL must be a plain http(s) URL such as " + DefaultAPIURL)
	}
	if opts.WebhookSecret != "" && !secretPattern.MatchString(opts.WebhookSecret) {
		return nil, errors.New("telegram: the webhook secret must be 1 to 256 of A-Z, a-z, 0-9, _ and -")
	}
	if opts.BotUsername != "" {
		opts.BotUsername = strings.TrimPrefix(opts.BotUsername, "@")
		if !namePattern.MatchString(opts.BotUsername) {
			return nil, errors.New("telegram: the bot username must be letters, digits and _")
		}
	}
	receives := opts.Conversation != nil || opts.Store != nil || opts.Box != nil
	if receives && (opts.Conversation == nil || opts.Store == nil || opts.Box == nil) {
		return nil, errors.New("telegram: receiving the webhook needs the conversation, the store and the seal box together")
	}
	if receives && opts.WebhookSecret == "" {
		return nil, errors.New("telegram: receiving the webhook needs a webhook secret")
	}

	c := &Channel{
		token:       opts.Token,
		endpoint:    strings.TrimRight(base, "/") + "/bot%s/%s",
		http:        opts.HTTPClient,
		conv:        opts.Conversation,
		store:       opts.Store,
		box:         opts.Box,
		clock:       opts.Clock,
		log:         opts.Log,
		chatRate:    opts.ChatPerSecond,
		botRate:     opts.BotPerSecond,
		callTimeout: opts.CallTimeout,
		wake:        opts.Wake,
		username:    opts.BotUsername,
	}
	if opts.WebhookSecret != "" {
		c.secretText, c.hasSec = opts.WebhookSecret, true
		c.secret = sha256.Sum256([]byte(opts.WebhookSecret))
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	} else if c.http.Timeout <= 0 {
		cp := *c.http
		cp.Timeout = 10 * time.Second
		c.http = &cp
	}
	if c.clock == nil {
		c.clock = clock.System{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "telegram")
	if c.chatRate <= 0 {
		c.chatRate = DefaultChatPerSecond
	}
	if c.botRate <= 0 {
		c.botRate = DefaultBotPerSecond
	}
	if c.callTimeout <= 0 {
		c.callTimeout = 5 * time.Second
	}
	// The bot's budget belongs to the bot (the token's ID part), hashed so
	// that store keys look alike whatever the bot.
	h := sha256.Sum256([]byte(strings.SplitN(opts.Token, ":", 2)[0]))
	c.botKey = "telegram:bot:" + hex.EncodeToString(h[:8])
	return c, nil
}

// bot returns a library client for one call, bound to ctx. The library
// builds its requests without a context, so the context is added by the
// HTTP client wrapper; the returned call records the HTTP status, which
// the library does not report.
func (c *Channel) bot(ctx context.Context) (*tgbotapi.BotAPI, *call) {
	cl := &call{ctx: ctx, http: c.http}
	// Built by hand rather than with NewBotAPI*, which would call getMe.
	b := &tgbotapi.BotAPI{Token: c.token, Client: cl, Buffer: 100}
	b.SetAPIEndpoint(c.endpoint)
	return b, cl
}

// call is the library's HTTP client for one call.
type call struct {
	ctx    context.Context
	http   *http.Client
	status int
}

func (cl *call) Do(req *http.Request) (*http.Response, error) {
	resp, err := cl.http.Do(req.WithContext(cl.ctx))
	if err != nil {
		return nil, err
	}
	cl.status = resp.StatusCode
	return resp, nil
}

// request makes one Bot API call and returns its result. Errors are safe to
// log: a transport error would otherwise quote the request URL, and with it
// the token.
func (c *Channel) request(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	b, _ := c.bot(ctx)
	resp, err := b.MakeRequest(method, params)
	if err != nil {
		return nil, fmt.Errorf("telegram: %s: %w", method, scrub(err))
	}
	return resp, nil
}

// scrub removes the request URL (which holds the token) from a transport
// error and keeps the rest: the library returns *url.Error as it is.
func scrub(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return &transportError{op: ue.Op, err: ue.Err}
	}
	return err
}

// transportError is a failed HTTP exchange without its URL.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return "transport: " + e.op + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// BotUsername returns the bot's username: the configured one, or the one
// Telegram gives for the token, asked once.
func (c *Channel) BotUsername(ctx context.Context) (string, error) {
	c.mu.Lock()
	name := c.username
	c.mu.Unlock()
	if name != "" {
		return name, nil
	}
	b, _ := c.bot(ctx)
	me, err := b.GetMe()
	if err != nil {
		return "", fmt.Errorf("telegram: getMe: %w", scrub(err))
	}
	if !namePattern.MatchString(me.UserName) {
		return "", errors.New("telegram: getMe gave no usable bot username")
	}
	c.mu.Lock()
	c.username = me.UserName
	c.mu.Unlock()
	return me.UserName, nil
}

// DeepLink returns the link a caseworker hands out for an enrolment code:
// opening it in Telegram sends "/start CODE" to the bot. Codes are limited
// to what a deep link can carry.
func (c *Channel) DeepLink(ctx context.Context, code string) (string, error) {
	if !startPayload.MatchString(code) {
		return "", errors.New("telegram: an enrolment code in a link must be 1 to 64 of A-Z, a-z, 0-9, _ and -")
	}
	name, err := c.BotUsername(ctx)
	if err != nil {
		return "", err
	}
	return "https://t.me/" + name + "?start=" + code, nil
}
