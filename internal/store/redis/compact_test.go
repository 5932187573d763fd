package redis

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store/storetest"
)

func TestPersonsRecordsAreKeptCompact(t *testing.T) {
	onSingleAndCluster(t, func(t *testing.T, o Options) {
		s := openTest(t, o)
		storetest.RunCompactRecords(t, s, rawRedis{s})
	})
}

// rawRedis reads and writes the records of a person's state in Redis: a
// participant's record is a field of their person hash, the others
// strings of their own.
type rawRedis struct{ s *Store }

func (r rawRedis) key(kind, id string) string {
	return map[string]func(string) string{"link": r.s.k.link,
		"appointment": r.s.k.appointment, "session": r.s.k.session}[kind](id)
}

func (r rawRedis) Raw(t *testing.T, kind, id string) []byte {
	if kind == "participant" {
		doc, err := r.s.rdb.HGet(t.Context(), r.s.k.person(id), recordField).Bytes()
		mustDo(t, err)
		return doc
	}
	doc, err := r.s.rdb.Get(t.Context(), r.key(kind, id)).Bytes()
	mustDo(t, err)
	return doc
}

func (r rawRedis) SetRaw(t *testing.T, kind, id string, doc []byte) {
	if kind == "participant" {
		mustDo(t, r.s.rdb.HSet(t.Context(), r.s.k.person(id), recordField, doc).Err())
		return
	}
	mustDo(t, r.s.rdb.Set(t.Context(), r.key(kind, id), doc, goredis.KeepTTL).Err())
}
