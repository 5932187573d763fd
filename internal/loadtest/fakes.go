package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Replies matches the replies the fake providers receive with the inbound
// messages that caused them. Every inbound message the driver sends expects
// a known number of replies to the same address; replies to one address
// answer its expectations in order.
type Replies struct {
	mu      sync.Mutex
	waiting map[string][]time.Time // by address key, oldest first
	open    int

	// Delivered holds, for each matched reply, the time from the inbound
	// message's start to the reply's arrival at the fake provider.
	Delivered Latencies
	// DeliveredSMS and DeliveredTelegram split Delivered by channel.
	DeliveredSMS, DeliveredTelegram Latencies
	unexpected                      atomic.Int64
	byKey                           sync.Map // channel name -> *atomic.Int64, replies received
	changed                         chan struct{}
}

// NewReplies returns an empty matcher.
func NewReplies() *Replies {
	return &Replies{waiting: map[string][]time.Time{}, changed: make(chan struct{}, 1)}
}

// Expect records that n replies to key are due for a message started at
// start. Call it before sending, since a reply may come back before the
// webhook's answer does.
func (r *Replies) Expect(key string, start time.Time, n int) {
	r.mu.Lock()
	for range n {
		r.waiting[key] = append(r.waiting[key], start)
	}
	r.open += n
	r.mu.Unlock()
}

// Forget withdraws the last n expectations of key started at start: the
// webhook failed, so no reply may come (or one may, counted as unexpected).
func (r *Replies) Forget(key string, start time.Time, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.waiting[key]
	for i := len(q) - 1; i >= 0 && n > 0; i-- {
		if q[i].Equal(start) {
			q = append(q[:i], q[i+1:]...)
			n--
			r.open--
		}
	}
	r.setQueue(key, q)
}

func (r *Replies) setQueue(key string, q []time.Time) {
	if len(q) == 0 {
		delete(r.waiting, key)
	} else {
		r.waiting[key] = q
	}
}

// Arrived is called by a fake provider for each message it accepted.
func (r *Replies) Arrived(channel, key string, at time.Time) {
	c, _ := r.byKey.LoadOrStore(channel, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	r.mu.Lock()
	q := r.waiting[key]
	if len(q) == 0 {
		r.mu.Unlock()
		r.unexpected.Add(1)
		return
	}
	start := q[0]
	r.setQueue(key, q[1:])
	r.open--
	r.mu.Unlock()
	r.Delivered.Add(at.Sub(start))
	if channel == "telegram" {
		r.DeliveredTelegram.Add(at.Sub(start))
	} else {
		r.DeliveredSMS.Add(at.Sub(start))
	}
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Open is how many expected replies have not arrived.
func (r *Replies) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

// Unexpected counts replies that matched no expectation.
func (r *Replies) Unexpected() int64 { return r.unexpected.Load() }

// Received returns how many replies a channel's fake accepted.
func (r *Replies) Received(channel string) int64 {
	c, ok := r.byKey.Load(channel)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

// Wait waits until no reply is expected, timeout passes or ctx ends, and
// returns how many are still open.
func (r *Replies) Wait(ctx context.Context, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := r.Open()
		if n == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		select {
		case <-r.changed:
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// smsKey and telegramKey name an address in Replies.
func smsKey(phone string) string      { return "sms:" + strings.TrimPrefix(phone, "whatsapp:") }
func telegramKey(chatID int64) string { return "tg:" + strconv.FormatInt(chatID, 10) }

// FakeTwilio is Twilio's Messages API as far as Waymark uses it: it checks
// the account in the path and the Basic credentials, requires To, Body and
// From (or a messaging service), answers 201 with a new SID, and tells
// Replies. The real twilio-go client in the server talks to it.
type FakeTwilio struct {
	AccountSID, AuthToken string
	Replies               *Replies
	// Latency is how long the fake takes to accept a message, as the real
	// API over the internet does (100-300 ms); zero answers at once.
	Latency time.Duration
	next    atomic.Int64
	refused atomic.Int64
}

// Refused counts requests the fake turned away (bad path, credentials or
// form): a sign that the server and the tool disagree on configuration.
func (f *FakeTwilio) Refused() int64 { return f.refused.Load() }

func (f *FakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+f.AccountSID+"/Messages.json" {
		f.refuse(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.AccountSID || pass != f.AuthToken {
		f.refuse(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" || r.PostForm.Get("Body") == "" {
		f.refuse(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	if r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "" {
		f.refuse(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	}
	to := r.PostForm.Get("To")
	time.Sleep(f.Latency)
	f.Replies.Arrived("twilio", smsKey(to), time.Now())
	sid := fmt.Sprintf("SM%032x", f.next.Add(1))
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": sid, "account_sid": f.AccountSID, "to": to, "from": r.PostForm.Get("From"),
		"status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
	})
}

func (f *FakeTwilio) refuse(w http.ResponseWriter, status, code int, msg string) {
	f.refused.Add(1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status})
}

// FakeTelegram is the Bot API as far as Waymark uses it: getMe,
// sendMessage and answerCallbackQuery under /bot<token>/, with the
// parameters as a form or as JSON. The real go-telegram-bot-api client in
// the server talks to it.
type FakeTelegram struct {
	Token   string
	Replies *Replies
	Latency time.Duration // as FakeTwilio.Latency
	next    atomic.Int64
	refused atomic.Int64
}

// Refused counts requests the fake turned away.
func (f *FakeTelegram) Refused() int64 { return f.refused.Load() }

func (f *FakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+f.Token+"/")
	if !ok || r.Method != http.MethodPost {
		f.refuse(w, http.StatusNotFound, "Not Found")
		return
	}
	form, err := telegramParams(r)
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "Bad Request: can't parse request")
		return
	}
	switch method {
	case "getMe":
		writeOK(w, map[string]any{"id": 4242, "is_bot": true, "first_name": "Waymark", "username": "waymark_load_bot"})
	case "answerCallbackQuery":
		writeOK(w, true)
	case "sendMessage":
		chatID, err := strconv.ParseInt(form.Get("chat_id"), 10, 64)
		if err != nil || strings.TrimSpace(form.Get("text")) == "" {
			f.refuse(w, http.StatusBadRequest, "Bad Request: chat not found")
			return
		}
		time.Sleep(f.Latency)
		f.Replies.Arrived("telegram", telegramKey(chatID), time.Now())
		writeOK(w, map[string]any{"message_id": f.next.Add(1), "date": time.Now().Unix(),
			"chat": map[string]any{"id": chatID, "type": "private"}, "text": form.Get("text")})
	default:
		f.refuse(w, http.StatusNotFound, "Not Found")
	}
}

func (f *FakeTelegram) refuse(w http.ResponseWriter, status int, description string) {
	f.refused.Add(1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": status, "description": description})
}

func writeOK(w http.ResponseWriter, result any) {
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

// telegramParams reads a Bot API call's parameters from a form or JSON.
func telegramParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
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

// Reset starts a new measurement: latencies and the count of unexpected
// replies are cleared, and expectations still open are dropped (a reply
// that comes for one later counts as unexpected).
func (r *Replies) Reset() {
	r.mu.Lock()
	r.waiting = map[string][]time.Time{}
	r.open = 0
	r.mu.Unlock()
	r.Delivered.Reset()
	r.DeliveredSMS.Reset()
	r.DeliveredTelegram.Reset()
	r.unexpected.Store(0)
}
