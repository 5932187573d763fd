package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// slowTwilio stands in front of the fake Twilio as a slow API: while
// holding, it keeps every message creation waiting and never answers it.
// A message in reached is passed on first, so Twilio has taken it and
// only its answer is lost; any other never reaches Twilio. Once holding
// stops, requests pass straight through.
type slowTwilio struct {
	*httptest.Server
	fake    *twiliotest.Server
	reached map[string]bool
	holding atomic.Bool
	held    chan string // the ID of each message held
}

func newSlowTwilio(t *testing.T, fake *twiliotest.Server, reached ...string) *slowTwilio {
	s := &slowTwilio{fake: fake, reached: map[string]bool{}, held: make(chan string, 16)}
	for _, id := range reached {
		s.reached[id] = true
	}
	s.holding.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *slowTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if !s.holding.Load() {
		s.fake.Config.Handler.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	cb, _ := url.Parse(form.Get("StatusCallback"))
	id := cb.Query().Get("id")
	if s.reached[id] {
		pass := r.Clone(context.WithoutCancel(r.Context()))
		pass.Body = io.NopCloser(bytes.NewReader(body))
		s.fake.Config.Handler.ServeHTTP(httptest.NewRecorder(), pass) // taken; the answer goes nowhere
	}
	s.held <- id
	<-r.Context().Done() // until the sender is gone
}

// TestKilledMidSendNeitherRepeatsNorLoses kills `waymark serve` (SIGKILL)
// while two sends are in flight at a slow Twilio: one that Twilio took,
// whose answer the process never read, and one that never reached Twilio.
// The service starts again on the same store. Twilio's status for the
// first comes to the new process (as its delivery report would): that
// message is never sent again. For the second no status ever comes: it is
// sent again once the wait for one is over. Each reaches Twilio once.
func TestKilledMidSendNeitherRepeatsNorLoses(t *testing.T) {
	t.Parallel() // real processes only: see TestMain
	bin := buildWaymark(t)
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// The restarted process takes the killed one's claims back at once
		// (the file lock says it is gone), so the message that never
		// reached Twilio waits out the rest of the three seconds.
		waits := []string{"waiting for the provider's status"}
		killedMidSend(t, bin, map[string]string{"WAYMARK_DATA_DIR": dir}, waits, func(t *testing.T) (store.Store, func()) {
			st, err := bolt.Open(filepath.Join(dir, "waymark.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st, func() { st.Close() }
		})
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		redisURL, prefix := testkit.RedisPrefix(t)
		// Another process may be alive: the killed one's claims come back
		// when its lease ends (12 s here, two minutes by default), when
		// the wait for a status is long over.
		killedMidSend(t, bin, map[string]string{"WAYMARK_REDIS_URL": redisURL, "WAYMARK_REDIS_PREFIX": prefix}, nil, func(t *testing.T) (store.Store, func()) {
			st, err := redisstore.Open(t.Context(), redisstore.Options{URL: redisURL, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return st, func() { st.Close() }
		})
	})
}

// killedMidSend runs the crash on one backend. storeEnv names it to the
// process; open opens it in the test (the embedded store only while no
// process runs). The restarted process's log must hold wantLogs besides
// what every backend logs.
func killedMidSend(t *testing.T, bin string, storeEnv map[string]string, wantLogs []string, open func(*testing.T) (store.Store, func())) {
	ctx := t.Context()
	key := seal.NewKey()
	k, _ := seal.ParseKey(key)
	box, _ := seal.New(k)
	fake := twiliotest.New(t, testAccount, testToken)
	const reachedID, lostID = "m_reachedtwilio", "m_neverreached"
	slow := newSlowTwilio(t, fake, reachedID)

	// Two people with a message each, queued before the service starts:
	// one by SMS, one by WhatsApp (the person wrote an hour ago), so that
	// each draws on its own rate budget and both sends are in flight at
	// once.
	st, closeStore := open(t)
	phones := map[string]string{reachedID: "+447700900301", lostID: "+447700900302"}
	channels := map[string]store.Channel{reachedID: store.SMS, lostID: store.WhatsApp}
	now := time.Now()
	for id, phone := range phones {
		ch := channels[id]
		pid := "p_" + id[2:]
		if err := st.CreateParticipant(ctx, store.Participant{ID: pid, Label: "crash " + id, Language: "en", TimeZone: "Europe/London",
			Status: store.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		sealed, err := box.Seal(string(ch), phone)
		if err != nil {
			t.Fatal(err)
		}
		l := store.Link{Index: box.Index(string(ch), phone), Channel: ch, ParticipantID: pid, Sealed: sealed,
			Masked: seal.Mask(phone), LinkedAt: now, LastSeenAt: now.Add(-time.Hour)}
		if err := st.PutLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := st.EnqueueOutbound(ctx, store.OutboundMessage{ID: id, ParticipantID: pid, LinkIndex: l.Index, Channel: ch,
			Kind: "checkin.ask", Text: "Time to check in: reply 1", Status: store.Pending, NotBefore: now, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	closeStore()

	addr := freeAddr(t)
	env := map[string]string{
		"WAYMARK_ADDR":               addr,
		"WAYMARK_PUBLIC_URL":         "http://" + addr, // Twilio's status callbacks come straight to the process
		"WAYMARK_SECRET_KEY":         key,
		"WAYMARK_TWILIO_ACCOUNT_SID": testAccount,
		"WAYMARK_TWILIO_AUTH_TOKEN":  testToken,
		"WAYMARK_TWILIO_FROM":        testFrom,
		"WAYMARK_TWILIO_API_URL":     slow.URL,
		"WAYMARK_TWILIO_MPS":         "1000",
		"WAYMARK_OUTBOX_DOUBT_WAIT":  "3s",
		// A short claim, so that on Redis the killed process's claims come
		// back in seconds, not the default two minutes.
		"WAYMARK_OUTBOX_LEASE": "12s",
		"WAYMARK_SIMULATOR":    "false",
		"WAYMARK_LOG_LEVEL":    "debug",
	}
	maps.Copy(env, storeEnv)
	first := startProcess(t, bin, env)
	for range 2 {
		select {
		case <-slow.held:
		case <-time.After(20 * time.Second):
			t.Fatalf("the sends did not reach the slow Twilio\n%s", first.logs.String())
		}
	}
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: nothing is finished or recorded
		t.Fatal(err)
	}
	err := <-first.done
	first.done <- err
	slow.holding.Store(false)
	if logs := first.logs.String(); strings.Contains(logs, "outbox: sent") || strings.Contains(logs, "no answer from the provider") {
		t.Fatalf("a send finished before the kill: the test no longer kills mid-send\n%s", logs)
	}
	if got := fake.Accepted(); len(got) != 1 {
		t.Fatalf("Twilio took %d messages before the kill, want 1", len(got))
	}
	taken := fake.Accepted()[0]

	second := startProcess(t, bin, env)
	// Twilio reports on the message it took; the report reaches the
	// process now running.
	resp, err := fake.SendStatus(ctx, taken, "delivered", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status callback answered %d", resp.StatusCode)
	}

	// The message that never reached Twilio goes once the wait for its
	// status is over; on Redis, once the killed process's lease has run
	// out as well.
	deadline := time.Now().Add(time.Minute)
	for len(fake.Accepted()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the message that never reached Twilio was lost\n%s", second.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stopped, the process sends nothing more; the records, read below,
	// show that nothing was left to send.
	second.stop(t)
	sends := map[string]int{}
	for _, r := range fake.Accepted() {
		cb, _ := url.Parse(r.StatusCallback)
		sends[cb.Query().Get("id")]++
	}
	if sends[reachedID] != 1 || sends[lostID] != 1 || len(sends) != 2 {
		t.Errorf("sends by message: %v, want each once", sends)
	}

	logs := second.logs.String()
	for _, want := range append(wantLogs, "status came before its answer to the send was recorded", "retry in doubt") {
		if !strings.Contains(logs, want) {
			t.Errorf("log of the restarted process lacks %q\n%s", want, logs)
		}
	}
	for _, leak := range []string{"+4477009003", "Time to check in", testToken} {
		if strings.Contains(first.logs.String()+logs, leak) {
			t.Errorf("a log holds %q", leak)
		}
	}

	st, closeStore = open(t)
	defer closeStore()
	reached, err := st.GetOutbound(ctx, reachedID)
	if err != nil {
		t.Fatal(err)
	}
	if reached.Status != store.Delivered || reached.ProviderID != taken.SID || !reached.SendBegan.IsZero() {
		t.Errorf("the message Twilio took: %+v", reached)
	}
	lost, err := st.GetOutbound(ctx, lostID)
	if err != nil {
		t.Fatal(err)
	}
	if lost.Status != store.Queued || lost.ProviderID == "" || lost.Attempts != 2 || !lost.SendBegan.IsZero() {
		t.Errorf("the message that never reached Twilio: %+v", lost)
	}
}
