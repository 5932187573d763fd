package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/waymark-atd/waymark/internal/store"
)

// Programme versions and the draft. A version's files and its header (the
// version without files) are kept apart, so that the history lists
// without reading every file of every version.
var (
	bProgrammes       = []byte("programmes")        // number (big-endian) → ProgrammeVersion with files
	bProgrammeHeaders = []byte("programme_headers") // number (big-endian) → ProgrammeVersion without files
	bProgrammeDraft   = []byte("programme_draft")   // "draft" → ProgrammeDraft
)

var draftKey = []byte("draft")

func init() {
	allBuckets = append(allBuckets, bProgrammes, bProgrammeHeaders, bProgrammeDraft)
}

func versionKey(n int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// latest returns the highest version number in the headers, 0 for none.
func latest(t *txn) int {
	k, _ := t.Bucket(bProgrammeHeaders).Cursor().Last()
	if k == nil {
		return 0
	}
	return int(binary.BigEndian.Uint64(k))
}

func (s *Store) PublishProgramme(_ context.Context, basis int, v store.ProgrammeVersion) (store.ProgrammeVersion, error) {
	if err := store.CheckProgrammeVersion(basis, v); err != nil {
		return store.ProgrammeVersion{}, fmt.Errorf("bolt: publish programme: %w", err)
	}
	v.Number = basis + 1
	err := s.update("publish programme", func(t *txn) error {
		if latest(t) != basis {
			return store.ErrStale
		}
		if err := putJSON(t.Bucket(bProgrammes), versionKey(v.Number), v); err != nil {
			return err
		}
		h := v
		h.Files = nil
		return putJSON(t.Bucket(bProgrammeHeaders), versionKey(v.Number), h)
	})
	if err != nil {
		return store.ProgrammeVersion{}, err
	}
	return v, nil
}

func (s *Store) CurrentProgramme(_ context.Context) (int, error) {
	var n int
	err := s.view("current programme", func(t *txn) error {
		n = latest(t)
		return nil
	})
	return n, err
}

func (s *Store) GetProgramme(_ context.Context, number int) (store.ProgrammeVersion, error) {
	var v store.ProgrammeVersion
	err := s.view(fmt.Sprintf("get programme %d", number), func(t *txn) error {
		ok, err := getJSON(t.Bucket(bProgrammes), versionKey(number), &v)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return v, err
}

func (s *Store) ListProgrammes(_ context.Context) ([]store.ProgrammeVersion, error) {
	var out []store.ProgrammeVersion
	err := s.view("list programmes", func(t *txn) error {
		c := t.Bucket(bProgrammeHeaders).Cursor()
		for k, raw := c.Last(); k != nil; k, raw = c.Prev() {
			var v store.ProgrammeVersion
			if err := unmarshal(raw, &v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

func (s *Store) SaveProgrammeDraft(_ context.Context, d store.ProgrammeDraft) (store.ProgrammeDraft, error) {
	if err := store.CheckProgrammeDraft(d); err != nil {
		return store.ProgrammeDraft{}, fmt.Errorf("bolt: save programme draft: %w", err)
	}
	err := s.update("save programme draft", func(t *txn) error {
		if cur, err := draftRevision(t); err != nil || cur != d.Revision {
			if err == nil {
				err = store.ErrStale
			}
			return err
		}
		d.Revision++
		return putJSON(t.Bucket(bProgrammeDraft), draftKey, d)
	})
	if err != nil {
		return store.ProgrammeDraft{}, err
	}
	return d, nil
}

// draftRevision is the stored draft's revision, 0 when there is none.
func draftRevision(t *txn) (int, error) {
	raw := t.Bucket(bProgrammeDraft).Get(draftKey)
	if raw == nil {
		return 0, nil
	}
	var head struct {
		Revision int `json:"revision"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return 0, fmt.Errorf("decode record: %w", err)
	}
	return head.Revision, nil
}

func (s *Store) GetProgrammeDraft(_ context.Context) (store.ProgrammeDraft, error) {
	var d store.ProgrammeDraft
	err := s.view("get programme draft", func(t *txn) error {
		ok, err := getJSON(t.Bucket(bProgrammeDraft), draftKey, &d)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return d, err
}

func (s *Store) DeleteProgrammeDraft(_ context.Context, revision int) error {
	return s.update("delete programme draft", func(t *txn) error {
		if t.Bucket(bProgrammeDraft).Get(draftKey) == nil {
			return nil
		}
		cur, err := draftRevision(t)
		if err != nil {
			return err
		}
		if cur != revision {
			return store.ErrStale
		}
		return t.Bucket(bProgrammeDraft).Delete(draftKey)
	})
}
