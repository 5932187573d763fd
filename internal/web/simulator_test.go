package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/internal/web"
)

// simServer is the web server with only the simulator, on real stores.
func simServer(t *testing.T) *httptest.Server {
	t.Helper()
	content := testkit.Shipped(t)
	st, scratch, box := testkit.Bolt(t, nil), testkit.Bolt(t, nil), testkit.Box(t)
	log := slog.New(slog.DiscardHandler)
	conv := conversation.New(st, box, conversation.NewLive(content), clock.System{}, log, nil)
	sim, err := simulator.New(scratch, conv.Content, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{Store: st, Conversation: conv, Simulator: sim, Log: log}))
	t.Cleanup(srv.Close)
	return srv
}

type simAPI struct {
	t   *testing.T
	url string
	id  string
}

func (a *simAPI) post(path string, body any) (int, map[string]any) {
	a.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(a.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (a *simAPI) say(text string) string {
	a.t.Helper()
	code, out := a.post("/simulator/api/sessions/"+a.id+"/messages", map[string]string{"text": text})
	if code != http.StatusOK {
		a.t.Fatalf("say %q: status %d %v", text, code, out)
	}
	var all []string
	for _, r := range out["replies"].([]any) {
		all = append(all, r.(map[string]any)["text"].(string))
	}
	return strings.Join(all, "\n")
}

// In every shipped language a person can enrol, check in, ask for
// information and switch language, through the simulator's HTTP API.
func TestSimulatorEveryLanguage(t *testing.T) {
	t.Parallel()
	srv := simServer(t)
	langChoice := map[string]string{"en": "1", "es": "2", "fr": "3", "ar": "4", "uk": "5"}
	for lang, choice := range langChoice {
		t.Run(lang, func(t *testing.T) {
			a := &simAPI{t: t, url: srv.URL}
			code, out := a.post("/simulator/api/sessions", map[string]string{"language": lang})
			if code != http.StatusCreated {
				t.Fatalf("start: %d %v", code, out)
			}
			a.id = out["id"].(string)
			if got := a.say("JOIN " + out["code"].(string)); !strings.Contains(got, "1") {
				t.Fatalf("no consent question after JOIN: %q", got)
			}
			a.say("1")                    // agree
			a.say(choice)                 // keep this language
			menu := a.say("hello")        // the main menu
			thanks := a.say("1")          // check in
			info := a.say("INFO")         // the information menu
			rights := a.say("1")          // your rights
			switched := a.say("LANGUAGE") // choose a language
			english := a.say("1")
			for name, got := range map[string]string{"menu": menu, "thanks": thanks, "info": info, "rights": rights, "language": switched, "after switching": english} {
				if strings.TrimSpace(got) == "" {
					t.Errorf("%s: no reply", name)
				}
			}
			if thanks == menu || info == menu {
				t.Errorf("check-in or info answered with the menu again: %q", thanks)
			}
		})
	}
}

func TestSimulatorBadInputGetsAPoliteReply(t *testing.T) {
	t.Parallel()
	srv := simServer(t)
	a := &simAPI{t: t, url: srv.URL}
	_, out := a.post("/simulator/api/sessions", map[string]string{"language": "en"})
	a.id = out["id"].(string)
	a.say("JOIN " + out["code"].(string))
	for name, text := range map[string]string{
		"100 KB":       strings.Repeat("check in ", 100_000/9),
		"invalid UTF8": "\xff\xfe\xfd",
		"empty":        "",
	} {
		if got := a.say(text); strings.TrimSpace(got) == "" {
			t.Errorf("%s: no reply", name)
		}
	}
	// JSON that is not valid, or has unknown fields, is a clear 400.
	for _, body := range []string{`{"text":`, `{"txt":"hi"}`, "\xff"} {
		resp, err := http.Post(srv.URL+"/simulator/api/sessions/"+a.id+"/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "error") {
			t.Errorf("body %q: %d %s", body, resp.StatusCode, b)
		}
	}
	if code, _ := a.post("/simulator/api/sessions/nope/messages", map[string]string{"text": "hi"}); code != http.StatusNotFound {
		t.Errorf("unknown session: %d", code)
	}
	if code, _ := a.post("/simulator/api/sessions/"+a.id+"/skip", map[string]string{"duration": "-3h"}); code != http.StatusBadRequest {
		t.Errorf("bad skip: %d", code)
	}
}

// The page works with plain forms, no JavaScript: start, send, skip.
func TestSimulatorPageWithForms(t *testing.T) {
	t.Parallel()
	srv := simServer(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(srv.URL+"/simulator/start", url.Values{"lang": {"ar"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	i := strings.Index(string(page), "JOIN ")
	if i < 0 {
		t.Fatalf("page does not show the JOIN instruction:\n%s", page)
	}
	code := strings.Fields(string(page[i+5:]))[0]
	code = strings.TrimSuffix(code, "</kbd>")
	resp, _ = client.PostForm(srv.URL+"/simulator/send", url.Values{"text": {"JOIN " + code}})
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// The page is in the person's language; Waymark's words are set right
	// to left on the text itself (a Latin heading must not turn them).
	for _, want := range []string{`<html lang="ar">`, `<span class="text" lang="ar" dir="rtl">`, "أوافق"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the Arabic page lacks %q:\n%s", want, page)
		}
	}
	// Answer the question; the old question's buttons can no longer be
	// pressed, the new one's can.
	resp, _ = client.PostForm(srv.URL+"/simulator/send", url.Values{"text": {"1"}})
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	forms := strings.Split(string(page), `class="choices"`)
	if len(forms) < 3 {
		t.Fatalf("want two questions with choices on the page:\n%s", page)
	}
	for i, f := range forms[1:] {
		f, _, _ = strings.Cut(f, "</form>")
		last := i == len(forms)-2
		if strings.Contains(f, "disabled") == last {
			t.Errorf("question %d (last %t): disabled wrongly:\n%s", i, last, f)
		}
	}
	resp, _ = client.PostForm(srv.URL+"/simulator/skip", url.Values{"duration": {"1d"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("skip: %d", resp.StatusCode)
	}
	if h := resp.Header.Get("Content-Security-Policy"); !strings.Contains(h, "default-src 'self'") {
		t.Errorf("CSP = %q", h)
	}
}

// TestSimulatorIsLimitedPerAddress: one address cannot start people or
// post messages faster than a person trying flows would.
func TestSimulatorIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	a := &simAPI{t: t, url: simServer(t).URL}
	starts := map[int]int{}
	for range 15 {
		code, _ := a.post("/simulator/api/sessions", map[string]string{"language": "en"})
		starts[code]++
	}
	if starts[http.StatusCreated] == 0 || starts[http.StatusTooManyRequests] == 0 {
		t.Fatalf("15 quick starts from one address: %v; want some started, then 429", starts)
	}
}
