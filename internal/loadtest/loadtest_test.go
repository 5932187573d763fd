package loadtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/twilio"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/store"
)

const (
	account = "ACload0123456789"
	token   = "loadtoken0123456789"
)

// The signature the tool computes is the one Waymark's own verifier, and
// the test fake's signer, accept; a changed body or URL is refused.
func TestTwilioRequestVerifies(t *testing.T) {
	tg := Target{BaseURL: "http://127.0.0.1:1", PublicURL: "https://waymark.example.org", TwilioAccountSID: account,
		TwilioAuthToken: token, TwilioTo: "+15005550006"}
	req := tg.TwilioRequest("+447000000001", "JOIN ABC", "SM0001")
	body, _ := io.ReadAll(req.Body)
	sig := req.Header.Get("X-Twilio-Signature")
	if !twilio.Verify(token, tg.PublicURL, TwilioInboundPath, body, sig) {
		t.Fatal("Waymark refuses the tool's signature")
	}
	if twilio.Verify(token, tg.PublicURL, TwilioInboundPath, bytes.Replace(body, []byte("ABC"), []byte("ABD"), 1), sig) {
		t.Fatal("a changed body still verifies")
	}
	if twilio.Verify(token, "https://other.example.org", TwilioInboundPath, body, sig) {
		t.Fatal("another public URL still verifies")
	}
	in, err := twilio.ParseInbound(body)
	if err != nil || in.From != "+447000000001" || in.Body != "JOIN ABC" || in.MessageSid != "SM0001" {
		t.Fatalf("parsed %+v, %v", in, err)
	}
	if req.URL.String() != "http://127.0.0.1:1"+TwilioInboundPath {
		t.Fatalf("sent to %s, want the base URL", req.URL)
	}
}

func TestRepliesMatchInOrderPerAddress(t *testing.T) {
	r := NewReplies()
	t0 := time.Now()
	r.Expect("sms:+1", t0, 2)
	r.Expect("sms:+1", t0.Add(time.Second), 1)
	r.Expect("sms:+2", t0, 1)
	r.Forget("sms:+2", t0, 1) // its webhook failed
	if got := r.Open(); got != 3 {
		t.Fatalf("open = %d, want 3", got)
	}
	r.Arrived("twilio", "sms:+1", t0.Add(10*time.Millisecond))
	r.Arrived("twilio", "sms:+1", t0.Add(20*time.Millisecond))
	r.Arrived("twilio", "sms:+1", t0.Add(1500*time.Millisecond))
	r.Arrived("twilio", "sms:+2", t0) // nothing expected
	if open := r.Wait(context.Background(), time.Second); open != 0 {
		t.Fatalf("open after all arrived = %d", open)
	}
	s := r.Delivered.Summary()
	if s.Count != 3 || s.Min != 10*time.Millisecond || s.Max != 500*time.Millisecond {
		t.Fatalf("delivered %+v: want 3 samples from 10ms to 500ms", s)
	}
	if r.Unexpected() != 1 || r.Received("twilio") != 4 {
		t.Fatalf("unexpected %d, received %d", r.Unexpected(), r.Received("twilio"))
	}
	r.Reset()
	if r.Delivered.Summary().Count != 0 || r.Unexpected() != 0 {
		t.Fatal("reset kept samples")
	}
}

func TestSummaryQuantiles(t *testing.T) {
	var l Latencies
	for i := 1; i <= 1000; i++ {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	s := l.Summary()
	if s.P50 != 500*time.Millisecond || s.P90 != 900*time.Millisecond || s.P99 != 990*time.Millisecond || s.Max != time.Second {
		t.Fatalf("summary %+v", s)
	}
	if (&Latencies{}).Summary().Count != 0 {
		t.Fatal("empty summary has samples")
	}
}

// Waymark's real Twilio sender (twilio-go) is accepted by the fake, and
// the reply is matched to the address it went to.
func TestFakeTwilioTakesTheRealSender(t *testing.T) {
	r := NewReplies()
	fake := &FakeTwilio{AccountSID: account, AuthToken: token, Replies: r}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s, err := twilio.NewSender(twilio.Config{AccountSID: account, AuthToken: token, From: "+15005550006",
		APIURL: srv.URL, PublicURL: "https://waymark.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	r.Expect(smsKey("+447000000001"), time.Now(), 1)
	id, err := s.Send(t.Context(), "+447000000001", store.OutboundMessage{ID: "m_1", Channel: store.SMS, Kind: "menu.ask", Text: "Reply 1"})
	if err != nil || !strings.HasPrefix(id, "SM") {
		t.Fatalf("send: %q, %v", id, err)
	}
	if r.Open() != 0 || r.Delivered.Summary().Count != 1 {
		t.Fatalf("reply not matched: open %d", r.Open())
	}
	bad, _ := twilio.NewSender(twilio.Config{AccountSID: account, AuthToken: "wrongtoken1", From: "+15005550006", APIURL: srv.URL, PublicURL: "https://w.example.org"})
	if _, err := bad.Send(t.Context(), "+447000000001", store.OutboundMessage{ID: "m_2", Channel: store.SMS, Text: "x"}); err == nil {
		t.Fatal("wrong credentials accepted")
	}
	if fake.Refused() != 1 {
		t.Fatalf("refused = %d, want 1", fake.Refused())
	}
	// The tool's signer and the test fake's agree.
	form := map[string][]string{"Body": {"a"}, "From": {"+1"}}
	if SignTwilio(token, "https://x.example.org/p", form) != twiliotest.Sign(token, "https://x.example.org/p", form) {
		t.Fatal("signers disagree")
	}
}

// Waymark's real Telegram channel (go-telegram-bot-api) sends to the
// fake, buttons and all, and the reply is matched to the chat.
func TestFakeTelegramTakesTheRealChannel(t *testing.T) {
	r := NewReplies()
	fake := &FakeTelegram{Token: "123456:loadtoken", Replies: r}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ch, err := telegram.New(telegram.Options{Token: "123456:loadtoken", APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.Expect(telegramKey(5000000001), time.Now(), 1)
	msg := store.OutboundMessage{ID: "m_1", Channel: store.Telegram, Kind: "menu.ask", Text: "Menu\n1 - Check in",
		Choices: []store.Choice{{Number: 1, Label: "Check in", Data: "c:1"}}}
	if _, err := ch.Send(t.Context(), "5000000001", msg); err != nil {
		t.Fatal(err)
	}
	if r.Open() != 0 || r.Received("telegram") != 1 {
		t.Fatalf("reply not matched: open %d, received %d", r.Open(), r.Received("telegram"))
	}
}

// A Telegram update the tool builds carries the secret and a private
// chat, and reads back as one.
func TestTelegramRequest(t *testing.T) {
	tg := Target{BaseURL: "http://127.0.0.1:1", TelegramSecret: "s3cret"}
	req := tg.TelegramRequest(5000000001, "/start CODE", 1<<40+1)
	if req.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" || req.URL.Path != TelegramPath {
		t.Fatalf("request %s %v", req.URL, req.Header)
	}
	b, _ := io.ReadAll(req.Body)
	for _, want := range []string{`"update_id":1099511627777`, `"id":5000000001`, `"type":"private"`, `"text":"/start CODE"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("update lacks %s: %s", want, b)
		}
	}
}

// The driver against the ok ceiling: a paced run sends about the rate,
// everything is answered, and nobody sends more than MaxPerPerson.
func TestDriverAgainstCeiling(t *testing.T) {
	srv := httptest.NewServer(Ceiling())
	defer srv.Close()
	people := make([]Person, 50)
	for i := range people {
		people[i] = Person{ID: "p", Channel: store.SMS, Address: "+44700000" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Code: "X"}
	}
	people[0].Channel, people[0].Address = store.Telegram, "5000000001"
	d := NewDriver(Target{BaseURL: srv.URL, TwilioAuthToken: token, TelegramSecret: "s"}, nil, 4)
	res, err := d.Run(context.Background(), people, RunOptions{Rate: 200, Duration: 500 * time.Millisecond, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != res.Sent || res.Sent < 50 || res.Sent > 101 || res.Errors.Total() != 0 {
		t.Fatalf("sent %d, ok %d, errors %s: want about 100, all answered", res.Sent, res.OK, res.Errors.String())
	}
	if _, err := d.Run(context.Background(), people[:1], RunOptions{Rate: 100, Duration: time.Second}); err == nil {
		t.Fatal("a run past the loop guard's allowance was accepted")
	}
	// Flat out, each person stops at MaxPerPerson and the run ends early.
	res, err = d.Run(context.Background(), people[:5], RunOptions{Duration: 10 * time.Second, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 5*MaxPerPerson || res.Elapsed > 5*time.Second {
		t.Fatalf("flat out: sent %d in %s, want %d and an early end", res.Sent, res.Elapsed, 5*MaxPerPerson)
	}
	resp, err := http.Post(srv.URL+TwilioInboundPath, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("ceiling answered %d %q", resp.StatusCode, b)
	}
}

func TestPeopleFileRoundTrip(t *testing.T) {
	people := []Person{{ID: "p_1", Channel: store.SMS, Address: "+447000000001", Code: "LTA"},
		{ID: "p_2", Channel: store.Telegram, Address: "5000000001", Code: "LTB"}}
	var buf bytes.Buffer
	if err := WritePeople(&buf, people); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPeople(&buf)
	if err != nil || len(got) != 2 || got[1] != people[1] {
		t.Fatalf("read %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"not json":       "{",
		"no code":        `{"id":"p","channel":"sms","address":"+1"}`,
		"bad channel":    `{"id":"p","channel":"fax","address":"+1","code":"C"}`,
		"telegram phone": `{"id":"p","channel":"telegram","address":"+1","code":"C"}`,
		"empty":          "\n",
	} {
		if _, err := ReadPeople(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A JOIN answered in the webhook itself means the server did not know the
// code: the person is not counted as linked, and no reply is awaited.
func TestLinkNoticesRefusedCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>That code did not work.</Message></Response>`)
	}))
	defer srv.Close()
	r := NewReplies()
	d := NewDriver(Target{BaseURL: srv.URL, TwilioAuthToken: token}, r, 2)
	people := []Person{{ID: "p_1", Channel: store.SMS, Address: "+447000000001", Code: "NOPE"}}
	res := d.Link(context.Background(), people, 2, time.Second)
	if len(res.Linked) != 0 || res.Errors.String() != "code refused×1" || res.Open != 0 {
		t.Fatalf("linked %d, errors %s, open %d", len(res.Linked), res.Errors.String(), res.Open)
	}
}
