package redis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/storetest"
)

// Benchmarks share their bodies with the bolt backend's (storetest.Bench*),
// so the numbers compare. Run them with
//
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . ./internal/store/redis/

func benchStore(b *testing.B) store.Store { return openTest(b, testOptions(b)) }

func BenchmarkLoadSession(b *testing.B) { storetest.BenchLoadSession(b, benchStore) }

func BenchmarkSaveSessionAndEnqueue(b *testing.B) {
	storetest.BenchSaveSessionAndEnqueue(b, benchStore)
}

func BenchmarkClaimDue(b *testing.B) { storetest.BenchClaimDue(b, benchStore) }

// TestExpiryIsSetOnEveryExpiringKey checks that what the domain lets expire
// carries a Redis expiry at the right moment, so nothing lingers.
func TestExpiryIsSetOnEveryExpiringKey(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour).Round(0)
	expireTime := func(key string) int64 {
		t.Helper()
		at, err := s.rdb.Do(ctx, "pexpiretime", key).Int64()
		if err != nil {
			t.Fatalf("pexpiretime: %v", err)
		}
		return at
	}
	ss := store.Session{ParticipantID: "p_a", Flow: "f", Node: "n", ExpiresAt: exp}
	mustDo(t, s.SaveSession(ctx, ss))
	code := store.EnrolmentCode{Code: "C1", ParticipantID: "p_a", ExpiresAt: exp}
	mustDo(t, s.PutEnrolmentCode(ctx, code))
	_, err := s.FirstSeen(ctx, "k", exp)
	mustDo(t, err)
	_, err = s.Increment(ctx, "n", exp)
	mustDo(t, err)
	_, err = s.Increment(ctx, "n", exp.Add(time.Hour)) // does not move the window
	mustDo(t, err)
	mustDo(t, s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Session: &store.Session{ParticipantID: "p_b", ExpiresAt: exp}, DedupeKey: "t", DedupeUntil: exp}))
	for _, key := range []string{s.k.session("p_a"), s.k.enrolmentCode("C1"), s.k.dedupe("k"), s.k.counter("n"),
		s.k.session("p_b"), s.k.turnDedupe("p_b"), s.k.dedupe("t")} {
		if got := expireTime(key); got != ms(exp) {
			t.Fatalf("%s expires at %d, want %d", strings.TrimPrefix(key, s.k.prefix), got, ms(exp))
		}
	}
	_, err = s.AcquireLease(ctx, "l", "a", time.Minute)
	mustDo(t, err)
	_, err = s.ReserveRate(ctx, "r", 10, 10, time.Now())
	mustDo(t, err)
	for _, key := range []string{s.k.lease("l"), s.k.rate("r")} {
		ttl, err := s.rdb.PTTL(ctx, key).Result()
		mustDo(t, err)
		if ttl <= 0 || ttl > 2*time.Minute {
			t.Fatalf("%s lives for %v", strings.TrimPrefix(key, s.k.prefix), ttl)
		}
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMemoryPerParticipant measures the Redis memory an enrolled
// participant takes: the record, one link, a week of planned schedule
// (a window opening, a closing-soon reminder and a miss check a day, and
// three reminders of an appointment) and 12 weeks of daily check-ins; then
// the same with the 12 weeks of outbound messages the outbox keeps (text
// dropped at final status). It sums MEMORY USAGE over every key of the
// store, shared shards and indexes included, and divides by the number of
// participants. It logs the figures; it asserts nothing about them.
func TestMemoryPerParticipant(t *testing.T) {
	const participants = 100
	const days = 84
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	start := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	for i := range participants {
		pid := store.NewID("p_")
		p := store.Participant{ID: pid, Label: fmt.Sprintf("case %04d", i), Language: "es", TimeZone: "Europe/Madrid",
			CaseworkerID: "cw_" + store.NewID(""), Status: store.Active, LastLink: store.NewID("ix_"), CreatedAt: start, UpdatedAt: start}
		mustDo(t, s.CreateParticipant(ctx, p))
		mustDo(t, s.PutLink(ctx, store.Link{Index: p.LastLink, Channel: store.SMS, ParticipantID: pid,
			Sealed: make([]byte, 60), Masked: "+44 7*** ***123", LinkedAt: start, LastSeenAt: start}))
		var due []store.DueItem
		for d := range 7 {
			day := start.Add(time.Duration(days+d) * 24 * time.Hour)
			for _, kind := range []string{"window_open", "window_closing", "missed_check"} {
				due = append(due, store.DueItem{ID: fmt.Sprintf("%s:%s:%s", kind, pid, day.Format("20060102")), ParticipantID: pid,
					Kind: kind, Ref: "w_" + day.Format("20060102"), DueAt: day})
			}
		}
		for _, off := range []string{"7d", "3d", "1d"} {
			due = append(due, store.DueItem{ID: "appt:ap_" + pid + ":" + off, ParticipantID: pid, Kind: "appt_reminder",
				Ref: "ap_" + pid, DueAt: start.Add(100 * 24 * time.Hour), Data: map[string]string{"offset": off}})
		}
		mustDo(t, s.PutDue(ctx, due...))
		var cis []store.CheckIn
		for d := range days {
			cis = append(cis, store.CheckIn{ID: store.NewID("c_"), ParticipantID: pid, At: start.Add(time.Duration(d) * 24 * time.Hour),
				Channel: store.SMS, Outcome: store.OnTime})
		}
		mustDo(t, s.ApplyTurn(ctx, store.Turn{ParticipantID: pid, CheckIns: cis}))
	}
	core := usage(t, s)
	t.Logf("Redis memory per enrolled participant (participant, 1 link, %d due items, %d check-ins): %d bytes (%s)",
		7*3+3, days, core.total/participants, core.perKind(participants))

	// The outbox keeps every message, without its text once final: two a
	// day (the question and the thanks) for the same 12 weeks.
	pids, err := s.rdb.ZRange(ctx, s.k.participants(), 0, -1).Result()
	mustDo(t, err)
	for _, pid := range pids {
		var msgs []store.OutboundMessage
		for d := range days {
			for _, kind := range []string{"checkin.ask", "checkin.thanks"} {
				at := start.Add(time.Duration(d) * 24 * time.Hour)
				msgs = append(msgs, store.OutboundMessage{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: store.NewID("ix_"),
					Channel: store.SMS, Kind: kind, Status: store.Delivered, Attempts: 1, NotBefore: at,
					ProviderID: "SM" + strings.Repeat("0", 32), CreatedAt: at, UpdatedAt: at})
			}
		}
		mustDo(t, s.EnqueueOutbound(ctx, msgs...))
	}
	all := usage(t, s)
	t.Logf("with %d delivered messages each: %d bytes (%s)", 2*days, all.total/participants, all.perKind(participants))
}

type memoryUse struct {
	total  int64
	byKind map[string]int64
}

func (m memoryUse) perKind(n int64) string {
	var parts []string
	for k, v := range m.byKind {
		parts = append(parts, fmt.Sprintf("%s %d", k, v/n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// usage sums MEMORY USAGE (every element counted: SAMPLES 0) over the
// store's keys, grouped by the key's name without its IDs.
func usage(t *testing.T, s *Store) memoryUse {
	t.Helper()
	ctx := context.Background()
	m := memoryUse{byKind: map[string]int64{}}
	count := func(ctx context.Context, c *goredis.Client) error {
		iter := c.Scan(ctx, 0, globEscape(s.k.prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			n, err := c.MemoryUsage(ctx, key, 0).Result()
			if err != nil {
				return err
			}
			m.total += n
			m.byKind[kindOf(strings.TrimPrefix(key, s.k.prefix))] += n
		}
		return iter.Err()
	}
	var err error
	switch c := s.rdb.(type) {
	case *goredis.ClusterClient:
		err = c.ForEachMaster(ctx, count)
	case *goredis.Client:
		err = count(ctx, c)
	}
	mustDo(t, err)
	return m
}

// kindOf names a key by its kind: "{p:…}:checkins" → "checkins",
// "link:…" → "link", "due:{d3}:items" → "due:items".
func kindOf(key string) string {
	if strings.HasPrefix(key, "{p:") {
		_, rest, _ := strings.Cut(key, "}:")
		return rest
	}
	if head, rest, ok := strings.Cut(key, ":{"); ok {
		_, tail, _ := strings.Cut(rest, "}:")
		return head + ":" + tail
	}
	head, _, _ := strings.Cut(key, ":")
	return head
}
