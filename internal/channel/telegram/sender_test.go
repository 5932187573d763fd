package telegram_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// newSender is a channel that only talks to Telegram, as the outbox and
// the admin commands use it.
func newSender(t *testing.T) (*telegram.Channel, *telegramtest.Server) {
	t.Helper()
	api := telegramtest.New(t, testToken)
	ch, err := telegram.New(telegram.Options{Token: testToken, APIURL: api.URL, WebhookSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return ch, api
}

func outMsg(text string, choices ...store.Choice) store.OutboundMessage {
	return store.OutboundMessage{ID: "m_test", ParticipantID: "p_test", LinkIndex: "abc123index",
		Channel: store.Telegram, Kind: "menu.ask", Text: text, Choices: choices, Status: store.Pending}
}

func units(s string) int { return len(utf16.Encode([]rune(s))) }

func TestSendPlainText(t *testing.T) {
	ch, api := newSender(t)
	text := "Check in *now* with _underscores_ and <b>tags</b> [x](y)"
	id, err := ch.Send(context.Background(), chatID, outMsg(text))
	if err != nil {
		t.Fatal(err)
	}
	calls := api.Calls("sendMessage")
	if len(calls) != 1 {
		t.Fatalf("%d sendMessage calls; want 1", len(calls))
	}
	c := calls[0]
	if c.ChatID() != chatID || c.Text() != text {
		t.Errorf("sent chat %q text %q", c.ChatID(), c.Text())
	}
	if pm := c.Form.Get("parse_mode"); pm != "" {
		t.Errorf("parse_mode %q; want plain text", pm)
	}
	if c.Form.Get("reply_markup") != "" {
		t.Errorf("reply_markup %q for a message without choices", c.Form.Get("reply_markup"))
	}
	if id != "101" {
		t.Errorf("provider ID %q; want Telegram's message ID", id)
	}
}

func TestSendChoicesAsInlineButtons(t *testing.T) {
	ch, api := newSender(t)
	choices := []store.Choice{
		{Number: 1, Label: "English", Data: "c:1"},
		{Number: 2, Label: "العربية", Data: "c:2"},
		{Number: 3, Label: "Українська", Data: "c:3"},
		{Number: 4, Label: "", Data: "c:4"},
	}
	if _, err := ch.Send(context.Background(), chatID, outMsg("Which language?", choices...)); err != nil {
		t.Fatal(err)
	}
	rows := api.Calls("sendMessage")[0].Buttons()
	want := [][]telegramtest.Button{
		{{Text: "English", CallbackData: "c:1"}},
		{{Text: "العربية", CallbackData: "c:2"}},
		{{Text: "Українська", CallbackData: "c:3"}},
		{{Text: "4", CallbackData: "c:4"}},
	}
	if len(rows) != len(want) {
		t.Fatalf("keyboard %+v; want %+v", rows, want)
	}
	for i := range want {
		if len(rows[i]) != 1 || rows[i][0] != want[i][0] {
			t.Errorf("row %d: %+v; want %+v", i, rows[i], want[i])
		}
		if len(rows[i][0].CallbackData) > 64 {
			t.Errorf("row %d: callback data over 64 bytes", i)
		}
	}
}

func TestSendSplitsLongText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		parts int
	}{
		{"words", strings.Repeat("check in today ", 400), 2},                // 6000 characters
		{"paragraphs", strings.Repeat(strings.Repeat("a", 99)+"\n", 90), 3}, // 9000 characters
		{"emoji", strings.Repeat("😀 ", 3000), 3},                            // 9000 UTF-16 units
		{"exact", strings.Repeat("x", 4096), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, api := newSender(t)
			id, err := ch.Send(context.Background(), chatID, outMsg(tc.text, store.Choice{Number: 1, Label: "OK", Data: "c:1"}))
			if err != nil {
				t.Fatal(err)
			}
			calls := api.Calls("sendMessage")
			if len(calls) != tc.parts {
				t.Fatalf("%d parts; want %d", len(calls), tc.parts)
			}
			var got []string
			for i, c := range calls {
				if units(c.Text()) > telegram.MaxMessageUnits {
					t.Errorf("part %d is %d UTF-16 units", i, units(c.Text()))
				}
				if (c.Buttons() != nil) != (i == len(calls)-1) {
					t.Errorf("part %d: buttons %v; want them on the last part only", i, c.Buttons())
				}
				got = append(got, strings.Fields(c.Text())...)
			}
			if strings.Join(got, " ") != strings.Join(strings.Fields(tc.text), " ") {
				t.Error("the parts do not add up to the text, word for word")
			}
			if n := len(strings.Split(id, ",")); n != tc.parts {
				t.Errorf("provider ID %q; want one message ID per part", id)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	type want struct {
		kind        string // permanent, retry, temporary
		code        string
		unreachable bool
		after       time.Duration
	}
	cases := []struct {
		name string
		resp telegramtest.Response
		want want
	}{
		{"flood", telegramtest.TooManyRequests(7), want{kind: "retry", code: "429", after: 7 * time.Second}},
		{"blocked", telegramtest.Blocked(), want{kind: "permanent", code: "blocked", unreachable: true}},
		{"deactivated", telegramtest.Refused(403, "Forbidden: user is deactivated"), want{kind: "permanent", code: "deactivated", unreachable: true}},
		{"never started", telegramtest.Refused(403, "Forbidden: bot can't initiate conversation with a user"), want{kind: "permanent", code: "403", unreachable: true}},
		{"chat not found", telegramtest.Refused(400, "Bad Request: chat not found"), want{kind: "permanent", code: "chat_not_found", unreachable: true}},
		{"bad request", telegramtest.Refused(400, "Bad Request: can't parse entities"), want{kind: "permanent", code: "400"}},
		{"bad token", telegramtest.Refused(401, "Unauthorized"), want{kind: "temporary", code: "401"}},
		{"server error", telegramtest.Refused(500, "Internal Server Error"), want{kind: "temporary", code: "500"}},
		{"proxy page", telegramtest.Response{Status: 502, Body: "<html><body>Bad Gateway</body></html>"}, want{kind: "temporary", code: "502"}},
		{"proxy 429", telegramtest.Response{Status: 429, Body: "slow down"}, want{kind: "retry", code: "429", after: time.Second}},
		{"unreadable", telegramtest.Response{Status: 200, Body: "not json"}, want{kind: "temporary", code: "bad_response"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, api := newSender(t)
			api.Script("sendMessage", tc.resp)
			_, err := ch.Send(context.Background(), chatID, outMsg("hello there"))
			checkErr(t, err, tc.want.kind, tc.want.code, tc.want.unreachable, tc.want.after)
		})
	}
}

// checkErr checks an error's kind and code, and that it names neither the
// chat, the text nor the token.
func checkErr(t *testing.T, err error, kind, code string, unreachable bool, after time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var (
		perm *outbox.PermanentError
		ra   *outbox.RetryAfterError
		tmp  *outbox.TemporaryError
	)
	switch kind {
	case "permanent":
		if !errors.As(err, &perm) || perm.Code != code || perm.Unreachable != unreachable {
			t.Errorf("error %#v; want permanent %s unreachable=%v", err, code, unreachable)
		}
	case "retry":
		if !errors.As(err, &ra) || ra.Code != code || ra.After != after {
			t.Errorf("error %#v; want retry after %s", err, after)
		}
	case "temporary":
		if !errors.As(err, &tmp) || tmp.Code != code {
			t.Errorf("error %v; want temporary %s", err, code)
		}
	}
	for _, s := range []string{testToken, "AAHdqTcvCH1v", chatID, "hello there"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries %q", err, s)
		}
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		ch, err := telegram.New(telegram.Options{Token: testToken, APIURL: dead.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Send(context.Background(), chatID, outMsg("hello there"))
		checkErr(t, err, "temporary", "network", false, 0)
	})
	t.Run("timeout", func(t *testing.T) {
		done := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-done }))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(done) }) // runs first: lets the handler end
		ch, err := telegram.New(telegram.Options{Token: testToken, APIURL: slow.URL})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err = ch.Send(ctx, chatID, outMsg("hello there"))
		checkErr(t, err, "temporary", "timeout", false, 0)
	})
}

func TestSendRefusesBeforeCalling(t *testing.T) {
	ch, api := newSender(t)
	ctx := context.Background()
	_, err := ch.Send(ctx, "not-a-chat", outMsg("hello there"))
	checkErr(t, err, "permanent", "bad_address", true, 0)
	_, err = ch.Send(ctx, chatID, outMsg(" \n "))
	checkErr(t, err, "permanent", "empty_text", false, 0)
	m := outMsg("hello there")
	m.Channel = store.SMS
	_, err = ch.Send(ctx, chatID, m)
	checkErr(t, err, "permanent", "unsupported_channel", false, 0)
	if n := len(api.Calls("")); n != 0 {
		t.Errorf("%d Bot API calls; want none", n)
	}
}

func TestThrottles(t *testing.T) {
	ch, _ := newSender(t)
	th := ch.Throttles(outMsg(strings.Repeat("word ", 1000))) // two parts
	if len(th) != 2 {
		t.Fatalf("throttles %+v; want the chat's and the bot's", th)
	}
	chat, bot := th[0], th[1]
	if chat.Key != "telegram:chat:abc123index" || chat.PerSecond != 1 || chat.Units != 2 {
		t.Errorf("chat throttle %+v", chat)
	}
	if !strings.HasPrefix(bot.Key, "telegram:bot:") || bot.PerSecond != 30 || bot.Units != 2 {
		t.Errorf("bot throttle %+v", bot)
	}
	if strings.Contains(bot.Key, "123456789") || strings.Contains(bot.Key, testToken) {
		t.Errorf("bot throttle key %q shows the token", bot.Key)
	}
}

func TestNewMakesNoCall(t *testing.T) {
	api := telegramtest.New(t, testToken)
	if _, err := telegram.New(telegram.Options{Token: testToken, APIURL: api.URL}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.Calls("")); n != 0 {
		t.Errorf("New made %d calls; want none (it must start while Telegram is unreachable)", n)
	}
	// Nothing listens on this port: construction succeeds all the same.
	if _, err := telegram.New(telegram.Options{Token: testToken, APIURL: "http://127.0.0.1:1"}); err != nil {
		t.Errorf("New with Telegram unreachable: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		opts telegram.Options
	}{
		{"no token", telegram.Options{}},
		{"bad token", telegram.Options{Token: "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}},
		{"token with spaces", telegram.Options{Token: testToken + " "}},
		{"bad URL", telegram.Options{Token: testToken, APIURL: "ftp://api.telegram.org"}},
		{"URL with percent", telegram.Options{Token: testToken, APIURL: "https://api.telegram.org/%s"}},
		{"bad secret", telegram.Options{Token: testToken, WebhookSecret: "has spaces and é"}},
		{"bad username", telegram.Options{Token: testToken, BotUsername: "not a name"}},
		{"store without conversation", telegram.Options{Token: testToken, WebhookSecret: testSecret, Store: e.store}},
		{"webhook without secret", telegram.Options{Token: testToken, Conversation: e.conv, Store: e.store, Box: e.box}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := telegram.New(tc.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "AAHdqTcvCH1v") || strings.Contains(err.Error(), "has spaces") {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
}

func TestDeepLink(t *testing.T) {
	ch, api := newSender(t)
	ctx := context.Background()
	for range 2 {
		link, err := ch.DeepLink(ctx, fixedCode)
		if err != nil {
			t.Fatal(err)
		}
		if link != "https://t.me/waymark_test_bot?start="+fixedCode {
			t.Errorf("link %q", link)
		}
	}
	if n := len(api.Calls("getMe")); n != 1 {
		t.Errorf("getMe called %d times; want once, when first needed", n)
	}
	if _, err := ch.DeepLink(ctx, "has space"); err == nil {
		t.Error("a code a deep link cannot carry was accepted")
	}

	configured, err := telegram.New(telegram.Options{Token: testToken, APIURL: api.URL, BotUsername: "@other_bot"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := configured.DeepLink(ctx, fixedCode)
	if err != nil || link != "https://t.me/other_bot?start="+fixedCode {
		t.Errorf("link %q, %v", link, err)
	}
	if n := len(api.Calls("getMe")); n != 1 {
		t.Errorf("getMe called although the username was configured")
	}
}

func TestSetWebhook(t *testing.T) {
	ch, api := newSender(t)
	ctx := context.Background()
	if err := ch.SetWebhook(ctx, "https://waymark.example.org/"); err != nil {
		t.Fatal(err)
	}
	wh := api.Webhook()
	if wh.URL != "https://waymark.example.org/webhooks/telegram" {
		t.Errorf("url %q", wh.URL)
	}
	if wh.SecretToken != testSecret {
		t.Errorf("secret_token not sent")
	}
	if strings.Join(wh.AllowedUpdates, ",") != "message,edited_message,callback_query,my_chat_member" {
		t.Errorf("allowed_updates %v", wh.AllowedUpdates)
	}
	if c := api.Calls("setWebhook")[0]; c.Form.Get("drop_pending_updates") != "" {
		t.Errorf("drop_pending_updates sent: pending updates are people's messages")
	}

	info, err := ch.WebhookInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.URL != wh.URL || len(info.AllowedUpdates) != 4 {
		t.Errorf("info %+v", info)
	}
	if p := info.Problems("https://waymark.example.org", start); len(p) != 0 {
		t.Errorf("problems %v; want none", p)
	}
	if p := info.Problems("https://elsewhere.example.org", start); len(p) != 1 {
		t.Errorf("problems %v; want the wrong URL", p)
	}
	stale := telegram.WebhookStatus{URL: wh.URL, AllowedUpdates: []string{"message"}, PendingUpdateCount: 500,
		LastErrorAt: start.Add(-time.Hour), LastErrorMessage: "Wrong response from the webhook: 401 Unauthorized"}
	if p := stale.Problems("https://waymark.example.org", start); len(p) != 5 {
		t.Errorf("problems %q; want 3 missing kinds, the error and the backlog", p)
	}
	if p := (telegram.WebhookStatus{}).Problems("https://waymark.example.org", start); len(p) != 1 {
		t.Errorf("problems %q; want no webhook", p)
	}

	if err := ch.SetWebhook(ctx, "http://waymark.example.org"); err == nil {
		t.Error("an http URL was accepted; Telegram takes https only")
	}
	api.Script("setWebhook", telegramtest.Refused(400, "Bad Request: bad webhook: Failed to resolve host"))
	err = ch.SetWebhook(ctx, "https://waymark.example.org")
	if err == nil || !strings.Contains(err.Error(), "Failed to resolve host") {
		t.Errorf("error %v; want Telegram's reason", err)
	}
	if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "AAHdqTcvCH1v")) {
		t.Errorf("error %q quotes a secret", err)
	}

	noSecret, err := telegram.New(telegram.Options{Token: testToken, APIURL: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := noSecret.SetWebhook(ctx, "https://waymark.example.org"); err == nil {
		t.Error("set-webhook without a secret was accepted")
	}
}

func TestAdminNetworkErrorsHideTheToken(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	ch, err := telegram.New(telegram.Options{Token: testToken, APIURL: dead.URL, WebhookSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, infoErr := ch.WebhookInfo(ctx)
	_, nameErr := ch.BotUsername(ctx)
	for _, err := range []error{ch.SetWebhook(ctx, "https://waymark.example.org"), infoErr, nameErr} {
		if err == nil {
			t.Fatal("no error from a dead API")
		}
		if strings.Contains(err.Error(), "AAHdqTcvCH1v") || strings.Contains(err.Error(), testSecret) {
			t.Errorf("error %q quotes a secret", err)
		}
	}
}
