package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// SIGTERM in the middle of a burst of webhooks: the real binary, on the
// embedded store, with Twilio faked. Every webhook that was answered 200
// must have its turn stored and its replies sent or still queued; nothing
// acknowledged may be lost, and the process must exit 0 well within the
// time an orchestrator gives it.
func TestSIGTERMUnderLoadLosesNothingAcknowledged(t *testing.T) {
	t.Parallel() // real processes only: see TestMain
	const (
		people  = 16
		perHead = 5 // JOIN, agree, keep English, hello (menu), 1 (check in)
		// SIGTERM once this many webhooks have been answered 200.
		termAfter       = people * perHead / 2
		shutdownTimeout = 10 * time.Second
	)
	bin := buildWaymark(t)

	// Enrol everyone in the store before the server opens it.
	dataDir := t.TempDir()
	dbPath := filepath.Join(dataDir, "waymark.db")
	st, err := bolt.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	type person struct{ id, code, phone string }
	var persons []person
	ctx := context.Background()
	for i := range people {
		id, code := store.NewID("p_"), fmt.Sprintf("TERM%02d", i)
		now := time.Now()
		if err := st.CreateParticipant(ctx, store.Participant{ID: id, Label: "SIGTERM test", Language: "en", TimeZone: "Europe/London", Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: id, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		persons = append(persons, person{id, code, fmt.Sprintf("+4477009%05d", i)})
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Each send takes a little while, so that sends are in progress when
	// the signal comes.
	fake := twiliotest.New(t, testAccount, testToken)
	fake.BeforeReply = func(twiliotest.Request) { time.Sleep(15 * time.Millisecond) }
	addr := freeAddr(t)
	public := "http://" + addr
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + t.TempDir(),
		"WAYMARK_ADDR=" + addr, "WAYMARK_PUBLIC_URL=" + public, "WAYMARK_DATA_DIR=" + dataDir,
		"WAYMARK_SECRET_KEY=" + seal.NewKey(), "WAYMARK_SIMULATOR=false", "WAYMARK_LOG_LEVEL=info",
		"WAYMARK_TWILIO_ACCOUNT_SID=" + testAccount, "WAYMARK_TWILIO_AUTH_TOKEN=" + testToken,
		"WAYMARK_TWILIO_FROM=" + testFrom, "WAYMARK_TWILIO_API_URL=" + fake.URL, "WAYMARK_TWILIO_MPS=1000",
		"WAYMARK_SHUTDOWN_TIMEOUT=" + shutdownTimeout.String()}
	serve := exec.Command(bin, "serve")
	serve.Env = env
	logs := &testkit.Logs{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		if serve.ProcessState == nil {
			_ = serve.Process.Kill()
			<-exited
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(public + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waymark serve not ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Everyone talks at once, each in order; the first answer that is
	// not 200 ends that person's conversation, as a provider would retry.
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(sid, from, body string) (int, error) {
		form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testAccount}, "From": {from}, "To": {testFrom},
			"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
		target := public + "/webhooks/twilio/sms"
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, target, form))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var (
		mu       sync.Mutex
		acked    = map[string][]string{} // participant -> texts answered 200, in order
		ackedSID = map[string]string{}   // MessageSid -> participant
		refused  atomic.Int32
		okCount  atomic.Int32
		termOnce sync.Once
		termAt   time.Time
		wg       sync.WaitGroup
	)
	term := func() {
		termOnce.Do(func() {
			termAt = time.Now()
			if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM: %v", err)
			}
		})
	}
	for i, p := range persons {
		wg.Go(func() {
			for j, text := range []string{"JOIN " + p.code, "1", "1", "hello", "1"} {
				sid := fmt.Sprintf("SM%030d", i*100+j)
				code, err := post(sid, p.phone, text)
				if err != nil || code != http.StatusOK {
					refused.Add(1)
					return
				}
				mu.Lock()
				acked[p.id] = append(acked[p.id], text)
				ackedSID[sid] = p.id
				mu.Unlock()
				if okCount.Add(1) >= termAfter {
					term()
				}
			}
		})
	}
	wg.Wait()
	term() // in case every webhook was answered before the threshold tripped

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("waymark serve exited with %v after SIGTERM; log:\n%s", err, logs.String())
		}
	case <-time.After(shutdownTimeout + 20*time.Second):
		t.Fatalf("waymark serve still running %v after SIGTERM; log:\n%s", shutdownTimeout+20*time.Second, logs.String())
	}
	took := time.Since(termAt)
	t.Logf("%d webhooks answered 200, %d refused or cut off; exit %v after SIGTERM", okCount.Load(), refused.Load(), took.Round(time.Millisecond))
	if okCount.Load() < termAfter {
		t.Fatalf("only %d webhooks were answered before SIGTERM; the test needs load to mean anything", okCount.Load())
	}

	// The store, as the next start will see it.
	st, err = bolt.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for sid, pid := range ackedSID {
		seen, err := st.Seen(ctx, "twilio:"+sid)
		if err != nil || !seen {
			t.Errorf("webhook %s of %s was answered 200 but its turn is not stored (seen=%v, err=%v)", sid, pid, seen, err)
		}
	}
	// Replies: accepted by the fake Twilio, or still queued for the next
	// start. Each message is sent at most once.
	byPhone := map[string]string{}
	for _, p := range persons {
		byPhone[p.phone] = p.id
	}
	have := map[string]int{}
	sentIDs := map[string]bool{}
	for _, r := range fake.Accepted() {
		id := r.StatusCallback[strings.Index(r.StatusCallback, "id=")+3:]
		if sentIDs[id] {
			t.Errorf("message %s was sent twice", id)
		}
		sentIDs[id] = true
		have[byPhone[r.To]]++
	}
	pending, err := st.ClaimOutbound(ctx, "after-sigterm", time.Now().Add(48*time.Hour), time.Minute, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pending {
		if sentIDs[m.ID] {
			t.Errorf("message %s was sent and is queued again", m.ID)
		}
		have[m.ParticipantID]++
	}
	t.Logf("replies: %d sent before exit, %d still queued for the next start", len(sentIDs), len(pending))
	for _, p := range persons {
		texts := acked[p.id]
		want := 0
		for _, text := range texts {
			if strings.HasPrefix(text, "JOIN ") {
				want += 3 // welcome, privacy notice, consent question
			} else {
				want++ // every later message here gets at least one reply
			}
		}
		if have[p.id] < want {
			t.Errorf("%s: %d webhooks answered 200 (%q) want at least %d replies sent or queued, found %d",
				p.id, len(texts), texts, want, have[p.id])
		}
		checkins, err := st.CheckInsOf(ctx, p.id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// A turn may land just as the connection is cut, unacknowledged:
		// stored but not answered is safe (the retry is deduplicated);
		// answered but not stored is the loss this test looks for.
		if len(texts) == perHead && len(checkins) == 0 {
			t.Errorf("%s: the check-in was answered 200 but no check-in is stored", p.id)
		}
	}
	for _, p := range persons {
		if strings.Contains(logs.String(), p.phone) {
			t.Errorf("the log contains a phone number")
			break
		}
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("the log does not say it shut down:\n%s", logs.String())
	}
}
