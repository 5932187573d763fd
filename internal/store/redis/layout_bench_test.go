package redis

import (
	"encoding/json"
	"slices"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/footprint"
	"github.com/waymark-atd/waymark/internal/store"
)

// BenchmarkOneKeyLayout measures, before anyone builds it, the memory a
// participant's running state would take in the layout that
// docs/performance.md ("Where the time goes now, and what would help")
// proposes for the 2 KB target: everything of one person in one hash in
// their slot, found from elsewhere through keys that hold only their ID.
// It writes the data of BenchmarkMemoryPerParticipant's daily state, in
// the encodings the store writes today, with plain commands:
//
//   - {p:<pid>}:state, a hash: "r" the record, "s" the session, "l:<index>"
//     the link, "a:<id>" the appointment, "d:<id>" each due item (its
//     claim state would live here too);
//   - link:<index> and appointment:<id>, the person's ID only;
//   - one entry a person in a due shard's ready index, at their earliest
//     item;
//   - the participant list and the caseload index, as today.
//
// No store code reads this layout: it is a measurement that says how far
// the layout alone goes, and what else the target needs. Run it beside
// the state of today's layout, on the same server:
//
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench 'OneKeyLayout|MemoryPerParticipant/state/daily' -benchtime 1x -v ./internal/store/redis/
//
// A hash stays a listpack only while every value is at most
// hash-max-listpack-value bytes (64 by default; a record is about 500), so
// the figure depends on that limit, which it logs, with the encoding.
func BenchmarkOneKeyLayout(b *testing.B) {
	logServer(b)
	for b.Loop() {
		measureOneKey(b)
	}
}

func measureOneKey(b *testing.B) {
	const people = 2000
	s := openTest(b, Options{URL: testOptions(b).URL, Prefix: memoryPrefix8()})
	ctx := b.Context()
	var somePID string
	for i := range people {
		st, err := footprint.NewState(i, footprint.Daily)
		mustDo(b, err)
		pid := st.Participant.ID
		somePID = pid
		fields := []any{
			"r", jsonOf(b, st.Participant), "s", jsonOf(b, st.Session),
			"l:" + st.Link.Index, jsonOf(b, st.Link), "a:" + st.Appointment.ID, jsonOf(b, st.Appointment),
		}
		for _, d := range st.Due {
			doc, err := encodeDue(d)
			mustDo(b, err)
			fields = append(fields, "d:"+d.ID, doc)
		}
		first := slices.MinFunc(st.Due, func(x, y store.DueItem) int { return x.DueAt.Compare(y.DueAt) })
		_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			p.HSet(ctx, s.k.p(pid, "state"), fields...)
			p.Set(ctx, s.k.link(st.Link.Index), pid, 0)
			p.Set(ctx, s.k.appointment(st.Appointment.ID), pid, 0)
			p.ZAdd(ctx, s.k.dueShard(shardOf(pid)).ready, goredis.Z{Member: member(first.DueAt, pid)})
			p.ZAdd(ctx, s.k.participants(), goredis.Z{Member: pid})
			p.ZAdd(ctx, s.k.caseloads().of(st.Participant.CaseworkerID), goredis.Z{Member: pid})
			return nil
		})
		mustDo(b, err)
	}
	enc, err := s.rdb.ObjectEncoding(ctx, s.k.p(somePID, "state")).Result()
	mustDo(b, err)
	m := usage(b, s)
	b.Logf("a person's hash is a %s; %s", enc, m.perKind(people))
	b.ReportMetric(float64(m.total)/people, "state_B/participant")
}

func jsonOf(b *testing.B, v any) []byte {
	doc, err := json.Marshal(v)
	mustDo(b, err)
	return doc
}
