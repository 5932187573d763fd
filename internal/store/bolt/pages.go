package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/store"
)

// Reads for caseworker pages and the API, each through an index, so that
// no request reads a whole table: a caseworker's caseload (participants by
// caseworker, with counts kept beside), the open part of the attention
// queue, and pages of the participant list, the queue and the audit log.

// indexVersion names the indexes this file keeps. A data file written
// before them gets them built on Open, from the records, in the same
// transaction that creates their buckets.
const indexVersion = "2"

var (
	metaIndexes = []byte("indexes")
	// metaClosedAt is the transaction that closed the file cleanly. When
	// the next Open follows it directly, nothing has written the file in
	// between and the indexes stand; otherwise (a crash, or an earlier
	// version of Waymark that does not keep them ran on the file) they are
	// built again.
	metaClosedAt = []byte("closed_at_tx")
)

func buildIndexes(t *txn) error {
	meta := t.Bucket(bMeta)
	closedAt := string(meta.Get(metaClosedAt))
	if err := meta.Delete(metaClosedAt); err != nil {
		return err
	}
	if string(meta.Get(metaIndexes)) == indexVersion && closedAt == strconv.Itoa(t.ID()-1) {
		return nil
	}
	for _, name := range [][]byte{bParticipantsByCW, bCaseloads, bAttentionOpen, bAttentionPeople, bAttentionTally} {
		if err := t.DeleteBucket(name); err != nil {
			return fmt.Errorf("rebuild %s: %w", name, err)
		}
		if _, err := t.CreateBucket(name); err != nil {
			return fmt.Errorf("rebuild %s: %w", name, err)
		}
	}
	err := t.Bucket(bParticipants).ForEach(func(k, v []byte) error {
		var p store.Participant
		if err := decodeAt(k, v, &p); err != nil {
			return err
		}
		return t.indexParticipant(nil, &p)
	})
	if err != nil {
		return fmt.Errorf("build caseload index: %w", err)
	}
	err = t.Bucket(bAttention).ForEach(func(_, v []byte) error {
		var a store.AttentionItem
		if err := unmarshal(v, &a); err != nil {
			return err
		}
		return t.indexOpen(nil, &a)
	})
	if err != nil {
		return fmt.Errorf("build open attention index: %w", err)
	}
	return meta.Put(metaIndexes, []byte(indexVersion))
}

// stampClose records that the indexes are whole as the file closes.
func (s *Store) stampClose() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return meta.Put(metaClosedAt, []byte(strconv.Itoa(tx.ID())))
	})
}

// caseloadKey is a participant's entry in the caseload index.
func caseloadKey(caseworker, pid string) []byte {
	return key(idPrefix(caseworker), []byte(pid))
}

// indexParticipant moves a participant's caseload entry and counts from
// old (nil for a new record) to p (nil when it is erased).
func (t *txn) indexParticipant(old, p *store.Participant) error {
	if old != nil && p != nil && old.CaseworkerID == p.CaseworkerID && old.Child == p.Child {
		return nil
	}
	if old != nil && p != nil && old.Child != p.Child {
		if err := t.retally(p.ID, p.Child); err != nil {
			return err
		}
	}
	idx := t.Bucket(bParticipantsByCW)
	if old != nil {
		if err := idx.Delete(caseloadKey(old.CaseworkerID, old.ID)); err != nil {
			return err
		}
		if err := t.countCaseload(old.CaseworkerID, old.Child, -1); err != nil {
			return err
		}
	}
	if p == nil {
		return nil
	}
	var v []byte
	if p.Child {
		v = []byte("c")
	}
	if err := idx.Put(caseloadKey(p.CaseworkerID, p.ID), v); err != nil {
		return err
	}
	return t.countCaseload(p.CaseworkerID, p.Child, 1)
}

func (t *txn) unindexParticipant(id string) error {
	var old store.Participant
	ok, err := getJSON(t.Bucket(bParticipants), []byte(id), &old)
	if err != nil || !ok {
		return err
	}
	return t.indexParticipant(&old, nil)
}

func (t *txn) countCaseload(caseworker string, child bool, by int) error {
	b, k := t.Bucket(bCaseloads), idPrefix(caseworker) // never empty, as a key must not be
	var c store.Caseload
	if _, err := getJSON(b, k, &c); err != nil {
		return err
	}
	c.People += by
	if child {
		c.Children += by
	}
	if c.People <= 0 {
		return b.Delete(k)
	}
	return putJSON(b, k, c)
}

// indexOpen keeps the open index, and the tally of who has open items,
// in step with an item going from old to a (nil for none: a new item, a
// deleted one). Items never change kind, participant or creation time.
func (t *txn) indexOpen(old, a *store.AttentionItem) error {
	wasOpen, isOpen := old != nil && old.Open(), a != nil && a.Open()
	if wasOpen == isOpen {
		return nil
	}
	it, by := a, 1
	if wasOpen {
		it, by = old, -1
	}
	k := key(timeKey(it.CreatedAt), []byte(it.ID))
	var err error
	if isOpen {
		err = t.Bucket(bAttentionOpen).Put(k, nil)
	} else {
		err = t.Bucket(bAttentionOpen).Delete(k)
	}
	if err != nil {
		return err
	}
	return t.tallyOpen(it.ParticipantID, it.Kind, by)
}

// tallyOpen counts one open item more (by 1) or fewer (by -1) for a
// person: their own count of open items of the kind and of any kind,
// and, where that count starts or stops, the people of the whole queue.
// Each of the person's entries remembers whether they were a child when
// counted, so that the child count is taken back as it was given even if
// the record has changed or gone since.
func (t *txn) tallyOpen(pid string, kind store.AttentionKind, by int) error {
	people := t.Bucket(bAttentionPeople)
	child := false
	if v := people.Get(idPrefix(pid)); len(v) > 0 {
		child = v[0] == 'c'
	} else {
		var p store.Participant
		if _, err := getJSON(t.Bucket(bParticipants), []byte(pid), &p); err != nil {
			return err
		}
		child = p.Child
	}
	for _, k := range []string{string(kind), ""} {
		pk := key(idPrefix(pid), []byte(k))
		n := tallyEntryCount(people.Get(pk))
		after := n + by
		var err error
		if after > 0 {
			err = people.Put(pk, tallyEntry(child, after))
		} else {
			err = people.Delete(pk)
		}
		if err != nil {
			return err
		}
		if (n > 0) != (after > 0) {
			if err := t.countTally(k, child, by); err != nil {
				return err
			}
		}
	}
	return nil
}

// retally moves a person's counts to or from the children's when their
// record's child flag changes.
func (t *txn) retally(pid string, child bool) error {
	people := t.Bucket(bAttentionPeople)
	pfx := idPrefix(pid)
	for _, pk := range prefixKeys(people, pfx) {
		v := people.Get(pk)
		if len(v) == 0 || (v[0] == 'c') == child {
			continue
		}
		kind := string(pk[len(pfx):])
		if err := t.countTally(kind, !child, -1); err != nil {
			return err
		}
		if err := t.countTally(kind, child, 1); err != nil {
			return err
		}
		if err := people.Put(pk, tallyEntry(child, tallyEntryCount(v))); err != nil {
			return err
		}
	}
	return nil
}

func tallyEntry(child bool, n int) []byte {
	flag := byte('a')
	if child {
		flag = 'c'
	}
	return strconv.AppendInt([]byte{flag}, int64(n), 10)
}

func tallyEntryCount(v []byte) int {
	if len(v) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(string(v[1:]))
	return n
}

// countTally adds by to the people counted for kind ("" for any kind),
// and to the children's count too for a child.
func (t *txn) countTally(kind string, child bool, by int) error {
	b := t.Bucket(bAttentionTally)
	keys := [][]byte{[]byte("k:" + kind)}
	if child {
		keys = append(keys, []byte("c:"+kind))
	}
	for _, k := range keys {
		n, _ := strconv.Atoi(string(b.Get(k)))
		var err error
		if n+by > 0 {
			err = b.Put(k, strconv.AppendInt(nil, int64(n+by), 10))
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TallyAttention reads the counts tallyOpen keeps.
func (s *Store) TallyAttention(_ context.Context) (store.AttentionTally, error) {
	tally := store.AttentionTally{ByKind: map[store.AttentionKind]int{}, ChildrenByKind: map[store.AttentionKind]int{}}
	err := s.view("tally attention", func(t *txn) error {
		return t.Bucket(bAttentionTally).ForEach(func(k, v []byte) error {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("tally %q: %w", k, err)
			}
			kind := store.AttentionKind(k[2:])
			switch {
			case string(k) == "k:":
				tally.People = n
			case string(k) == "c:":
				tally.Children = n
			case k[0] == 'k':
				tally.ByKind[kind] = n
			default:
				tally.ChildrenByKind[kind] = n
			}
			return nil
		})
	})
	return tally, err
}

func (s *Store) GetParticipants(_ context.Context, ids []string) ([]store.Participant, error) {
	var out []store.Participant
	err := s.view("get participants", func(t *txn) error {
		b := t.Bucket(bParticipants)
		for _, id := range ids {
			var p store.Participant
			if ok, err := getJSON(b, []byte(id), &p); err != nil {
				return err
			} else if ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

func (s *Store) PageParticipants(_ context.Context, cursor string, limit int) ([]store.Participant, string, error) {
	if err := store.CheckIDCursor(cursor); err != nil {
		return nil, "", err
	}
	var out []store.Participant
	next := ""
	err := s.view("page participants", func(t *txn) error {
		c := t.Bucket(bParticipants).Cursor()
		k, v := c.First()
		if cursor != "" {
			k, v = c.Seek([]byte(cursor))
			if k != nil && string(k) == cursor {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].ID
				break
			}
			var p store.Participant
			if err := decodeAt(k, v, &p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, next, err
}

func (s *Store) ParticipantsOf(_ context.Context, caseworkerID string) ([]store.Participant, error) {
	var out []store.Participant
	err := s.view("caseload", func(t *txn) error {
		pfx := idPrefix(caseworkerID)
		records := t.Bucket(bParticipants)
		c := t.Bucket(bParticipantsByCW).Cursor()
		for k, _ := c.Seek(pfx); k != nil && bytes.HasPrefix(k, pfx); k, _ = c.Next() {
			var p store.Participant
			if ok, err := getJSON(records, k[len(pfx):], &p); err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func (s *Store) CaseloadIDs(_ context.Context, caseworkerID string) ([]string, error) {
	var out []string
	err := s.view("caseload IDs", func(t *txn) error {
		pfx := idPrefix(caseworkerID)
		for _, k := range prefixKeys(t.Bucket(bParticipantsByCW), pfx) {
			out = append(out, string(k[len(pfx):]))
		}
		return nil
	})
	return out, err
}

func (s *Store) PageCaseload(_ context.Context, caseworkerID, cursor string, limit int) ([]store.Participant, string, error) {
	if err := store.CheckIDCursor(cursor); err != nil {
		return nil, "", err
	}
	var out []store.Participant
	next := ""
	err := s.view("page caseload", func(t *txn) error {
		pfx := idPrefix(caseworkerID)
		records := t.Bucket(bParticipants)
		c := t.Bucket(bParticipantsByCW).Cursor()
		k, _ := c.Seek(key(pfx, []byte(cursor)))
		if k != nil && cursor != "" && string(k[len(pfx):]) == cursor {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, pfx); k, _ = c.Next() {
			if len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			var p store.Participant
			if ok, err := getJSON(records, k[len(pfx):], &p); err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, next, err
}

func (s *Store) Caseloads(_ context.Context) (map[string]store.Caseload, error) {
	out := map[string]store.Caseload{}
	err := s.view("caseloads", func(t *txn) error {
		return t.Bucket(bCaseloads).ForEach(func(k, v []byte) error {
			var c store.Caseload
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode record: %w", err)
			}
			out[keyParticipant(k)] = c
			return nil
		})
	})
	return out, err
}

func (s *Store) GetAttention(_ context.Context, id string) (store.AttentionItem, error) {
	var a store.AttentionItem
	err := s.view("get attention "+id, func(t *txn) error {
		ok, err := getJSON(t.Bucket(bAttention), []byte(id), &a)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return a, err
}

// newestFirst walks a (time, id) index from the last key before the
// cursor's, calling fn until it returns false.
func newestFirst(b *bbolt.Bucket, cursor string, fn func(id []byte) (bool, error)) error {
	c := b.Cursor()
	var k []byte
	if cursor == "" {
		k, _ = c.Last()
	} else {
		at, id, err := store.ParseTimeCursor(cursor)
		if err != nil {
			return err
		}
		from := key(timeKey(at), []byte(id))
		if k, _ = c.Seek(from); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		// Seek lands on the cursor's own key or the first after it;
		// either way Prev is the first key of the page.
	}
	for ; k != nil; k, _ = c.Prev() {
		more, err := fn(k[timeKeyLen:])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (s *Store) PageAttention(_ context.Context, q store.AttentionQuery) ([]store.AttentionItem, string, error) {
	var out []store.AttentionItem
	next := ""
	err := s.view("page attention", func(t *txn) error {
		index := t.Bucket(bAttentionByTime)
		if q.OpenOnly {
			index = t.Bucket(bAttentionOpen)
		}
		items := t.Bucket(bAttention)
		scanned, last := 0, ""
		return newestFirst(index, q.Cursor, func(id []byte) (bool, error) {
			if len(out) == q.Limit || len(q.Kinds) > 0 && scanned == store.AttentionScan {
				next = last // more may follow: the next page starts after the last item read
				return false, nil
			}
			scanned++
			var a store.AttentionItem
			if ok, err := getJSON(items, id, &a); err != nil || !ok {
				return false, orMissingIndex(err, ok)
			}
			last = store.TimeCursor(a.CreatedAt, a.ID)
			if q.Matches(a) {
				out = append(out, a)
			}
			return true, nil
		})
	})
	return out, next, err
}

func (s *Store) AttentionOfMany(_ context.Context, participantIDs []string, openOnly bool) ([]store.AttentionItem, error) {
	var out []store.AttentionItem
	err := s.view("attention of many", func(t *txn) error {
		items := t.Bucket(bAttention)
		c := t.Bucket(bAttentionByP).Cursor()
		for _, pid := range participantIDs {
			pfx := idPrefix(pid)
			for k, _ := c.Seek(pfx); k != nil && bytes.HasPrefix(k, pfx); k, _ = c.Next() {
				var a store.AttentionItem
				if ok, err := getJSON(items, k[len(pfx):], &a); err != nil || !ok {
					return orMissingIndex(err, ok)
				}
				if !openOnly || a.Open() {
					out = append(out, a)
				}
			}
		}
		return nil
	})
	store.SortNewestFirst(out)
	return out, err
}

func (s *Store) PageAudit(_ context.Context, q store.AuditQuery) ([]store.AuditEntry, string, error) {
	var out []store.AuditEntry
	next := ""
	err := s.view("page audit", func(t *txn) error {
		index, pfx := t.Bucket(bAuditByTime), []byte(nil)
		if q.Participant != "" {
			index, pfx = t.Bucket(bAuditByP), idPrefix(q.Participant)
		}
		entries := t.Bucket(bAudit)
		c := index.Cursor()
		var k []byte
		switch {
		case q.Cursor != "":
			at, id, err := store.ParseTimeCursor(q.Cursor)
			if err != nil {
				return err
			}
			if k, _ = c.Seek(key(pfx, timeKey(at), []byte(id))); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		case !q.To.IsZero():
			if k, _ = c.Seek(key(pfx, timeKey(q.To))); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		default:
			if end := prefixEnd(pfx); end == nil {
				k, _ = c.Last()
			} else if k, _ = c.Seek(end); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		from := timeKey(q.From)
		scanned, last := 0, ""
		for ; k != nil && bytes.HasPrefix(k, pfx); k, _ = c.Prev() {
			tk := k[len(pfx) : len(pfx)+timeKeyLen]
			if !q.From.IsZero() && bytes.Compare(tk, from) < 0 {
				return nil
			}
			if len(out) == q.Limit || scanned == store.AuditScan {
				next = last // more may follow: the next page starts after the last entry read
				return nil
			}
			scanned++
			id := k[len(pfx)+timeKeyLen:]
			last = store.TimeCursor(parseTimeKey(tk), string(id))
			var e store.AuditEntry
			if ok, err := getJSON(entries, id, &e); err != nil || !ok {
				return orMissingIndex(err, ok)
			}
			if q.Matches(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, next, err
}
