package redis

import (
	"context"
	"encoding/json"
)

// A participant's links, appointments and due items live under their own
// keys (or in shared shards); a set per participant, the hint set, names
// them. A hint can outlive its record, or point at a record that has moved
// to someone else since, so every read through hints checks what it finds.

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

// jsonRecord decodes a record kept as JSON.
func jsonRecord[T any](_ int, doc string) (T, error) {
	var r T
	err := json.Unmarshal([]byte(doc), &r)
	return r, err
}

// hinted reads the records one participant's hint set names: the set's
// members, each record's key made by key, the records fetched in one
// pipeline (nil where gone).
func (s *Store) hinted(ctx context.Context, set string, key func(member string) string) ([]*string, error) {
	members, err := s.rdb.SMembers(ctx, set).Result()
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = key(m)
	}
	return s.getMany(ctx, keys)
}

// owned is fromHints for one owner's records.
func owned[T any](docs []*string, participantID string, decode func(i int, doc string) (T, error), ownerOf func(T) string) ([]T, error) {
	return fromHints(docs, func(int) string { return participantID }, decode, ownerOf)
}
