package redis

import (
	"flag"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/footprint"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

var movePeople = flag.Int("movepeople", 10000, "people BenchmarkMovePeople writes in the layout before the person hash")

// BenchmarkMovePeople measures the first start after an upgrade from the
// layout before the person hash: -movepeople people (BenchmarkMemoryPerParticipant's
// daily state), each a record of its own, a hash of hints and a hash of
// four due items whose values carry their claim state in front, moved by
// Open into their person hashes. It reports the people moved a second;
// docs/operations.md gives the figure for the first start. Run it with
//
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench MovePeople -benchtime 1x ./internal/store/redis/
func BenchmarkMovePeople(b *testing.B) {
	opts := Options{URL: testOptions(b).URL, Prefix: memoryPrefix8()}
	s := openTest(b, opts)
	ctx := b.Context()
	var calls []call
	flush := func() {
		_, err := s.pipeline(ctx, calls)
		mustDo(b, err)
		calls = calls[:0]
	}
	for i := range *movePeople {
		st, err := footprint.NewState(i, footprint.Daily)
		mustDo(b, err)
		pid := st.Participant.ID
		rec, err := compact.EncodeParticipant(st.Participant)
		mustDo(b, err)
		items := []any{"hset", s.k.legacyDueItems(pid)}
		for _, d := range st.Due {
			doc, err := encodeDue(d)
			mustDo(b, err)
			items = append(items, d.ID, timeKey(d.DueAt)+"000"+string(doc))
		}
		calls = append(calls,
			call{args: []any{"set", s.k.legacyParticipant(pid), rec}},
			call{args: []any{"hset", s.k.legacyRefs(pid), refLink + st.Link.Index, "", refAppointment + st.Appointment.ID, ""}},
			call{args: items},
			call{args: []any{"zadd", s.k.participants(), 0, pid}})
		if len(calls) >= 2000 {
			flush()
		}
	}
	flush()
	mustDo(b, s.rdb.Set(ctx, s.k.layout(), "refs", 0).Err())

	for b.Loop() {
		start := time.Now()
		moved := openTest(b, opts)
		b.ReportMetric(float64(*movePeople)/time.Since(start).Seconds(), "people/s")
		if v := moved.rdb.Get(ctx, s.k.layout()).Val(); v != personLayout {
			b.Fatalf("the layout mark reads %q after Open", v)
		}
	}
}
