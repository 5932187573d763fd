package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/footprint"
	"github.com/waymark-atd/waymark/internal/store"
)

// BenchmarkMemoryPerParticipant measures the Redis memory a participant
// takes, in parts (docs/performance.md, "Redis bytes per participant"):
//
//   - state: what the programme needs to run for them (their record, one
//     link, an appointment, a check-in conversation in progress, and the
//     due items the scheduler's Plan makes of a daily or a weekly schedule
//     and the appointment), for 2,000 people so that the due shards and the
//     participant list have the encoding they have at scale (more than
//     1,024 entries each);
//   - marks: the keys that remember for a while that something was done (a
//     reply's provider ID for 48 hours, a window opening for 14 days, a
//     message's dispatch for a day), as a daily check-in leaves them;
//   - messages: the delivered message records retention.sent_messages
//     keeps (7 days, two a day);
//   - check-ins (one a day; a check-in writes no audit entry), after 30
//     days, a year, and two years with check-ins purged to the year that
//     retention.checkins keeps.
//
// It sums MEMORY USAGE (every element counted) over every key of the store,
// shared shards and indexes included, and divides by the people in it. The
// key prefix has the length of the default one. Run it with
//
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench MemoryPerParticipant -benchtime 1x -v ./internal/store/redis/
//
// The figures depend on the server's version and on its listpack limits,
// which it logs; deploy/redis.conf raises zset-max-listpack-entries and
// zset-max-listpack-value.
func BenchmarkMemoryPerParticipant(b *testing.B) {
	logServer(b)
	for _, c := range []struct {
		name  string
		sched store.CheckInSchedule
	}{{"daily", footprint.Daily}, {"weekly", footprint.Weekly}} {
		b.Run("state/"+c.name, func(b *testing.B) {
			for b.Loop() {
				measureState(b, c.sched)
			}
		})
	}
	b.Run("history/daily", func(b *testing.B) {
		for b.Loop() {
			measureHistory(b)
		}
	})
}

// Kinds of key (see kindOf) in each part.
var (
	stateKinds = []string{"person", "participants", "link", "appointment", "layout",
		"session", "due:people",
		"caseload:by", "caseload:children", "caseload:ids", "caseload:built", "attention:tally-built"}
	markKinds     = []string{"dedupe"}
	messageKinds  = []string{"outbox", "outbox:where", "outbox:ready", "outbox:pos"}
	checkInKinds  = []string{"checkins"}
	windowKinds   = []string{"windows"}
	auditKinds    = []string{"audit", "audit:where", "audit:all", "audit:by", "audit:rec"}
	memoryPrefix8 = func() string { return "w" + randomHex(3) + ":" } // as long as "waymark:"
)

func measureState(b *testing.B, sched store.CheckInSchedule) {
	const people = 2000
	s := openTest(b, Options{URL: testOptions(b).URL, Prefix: memoryPrefix8()})
	items := 0
	for i := range people {
		st, err := footprint.NewState(i, sched)
		mustDo(b, err)
		writeState(b, s, st)
		items += len(st.Due)
	}
	m := usage(b, s)
	b.Logf("%d due items each; %s", items/people, m.perKind(people))
	b.ReportMetric(float64(m.sum(stateKinds...))/people, "state_B/participant")
	if other := m.total - m.sum(stateKinds...); other != 0 {
		b.Errorf("%d bytes in keys of no part: %s", other, m.perKind(people))
	}
}

func writeState(b *testing.B, s *Store, st footprint.State) {
	ctx := b.Context()
	mustDo(b, s.CreateParticipant(ctx, st.Participant))
	mustDo(b, s.PutLink(ctx, st.Link))
	mustDo(b, s.PutAppointment(ctx, st.Appointment))
	ss := st.Session
	ss.ExpiresAt = time.Now().Add(time.Hour) // expiry is wall time
	mustDo(b, s.SaveSession(ctx, ss))
	mustDo(b, s.PutDue(ctx, st.Due...))
}

func measureHistory(b *testing.B) {
	const people = 100
	s := openTest(b, Options{URL: testOptions(b).URL, Prefix: memoryPrefix8()})
	ctx := b.Context()
	states := make([]footprint.State, people)
	for i := range states {
		st, err := footprint.NewState(i, footprint.Daily)
		mustDo(b, err)
		states[i] = st
		writeState(b, s, st)
	}
	last := usage(b, s)
	report := func(what string, kinds []string, unit string) {
		m := usage(b, s)
		b.Logf("%s: %d bytes per participant (%s)", what, (m.sum(kinds...)-last.sum(kinds...))/people, m.perKind(people))
		if unit != "" {
			b.ReportMetric(float64(m.sum(kinds...)-last.sum(kinds...))/people, unit)
		}
	}
	day := func(d int) time.Time { // d days before FootprintNow, at the window's opening
		return footprint.Now.Add(-time.Duration(d) * 24 * time.Hour)
	}

	// Marks, as they stand after a fortnight of daily check-ins: each
	// expires as long after the wall clock as it would after FootprintNow.
	wall := time.Now()
	shift := func(t time.Time) time.Time { return wall.Add(t.Sub(footprint.Now)) }
	for _, st := range states {
		for d := 1; d <= 14; d++ {
			h := footprint.NewDay(st, day(d))
			_, err := s.FirstSeen(ctx, h.Marks[0], shift(h.MarkUntil))
			mustDo(b, err)
			if d == 1 {
				for _, mark := range h.Marks[1:] {
					_, err := s.FirstSeen(ctx, mark, shift(h.CheckIn.At.Add(24*time.Hour)))
					mustDo(b, err)
				}
			}
			if d <= 2 {
				mustDo(b, s.ApplyTurn(ctx, store.Turn{ParticipantID: st.Participant.ID,
					DedupeKey: h.DedupeKey, DedupeUntil: shift(h.CheckIn.At.Add(48 * time.Hour))}))
			}
		}
	}
	report("marks", markKinds, "marks_B/participant")
	last = usage(b, s)

	for _, st := range states {
		var msgs []store.OutboundMessage
		for d := 1; d <= 7; d++ {
			msgs = append(msgs, footprint.NewDay(st, day(d)).Messages...)
		}
		mustDo(b, s.EnqueueOutbound(ctx, msgs...))
	}
	report("7 days of delivered messages (14)", messageKinds, "messages_B/participant")

	// Check-ins, oldest first, a month's in one turn.
	written := 0
	history := func(upTo int) {
		for _, st := range states {
			for from := written; from < upTo; from += 30 {
				var t store.Turn
				t.ParticipantID = st.Participant.ID
				for d := from; d < min(from+30, upTo); d++ {
					h := footprint.NewDay(st, day(730-d))
					t.CheckIns = append(t.CheckIns, h.CheckIn)
					t.Windows = append(t.Windows, h.Window)
				}
				mustDo(b, s.ApplyTurn(ctx, t))
			}
		}
		written = upTo
	}
	last = usage(b, s)
	history(30)
	report("30 days of check-ins", checkInKinds, "checkins_30d_B/participant")
	report("30 days of the ledger's windows", windowKinds, "windows_30d_B/participant")
	history(365)
	report("365 days of check-ins", checkInKinds, "checkins_365d_B/participant")
	report("365 days of the ledger's windows", windowKinds, "windows_365d_B/participant")
	history(730)
	// What the retention job does with retention.checkins: check-ins and
	// the ledger's windows go after a year.
	_, err := s.PurgeCheckIns(ctx, day(365))
	mustDo(b, err)
	_, err = s.PurgeWindows(ctx, day(365))
	mustDo(b, err)
	report("the year of check-ins retention keeps", checkInKinds, "")
	report("the year of the ledger's windows retention keeps", windowKinds, "")
	report("audit entries (check-ins write none)", auditKinds, "")
	m := usage(b, s)
	b.ReportMetric(float64(m.total)/people, "all_B/participant")
}

// logServer logs what the figures depend on besides the data.
func logServer(b *testing.B) {
	s := openTest(b, testOptions(b))
	ctx := b.Context()
	info, err := s.rdb.Info(ctx, "server").Result()
	mustDo(b, err)
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			b.Logf("Redis %s", v)
		}
	}
	for _, name := range []string{"zset-max-listpack-entries", "zset-max-listpack-value", "hash-max-listpack-entries", "hash-max-listpack-value"} {
		if v, err := s.rdb.ConfigGet(ctx, name).Result(); err == nil {
			b.Logf("%s %s", name, v[name])
		}
	}
}

type memoryUse struct {
	total  int64
	byKind map[string]int64
}

func (m memoryUse) sum(kinds ...string) int64 {
	var n int64
	for _, k := range kinds {
		n += m.byKind[k]
	}
	return n
}

func (m memoryUse) perKind(n int64) string {
	var parts []string
	for k, v := range m.byKind {
		parts = append(parts, fmt.Sprintf("%s %d", k, v/n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// usage sums MEMORY USAGE (every element counted: SAMPLES 0) over the
// store's keys, grouped by the key's name without its IDs.
func usage(tb testing.TB, s *Store) memoryUse {
	tb.Helper()
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
	mustDo(tb, err)
	return m
}

// kindOf names a key by its kind: "{p:…}:checkins" → "checkins",
// "link:…" → "link", "due:{d3}:people" → "due:people",
// "audit:{audit}:by:…" → "audit:by".
func kindOf(key string) string {
	if strings.HasPrefix(key, "{p:") {
		_, rest, _ := strings.Cut(key, "}:")
		return rest
	}
	if head, rest, ok := strings.Cut(key, ":{"); ok {
		_, tail, _ := strings.Cut(rest, "}:")
		tail, _, _ = strings.Cut(tail, ":")
		return head + ":" + tail
	}
	head, _, _ := strings.Cut(key, ":")
	return head
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
