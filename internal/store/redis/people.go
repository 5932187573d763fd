package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// CreateParticipant stores a new participant; ErrConflict if the ID exists.
// The participant list entry (a hint) is written first, so that a crash
// between the two steps cannot leave a record that the list does not show.
func (s *Store) CreateParticipant(ctx context.Context, p store.Participant) error {
	if err := store.CheckParticipant(p); err != nil {
		return fmt.Errorf("redis: create participant: %w", err)
	}
	p.Revision = 1
	op := "create participant " + p.ID
	doc, err := compact.EncodeParticipant(p)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	var undo undoList
	if _, err := s.guardChild(ctx, op, "create", p, &undo); err != nil {
		return err
	}
	if err := s.rdb.ZAdd(ctx, s.k.participants(), goredis.Z{Member: p.ID}).Err(); err != nil {
		return s.fail(op, err)
	}
	if err := s.addToCaseload(ctx, p); err != nil {
		return s.fail(op, err)
	}
	undo.add(s.caseloadUndo(p))
	ok, err := s.rdb.HSetNX(ctx, s.k.person(p.ID), recordField, doc).Result()
	if err != nil {
		return s.fail(op, err)
	}
	if !ok {
		return s.refused(ctx, op, store.ErrConflict, &undo)
	}
	return nil
}

// GetParticipant returns a participant; ErrNotFound if there is none.
func (s *Store) GetParticipant(ctx context.Context, id string) (store.Participant, error) {
	p, err := s.participantRecord(ctx, id)
	if err != nil {
		return p, s.wrapGet("get participant "+id, err)
	}
	return p, nil
}

// UpdateParticipant saves a record read before, one revision higher;
// ErrNotFound if it is missing, ErrStale if it changed since it was read.
func (s *Store) UpdateParticipant(ctx context.Context, p store.Participant) error {
	if err := store.CheckParticipant(p); err != nil {
		return fmt.Errorf("redis: update participant: %w", err)
	}
	op := "update participant " + p.ID
	var undo undoList
	landed, err := s.guardChild(ctx, op, "update", p, &undo)
	if err != nil {
		return err
	}
	read := p.Revision
	p.Revision++
	doc, err := compact.EncodeParticipant(p)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	// The caseload entry goes first, as every hint does; the old one
	// goes once the record no longer names it.
	if err := s.addToCaseload(ctx, p); err != nil {
		return s.fail(op, err)
	}
	undo.add(s.caseloadUndo(p))
	res, err := s.run(ctx, luaParticipantUpdate, []string{s.k.person(p.ID)}, read, doc).Slice()
	if err != nil {
		return s.fail(op, err)
	}
	switch n, _ := res[0].(int64); {
	case n == 0:
		s.takeBack(ctx, op, &undo)
		return fmt.Errorf("redis: %s: %w", op, store.ErrStale)
	case n < 0:
		s.takeBack(ctx, op, &undo)
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	landed(ctx)
	oldCW, _ := res[1].(string)
	if err := s.leaveCaseload(ctx, p.ID, oldCW, res[2] == "1", p.CaseworkerID, p.Child); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// ListParticipants returns every participant, ordered by ID.
func (s *Store) ListParticipants(ctx context.Context) ([]store.Participant, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.participants(), 0, -1).Result()
	if err != nil {
		return nil, s.fail("list participants", err)
	}
	docs, err := s.participantDocs(ctx, ids)
	if err != nil {
		return nil, s.fail("list participants", err)
	}
	out := make([]store.Participant, 0, len(docs))
	for i, doc := range docs {
		if doc == nil {
			continue // a hint whose record never landed or is erased
		}
		p, err := compact.DecodeParticipant(ids[i], []byte(*doc))
		if err != nil {
			return nil, fmt.Errorf("redis: list participants: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// PutLink inserts or replaces a link by its index. The new participant's
// hint comes first and the old participant's hint goes last, so LinksOf
// never misses a link that GetLink finds.
func (s *Store) PutLink(ctx context.Context, l store.Link) error {
	if err := store.CheckLink(l); err != nil {
		return fmt.Errorf("redis: put link: %w", err)
	}
	doc, err := compact.EncodeLink(l)
	if err != nil {
		return fmt.Errorf("redis: put link of %s: %w", l.ParticipantID, err)
	}
	if err := s.rdb.HSet(ctx, s.k.person(l.ParticipantID), refLink+l.Index, "").Err(); err != nil {
		return s.fail("put link of "+l.ParticipantID, err)
	}
	old, err := s.rdb.SetArgs(ctx, s.k.link(l.Index), doc, goredis.SetArgs{Get: true}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return s.fail("put link of "+l.ParticipantID, err)
	}
	if err == nil {
		if was, err := compact.DecodeLink(l.Index, []byte(old)); err == nil && was.ParticipantID != l.ParticipantID {
			if err := s.rdb.HDel(ctx, s.k.person(was.ParticipantID), refLink+l.Index).Err(); err != nil {
				return s.fail("put link of "+l.ParticipantID, err)
			}
		}
	}
	return nil
}

// GetLink returns the link with this blind index; ErrNotFound if none.
func (s *Store) GetLink(ctx context.Context, index string) (store.Link, error) {
	l, err := getRecord(ctx, s, s.k.link(index), index, compact.DecodeLink)
	if err != nil {
		return l, s.wrapGet("get link", err)
	}
	return l, nil
}

// LinksOf returns a participant's links, ordered by index.
func (s *Store) LinksOf(ctx context.Context, participantID string) ([]store.Link, error) {
	ids, docs, err := s.hinted(ctx, participantID, refLink, s.k.link)
	if err != nil {
		return nil, s.fail("links of "+participantID, err)
	}
	out, err := owned(docs, participantID, keyedBy(ids, compact.DecodeLink), func(l store.Link) string { return l.ParticipantID })
	if err != nil {
		return nil, fmt.Errorf("redis: links of %s: %w", participantID, err)
	}
	slices.SortFunc(out, func(a, b store.Link) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// DeleteLink removes a link; a missing one is no error.
func (s *Store) DeleteLink(ctx context.Context, index string) error {
	old, err := s.rdb.GetDel(ctx, s.k.link(index)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.fail("delete link", err)
	}
	if was, err := compact.DecodeLink(index, []byte(old)); err == nil && was.ParticipantID != "" {
		if err := s.rdb.HDel(ctx, s.k.person(was.ParticipantID), refLink+index).Err(); err != nil {
			return s.fail("delete link", err)
		}
	}
	return nil
}

// PutEnrolmentCode stores a one-time code until its ExpiresAt;
// ErrConflict if the code is in use.
func (s *Store) PutEnrolmentCode(ctx context.Context, c store.EnrolmentCode) error {
	if err := store.CheckCode(c); err != nil {
		return fmt.Errorf("redis: put enrolment code: %w", err)
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redis: put enrolment code: %w", err)
	}
	// The participant's hint set names the code first, so that erasure
	// finds it; it expires with the last of the participant's codes.
	hint := s.k.codesOf(c.ParticipantID)
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, hint, c.Code)
		p.Do(ctx, "pexpireat", hint, ms(c.ExpiresAt), "nx")
		p.Do(ctx, "pexpireat", hint, ms(c.ExpiresAt), "gt")
		return nil
	})
	if err != nil {
		return s.fail("put enrolment code", err)
	}
	err = s.rdb.Do(ctx, "set", s.k.enrolmentCode(c.Code), doc, "pxat", ms(c.ExpiresAt), "nx").Err()
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: put enrolment code: %w", store.ErrConflict)
	}
	if err != nil {
		return s.fail("put enrolment code", err)
	}
	return nil
}

// TakeEnrolmentCode returns and deletes a code in one step (GETDEL), so
// that of two people racing with one code only one gets it.
func (s *Store) TakeEnrolmentCode(ctx context.Context, code string) (store.EnrolmentCode, error) {
	var c store.EnrolmentCode
	doc, err := s.rdb.GetDel(ctx, s.k.enrolmentCode(code)).Result()
	if err != nil {
		return c, s.wrapGet("take enrolment code", err)
	}
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return c, fmt.Errorf("redis: take enrolment code: %w", err)
	}
	// The code is taken: the person must get it even if the hint stays,
	// and a hint naming a code that is gone expires with the set.
	_ = s.rdb.SRem(ctx, s.k.codesOf(c.ParticipantID), code).Err()
	return c, nil
}

// GetSession returns a participant's conversation in progress; ErrNotFound
// if there is none or it has expired (Redis drops it at ExpiresAt).
func (s *Store) GetSession(ctx context.Context, participantID string) (store.Session, error) {
	ss, err := getRecord(ctx, s, s.k.session(participantID), participantID, compact.DecodeSession)
	if err != nil {
		return ss, s.wrapGet("get session of "+participantID, err)
	}
	return ss, nil
}

// SaveSession saves a conversation until its ExpiresAt; one already
// expired is deleted instead.
func (s *Store) SaveSession(ctx context.Context, ss store.Session) error {
	if err := store.CheckSession(ss); err != nil {
		return fmt.Errorf("redis: save session: %w", err)
	}
	key := s.k.session(ss.ParticipantID)
	at := ms(ss.ExpiresAt)
	var err error
	if at <= 0 {
		err = s.rdb.Del(ctx, key).Err()
	} else {
		var doc []byte
		if doc, err = compact.EncodeSession(ss); err != nil {
			return fmt.Errorf("redis: save session of %s: %w", ss.ParticipantID, err)
		}
		err = s.rdb.Do(ctx, "set", key, doc, "pxat", at).Err()
	}
	if err != nil {
		return s.fail("save session of "+ss.ParticipantID, err)
	}
	return nil
}

// DeleteSession ends a conversation; a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, participantID string) error {
	if err := s.rdb.Del(ctx, s.k.session(participantID)).Err(); err != nil {
		return s.fail("delete session of "+participantID, err)
	}
	return nil
}

// getJSON reads and decodes one key; goredis.Nil when it is missing.
func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	doc, err := s.getOne(ctx, key)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(doc), v)
}

// participantRecord reads a participant's record, through the coalescer
// as getOne reads.
func (s *Store) participantRecord(ctx context.Context, pid string) (store.Participant, error) {
	doc, err := s.send(ctx, []call{{args: []any{"hget", s.k.person(pid), recordField}}})[0].Text()
	if err != nil {
		return store.Participant{}, err
	}
	return compact.DecodeParticipant(pid, []byte(doc))
}

// participantDocs reads the records of pids in one pipeline, nil where
// there is none.
func (s *Store) participantDocs(ctx context.Context, pids []string) ([]*string, error) {
	return s.readOptional(ctx, len(pids), func(p goredis.Pipeliner, i int) *goredis.StringCmd {
		return p.HGet(ctx, s.k.person(pids[i]), recordField)
	})
}

// getRecord reads one record kept without its ID (internal/store/compact)
// and decodes it with the ID its key names; goredis.Nil when it is
// missing.
func getRecord[T any](ctx context.Context, s *Store, key, id string, decode func(id string, doc []byte) (T, error)) (T, error) {
	doc, err := s.getOne(ctx, key)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(id, []byte(doc))
}

// getOne reads one string key through the coalescer: a link's read is on
// a cluster's inbound path.
func (s *Store) getOne(ctx context.Context, key string) (string, error) {
	return s.send(ctx, []call{{args: []any{"get", key}}})[0].Text()
}

// wrapGet turns a missing key into ErrNotFound.
func (s *Store) wrapGet(op string, err error) error {
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return s.fail(op, err)
}

// getMany reads keys that may lie in different slots, in one round trip
// per node (MGET would need one slot); nil for a missing key.
func (s *Store) getMany(ctx context.Context, keys []string) ([]*string, error) {
	return s.readOptional(ctx, len(keys), func(p goredis.Pipeliner, i int) *goredis.StringCmd { return p.Get(ctx, keys[i]) })
}

// readOptional reads n strings in one pipeline, the i-th as read asks
// (a GET, an HGET), nil where the key or field is missing.
func (s *Store) readOptional(ctx context.Context, n int, read func(p goredis.Pipeliner, i int) *goredis.StringCmd) ([]*string, error) {
	if n == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.StringCmd, n)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range n {
			cmds[i] = read(p, i)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	return optionalStrings(cmds)
}

// optionalStrings reads the answers of a pipeline of GETs or HGETs: nil
// where the key or field is missing.
func optionalStrings(cmds []*goredis.StringCmd) ([]*string, error) {
	out := make([]*string, len(cmds))
	for i, c := range cmds {
		v, err := c.Result()
		switch {
		case errors.Is(err, goredis.Nil):
		case err != nil:
			return nil, err
		default:
			out[i] = &v
		}
	}
	return out, nil
}
