package redis

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
//
// The "compact" case writes the same records as a compact encoding might
// (compactRecord), to say how far that goes beside the layout.
func BenchmarkOneKeyLayout(b *testing.B) {
	logServer(b)
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			measureOneKey(b, func(doc []byte, _ ...string) []byte { return doc })
		}
	})
	b.Run("compact", func(b *testing.B) {
		for b.Loop() {
			measureOneKey(b, compactRecord)
		}
	})
}

// measureOneKey writes the one-key layout with each record as encode
// makes it of the record's JSON, told the values its key already holds.
func measureOneKey(b *testing.B, encode func(doc []byte, known ...string) []byte) {
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
			"r", encode(jsonOf(b, st.Participant), pid), "s", encode(jsonOf(b, st.Session), pid),
			"l:" + st.Link.Index, encode(jsonOf(b, st.Link), pid, st.Link.Index),
			"a:" + st.Appointment.ID, encode(jsonOf(b, st.Appointment), pid, st.Appointment.ID),
		}
		for _, d := range st.Due {
			doc, err := encodeDue(d)
			mustDo(b, err)
			fields = append(fields, "d:"+d.ID, encode(doc, pid))
		}
		first := slices.MinFunc(st.Due, func(x, y store.DueItem) int { return x.DueAt.Compare(y.DueAt) })
		_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			p.HSet(ctx, s.k.p(pid, "state"), fields...)
			p.Set(ctx, s.k.link(st.Link.Index), pid, 0)
			p.Set(ctx, s.k.appointment(st.Appointment.ID), pid, 0)
			p.ZAdd(ctx, s.k.dueIndex(shardOf(pid)), goredis.Z{Score: float64(first.DueAt.UnixMilli()), Member: personEntry(pid)})
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

func jsonOf(b testing.TB, v any) []byte {
	doc, err := json.Marshal(v)
	mustDo(b, err)
	return doc
}

// compactRecord re-encodes a record's JSON as a compact encoding of the
// person's hash might, to measure what such an encoding would save before
// anyone designs it: no value the key already holds (known: the person's
// ID, the link's index, the record's own ID), no empty, false or zero
// field, times as Unix seconds, and names cut to a letter or two. It keeps
// every other value whole, so it is a fair bound, not a format.
func compactRecord(doc []byte, known ...string) []byte {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		panic(err)
	}
	out, err := json.Marshal(compactValue(v, known))
	if err != nil {
		panic(err)
	}
	return out
}

func compactValue(v any, known []string) any {
	switch v := v.(type) {
	case map[string]any:
		names := slices.Sorted(maps.Keys(v))
		out := map[string]any{}
		for _, name := range names {
			val := compactValue(v[name], known)
			if val == nil {
				continue
			}
			short := shortName(name)
			for n := 2; out[short] != nil; n++ {
				short = shortName(name) + strconv.Itoa(n)
			}
			out[short] = val
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if v == "" || slices.Contains(known, v) {
			return nil
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.Unix()
		}
		return v
	case bool:
		if !v {
			return nil
		}
		return v
	case float64:
		if v == 0 {
			return nil
		}
		return v
	case nil:
		return nil
	}
	return v
}

// shortName is a field name's initials: "last_seen_at" is "lsa".
func shortName(name string) string {
	var b strings.Builder
	for word := range strings.SplitSeq(name, "_") {
		if word != "" {
			b.WriteByte(word[0])
		}
	}
	return b.String()
}

// TestCompactRecordKeepsEveryValue: the compact form the layout benchmark
// measures drops only what it says it drops, so its figure is not bought
// with lost data: every other value of each record is still there, a time
// as its Unix second.
func TestCompactRecordKeepsEveryValue(t *testing.T) {
	st, err := footprint.NewState(1, footprint.Daily)
	mustDo(t, err)
	pid := st.Participant.ID
	records := map[string][]string{} // JSON → values the key holds
	add := func(v any, known ...string) { records[string(jsonOf(t, v))] = append(known, pid) }
	add(st.Participant)
	add(st.Session)
	add(st.Link, st.Link.Index)
	add(st.Appointment, st.Appointment.ID)
	for _, d := range st.Due {
		doc, err := encodeDue(d)
		mustDo(t, err)
		records[string(doc)] = []string{pid}
	}
	for doc, known := range records {
		var before, after any
		mustDo(t, json.Unmarshal([]byte(doc), &before))
		mustDo(t, json.Unmarshal(compactRecord([]byte(doc), known...), &after))
		want, got := leaves(before, known), leaves(after, nil)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: compact form holds %q, want %q", doc, got, want)
		}
	}
}

// leaves lists the values of a decoded JSON document as strings, times as
// Unix seconds, leaving out the empty, false and zero ones and those in
// known.
func leaves(v any, known []string) []string {
	switch v := v.(type) {
	case map[string]any:
		var out []string
		for _, val := range v {
			out = append(out, leaves(val, known)...)
		}
		return out
	case string:
		if v == "" || slices.Contains(known, v) {
			return nil
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return []string{strconv.FormatInt(t.Unix(), 10)}
		}
		return []string{v}
	case float64:
		if v == 0 {
			return nil
		}
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case bool:
		if !v {
			return nil
		}
		return []string{"true"}
	}
	return nil
}
