package bolt

import (
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store/storetest"
)

func TestPersonsRecordsAreKeptCompact(t *testing.T) {
	s := openTemp(t)
	storetest.RunCompactRecords(t, s, rawBolt{s})
}

// rawBolt reads and writes the records of a person's state in the file.
type rawBolt struct{ s *Store }

var rawBuckets = map[string][]byte{"participant": bParticipants, "link": bLinks, "appointment": bAppointments, "session": bSessions}

func (r rawBolt) Raw(t *testing.T, kind, id string) []byte {
	var doc []byte
	err := r.s.db.View(func(tx *bbolt.Tx) error {
		doc = append(doc, tx.Bucket(rawBuckets[kind]).Get([]byte(id))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (r rawBolt) SetRaw(t *testing.T, kind, id string, doc []byte) {
	if err := r.s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(rawBuckets[kind]).Put([]byte(id), doc) }); err != nil {
		t.Fatal(err)
	}
}
