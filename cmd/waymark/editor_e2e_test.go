package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/programme"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// repliesTo returns the bodies the fake Twilio accepted for phone, in order.
func repliesTo(fake *twiliotest.Server, phone string) []string {
	var out []string
	for _, r := range fake.Accepted() {
		if r.To == phone {
			out = append(out, r.Body)
		}
	}
	return out
}

// askUntil sends text from phone to base until a reply holds want (a
// process follows a new version within its poll), and fails after ten
// seconds with the last reply.
func askUntil(t *testing.T, fake *twiliotest.Server, base, public, phone, text, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		before := len(repliesTo(fake, phone))
		sid := fmt.Sprintf("SM%s%08d", strings.Repeat("e", 16), time.Now().UnixNano()%1e8+int64(i))
		if status, err := inboundSMS(base, public, sid, phone, text); err != nil || status != http.StatusOK {
			t.Fatalf("%s to %s: %d %v", text, base, status, err)
		}
		waitFor(t, "the reply to "+text, func() bool { return len(repliesTo(fake, phone)) > before })
		got := repliesTo(fake, phone)
		last := got[len(got)-1]
		if strings.Contains(last, want) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s: the reply never held %q; last:\n%s", text, base, want, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape returns the value of a metric without labels from /metrics.
func scrape(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func browserFor(t *testing.T) context.Context {
	t.Helper()
	const chromiumPath = "/usr/bin/chromium"
	if os.Getenv("WAYMARK_SKIP_BROWSER") == "1" {
		t.Skip("WAYMARK_SKIP_BROWSER=1: browser test skipped")
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: apt-get install -y chromium (or WAYMARK_SKIP_BROWSER=1)", chromiumPath)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true), chromedp.UserDataDir(t.TempDir()))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// TestEditorPublishesToEveryProcess is the organisation's day with the
// editor: two `waymark serve` processes on one Redis; an administrator,
// in Chromium on the first, edits a message in Arabic, changes the grace
// period, adds an information topic, checks, tries the draft in the
// simulator and publishes; a person writing in Arabic gets the new words
// from either process. Then the administrator rolls back, and both
// processes answer with the old words again. No SIGHUP, no restart.
func TestEditorPublishesToEveryProcess(t *testing.T) {
	t.Parallel() // real processes only: see TestMain
	redisURL, prefix := testkit.RedisPrefix(t)
	ctx := browserFor(t)
	bin := buildWaymark(t)
	fake := twiliotest.New(t, testAccount, testToken)
	key := seal.NewKey()
	const public = "http://waymark.example.org"

	st, err := redisstore.Open(t.Context(), redisstore.Options{URL: redisURL, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const password = "a long enough passphrase"
	if _, err := auth.New(st, clock.System{}, auth.Options{}).CreateAccount(t.Context(), "test",
		auth.NewAccount{Username: "ada", Role: store.RoleAdmin, Password: password}); err != nil {
		t.Fatal(err)
	}
	env := func() map[string]string {
		return map[string]string{
			"WAYMARK_ADDR": freeAddr(t), "WAYMARK_PUBLIC_URL": public, "WAYMARK_SECRET_KEY": key,
			"WAYMARK_REDIS_URL": redisURL, "WAYMARK_REDIS_PREFIX": prefix,
			"WAYMARK_TWILIO_ACCOUNT_SID": testAccount, "WAYMARK_TWILIO_AUTH_TOKEN": testToken, "WAYMARK_TWILIO_FROM": testFrom,
			"WAYMARK_TWILIO_API_URL": fake.URL, "WAYMARK_TWILIO_MPS": "1000",
			"WAYMARK_SIMULATOR": "true", "WAYMARK_PROGRAMME_POLL": "200ms",
		}
	}
	a, b := startProcess(t, bin, env()), startProcess(t, bin, env())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first process:\n%s\nsecond process:\n%s", a.logs.String(), b.logs.String())
		}
	})

	// People who read Arabic join through the first process: one asks
	// before the publish, one after, one after the rollback (the outbox
	// sends one person the same words at most five times in ten minutes).
	var phones []string
	for i := range 3 {
		phone := fmt.Sprintf("+44770090077%d", i)
		_, code := enrolParticipant(t, st, "ar")
		if status, err := inboundSMS(a.base, public, fmt.Sprintf("SM0000000000000000000000000000000%d", i), phone, "JOIN "+code); err != nil || status != http.StatusOK {
			t.Fatalf("JOIN: %d %v", status, err)
		}
		waitFor(t, "the welcome", func() bool { return len(repliesTo(fake, phone)) >= 1 })
		phones = append(phones, phone)
	}
	phone := phones[0]
	const oldAsk = "ماذا تريد أن تعرف؟"
	const newAsk = "ما الذي تودّ معرفته؟ أرسل رقمًا:"
	askUntil(t, fake, b.base, public, phone, "INFO", oldAsk)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do("sign in", chromedp.Navigate(a.base+"/login"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "ada"), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Sections]`)))

	// Words: the Arabic question of the information menu, counted as
	// one types, marked as checked by a reader of Arabic.
	do("words", chromedp.Navigate(a.base+"/programme/editor/words?lang=ar&group=info"), chromedp.WaitVisible(chromedp.ID("t-m-info-ask")))
	do("type the Arabic", chromedp.SetValue(chromedp.ID("t-m-info-ask"), strings.TrimSuffix(newAsk, ":")), chromedp.SendKeys(chromedp.ID("t-m-info-ask"), ":"))
	if got := text("#c-m-info-ask"); !strings.Contains(got, "UCS-2") || !strings.Contains(got, "as you type") {
		t.Errorf("the count as one types: %q", got)
	}
	do("save the Arabic", chromedp.Click(chromedp.CSS(`#m-info-ask input[name=reviewed]`)),
		chromedp.Click(chromedp.CSS(`#m-info-ask button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := text("#m-info-ask output"); !strings.Contains(got, "UCS-2") {
		t.Errorf("the count after saving: %q", got)
	}

	// Settings: the grace period.
	do("settings", chromedp.Navigate(a.base+"/programme/editor/settings"), chromedp.WaitVisible(chromedp.ID("checkin__grace_period")),
		chromedp.SetValue(chromedp.ID("checkin__grace_period"), "2d"), chromedp.Click(chromedp.ID("save-settings")), chromedp.WaitVisible(chromedp.CSS("p.notice")))

	// Flows: a new information topic.
	do("flows", chromedp.Navigate(a.base+"/programme/editor/flows/info"), chromedp.WaitVisible(chromedp.ID("topic")),
		chromedp.SendKeys(chromedp.ID("topic"), "housing"), chromedp.SendKeys(chromedp.ID("topic-label"), "Housing help"),
		chromedp.SendKeys(chromedp.ID("topic-answer"), "For help with housing, call {{.HelpPhone}}."),
		chromedp.Click(chromedp.ID("add-topic-button")), chromedp.WaitVisible(chromedp.ID("node-housing")))
	if svg := text(".diagram"); !strings.Contains(svg, "housing") {
		t.Errorf("the diagram lacks the new step: %q", svg)
	}

	// Check, then try the draft in the simulator in Arabic.
	do("check", chromedp.Navigate(a.base+"/programme/editor"), chromedp.WaitVisible(chromedp.ID("check")),
		chromedp.Click(chromedp.ID("check")), chromedp.WaitVisible(chromedp.ID("check-result")))
	if got := text("#check-result"); !strings.Contains(got, "No errors") {
		t.Fatalf("check of the draft: %q", got)
	}
	if got := text("#draft-changes"); !strings.Contains(got, "info.ask") || !strings.Contains(got, "programme.yaml") || !strings.Contains(got, "info.yaml") {
		t.Errorf("the draft's changes: %q", got)
	}
	do("try", chromedp.SetValue(chromedp.CSS(`form[action="/programme/editor/try"] select`), "ar"),
		chromedp.Click(chromedp.ID("try")), chromedp.WaitVisible(chromedp.ID("text")))
	simCode := text("main p strong")
	send := `form[action="/simulator/send"]:not(.choices) button`
	do("join in the simulator", chromedp.SendKeys(chromedp.ID("text"), "JOIN "+simCode), chromedp.Click(chromedp.CSS(send)),
		chromedp.WaitVisible(chromedp.CSS("ol.chat li.person")))
	do("ask for information in the simulator", chromedp.SendKeys(chromedp.ID("text"), "INFO"), chromedp.Click(chromedp.CSS(send)),
		chromedp.WaitVisible(chromedp.CSS("ol.chat li.person ~ li.person")))
	if got := text("ol.chat"); !strings.Contains(got, newAsk) || !strings.Contains(got, "Housing help") {
		t.Fatalf("the simulator on the draft does not show the new words:\n%s", got)
	}
	// Nothing is live yet: the second process still answers as before.
	askUntil(t, fake, b.base, public, phone, "INFO", oldAsk)

	do("publish", chromedp.Navigate(a.base+"/programme/editor"), chromedp.WaitVisible(chromedp.ID("publish")),
		chromedp.Click(chromedp.ID("publish")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := text("#live-version"); got != "2" {
		t.Fatalf("live version after publish: %q", got)
	}
	for _, p := range []*process{a, b} {
		reply := askUntil(t, fake, p.base, public, phones[1], "INFO", newAsk)
		if !strings.Contains(reply, "Housing help") {
			t.Errorf("%s answers without the new topic:\n%s", p.base, reply)
		}
	}

	for _, p := range []*process{a, b} {
		if got := scrape(t, p.base, "waymark_programme_version"); got != "2" {
			t.Errorf("%s reports programme version %q, want 2", p.base, got)
		}
	}

	do("roll back", chromedp.Navigate(a.base+"/programme/editor"), chromedp.WaitVisible(chromedp.ID("history")),
		chromedp.Click(chromedp.CSS(`form[action="/programme/editor/versions/1/rollback"] button`)), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := text("#live-version"); got != "3" {
		t.Fatalf("live version after the rollback: %q", got)
	}
	for _, p := range []*process{b, a} {
		if reply := askUntil(t, fake, p.base, public, phones[2], "INFO", oldAsk); strings.Contains(reply, "Housing help") {
			t.Errorf("%s still offers the topic after the rollback:\n%s", p.base, reply)
		}
	}
	list, err := st.ListProgrammes(t.Context())
	if err != nil || len(list) != 3 || list[0].Source != programme.FromRollback || list[1].Source != programme.FromEditor {
		t.Fatalf("history: %+v %v", list, err)
	}
	for i, p := range []*process{a, b} {
		p.stop(t)
		for _, leak := range []string{"+4477009007", key, "JOIN"} {
			if strings.Contains(p.logs.String(), leak) {
				t.Errorf("process %d logged %q", i, leak)
			}
		}
	}
}

// TestPublishIsAtomicUnderConcurrentTurns publishes a version that
// changes a question and one of its choices while people keep asking it:
// every answer is wholly the old version or wholly the new, never half
// of each, and every answer after the switch is the new one.
func TestPublishIsAtomicUnderConcurrentTurns(t *testing.T) {
	st := openBolt(t)
	fake := twiliotest.New(t, testAccount, testToken)
	svc := startServiceEnv(t, st, fake, seal.NewKey(), map[string]string{"WAYMARK_PROGRAMME_POLL": "100ms"})
	defer svc.stop()
	ctx := t.Context()

	// Each asks three times: the outbox sends one person the same words
	// at most five times in ten minutes.
	const people = 20
	var phones []string
	for i := range people {
		_, code := enrolParticipant(t, st, "en")
		phone := fmt.Sprintf("+44770091%04d", i)
		phones = append(phones, phone)
		if status, _ := svc.sms(fmt.Sprintf("SMjoin%026d", i), phone, "JOIN "+code); status != http.StatusOK {
			t.Fatalf("JOIN: %d", status)
		}
	}
	waitFor(t, "every welcome", func() bool { return len(fake.Accepted()) >= people })

	n, err := st.CurrentProgramme(ctx)
	if err != nil || n != 1 {
		t.Fatalf("live version %d %v, want 1", n, err)
	}
	live, err := st.GetProgramme(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	files := programme.Files(live.Files).Clone()
	en := files[programme.Locale("en")]
	for _, m := range [][2]string{{"info.ask", "Which do you want? Reply with a number:"}, {"info.choice.rights", "What you are entitled to"}} {
		if en, err = programme.SetMessage(en, m[0], "", m[1], false); err != nil {
			t.Fatal(err)
		}
	}
	files[programme.Locale("en")] = en

	var wg sync.WaitGroup
	for i, phone := range phones {
		wg.Go(func() {
			for j := range 3 {
				if status, _ := svc.sms(fmt.Sprintf("SMinfo%02d%024d", i, j), phone, "INFO"); status != http.StatusOK {
					t.Errorf("INFO: %d", status)
				}
			}
		})
	}
	time.Sleep(30 * time.Millisecond) // some turns before, the rest during and after
	if _, err := st.PublishProgramme(ctx, 1, store.ProgrammeVersion{
		At: time.Now(), By: "acc_test", Source: programme.FromEditor, Note: "info words", FilesDigest: live.FilesDigest, Files: files,
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// Once the process follows version 2 (it polls every 100 ms; loading a
	// version is slow under the race detector), every answer has the new
	// words. Asking again and again before that would run into the
	// outbox's guard against the same words sent over and over.
	waitFor(t, "the process to follow version 2", func() bool { return scrape(t, svc.public, "waymark_programme_version") == "2" })
	for i, phone := range phones {
		waitFor(t, "the switch", func() bool {
			before := len(repliesTo(fake, phone))
			svc.sms(fmt.Sprintf("SMlate%02d%08d", i, time.Now().UnixNano()%1e8), phone, "INFO")
			waitFor(t, "a reply", func() bool { return len(repliesTo(fake, phone)) > before })
			got := repliesTo(fake, phone)
			return strings.Contains(got[len(got)-1], "What you are entitled to")
		})
	}
	old, fresh := 0, 0
	for _, phone := range phones {
		for _, body := range repliesTo(fake, phone) {
			if !strings.Contains(body, "Reply with a number") {
				continue // the welcome
			}
			oldWords := strings.Contains(body, "What would you like to know?") && strings.Contains(body, "Your rights")
			newWords := strings.Contains(body, "Which do you want?") && strings.Contains(body, "What you are entitled to")
			switch {
			case oldWords && !newWords:
				old++
			case newWords && !oldWords:
				fresh++
			default:
				t.Errorf("an answer mixes two versions:\n%s", body)
			}
		}
	}
	if fresh == 0 {
		t.Fatalf("no answer with the new words (%d old)", old)
	}
	t.Logf("%d answers from the old version, %d from the new", old, fresh)
}
