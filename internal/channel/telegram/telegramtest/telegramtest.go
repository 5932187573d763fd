// Package telegramtest is a fake of the Telegram Bot API for tests: the
// real go-telegram-bot-api client (through telegram.Channel) talks to it
// over HTTP. It checks the token in the path, refuses what Telegram
// refuses (empty or over-long text, bad button data, an unknown parse
// mode), records every call, answers as scripted, and can play a person
// who blocked the bot.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// Call is one Bot API call the fake received.
type Call struct {
	Method string
	Form   url.Values // the parameters, however they were sent
	At     time.Time  // by the fake's Now
	Status int        // the HTTP status the fake answered with
}

// ChatID is the call's chat_id parameter.
func (c Call) ChatID() string { return c.Form.Get("chat_id") }

// Text is the call's text parameter.
func (c Call) Text() string { return c.Form.Get("text") }

// Button is one inline keyboard button of a sendMessage call.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

// Buttons returns a sendMessage call's inline keyboard, row by row; nil
// when it has none.
func (c Call) Buttons() [][]Button {
	raw := c.Form.Get("reply_markup")
	if raw == "" {
		return nil
	}
	var m struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil
	}
	return m.InlineKeyboard
}

// Response is a scripted answer.
type Response struct {
	Status int    // HTTP status; 200 when zero
	Body   string // the body as is
}

// TooManyRequests is Telegram's flood-control answer.
func TooManyRequests(retryAfter int) Response {
	return Response{Status: 429, Body: fmt.Sprintf(
		`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after %d","parameters":{"retry_after":%d}}`,
		retryAfter, retryAfter)}
}

// Refused is an error answer with Telegram's code and description.
func Refused(code int, description string) Response {
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": code, "description": description})
	return Response{Status: code, Body: string(b)}
}

// Blocked is the answer to a message for a person who blocked the bot.
func Blocked() Response { return Refused(403, "Forbidden: bot was blocked by the user") }

// Webhook is the webhook as last set.
type Webhook struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	Token    string
	Username string
	// Now stamps calls; time.Now when nil. Set it before the first call.
	Now func() time.Time

	mu      sync.Mutex
	calls   []Call
	script  map[string][]Response
	blocked map[string]bool
	webhook Webhook
	nextID  int
}

// New starts a fake for one bot token; it closes when the test ends.
func New(t testing.TB, token string) *Server {
	s := &Server{Token: token, Username: "waymark_test_bot", script: map[string][]Response{}, blocked: map[string]bool{}, nextID: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Script queues answers for the next calls of method, in order; after them
// the fake answers as Telegram would.
func (s *Server) Script(method string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[method] = append(s.script[method], rs...)
}

// Block makes every later message to chatID fail as if the person had
// blocked the bot.
func (s *Server) Block(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// Calls returns the calls of method (every call when method is ""), in
// order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Webhook returns the webhook as last set with setWebhook.
func (s *Server) Webhook() Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

var secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+s.Token+"/")
	if !ok || r.Method != http.MethodPost {
		write(w, Refused(404, "Not Found"))
		return
	}
	form, err := params(r)
	if err != nil {
		write(w, Refused(400, "Bad Request: can't parse request"))
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var resp Response
	if q := s.script[rest]; len(q) > 0 {
		resp, s.script[rest] = q[0], q[1:]
	} else {
		resp = s.answer(rest, form)
	}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	s.calls = append(s.calls, Call{Method: rest, Form: form, At: now, Status: resp.Status})
	write(w, resp)
}

// answer is what Telegram would say. Called with s.mu held.
func (s *Server) answer(method string, form url.Values) Response {
	switch method {
	case "getMe":
		return ok(map[string]any{"id": 4242, "is_bot": true, "first_name": "Waymark", "username": s.Username})
	case "sendMessage":
		chatID := form.Get("chat_id")
		if _, err := strconv.ParseInt(chatID, 10, 64); err != nil {
			return Refused(400, "Bad Request: chat not found")
		}
		if s.blocked[chatID] {
			return Blocked()
		}
		text := form.Get("text")
		switch n := len(utf16.Encode([]rune(text))); {
		case strings.TrimSpace(text) == "":
			return Refused(400, "Bad Request: message text is empty")
		case n > 4096:
			return Refused(400, "Bad Request: message is too long")
		}
		if pm := form.Get("parse_mode"); pm != "" && pm != "HTML" && pm != "MarkdownV2" && pm != "Markdown" {
			return Refused(400, "Bad Request: unsupported parse_mode")
		}
		if msg := checkMarkup(form.Get("reply_markup")); msg != "" {
			return Refused(400, "Bad Request: "+msg)
		}
		s.nextID++
		id, _ := strconv.ParseInt(chatID, 10, 64)
		return ok(map[string]any{"message_id": s.nextID, "date": 1767600000,
			"chat": map[string]any{"id": id, "type": "private"}, "text": text})
	case "answerCallbackQuery":
		if form.Get("callback_query_id") == "" {
			return Refused(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
		}
		return ok(true)
	case "setWebhook":
		u, err := url.Parse(form.Get("url"))
		if err != nil || u.Scheme != "https" {
			return Refused(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
		}
		if st := form.Get("secret_token"); st != "" && !secretToken.MatchString(st) {
			return Refused(400, "Bad Request: secret token contains unallowed characters")
		}
		wh := Webhook{URL: u.String(), SecretToken: form.Get("secret_token")}
		if au := form.Get("allowed_updates"); au != "" {
			if json.Unmarshal([]byte(au), &wh.AllowedUpdates) != nil {
				return Refused(400, "Bad Request: can't parse allowed updates")
			}
		}
		s.webhook = wh
		return ok(true)
	case "getWebhookInfo":
		info := map[string]any{"url": s.webhook.URL, "has_custom_certificate": false, "pending_update_count": 0}
		if len(s.webhook.AllowedUpdates) > 0 {
			info["allowed_updates"] = s.webhook.AllowedUpdates
		}
		return ok(info)
	}
	return Refused(404, "Not Found")
}

// checkMarkup checks a reply_markup as Telegram does for inline keyboards.
func checkMarkup(raw string) string {
	if raw == "" {
		return ""
	}
	var m struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return "can't parse reply keyboard markup JSON object"
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if strings.TrimSpace(b.Text) == "" {
				return "text buttons are unallowed in the inline keyboard"
			}
			if b.CallbackData == "" || len(b.CallbackData) > 64 {
				return "BUTTON_DATA_INVALID"
			}
		}
	}
	return ""
}

// params reads a call's parameters from a form or a JSON body.
func params(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := url.Values{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out.Set(k, v)
		default:
			j, _ := json.Marshal(v)
			out.Set(k, string(j))
		}
	}
	return out, nil
}

func ok(result any) Response {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	return Response{Status: 200, Body: string(b)}
}

func write(w http.ResponseWriter, r Response) {
	if r.Status == 0 {
		r.Status = 200
	}
	w.WriteHeader(r.Status)
	_, _ = io.WriteString(w, r.Body)
}
