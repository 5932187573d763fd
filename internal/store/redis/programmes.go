package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

func (s *Store) PublishProgramme(ctx context.Context, basis int, v store.ProgrammeVersion) (store.ProgrammeVersion, error) {
	if err := store.CheckProgrammeVersion(basis, v); err != nil {
		return store.ProgrammeVersion{}, fmt.Errorf("redis: publish programme: %w", err)
	}
	v.Number = basis + 1
	whole, err := json.Marshal(v)
	if err != nil {
		return store.ProgrammeVersion{}, fmt.Errorf("redis: publish programme: %w", err)
	}
	h := v
	h.Files = nil
	head, err := json.Marshal(h)
	if err != nil {
		return store.ProgrammeVersion{}, fmt.Errorf("redis: publish programme: %w", err)
	}
	k := s.k.programme()
	n, err := s.run(ctx, luaProgrammePublish, []string{k.current(), k.versions(), k.headers()},
		basis, v.Number, whole, head).Int()
	if err != nil {
		return store.ProgrammeVersion{}, s.fail("publish programme", err)
	}
	if n == 0 {
		return store.ProgrammeVersion{}, fmt.Errorf("redis: publish programme: %w", store.ErrStale)
	}
	return v, nil
}

func (s *Store) CurrentProgramme(ctx context.Context) (int, error) {
	raw, err := s.rdb.Get(ctx, s.k.programme().current()).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("current programme", err)
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, fmt.Errorf("redis: current programme: not a number: %w", err)
	}
	return n, nil
}

func (s *Store) GetProgramme(ctx context.Context, number int) (store.ProgrammeVersion, error) {
	var v store.ProgrammeVersion
	raw, err := s.rdb.HGet(ctx, s.k.programme().versions(), strconv.Itoa(number)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return v, fmt.Errorf("redis: get programme %d: %w", number, store.ErrNotFound)
	}
	if err != nil {
		return v, s.fail(fmt.Sprintf("get programme %d", number), err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("redis: get programme %d: decode: %w", number, err)
	}
	return v, nil
}

func (s *Store) ListProgrammes(ctx context.Context) ([]store.ProgrammeVersion, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.programme().headers()).Result()
	if err != nil {
		return nil, s.fail("list programmes", err)
	}
	out := make([]store.ProgrammeVersion, 0, len(all))
	for _, raw := range all {
		var v store.ProgrammeVersion
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("redis: list programmes: decode: %w", err)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out, nil
}

func (s *Store) SaveProgrammeDraft(ctx context.Context, d store.ProgrammeDraft) (store.ProgrammeDraft, error) {
	if err := store.CheckProgrammeDraft(d); err != nil {
		return store.ProgrammeDraft{}, fmt.Errorf("redis: save programme draft: %w", err)
	}
	read := d.Revision
	d.Revision++
	raw, err := json.Marshal(d)
	if err != nil {
		return store.ProgrammeDraft{}, fmt.Errorf("redis: save programme draft: %w", err)
	}
	k := s.k.programme()
	n, err := s.run(ctx, luaProgrammeDraft, []string{k.draft(), k.draftRevision()}, read, d.Revision, raw).Int()
	if err != nil {
		return store.ProgrammeDraft{}, s.fail("save programme draft", err)
	}
	if n == 0 {
		return store.ProgrammeDraft{}, fmt.Errorf("redis: save programme draft: %w", store.ErrStale)
	}
	return d, nil
}

func (s *Store) GetProgrammeDraft(ctx context.Context) (store.ProgrammeDraft, error) {
	var d store.ProgrammeDraft
	raw, err := s.rdb.Get(ctx, s.k.programme().draft()).Bytes()
	if errors.Is(err, goredis.Nil) {
		return d, fmt.Errorf("redis: get programme draft: %w", store.ErrNotFound)
	}
	if err != nil {
		return d, s.fail("get programme draft", err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("redis: get programme draft: decode: %w", err)
	}
	return d, nil
}

func (s *Store) DeleteProgrammeDraft(ctx context.Context, revision int) error {
	k := s.k.programme()
	n, err := s.run(ctx, luaProgrammeDraft, []string{k.draft(), k.draftRevision()}, revision, 0, "").Int()
	if err != nil {
		return s.fail("delete programme draft", err)
	}
	if n == 0 {
		return fmt.Errorf("redis: delete programme draft: %w", store.ErrStale)
	}
	return nil
}
