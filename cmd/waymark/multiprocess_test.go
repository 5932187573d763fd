package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// builtDir is where buildWaymark puts the command, removed by TestMain
// when every test has run.
var builtDir string

// built is the one build of this command that every test of real
// processes runs: each build links a binary of some 40 MB, four seconds
// on two busy cores, and it is the same binary for all.
var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "waymark-bin-")
	if err != nil {
		return "", err
	}
	builtDir = dir
	bin := filepath.Join(dir, "waymark")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// buildWaymark builds this command, once for all the tests of the package
// that need real processes, and returns the binary.
func buildWaymark(t *testing.T) string {
	t.Helper()
	bin, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestMain runs the tests, then removes the built command.
//
// No two tests run `waymark serve` in this process (serveInTest) at once:
// the service makes its redacting logger the process's default (slog's,
// which the stores use, and go-redis's), and the tests read their
// service's log for what must not be there, or for a line written through
// that default. So those tests run one at a time, except the privacy
// run, which waits most of its half minute on Telegram's rate for one
// chat. It runs in parallel (t.Parallel) with the tests that run real
// processes, or no service at all, after all the others: they too spend
// most of their time waiting, on processes, leases and Chromium.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// process is a `waymark serve` running as a process of its own.
type process struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	logs *testkit.Logs
	done chan error
}

// startProcess runs `bin serve` with env (and nothing else of WAYMARK_*
// from this process's environment) and waits until it is ready.
func startProcess(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAYMARK_") {
			environ = append(environ, kv)
		}
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	p := &process{cmd: exec.Command(bin, "serve"), base: "http://" + env["WAYMARK_ADDR"], logs: &testkit.Logs{}, done: make(chan error, 1)}
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("waymark serve exited before it was ready: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("waymark serve at %s not ready\n%s", p.base, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks the process to shut down as systemd or Kubernetes would, and
// kills it if it does not within 15 seconds.
func (p *process) stop(t *testing.T) {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil && !strings.Contains(err.Error(), "signal") {
			t.Errorf("waymark serve stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("waymark serve did not stop on SIGTERM")
	}
}

// inboundSMS posts a signed inbound SMS to base, signed for public as a
// load balancer in front of several processes would pass it on.
func inboundSMS(base, public, sid, from, body string) (int, error) {
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testAccount}, "From": {from}, "To": {testFrom},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, public+"/webhooks/twilio/sms", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestTwoProcessesOneRedis runs two real `waymark serve` processes on one
// Redis behind one public URL, as two replicas behind a load balancer.
// Twenty people enrol, agree, choose English and check in twice; each of
// their messages goes to one process or the other, and every other
// message is also delivered to the second process with the same
// MessageSid, at the same moment, as a provider's retry would be. What
// must hold: every message is answered 200 by both; each person gets
// exactly the eleven replies the flows write, each once; each has exactly
// two check-ins and one link.
func TestTwoProcessesOneRedis(t *testing.T) {
	t.Parallel() // real processes only: see TestMain
	redisURL, prefix := testkit.RedisPrefix(t)
	bin := buildWaymark(t)
	fake := twiliotest.New(t, testAccount, testToken)
	key := seal.NewKey()
	const public = "https://waymark.example.org"
	env := func() map[string]string {
		return map[string]string{
			"WAYMARK_ADDR":               freeAddr(t),
			"WAYMARK_PUBLIC_URL":         public,
			"WAYMARK_SECRET_KEY":         key,
			"WAYMARK_REDIS_URL":          redisURL,
			"WAYMARK_REDIS_PREFIX":       prefix,
			"WAYMARK_TWILIO_ACCOUNT_SID": testAccount,
			"WAYMARK_TWILIO_AUTH_TOKEN":  testToken,
			"WAYMARK_TWILIO_FROM":        testFrom,
			"WAYMARK_TWILIO_API_URL":     fake.URL,
			"WAYMARK_TWILIO_MPS":         "1000",
			"WAYMARK_SIMULATOR":          "false",
			"WAYMARK_LOG_LEVEL":          "debug",
		}
	}
	procs := []*process{startProcess(t, bin, env()), startProcess(t, bin, env())}

	ctx := t.Context()
	st, err := redisstore.Open(ctx, redisstore.Options{URL: redisURL, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const people = 20
	type person struct{ id, code, phone string }
	var ps []person
	for i := range people {
		id, code := enrolParticipant(t, st, "en")
		ps = append(ps, person{id, code, fmt.Sprintf("+44770090%04d", i)})
	}

	// What each person sends, and how many replies each message has in
	// the shipped flows: the welcome, the privacy notice and the consent
	// question; the language question; how to check in; then the menu
	// and the thanks for a check-in, twice.
	script := []struct {
		text    string
		replies int
	}{{"JOIN %s", 5}, {"1", 1}, {"1", 1}, {"MENU", 1}, {"1", 1}, {"MENU", 1}, {"1", 1}}
	wantReplies := 0
	for _, s := range script {
		wantReplies += s.replies
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	sentTo := map[int]int{}
	for i, p := range ps {
		wg.Go(func() {
			for j, s := range script {
				text := s.text
				if strings.Contains(text, "%s") {
					text = fmt.Sprintf(text, p.code)
				}
				sid := fmt.Sprintf("SM%016x%016x", i, j)
				first := (i + j) % 2
				targets := []int{first}
				if (i+j)%3 != 1 { // two in three messages also reach the other process
					targets = append(targets, 1-first)
				}
				var inner sync.WaitGroup
				for _, k := range targets {
					inner.Go(func() {
						status, err := inboundSMS(procs[k].base, public, sid, p.phone, text)
						if err != nil || status != http.StatusOK {
							t.Errorf("person %d message %d at process %d: %d %v", i, j, k, status, err)
						}
						mu.Lock()
						sentTo[k]++
						mu.Unlock()
					})
				}
				inner.Wait()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if sentTo[0] == 0 || sentTo[1] == 0 {
		t.Fatalf("traffic did not reach both processes: %v", sentTo)
	}

	want := people * wantReplies
	waitFor(t, "every reply at the fake Twilio", func() bool { return len(fake.Accepted()) >= want })
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.id
	}
	awaitSettled(t, st, ids...) // a duplicate queued would be sent, and counted, by now
	accepted := fake.Accepted()
	if len(accepted) != want {
		t.Errorf("%d replies accepted, want %d", len(accepted), want)
	}
	byPhone := map[string][]twiliotest.Request{}
	seenID := map[string]bool{}
	for _, r := range accepted {
		byPhone[r.To] = append(byPhone[r.To], r)
		id := r.StatusCallback[strings.Index(r.StatusCallback, "id=")+3:]
		if seenID[id] {
			t.Errorf("message %s sent twice", id)
		}
		seenID[id] = true
	}
	// Every person gets the same eleven replies, each once, in the order
	// the flows wrote them, although two processes' dispatchers send in
	// parallel: a person's next reply is not claimed while another
	// process holds an earlier one.
	var first []string
	reordered := 0
	for n, p := range ps {
		got := byPhone[p.phone]
		var bodies []string
		for _, r := range got {
			bodies = append(bodies, r.Body)
		}
		if !inWrittenOrder(bodies) {
			reordered++
			t.Errorf("%s got replies in another order than written: %q", p.id, bodies)
		}
		if n == 0 {
			first = slices.Clone(bodies)
		}
		slices.Sort(bodies)
		if len(got) != wantReplies {
			t.Errorf("%s got %d replies, want %d", p.id, len(got), wantReplies)
		}
		want := slices.Clone(first)
		slices.Sort(want)
		if !slices.Equal(bodies, want) {
			t.Errorf("%s got replies %q, want %q", p.id, bodies, want)
		}
		thanks, menus := 0, 0
		for _, b := range bodies {
			if strings.Contains(b, "checked in") {
				thanks++
			}
			if strings.Contains(b, "1 - Check in") {
				menus++
			}
		}
		if thanks != 2 || menus != 2 {
			t.Errorf("%s: %d check-in thanks and %d menus, want 2 of each", p.id, thanks, menus)
		}
		cis, err := st.CheckInsOf(ctx, p.id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cis) != 2 {
			t.Errorf("%s has %d check-ins, want 2", p.id, len(cis))
		}
		if pp, err := st.GetParticipant(ctx, p.id); err != nil || pp.OptedOut || pp.Language != "en" {
			t.Errorf("%s after enrolment: %+v %v", p.id, pp, err)
		}
		links, err := st.LinksOf(ctx, p.id)
		if err != nil || len(links) != 1 || links[0].Channel != store.SMS {
			t.Errorf("%s links: %+v %v", p.id, links, err)
		}
	}

	if reordered > 0 {
		t.Errorf("%d of %d people got their replies in another order than written", reordered, people)
	}
	for i, p := range procs {
		p.stop(t)
		logs := p.logs.String()
		for _, leak := range []string{"+44770090", testToken, key, "JOIN"} {
			if strings.Contains(logs, leak) {
				t.Errorf("process %d logged %q", i, leak)
			}
		}
	}
}

// inWrittenOrder reports whether an enrolled person's replies came in the
// order the shipped English flows write them: welcome, the privacy notice
// in three parts, consent, language, how to check in, then menu and
// thanks twice.
func inWrittenOrder(bodies []string) bool {
	markers := []string{"Welcome", "We keep your check-in", "Alerts to your caseworker", "Your number, when", "Do you agree",
		"Which language", "All set", "1 - Check in", "checked in"}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 7, 8}
	if len(bodies) != len(want) {
		return false
	}
	for i, b := range bodies {
		if !strings.Contains(b, markers[want[i]]) {
			return false
		}
	}
	return true
}
