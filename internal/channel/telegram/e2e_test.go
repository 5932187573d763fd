package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

// The person in the end-to-end run, as Telegram describes them in every
// update. None of this may appear in a log.
const (
	personFirstName = "Amira"
	personLastName  = "Khalil"
	personUsername  = "amira_k"
	personChatID    = 987654321
	// personFreeText is what the person writes before they are enrolled.
	personFreeText = "Hello, I am Amira, is this the right place for my reporting?"
)

// run is one end-to-end run: the real web server listening on a port, the
// real outbox dispatcher, and the real client library talking to a fake
// Bot API.
type run struct {
	*env
	t        *testing.T
	base     string // the server's URL
	disp     *outbox.Dispatcher
	nextID   int
	nextCall int // first fake call not yet checked
}

func newRun(t *testing.T) *run {
	e := newEnv(t)
	go func() { _ = e.srv.Start("127.0.0.1:0") }()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.ListenerAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
	})
	opener := func(_ context.Context, l store.Link) (string, error) { return e.box.Open(string(l.Channel), l.Sealed) }
	disp := outbox.New(e.store, map[store.Channel]outbox.Sender{store.Telegram: e.ch}, opener, e.clock, e.log,
		outbox.Options{Owner: "e2e", BackoffBase: time.Second, BackoffMax: time.Second, Jitter: func() float64 { return 0 }})
	return &run{env: e, t: t, base: "http://" + e.srv.ListenerAddr(), disp: disp, nextID: 700000000}
}

// person is the "from" of every update: what Telegram tells a bot.
func person() map[string]any {
	return map[string]any{"id": personChatID, "is_bot": false, "first_name": personFirstName,
		"last_name": personLastName, "username": personUsername, "language_code": "ar"}
}

func privateChat() map[string]any {
	return map[string]any{"id": personChatID, "type": "private", "first_name": personFirstName,
		"last_name": personLastName, "username": personUsername}
}

// deliver posts one update to the webhook over HTTP, as Telegram does, and
// returns the answer.
func (r *run) deliver(kind string, body map[string]any) (int, []byte) {
	r.t.Helper()
	r.nextID++
	upd := map[string]any{"update_id": r.nextID, kind: body}
	b, err := json.Marshal(upd)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, r.base+telegram.PublicWebhookPath, bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegram.SecretHeader, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

func (r *run) write(text string) []byte {
	r.t.Helper()
	status, body := r.deliver("message", map[string]any{"message_id": r.nextID, "date": r.clock.Now().Unix(),
		"from": person(), "chat": privateChat(), "text": text})
	if status != http.StatusOK {
		r.t.Fatalf("message %q: status %d: %s", text, status, body)
	}
	return body
}

// press presses the button labelled label on the last message with
// buttons, and checks that the press was answered.
func (r *run) press(label string) {
	r.t.Helper()
	var data string
	calls := r.api.Calls("sendMessage")
	for i := len(calls) - 1; i >= 0 && data == ""; i-- {
		if rows := calls[i].Buttons(); rows != nil {
			for _, row := range rows {
				for _, b := range row {
					if b.Text == label {
						data = b.CallbackData
					}
				}
			}
			if data == "" {
				r.t.Fatalf("no button %q on the last keyboard %+v", label, rows)
			}
		}
	}
	queryID := "q" + strconv.Itoa(r.nextID+1)
	status, body := r.deliver("callback_query", map[string]any{"id": queryID, "from": person(),
		"message":       map[string]any{"message_id": 1, "date": r.clock.Now().Unix(), "chat": privateChat(), "text": "…"},
		"chat_instance": "-8871234567890123456", "data": data})
	if status != http.StatusOK {
		r.t.Fatalf("press %q: status %d: %s", label, status, body)
	}
	answered := false
	for _, c := range r.api.Calls("answerCallbackQuery") {
		answered = answered || c.Form.Get("callback_query_id") == queryID
	}
	if !answered {
		r.t.Fatalf("press %q was not answered with answerCallbackQuery", label)
	}
}

// flush runs the dispatcher as the service would, moving the clock a second
// at a time, until nothing has been due for a while.
func (r *run) flush() {
	r.t.Helper()
	idle := 0
	for range 120 {
		n, err := r.disp.DispatchOnce(r.ctx)
		if err != nil {
			r.t.Fatalf("dispatch: %v", err)
		}
		if n == 0 {
			if idle++; idle > 10 {
				return
			}
		} else {
			idle = 0
		}
		r.clock.Advance(time.Second)
	}
	r.t.Fatal("the outbox never emptied")
}

// expected is a message as the person should see it.
type expected struct {
	text    string
	buttons []string
}

func (r *run) say(lang, id string) expected {
	text, _ := conversation.Render(r.content, lang, flow.Send{MessageID: id})
	return expected{text: text}
}

func (r *run) ask(lang, id string, labels ...string) expected {
	snd := flow.Send{MessageID: id}
	for i, l := range labels {
		snd.Choices = append(snd.Choices, flow.ChoiceRef{Number: i + 1, LabelID: l})
	}
	text, choices := conversation.Render(r.content, lang, snd)
	ex := expected{text: text}
	for _, c := range choices {
		ex.buttons = append(ex.buttons, c.Label)
	}
	return ex
}

// expectSent checks the messages the fake accepted since the last check.
func (r *run) expectSent(want ...expected) {
	r.t.Helper()
	all := r.api.Calls("sendMessage")
	var accepted []telegramtest.Call
	for _, c := range all[r.nextCall:] {
		if c.Status == http.StatusOK {
			accepted = append(accepted, c)
		}
	}
	r.nextCall = len(all)
	if len(accepted) != len(want) {
		var texts []string
		for _, c := range accepted {
			texts = append(texts, c.Text())
		}
		r.t.Fatalf("sent %d messages %q; want %d", len(accepted), texts, len(want))
	}
	for i, w := range want {
		c := accepted[i]
		if c.ChatID() != strconv.Itoa(personChatID) {
			r.t.Errorf("message %d went to chat %q", i, c.ChatID())
		}
		if c.Text() != w.text {
			r.t.Errorf("message %d: %q; want %q", i, c.Text(), w.text)
		}
		if c.Form.Get("parse_mode") != "" {
			r.t.Errorf("message %d has parse_mode %q; want plain text", i, c.Form.Get("parse_mode"))
		}
		var labels []string
		for _, row := range c.Buttons() {
			for _, b := range row {
				labels = append(labels, b.Text)
				if b.CallbackData == "" || len(b.CallbackData) > 64 {
					r.t.Errorf("button %q has callback data %q", b.Text, b.CallbackData)
				}
			}
		}
		if strings.Join(labels, "|") != strings.Join(w.buttons, "|") {
			r.t.Errorf("message %d buttons %q; want %q", i, labels, w.buttons)
		}
	}
}

func (r *run) participant(id string) store.Participant {
	r.t.Helper()
	p, err := r.store.GetParticipant(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func TestEndToEnd(t *testing.T) {
	r := newRun(t)
	var languages []string // every offered language, by its own name
	for _, l := range r.content.Flows.Programme.Languages {
		languages = append(languages, "language.name."+l)
	}
	menu := []string{"choice.checkin", "choice.callback", "choice.info", "choice.language"}
	info := []string{"info.choice.rights", "info.choice.legal", "info.choice.credit", "info.choice.caseworker", "info.choice.data", "info.choice.stop"}

	if n := len(r.api.Calls("")); n != 0 {
		t.Fatalf("%d Bot API calls before anything happened; the service must not need Telegram to start", n)
	}

	// A stranger writes: a polite answer in the webhook reply, nothing kept.
	var direct directReply
	if err := json.Unmarshal(r.write(personFreeText), &direct); err != nil {
		t.Fatalf("no direct reply to an unknown sender: %v", err)
	}
	if direct.Method != "sendMessage" || direct.ChatID != personChatID || !strings.HasPrefix(direct.Text, r.render("en", "enrol.unknown_sender")) {
		t.Errorf("direct reply %+v", direct)
	}

	// The caseworker enrols the person and hands out the deep link.
	code := strings.ToUpper(store.NewID("")[:10])
	pid := r.enrolCode(code, "en")
	link, err := r.ch.DeepLink(r.ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil || u.Host != "t.me" || u.Query().Get("start") != code {
		t.Fatalf("deep link %q", link)
	}

	// Opening the link sends /start CODE: enrolment begins.
	if body := r.write("/start " + u.Query().Get("start")); len(body) != 0 {
		t.Errorf("direct reply %q to an enrolling person; want the outbox", body)
	}
	r.flush()
	r.expectSent(
		r.say("en", "enrol.welcome"),
		r.say("en", "enrol.privacy"),
		r.say("en", "privacy.more"),
		r.say("en", "privacy.end"),
		r.ask("en", "enrol.consent", "choice.agree", "choice.disagree"),
	)
	r.press(r.render("en", "choice.agree"))
	r.flush()
	r.expectSent(r.ask("en", "language.ask", languages...))
	r.press(r.render("en", "language.name.en"))
	r.flush()
	r.expectSent(r.say("en", "enrol.howto")) // no number to ring: not enrol.howto_call

	// A check-in by button.
	r.write("menu")
	r.flush()
	r.expectSent(r.ask("en", "menu.ask", menu...))
	r.press(r.render("en", "choice.checkin"))
	r.flush()
	r.expectSent(r.say("en", "checkin.thanks"))
	checkIns, err := r.store.CheckInsOf(r.ctx, pid, start)
	if err != nil || len(checkIns) != 1 || checkIns[0].Channel != store.Telegram {
		t.Fatalf("check-ins %+v, %v; want one by Telegram", checkIns, err)
	}

	// Switching to Arabic.
	r.write("/language")
	r.flush()
	r.expectSent(r.ask("en", "language.ask", languages...))
	r.press(r.render("en", "language.name.ar"))
	r.flush()
	if r.render("ar", "language.done") == r.render("en", "language.done") {
		t.Fatal("the shipped Arabic locale lacks language.done: the run would prove nothing")
	}
	r.expectSent(r.say("ar", "language.done"))
	if p := r.participant(pid); p.Language != "ar" {
		t.Fatalf("language %q; want ar", p.Language)
	}

	// Asking for information, while Telegram asks the bot to slow down.
	r.api.Script("sendMessage", telegramtest.TooManyRequests(7))
	r.write("/help")
	r.flush()
	r.expectSent(r.ask("ar", "info.ask", info...))
	calls := r.api.Calls("sendMessage")
	refused, retried := calls[len(calls)-2], calls[len(calls)-1]
	if refused.Text() != retried.Text() {
		t.Fatal("the refused message was not the one retried")
	}
	if wait := retried.At.Sub(refused.At); wait < 7*time.Second {
		t.Errorf("retried %s after a 429 asking for 7s", wait)
	}
	r.nextCall = len(calls)
	r.press(r.render("ar", "info.choice.rights"))
	r.flush()
	r.expectSent(r.say("ar", "info.rights"))

	// The person blocks the bot without Waymark hearing of it: the next
	// message is refused, and the caseworker sees "can't reach".
	r.api.Block(strconv.Itoa(personChatID))
	if err := r.conv.Notify(r.ctx, pid, "checkin.window_open", nil); err != nil {
		t.Fatal(err)
	}
	r.flush()
	l, err := r.link()
	if err != nil || !l.Unreachable || l.Reason != telegram.ReasonBlocked {
		t.Fatalf("link %+v, %v; want unreachable, blocked", l, err)
	}
	items := r.openAttention()
	if len(items) != 1 || items[0].Kind != store.AttentionCantReach || items[0].ParticipantID != pid {
		t.Fatalf("attention %+v; want one can't-reach item", items)
	}
	before := len(r.api.Calls("sendMessage"))
	if err := r.conv.Notify(r.ctx, pid, "checkin.window_open", nil); err != nil {
		t.Fatal(err)
	}
	r.flush()
	if after := len(r.api.Calls("sendMessage")); after != before {
		t.Errorf("%d more messages to an unreachable chat; want none", after-before)
	}
	r.nextCall = len(r.api.Calls("sendMessage"))

	// Unblocking restores the link.
	if status, body := r.deliver("my_chat_member", map[string]any{"chat": privateChat(), "from": person(),
		"date":            r.clock.Now().Unix(),
		"old_chat_member": map[string]any{"status": "kicked", "user": map[string]any{"id": 4242, "is_bot": true, "first_name": "Waymark"}},
		"new_chat_member": map[string]any{"status": "member", "user": map[string]any{"id": 4242, "is_bot": true, "first_name": "Waymark"}},
	}); status != http.StatusOK {
		t.Fatalf("my_chat_member: status %d: %s", status, body)
	}
	if l, err := r.link(); err != nil || l.Unreachable {
		t.Errorf("link %+v, %v after unblocking; want reachable", l, err)
	}

	// One message a second to the chat, whatever the flow sends at once.
	sent := r.api.Calls("sendMessage")
	for i := 1; i < len(sent); i++ {
		if gap := sent[i].At.Sub(sent[i-1].At); gap < time.Second {
			t.Errorf("messages %d and %d to one chat %s apart; want at least 1s", i-1, i, gap)
		}
	}

	t.Run("logs keep nothing personal", func(t *testing.T) {
		logs := r.logs.String()
		if testing.Verbose() {
			t.Log(logs)
		}
		if !strings.Contains(logs, "outbox: sent") || !strings.Contains(logs, pid) {
			t.Fatal("the run's logs were not captured")
		}
		secrets := map[string]string{
			"chat ID":        strconv.Itoa(personChatID),
			"first name":     personFirstName,
			"last name":      personLastName,
			"username":       personUsername,
			"free text":      "right place",
			"enrolment code": code,
			"bot token":      testToken,
			"token secret":   strings.SplitN(testToken, ":", 2)[1],
			"webhook secret": testSecret,
			"direct reply":   direct.Text,
			"masked chat ID": l.Masked,
		}
		for what, s := range secrets {
			if s != "" && strings.Contains(logs, s) {
				t.Errorf("the logs contain the %s", what)
			}
		}
		for _, c := range r.api.Calls("sendMessage") {
			if strings.Contains(logs, c.Text()) {
				t.Errorf("the logs contain a message text: %.40q", c.Text())
			}
			for line := range strings.SplitSeq(c.Text(), "\n") {
				if len(line) > 12 && strings.Contains(logs, line) {
					t.Errorf("the logs contain a line of a message: %q", line)
				}
			}
		}
	})
}
