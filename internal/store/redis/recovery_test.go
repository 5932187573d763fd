package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// These tests cut multi-step writes short, as a process dying between two
// steps would, and check that nothing is lost or done twice.

var t0 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

func msg(id, pid string, notBefore time.Time) store.OutboundMessage {
	return store.OutboundMessage{
		ID: id, ParticipantID: pid, LinkIndex: "idx_" + pid, Channel: store.SMS, Kind: "checkin.ask",
		Text: "text", Status: store.Pending, NotBefore: notBefore, CreatedAt: notBefore, UpdatedAt: notBefore,
	}
}

func claimIDs(t *testing.T, s *Store, owner string, now time.Time) []string {
	t.Helper()
	got, err := s.ClaimOutbound(t.Context(), owner, now, time.Minute, 10)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	ids := make([]string, len(got))
	for i, m := range got {
		ids[i] = m.ID
	}
	return ids
}

// A turn's queue entry is written before its records. If the records never
// land, the entry points at nothing: no claimer gets a message, and the
// entry is dropped once the grace has passed.
func TestOutboxHintWithoutRecordIsDroppedAfterGrace(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	var undo undoList
	if err := hintOutbound(ctx, s, &undo, msg("m_lost", "p_a", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOutbound(ctx, "m_lost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of a message whose record never landed: %v", err)
	}
	for _, now := range []time.Time{t0, t0.Add(orphanFirstRetry), t0.Add(orphanRetry), t0.Add(orphanGrace / 2)} {
		if got := claimIDs(t, s, "w", now); len(got) != 0 {
			t.Fatalf("claimed %v at %v", got, now)
		}
	}
	if got := claimIDs(t, s, "w", t0.Add(orphanGrace+orphanRetry)); len(got) != 0 {
		t.Fatalf("claimed %v after the grace", got)
	}
	sh := s.k.outShard(shardOf("m_lost"))
	for _, key := range sh.keys() {
		if n, _ := s.rdb.Exists(ctx, key).Result(); n != 0 {
			t.Fatalf("orphan still in %s after the grace", key)
		}
	}
}

// A record that lands after a claimer found its entry empty (the write was
// still in flight) is sent a little later, not lost.
func TestOutboxRecordLandingLateIsClaimedOnRetry(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	m := msg("m_late", "p_a", t0)
	var undo undoList
	if err := hintOutbound(ctx, s, &undo, m); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, s, "w", t0); len(got) != 0 {
		t.Fatalf("claimed %v before the record landed", got)
	}
	w := slotWrite{pid: "p_a"}
	if err := w.addOutbound(m); err != nil {
		t.Fatal(err)
	}
	if err := s.writeSlot(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, s, "w", t0.Add(orphanFirstRetry/2)); len(got) != 0 {
		t.Fatalf("claimed %v before the first retry", got)
	}
	if got := claimIDs(t, s, "w", t0.Add(orphanFirstRetry)); strings.Join(got, ",") != "m_late" {
		t.Fatalf("claimed %v once the record landed, want m_late at the first retry", got)
	}
}

// UpdateOutbound saves the record first and fixes the queue second. If the
// second step is lost, the next claimer reads the record and fixes the
// queue itself instead of sending a message that was already sent.
func TestOutboxQueueRepairedFromRecord(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	if err := s.EnqueueOutbound(ctx, msg("m_sent", "p_a", t0), msg("m_later", "p_a", t0)); err != nil {
		t.Fatal(err)
	}
	sent := msg("m_sent", "p_a", t0)
	sent.Status, sent.Text = store.Sent, ""
	later := msg("m_later", "p_a", t0.Add(time.Hour))
	for _, m := range []store.OutboundMessage{sent, later} {
		if err := s.saveOutbound(ctx, m); err != nil { // step 1 only
			t.Fatal(err)
		}
	}
	if got := claimIDs(t, s, "a", t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("claimed %v: a sent message, or one not due yet", got)
	}
	if queued, _ := s.rdb.HExists(ctx, s.k.outShard(shardOf("m_sent")).pos, "m_sent").Result(); queued {
		t.Fatalf("the claimer left the sent message in the queue")
	}
	if got := claimIDs(t, s, "b", t0.Add(time.Hour)); strings.Join(got, ",") != "m_later" {
		t.Fatalf("claimed %v at the new NotBefore, want m_later", got)
	}
}

// MarkSent keeps a status reported before the send was recorded, which it
// reads in its script. A record that does not read at all holds no status
// to keep: the send is recorded over it, as when the dispatcher read the
// record first and found it unreadable.
func TestMarkSentOverAnUnreadableRecord(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	m := msg("m_bad", "p_a", t0)
	if err := s.EnqueueOutbound(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.HSet(ctx, s.k.outbox("p_a"), m.ID, "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	m.Attempts, m.ProviderID = 1, "SM1"
	if err := s.MarkSent(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOutbound(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.Queued || got.ProviderID != "SM1" || got.Attempts != 1 {
		t.Fatalf("record %+v", got)
	}
}

// On a Redis Cluster the dedupe key of a turn is recorded in the
// participant's slot with the turn and globally after it (a single Redis
// writes both at once). If the process dies in between, a retry of the
// webhook passes Seen but its turn is refused, and the global key is
// written then.
func TestTurnDedupeSurvivesLostSecondStep(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	until := time.Now().Add(time.Hour)
	ci := store.CheckIn{ID: "c_1", ParticipantID: "p_a", At: t0, Channel: store.SMS, Outcome: store.OnTime}
	w, err := s.slotWriteOf(store.Turn{ParticipantID: "p_a", CheckIns: []store.CheckIn{ci}, DedupeKey: "twilio:SM1", DedupeUntil: until})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.writeSlot(ctx, w); err != nil { // the turn landed; the process died here
		t.Fatal(err)
	}
	if seen, _ := s.Seen(ctx, "twilio:SM1"); seen {
		t.Fatalf("global key written by the first step")
	}
	retry := store.Turn{
		ParticipantID: "p_a",
		CheckIns:      []store.CheckIn{{ID: "c_2", ParticipantID: "p_a", At: t0, Channel: store.SMS, Outcome: store.OnTime}},
		Outbound:      []store.OutboundMessage{msg("m_retry", "p_a", t0)},
		DedupeKey:     "twilio:SM1", DedupeUntil: until,
	}
	if err := s.ApplyTurn(ctx, retry); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("retried turn: %v, want ErrConflict", err)
	}
	cis, err := s.CheckInsOf(ctx, "p_a", time.Time{})
	if err != nil || len(cis) != 1 {
		t.Fatalf("check-ins after the refused retry: %d, err %v; want 1", len(cis), err)
	}
	if got := claimIDs(t, s, "w", t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("the refused retry queued %v", got)
	}
	if _, err := s.GetOutbound(ctx, "m_retry"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused retry's message is findable: %v", err)
	}
	if seen, _ := s.Seen(ctx, "twilio:SM1"); !seen {
		t.Fatalf("global key not repaired by the refused retry")
	}
}

// A turn with a recorded dedupe key, or with an ID already in use, is
// refused whole and takes back the index entries it wrote first.
func TestRefusedTurnLeavesNothing(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	until := time.Now().Add(time.Hour)
	turn := func(n int, key string) store.Turn {
		id := fmt.Sprint(n)
		return store.Turn{
			ParticipantID: "p_a",
			CheckIns:      []store.CheckIn{{ID: "c_" + id, ParticipantID: "p_a", At: t0}},
			Attention:     []store.AttentionItem{{ID: "att_" + id, ParticipantID: "p_a", Kind: store.AttentionMissed, CreatedAt: t0}},
			Audit:         []store.AuditEntry{{ID: "au_" + id, At: t0, Actor: "system", Action: "checkin", ParticipantID: "p_a"}},
			Outbound:      []store.OutboundMessage{msg("m_"+id, "p_a", t0)},
			DedupeKey:     key, DedupeUntil: until,
		}
	}
	if err := s.ApplyTurn(ctx, turn(1, "k1")); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyTurn(ctx, turn(2, "k1")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same dedupe key: %v, want ErrConflict", err)
	}
	clash := turn(3, "k3")
	clash.Outbound[0].ID = "m_1" // in use: refused after the attention and audit hints
	if err := s.ApplyTurn(ctx, clash); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("message ID in use: %v, want ErrConflict", err)
	}
	if seen, _ := s.Seen(ctx, "k3"); seen {
		t.Fatalf("refused turn recorded its dedupe key")
	}
	items, _ := s.ListAttention(ctx, false)
	entries, _ := s.ListAudit(ctx, "", 0)
	cis, _ := s.CheckInsOf(ctx, "p_a", time.Time{})
	if len(items) != 1 || len(entries) != 1 || len(cis) != 1 {
		t.Fatalf("after refusals: %d attention items, %d audit entries, %d check-ins; want 1 each", len(items), len(entries), len(cis))
	}
	for _, key := range []string{s.k.attentionIndex().where, s.k.auditIndex().where} {
		if n, _ := s.rdb.HLen(ctx, key).Result(); n != 1 {
			t.Fatalf("%s holds %d entries, want 1: hints of refused turns left behind", key, n)
		}
	}
	if got := claimIDs(t, s, "w", t0.Add(time.Hour)); strings.Join(got, ",") != "m_1" {
		t.Fatalf("claimable after refusals: %v, want m_1", got)
	}
}

// Two stores over one prefix are two processes sharing a Redis: each due
// item goes to one of them, and the items of one that dies mid-lease are
// taken over by the other once the lease ends.
func TestTwoProcessesShareWork(t *testing.T) {
	opts := testOptions(t)
	opts.Prefix = uniquePrefix()
	a, b := openTest(t, opts), openTest(t, opts)
	ctx := t.Context()
	var items []store.DueItem
	for i := range 120 {
		items = append(items, store.DueItem{ID: fmt.Sprintf("d_%03d", i), ParticipantID: fmt.Sprint("p_", i%9), Kind: "reminder", DueAt: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := a.PutDue(ctx, items...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for _, p := range []struct {
		name string
		s    *Store
	}{{"a", a}, {"b", b}} {
		wg.Go(func() {
			for {
				got, err := p.s.ClaimDue(ctx, p.name, t0.Add(time.Hour), time.Minute, 7)
				if err != nil {
					t.Errorf("%s: %v", p.name, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if prev, ok := seen[d.ID]; ok {
						t.Errorf("%s claimed by %s and %s", d.ID, prev, p.name)
					}
					seen[d.ID] = p.name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != len(items) {
		t.Fatalf("%d of %d items claimed", len(seen), len(items))
	}
	// a dies holding its items; b takes them over when a's lease ends.
	var mine int
	for _, owner := range seen {
		if owner == "a" {
			mine++
		}
	}
	a.Close()
	got, err := b.ClaimDue(ctx, "b", t0.Add(time.Hour+time.Minute), time.Minute, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("after the leases ended b claimed %d, want all %d (a held %d)", len(got), len(items), mine)
	}
	for _, d := range got {
		if err := b.CompleteDue(ctx, d.ParticipantID, d.ID, "b"); err != nil {
			t.Fatalf("complete %s: %v", d.ID, err)
		}
	}
}

// TestRedisRestart stops the Redis under a store and starts it again: while
// it is down every call fails with ErrUnavailable; once it is back the store
// works without being reopened (the restarted server has lost its script
// cache, so this also covers the EVALSHA fallback), and what was
// acknowledged before the stop is still there (the server keeps an AOF).
func TestRedisRestart(t *testing.T) {
	requireRedisServer(t)
	dir := t.TempDir()
	port := freePort(t)
	srv := startRedis(t, dir, port)
	// A private server with its own data folder: no key prefix to clean up.
	s, err := Open(t.Context(), Options{URL: "redis://127.0.0.1:" + port + "/0?max_retries=1&dial_timeout=200ms"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.EnqueueOutbound(ctx, msg("m_1", "p_a", t0)); err != nil {
		t.Fatal(err)
	}

	srv.stop(t)
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.Ping(short); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping while down: %v, want ErrUnavailable", err)
	}
	if err := s.EnqueueOutbound(short, msg("m_2", "p_a", t0)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("enqueue while down: %v, want ErrUnavailable", err)
	}
	if _, err := s.ClaimOutbound(short, "w", t0, time.Minute, 10); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("claim while down: %v, want ErrUnavailable", err)
	}

	startRedis(t, dir, port)
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := claimIDs(t, s, "w", t0)
	if strings.Join(got, ",") != "m_1" {
		t.Fatalf("claimed %v after the restart, want the message acknowledged before it", got)
	}
}

// requireRedisServer skips a test that starts Redis servers of its own
// when there is no redis-server to start.
func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("needs redis-server on PATH (source .ci/redis.sh)")
	}
}

type redisServer struct{ cmd *exec.Cmd }

func startRedis(t *testing.T, dir, port string) *redisServer {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{cmd: cmd}
	t.Cleanup(func() { r.stop(t) })
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("redis-server on %s did not start", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// stop ends the server this test started, by its process.
func (r *redisServer) stop(t *testing.T) {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// hintOutbound writes the outbox hints of messages of p_a, as a turn's
// first step does, without their records.
func hintOutbound(ctx context.Context, s *Store, undo *undoList, msgs ...store.OutboundMessage) error {
	_, err := s.writeHintsWith(ctx, nil, s.outboxHints("p_a", msgs), undo)
	return err
}

// Redis forgets its scripts when it restarts without them or is told to
// (SCRIPT FLUSH). A turn's pipelines then get NOSCRIPT for every script
// they send; each such call is run again on its own, which loads the
// script, and the turn lands whole.
func TestTurnAfterScriptCacheLost(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	c, ok := s.rdb.(*goredis.Client)
	if !ok {
		t.Skip("needs a single Redis")
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p := store.Participant{ID: "p_a", Language: "en", Status: store.Active, CreatedAt: t0, UpdatedAt: t0}
	turn := store.Turn{
		ParticipantID: "p_a", Participant: &p,
		Attention: []store.AttentionItem{{ID: "n_1", ParticipantID: "p_a", Kind: store.AttentionCallback, CreatedAt: t0}},
		Audit:     []store.AuditEntry{{ID: "a_1", At: t0, Actor: "participant", Action: "callback_requested", ParticipantID: "p_a"}},
		Outbound:  []store.OutboundMessage{msg("m_1", "p_a", t0)},
		DedupeKey: "twilio:SM1", DedupeUntil: time.Now().Add(time.Hour),
	}
	if err := s.ApplyTurn(ctx, turn); err != nil {
		t.Fatalf("turn after the script cache was flushed: %v", err)
	}
	st, err := s.LoadTurn(ctx, "p_a", "twilio:SM1")
	if err != nil || !st.Seen || st.Participant.ID != "p_a" {
		t.Fatalf("load turn: %+v, %v", st, err)
	}
	if got := claimIDs(t, s, "w", t0); strings.Join(got, ",") != "m_1" {
		t.Fatalf("claimed %v, want m_1", got)
	}
	items, err := s.ListAttention(ctx, true)
	if err != nil || len(items) != 1 {
		t.Fatalf("attention: %d items, err %v", len(items), err)
	}
}
