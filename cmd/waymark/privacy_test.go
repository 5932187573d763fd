package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/channel/telegram"
	"github.com/waymark-atd/waymark/internal/channel/telegram/telegramtest"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// The privacy suite: an end-to-end run over SMS and Telegram on each
// backend, then a walk over everything stored and everything logged.
// docs/privacy.md cites these tests for its claims.

// What the people in the run send and are: none of it may be stored or
// logged in clear.
const (
	privSMSPhone     = "+447700900456"
	privDeletePhone  = "+447700900789"
	privChatID       = 912345678
	privTGToken      = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	privTGSecret     = "tg-Secret_0123456789abcdef"
	privFreeText     = "I am at the station on Elm Street with my brother"
	privFreeTextTG   = "my lawyer is Maria Lopez at 12 Baker Road"
	privPassword     = "a very long caseworker passphrase"
	privTelegramName = "Amira"
)

// privacyService is a running serve with Twilio, Telegram and the
// caseworker side, on a store the test walks afterwards.
type privacyService struct {
	t      *testing.T
	public string
	st     store.Store
	box    *seal.Box
	key    string
	twilio *twiliotest.Server
	tg     *telegramtest.Server
	logs   *testkit.Logs
	stop   func()
	update int
}

func startPrivacyService(t *testing.T, st store.Store, extraEnv map[string]string) *privacyService {
	t.Helper()
	tw := twiliotest.New(t, testAccount, testToken)
	tg := telegramtest.New(t, privTGToken)
	addr := freeAddr(t)
	public := "http://" + addr
	key := seal.NewKey()
	env := map[string]string{
		"WAYMARK_ADDR": addr, "WAYMARK_DATA_DIR": t.TempDir(), "WAYMARK_PUBLIC_URL": public, "WAYMARK_SECRET_KEY": key,
		"WAYMARK_TWILIO_ACCOUNT_SID": testAccount, "WAYMARK_TWILIO_AUTH_TOKEN": testToken, "WAYMARK_TWILIO_FROM": testFrom,
		"WAYMARK_TWILIO_API_URL": tw.URL, "WAYMARK_TWILIO_MPS": "1000",
		"WAYMARK_TELEGRAM_TOKEN": privTGToken, "WAYMARK_TELEGRAM_API_URL": tg.URL, "WAYMARK_TELEGRAM_WEBHOOK_SECRET": privTGSecret,
		"WAYMARK_TELEGRAM_BOT_USERNAME": "ExampleCheckInBot",
		"WAYMARK_LOG_LEVEL":             "debug", "WAYMARK_SIMULATOR": "false",
	}
	maps.Copy(env, extraEnv)
	cfg, _, err := config.Load(func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := seal.ParseKey(key)
	box, _ := seal.New(k)
	logs := &testkit.Logs{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := &privacyService{t: t, public: public, st: st, box: box, key: key, twilio: tw, tg: tg, logs: logs, update: 700000000}
	s.stop = serveInTest(t, cfg, log, st, clock.System{}, public)
	return s
}

// sms posts a signed inbound SMS with Twilio's geo fields, and waits until
// the outbox has sent everything it queued (one person's replies are
// spaced by the per-chat rate limit, so waiting as we go keeps the run
// short and in order).
func (s *privacyService) sms(from, body string) {
	s.t.Helper()
	sid := "SM" + strings.Repeat("0", 10) + fmt.Sprint(time.Now().UnixNano())
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testAccount}, "From": {from}, "To": {testFrom},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		"FromCity": {"LONDON"}, "FromCountry": {"GB"}, "FromZip": {"N1 9GU"}, "FromState": {"Greater London"},
		"ToCity": {"SOMEWHERE"}, "ProfileName": {privTelegramName},
	}
	target := s.public + "/webhooks/twilio/sms"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("SMS %q answered %d", body, resp.StatusCode)
	}
	s.settle()
}

// telegram posts an update from the test chat, with the sender's name and
// username as Telegram sends them; extra fields join the message.
func (s *privacyService) telegram(text string, extra map[string]any) {
	s.t.Helper()
	s.update++
	msg := map[string]any{
		"message_id": s.update, "date": time.Now().Unix(),
		"from": map[string]any{"id": privChatID, "is_bot": false, "first_name": privTelegramName, "last_name": "Khalil", "username": "amira_k", "language_code": "ar"},
		"chat": map[string]any{"id": privChatID, "type": "private", "first_name": privTelegramName, "username": "amira_k"},
	}
	if text != "" {
		msg["text"] = text
	}
	maps.Copy(msg, extra)
	body, _ := json.Marshal(map[string]any{"update_id": s.update, "message": msg})
	req, _ := http.NewRequest(http.MethodPost, s.public+telegram.PublicWebhookPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegram.SecretHeader, privTGSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("Telegram %q answered %d", text, resp.StatusCode)
	}
	s.settle()
}

// settle waits until no message is left pending in the outbox.
func (s *privacyService) settle() {
	s.t.Helper()
	waitFor(s.t, "the outbox to send everything", func() bool {
		ps, err := s.st.ListParticipants(context.Background())
		if err != nil {
			return false
		}
		for _, p := range ps {
			msgs, err := s.st.OutboundOf(context.Background(), p.ID)
			if err != nil {
				return false
			}
			for _, m := range msgs {
				if m.Status == store.Pending {
					return false
				}
			}
		}
		return true
	})
}

// api calls the caseworker JSON API with a bearer token.
func (s *privacyService) api(token, method, path string, body any) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.public+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// privacyRun drives everything a programme does in a day: a caseworker
// account with a session and an API token, three people (SMS in Spanish,
// Telegram, and one who asks to be deleted) who join, agree, check in,
// ask for information and a call, write free text, send a location, stop
// and start again; appointments and schedules; delivery statuses; and a
// mistaken log line. It returns the secrets a leak check looks for.
func privacyRun(t *testing.T, st store.Store) (logs string, secrets []string) {
	s := startPrivacyService(t, st, nil)
	defer s.stop()
	ctx := context.Background()

	au := auth.New(st, clock.System{}, auth.Options{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	admin, err := au.CreateAccount(ctx, "test", auth.NewAccount{Username: "ada", Role: store.RoleAdmin, Password: privPassword, ChildProtectionTrained: true})
	if err != nil {
		t.Fatal(err)
	}
	token, err := au.CreateAPIToken(ctx, "test", admin.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	session, err := au.Login(ctx, "ada", privPassword, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}

	newPerson := func(label, lang string) (string, string) {
		pid, code := enrolParticipant(t, st, lang)
		p, _ := st.GetParticipant(ctx, pid)
		p.Label, p.CaseworkerID = label, admin.ID
		p.Schedule = &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "00:00", CloseDay: "sunday", CloseTime: "23:59"}}}
		if err := st.UpdateParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
		return pid, code
	}
	smsPID, smsCode := newPerson("Case 12", "es")
	tgPID, tgCode := newPerson("Case 13", "en")
	_, delCode := newPerson("Case 14", "en")

	// SMS, in Spanish: join, agree, Spanish, check in, information, a call,
	// free text, STOP and START.
	for _, text := range []string{"UNIRSE " + smsCode, "sí", "2", "MENU", "1", "AYUDA", "1", "MENU", "2", privFreeText, "PARAR", "START"} {
		s.sms(privSMSPhone, text)
	}
	// Telegram: /start CODE, agree, English, check in, a location, free
	// text, STOP and START.
	s.telegram("/start "+tgCode, nil)
	for _, text := range []string{"1", "1", "menu", "1"} {
		s.telegram(text, nil)
	}
	s.telegram("", map[string]any{"location": map[string]any{"latitude": 51.507351, "longitude": -0.127758}})
	s.telegram("", map[string]any{"contact": map[string]any{"phone_number": "+447700900999", "first_name": "Brother"}})
	for _, text := range []string{privFreeTextTG, "/stop", "START"} {
		s.telegram(text, nil)
	}
	// A third person joins and asks to be deleted.
	for _, text := range []string{"JOIN " + delCode, "1", "1", "DELETE", "1"} {
		s.sms(privDeletePhone, text)
	}

	// The caseworker side: an appointment (with its reminders planned), an
	// attention item resolved, a participant exported, all through the API.
	if code := s.api(token, http.MethodPost, "/api/v1/participants/"+smsPID+"/appointments",
		map[string]any{"kind": "hearing", "place": "Court 2", "date": time.Now().AddDate(0, 0, 10).Format(time.DateOnly), "time": "10:00"}); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("appointment: %d", code)
	}
	items, _ := st.ListAttention(ctx, true)
	for _, it := range items {
		if it.ParticipantID == tgPID {
			if code := s.api(token, http.MethodPost, "/api/v1/attention/"+it.ID+"/resolve", map[string]any{"resolution": "contacted"}); code != http.StatusOK {
				t.Fatalf("resolve: %d", code)
			}
			break
		}
	}

	// Delivery statuses for every SMS, as Twilio sends them; each is
	// answered once applied, so nothing is left to land after the loop.
	for _, r := range s.twilio.Accepted() {
		if resp, err := s.twilio.SendStatus(ctx, r, "delivered", ""); err == nil {
			resp.Body.Close()
		}
	}

	// A mistake in code: a log line that names what it must not. The
	// redaction layer is the process's default logger, so it catches it.
	slog.Default().Warn("mistake: message from "+privSMSPhone, "text", privFreeText, "from", privSMSPhone, "chat_id", privChatID,
		"err", fmt.Errorf("token %s secret %s for chat %d", privTGToken, privTGSecret, privChatID))

	secrets = []string{s.key, testToken, privTGToken, privTGSecret, token, session.Token, session.CSRFToken, privPassword, smsCode, tgCode, delCode}
	return s.logs.String(), secrets
}

// storedEntry is one thing found in the store: where (a bolt bucket or a
// Redis key pattern), the field names of its JSON value ("-" for a value
// that is not a JSON object), and every byte of key and value.
type storedEntry struct {
	where  string
	fields []string
	raw    []byte
	doc    map[string]any
}

// walkBolt reads every bucket and key of a closed bolt file.
func walkBolt(t *testing.T, path string) []storedEntry {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []storedEntry
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				out = append(out, entryOf("bolt:"+string(name), k, v))
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// redisPatterns turn Redis key names (without the prefix) into the
// patterns docs/privacy.md names.
var redisPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^\{p:[^}]*\}:`), "{p:*}:"},
	{regexp.MustCompile(`^(link|appointment|code|dedupe|lease|rate|counter):.*$`), "$1:*"},
	{regexp.MustCompile(`^due:\{d\d+\}:`), "due:{d*}:"},
	{regexp.MustCompile(`^outbox:\{o\d+\}:`), "outbox:{o*}:"},
	{regexp.MustCompile(`^audit:\{audit\}:by:.*$`), "audit:{audit}:by:*"},
	{regexp.MustCompile(`^caseload:\{caseload\}:(by|children):.*$`), "caseload:{caseload}:$1:*"},
	{regexp.MustCompile(`^accounts:\{accounts\}:(session|sessions|token|tokens|setup):.*$`), "accounts:{accounts}:$1:*"},
}

// walkRedis reads every key under prefix, whatever its type.
func walkRedis(t *testing.T, redisURL, prefix string) []storedEntry {
	t.Helper()
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	var out []storedEntry
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		name := strings.TrimPrefix(key, prefix)
		where := name
		for _, p := range redisPatterns {
			where = p.re.ReplaceAllString(where, p.repl)
		}
		where = "redis:" + where
		typ, err := c.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "none":
			continue // gone between the scan and its read: a lease given up, a mark expired
		case "string":
			v, _ := c.Get(ctx, key).Bytes()
			out = append(out, entryOf(where, []byte(name), v))
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				if strings.HasSuffix(where, ":person") && (strings.HasPrefix(f, "w") || strings.HasPrefix(f, "i")) {
					v = dueRecordOf(t, v) // a due item's, beside the record and hints
				}
				out = append(out, entryOf(where, []byte(name+"\x00"+f), []byte(v)))
			}
		case "set":
			for _, m := range c.SMembers(ctx, key).Val() {
				out = append(out, entryOf(where, []byte(name), []byte(m)))
			}
		case "zset":
			for _, m := range c.ZRange(ctx, key, 0, -1).Val() {
				out = append(out, entryOf(where, []byte(name), []byte(m)))
			}
		default:
			t.Errorf("key %s is a %s, which the walk does not read", where, typ)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dueRecordOf is the record in a value of a person's due items: the value
// itself while it waits unclaimed for its due time, else after the time
// key it is claimable at (21 digits) and its owner, length first in three
// digits (internal/store/redis/due.go).
func dueRecordOf(t *testing.T, v string) string {
	t.Helper()
	if strings.HasPrefix(v, "{") {
		return v
	}
	n, err := strconv.Atoi(v[min(21, len(v)):min(24, len(v))])
	if err != nil || len(v) < 24+n {
		t.Fatalf("a due item's value is not as the store writes it: %.40q", v)
	}
	return v[24+n:]
}

// entryOf decodes a value: the dotted paths of a JSON object's fields
// (nested objects joined with dots, arrays of objects looked into), or "-".
func entryOf(where string, k, v []byte) storedEntry {
	e := storedEntry{where: where, raw: append(append(append([]byte(nil), k...), 0), v...)}
	var doc map[string]any
	if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &doc) == nil {
		e.doc = doc
		e.fields = fieldPaths("", doc)
	} else {
		e.fields = []string{"-"}
	}
	return e
}

// opaque fields hold a map of variables; their keys are data, not fields.
var opaque = map[string]bool{"vars": true, "data": true, "files": true}

func fieldPaths(prefix string, doc map[string]any) []string {
	var out []string
	for k, v := range doc {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = append(out, p)
		if opaque[k] {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			out = append(out, fieldPaths(p, v)...)
		case []any:
			for _, el := range v {
				if m, ok := el.(map[string]any); ok {
					out = append(out, fieldPaths(p, m)...)
				}
			}
		}
	}
	return out
}

// inventory reads the data inventory of docs/privacy.md: under each
// "Stored in:" line naming locations in backticks, a table whose rows
// start with the field names in backticks. Every location of the line
// holds every field of its table.
func inventory(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "privacy.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tick := regexp.MustCompile("`([^`]+)`")
	inv := map[string]map[string]bool{}
	var where []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Stored in:"):
			where = nil
			for _, m := range tick.FindAllStringSubmatch(line, -1) {
				where = append(where, m[1])
				if inv[m[1]] == nil {
					inv[m[1]] = map[string]bool{}
				}
			}
		case strings.HasPrefix(line, "| `") && where != nil:
			cell := strings.SplitN(line, "|", 3)[1]
			for _, m := range tick.FindAllStringSubmatch(cell, -1) {
				for _, w := range where {
					inv[w][m[1]] = true
				}
			}
		case strings.HasPrefix(line, "#"):
			where = nil
		}
	}
	if len(inv) == 0 {
		t.Fatal("docs/privacy.md has no inventory")
	}
	return inv
}

// geoField matches field names that would hold a location.
var geoField = regexp.MustCompile(`(?i)(city|state|zip|postcode|country|latitude|longitude|location|venue|geo|coordinates)`)

// checkStore fails on anything stored that the inventory does not name,
// on any address, chat ID, name or free text in clear, on any location
// field, and on any message text kept past its final status.
func checkStore(t *testing.T, entries []storedEntry, backend string) {
	t.Helper()
	inv := inventory(t)
	seen := map[string]bool{}
	var unknown []string
	for _, e := range entries {
		fields := inv[e.where]
		for _, f := range e.fields {
			if fields == nil || !fields[f] {
				if k := e.where + " " + f; !seen[k] {
					seen[k] = true
					unknown = append(unknown, k)
				}
			}
			if leaf := f[strings.LastIndex(f, ".")+1:]; geoField.MatchString(leaf) {
				t.Errorf("%s stores a location field %q", e.where, f)
			}
		}
		if e.doc != nil {
			checkText(t, e)
		}
	}
	sort.Strings(unknown)
	for _, u := range unknown {
		t.Errorf("%s: stored but not in the docs/privacy.md inventory: %s", backend, u)
	}
	if len(entries) < 50 {
		t.Errorf("the walk found only %d entries: it is not seeing the store", len(entries))
	}
	clear := []string{
		privSMSPhone, "447700900456", "7700900456", privDeletePhone, "7700900789", fmt.Sprint(privChatID), "7700900999",
		privFreeText, "Elm Street", "brother", privFreeTextTG, "Maria Lopez", "Baker Road",
		privTelegramName, "Khalil", "amira_k", "LONDON", "Greater London", "N1 9GU", "SOMEWHERE", "51.507", "0.1277",
	}
	for _, e := range entries {
		for _, c := range clear {
			// As sent, and lower-cased as keyword matching folds it.
			if bytes.Contains(e.raw, []byte(c)) || bytes.Contains(e.raw, []byte(strings.ToLower(c))) {
				t.Errorf("%s: %s holds %q in clear", backend, e.where, c)
			}
		}
	}
}

// checkText allows a message's text only while it waits to be sent or for
// its delivery report.
func checkText(t *testing.T, e storedEntry) {
	t.Helper()
	msg := e.doc
	if m, ok := e.doc["message"].(map[string]any); ok {
		msg = m // bolt's outbox record holds the message under "message"
	}
	text, _ := msg["text"].(string)
	status, _ := msg["status"].(string)
	if text != "" && store.MessageStatus(status).Final() {
		t.Errorf("%s keeps the text of a message at final status %s", e.where, status)
	}
}

// checkLogs fails on any address, chat ID, text, name, token, password,
// code or key in the log.
func checkLogs(t *testing.T, logs string, secrets []string) {
	t.Helper()
	if !strings.Contains(logs, "waymark serving") || !strings.Contains(logs, "turn") {
		t.Fatalf("the log does not show the run; the check would prove nothing:\n%s", logs)
	}
	if !strings.Contains(logs, "mistake:") {
		t.Fatalf("the deliberate mistake was not logged through the service's handler")
	}
	leaks := append([]string{privSMSPhone, "7700900456", privDeletePhone, "7700900789", fmt.Sprint(privChatID),
		privFreeText, "Elm Street", privFreeTextTG, "Baker Road", privTelegramName, "amira_k", "LONDON", "Greater London"}, secrets...)
	for _, l := range leaks {
		if l != "" && strings.Contains(logs, l) {
			t.Errorf("the log holds %q", l)
			for line := range strings.SplitSeq(logs, "\n") {
				if strings.Contains(line, l) {
					t.Logf("  %s", line)
				}
			}
		}
	}
}

// TestPrivacyStoreWalkAndLogs runs the whole day on each backend, then
// walks every stored key and checks the log.
func TestPrivacyStoreWalkAndLogs(t *testing.T) {
	t.Parallel() // the one service in this process that runs beside others: see TestMain
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "waymark.db")
		st, err := bolt.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		logs, secrets := privacyRun(t, st)
		st.Close()
		checkLogs(t, logs, secrets)
		checkStore(t, walkBolt(t, path), "bolt")
	})
	t.Run("redis", func(t *testing.T) {
		redisURL, prefix := testkit.RedisPrefix(t)
		st, err := redisstore.Open(t.Context(), redisstore.Options{URL: redisURL, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		logs, secrets := privacyRun(t, st)
		st.Close()
		checkLogs(t, logs, secrets)
		checkStore(t, walkRedis(t, redisURL, prefix), "redis")
	})
}

// storedTypes is every record type the backends write as JSON, with where
// each backend keeps it and the prefix its fields carry there (bolt wraps
// queue items in a record holding their claim).
var storedTypes = []struct {
	v      any
	where  []string
	prefix string
}{
	{store.Participant{}, []string{"bolt:participants", "redis:{p:*}:person"}, ""},
	{store.Link{}, []string{"bolt:links", "redis:link:*"}, ""},
	{store.EnrolmentCode{}, []string{"bolt:codes", "redis:code:*"}, ""},
	{store.Session{}, []string{"bolt:sessions", "redis:{p:*}:session"}, ""},
	{store.CheckIn{}, []string{"bolt:checkins"}, ""},

	{store.AttentionItem{}, []string{"bolt:attention", "redis:{p:*}:attention"}, ""},
	{store.AuditEntry{}, []string{"bolt:audit", "redis:audit:{audit}:rec", "redis:{p:*}:audit"}, ""},
	{store.OutboundMessage{}, []string{"bolt:outbox"}, "message."},
	{store.OutboundMessage{}, []string{"redis:{p:*}:outbox"}, ""},
	{store.Appointment{}, []string{"bolt:appointments", "redis:appointment:*"}, ""},
	{store.DueItem{}, []string{"bolt:due"}, "item."},
	{store.DueItem{}, []string{"redis:{p:*}:person"}, ""},
	{store.Account{}, []string{"bolt:accounts", "redis:accounts:{accounts}:rec"}, ""},
	{store.WebSession{}, []string{"bolt:web_sessions", "redis:accounts:{accounts}:session:*"}, ""},
	{store.APIToken{}, []string{"bolt:api_tokens", "redis:accounts:{accounts}:token:*"}, ""},
	{store.ProgrammeVersion{}, []string{"bolt:programmes", "bolt:programme_headers", "redis:programme:{programme}:versions", "redis:programme:{programme}:headers"}, ""},
	{store.ProgrammeDraft{}, []string{"bolt:programme_draft", "redis:programme:{programme}:draft"}, ""},
}

// jsonPaths lists the JSON field paths of a struct type as entryOf names
// them: nested structs (and slices of them) joined with dots, maps and
// times as leaves.
func jsonPaths(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := prefix + name
		out = append(out, p)
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			out = append(out, jsonPaths(ft, p+".")...)
		}
	}
	return out
}

// TestInventoryCoversEveryStoredField checks docs/privacy.md against the
// code: every field of every stored record type is in the inventory for
// every place it is kept, whether or not a run happened to write it. A
// field added to a record without a word on why fails here.
func TestInventoryCoversEveryStoredField(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	inv := inventory(t)
	for _, st := range storedTypes {
		typ := reflect.TypeOf(st.v)
		for _, where := range st.where {
			for _, p := range jsonPaths(typ, st.prefix) {
				if !inv[where][p] {
					t.Errorf("%s.%s is kept in %s but docs/privacy.md does not list it there", typ.Name(), p, where)
				}
			}
		}
	}
}

// secretCompare finds == or != with an operand named like a secret
// (token, secret, password, CSRF, signature, hash, MAC) and compared with
// something other than "", nil or 0.
var secretCompare = regexp.MustCompile(`([\w.]*(?i:token|secret|password|csrf|signature|hash|mac)\w*(?:\(\))?\s*[!=]=\s*[^\s)]+)|([!=]=\s*[\w.]*(?i:token|secret|password|csrf|signature|hash)\w*)`)

// TestSecretsAreComparedInConstantTime greps Waymark's code (not the
// fakes of providers that tests use) for a secret compared with == or !=,
// which returns as soon as a byte differs and so tells a guesser how much
// of their guess was right. Secrets are compared with
// crypto/subtle.ConstantTimeCompare, or looked up by their hash.
func TestSecretsAreComparedInConstantTime(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	root := filepath.Join("..", "..")
	checked := 0
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (strings.HasSuffix(d.Name(), "test") || d.Name() == "testdata") {
				return filepath.SkipDir // provider fakes and the load harness
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			for i, line := range strings.Split(string(b), "\n") {
				code, _, _ := strings.Cut(line, "//")
				if !strings.Contains(code, "==") && !strings.Contains(code, "!=") {
					continue // every match holds one: the regexp need not search the rest
				}
				for _, m := range secretCompare.FindAllString(code, -1) {
					rhs := strings.TrimSpace(m[strings.LastIndexAny(m, "=")+1:])
					if rhs == `""` || rhs == "nil" || rhs == "0" {
						continue
					}
					t.Errorf("%s:%d compares a secret with == or !=: %s", path, i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d files", checked)
	}
}

// TestDocsNameRealTests keeps docs/privacy.md and docs/threat-model.md
// honest: every test, fuzz target, contract case and file they cite as
// proof exists.
func TestDocsNameRealTests(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	root := filepath.Join("..", "..")
	var code strings.Builder
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "deploy") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, "_test.go") || strings.Contains(path, "storetest")) {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			code.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := code.String()
	tick := regexp.MustCompile("`([^`\\s]+)`")
	testName := regexp.MustCompile(`^(Test|Fuzz)[A-Za-z0-9_]+$`)
	caseName := regexp.MustCompile(`^[A-Z][a-z]+(?:[A-Z][a-z0-9]*){2,}$`)
	cited := 0
	for _, doc := range []string{"privacy.md", "threat-model.md"} {
		b, err := os.ReadFile(filepath.Join(root, "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tick.FindAllStringSubmatch(string(b), -1) {
			tok := m[1]
			switch {
			case testName.MatchString(tok):
				cited++
				if !strings.Contains(all, "func "+tok+"(") {
					t.Errorf("%s cites %s, which is no test", doc, tok)
				}
			case caseName.MatchString(tok):
				cited++
				if !strings.Contains(all, `{"`+tok+`",`) {
					t.Errorf("%s cites the contract case %s, which does not exist", doc, tok)
				}
			case strings.HasPrefix(tok, "internal/") || strings.HasPrefix(tok, "cmd/"):
				if _, err := os.Stat(filepath.Join(root, tok)); err != nil {
					t.Errorf("%s cites %s, which does not exist", doc, tok)
				}
			}
		}
	}
	if cited < 40 {
		t.Errorf("the docs cite only %d tests", cited)
	}
}
