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

// rawRedis reads and writes the records of a person's state in Redis.
type rawRedis struct{ s *Store }

func (r rawRedis) key(kind, id string) string {
	return map[string]func(string) string{"participant": r.s.k.participant, "link": r.s.k.link,
		"appointment": r.s.k.appointment, "session": r.s.k.session}[kind](id)
}

func (r rawRedis) Raw(t *testing.T, kind, id string) []byte {
	doc, err := r.s.rdb.Get(t.Context(), r.key(kind, id)).Bytes()
	mustDo(t, err)
	return doc
}

func (r rawRedis) SetRaw(t *testing.T, kind, id string, doc []byte) {
	mustDo(t, r.s.rdb.Set(t.Context(), r.key(kind, id), doc, goredis.KeepTTL).Err())
}
