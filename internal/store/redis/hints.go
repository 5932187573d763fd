package redis

import (
	"context"
	"strings"
)

// A participant's record, the hints to their links and appointments
// (which live under keys of their own, found by index and ID) and their
// due items (due.go, itemField) are one hash, the person hash
// (keys.person): the record under recordField, and a field a hint, "l:"
// and the link's index or "a:" and the appointment's ID, with an empty
// value. Kept as one listpack (deploy/redis.conf's hash-max-listpack-value),
// it takes 984 bytes a person where the three as keys of their own took
// 1,400. A hint can outlive its record, or point at a record that has
// moved to someone else since, so every read through hints checks what it
// finds.

// recordField is the field of the person hash that holds the record.
const recordField = "r"

// Kinds of ref, the prefix of a hint's field.
const (
	refLink        = "l:"
	refAppointment = "a:"
)

// refsOf picks the IDs of one kind out of a person's ref fields.
func refsOf(fields []string, kind string) []string {
	var ids []string
	for _, f := range fields {
		if id, ok := strings.CutPrefix(f, kind); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// fromHints decodes the records hints led to, docs[i] from the hint of
// owner(i), nil where the record is gone, and keeps those that still
// belong to that owner.
func fromHints[T any](docs []*string, owner func(i int) string, decode func(i int, doc string) (T, error), ownerOf func(T) string) ([]T, error) {
	var out []T
	for i, doc := range docs {
		if doc == nil {
			continue
		}
		r, err := decode(i, *doc)
		if err != nil {
			return nil, err
		}
		if ownerOf(r) == owner(i) { // else a stale hint: the record moved
			out = append(out, r)
		}
	}
	return out, nil
}

// keyedBy decodes docs[i] as the record whose key names ids[i].
func keyedBy[T any](ids []string, decode func(id string, doc []byte) (T, error)) func(i int, doc string) (T, error) {
	return func(i int, doc string) (T, error) { return decode(ids[i], []byte(doc)) }
}

// hinted reads the records of one kind a participant's refs name: their
// IDs, and each record from the key made by key, fetched in one pipeline
// (nil where gone).
func (s *Store) hinted(ctx context.Context, pid, kind string, key func(id string) string) ([]string, []*string, error) {
	fields, err := s.rdb.HKeys(ctx, s.k.person(pid)).Result()
	if err != nil {
		return nil, nil, err
	}
	ids := refsOf(fields, kind)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	docs, err := s.getMany(ctx, keys)
	return ids, docs, err
}

// owned is fromHints for one owner's records.
func owned[T any](docs []*string, participantID string, decode func(i int, doc string) (T, error), ownerOf func(T) string) ([]T, error) {
	return fromHints(docs, func(int) string { return participantID }, decode, ownerOf)
}
