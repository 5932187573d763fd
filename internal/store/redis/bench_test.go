package redis

import (
	"strings"
	"testing"
	"time"

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

func BenchmarkMarkUnreachable(b *testing.B) { storetest.BenchMarkUnreachable(b, benchStore) }

func BenchmarkTurnSavingARecord(b *testing.B) {
	for _, child := range []bool{false, true} {
		b.Run(map[bool]string{false: "adult", true: "child"}[child], func(b *testing.B) {
			storetest.BenchChildTurn(b, benchStore, child)
		})
	}
}

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

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
