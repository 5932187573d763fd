// Package bolt is Waymark's embedded storage backend: one bbolt file, one
// process, no server to run. It is the default when no Redis is configured,
// and it meets the same contract (storetest) as the Redis backend.
//
// Records are JSON values in buckets. Per-participant lists are prefix scans
// over index buckets keyed by the participant ID, and the outbox and due
// queues are ordered scans over index buckets keyed by a big-endian time, so
// a claim reads only what is ready.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

var _ store.Store = (*Store)(nil)

// ErrInUse is returned by Open when another process holds the data file.
var ErrInUse = errors.New("data file is in use by another waymark process")

// openTimeout bounds the wait for the file lock, so that a second process
// fails with ErrInUse instead of hanging.
var openTimeout = 2 * time.Second

// sweepEvery is how often the background sweeper drops expired records.
var sweepEvery = time.Minute

// Bucket names. Index buckets hold empty values: the key is the index.
var (
	bParticipants    = []byte("participants")      // id → Participant
	bLinks           = []byte("links")             // index → Link
	bLinksByP        = []byte("links_by_p")        // pid, index
	bCodes           = []byte("codes")             // code → EnrolmentCode
	bSessions        = []byte("sessions")          // pid → Session
	bCheckIns        = []byte("checkins")          // pid, time, id → CheckIn
	bWindows         = []byte("windows")           // pid, ref → Window
	bAttention       = []byte("attention")         // id → AttentionItem
	bAttentionByTime = []byte("attention_by_t")    // time(created), id
	bAttentionByP    = []byte("attention_by_p")    // pid, id
	bAudit           = []byte("audit")             // id → AuditEntry
	bAuditByTime     = []byte("audit_by_t")        // time, id
	bAuditByP        = []byte("audit_by_p")        // pid, time, id
	bDedupe          = []byte("dedupe")            // key → time(expires)
	bLeases          = []byte("leases")            // name → leaseRecord
	bRates           = []byte("rates")             // key → rateRecord
	bCounters        = []byte("counters")          // key → counterRecord
	bOutbox          = []byte("outbox")            // id → outboxRecord
	bOutboxReady     = []byte("outbox_ready")      // time(claimable), id; Pending only
	bOutboxByP       = []byte("outbox_by_p")       // pid, id
	bOutboxOrder     = []byte("outbox_order")      // pid, seq → id; Pending only, in the order made
	bAppointments    = []byte("appointments")      // id → Appointment
	bAppointmentsByP = []byte("appointments_by_p") // pid, date, time, id
	bDue             = []byte("due")               // pid, id → dueRecord
	bDueReady        = []byte("due_ready")         // time(claimable), pid, id
	bExpiry          = []byte("expiry")            // time(expires), kind, key

	// Indexes for caseworker pages and the API (pages.go), built from the
	// records on an Open that cannot trust them (bMeta says when it can).
	bParticipantsByCW = []byte("participants_by_cw") // caseworker, pid → "c" for a child
	bCaseloads        = []byte("caseloads")          // caseworker (length-prefixed) → store.Caseload
	bAttentionOpen    = []byte("attention_open")     // time(created), id; open items only
	bAttentionPeople  = []byte("attention_people")   // pid, kind ("" for any) → child flag, open items
	bAttentionTally   = []byte("attention_tally")    // "k:" or "c:" (children), kind → people
)

var allBuckets = [][]byte{
	bParticipants, bLinks, bLinksByP, bCodes, bSessions, bCheckIns, bWindows,
	bAttention, bAttentionByTime, bAttentionByP, bAudit, bAuditByTime, bAuditByP,
	bDedupe, bLeases, bRates, bCounters, bOutbox, bOutboxReady, bOutboxByP, bOutboxOrder,
	bAppointments, bAppointmentsByP, bDue, bDueReady, bExpiry,
	bParticipantsByCW, bCaseloads, bAttentionOpen, bAttentionPeople, bAttentionTally,
}

// Store is a bbolt-backed store.Store. Safe for concurrent use.
type Store struct {
	db      *bbolt.DB
	commits *committer
	// now is the clock for the expiries the contract measures in wall time
	// (sessions, codes, dedupe keys, counters, lease TTLs): the system clock
	// unless WithClock says otherwise.
	now func() time.Time

	stop      chan struct{}
	swept     sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// fileOptions keep the list of free pages in memory only, as a map. bbolt
// otherwise writes the whole list at every commit: after a purge has
// freed many pages (retention purges a year of check-ins and windows),
// that is hundreds of kilobytes in every fsync'd write, however small
// the write. Kept in memory, the list is rebuilt by walking the file when
// it is opened. BenchmarkCommitAfterPurge measures both.
var fileOptions = &bbolt.Options{Timeout: openTimeout, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}

// Open opens or creates the data file at path (mode 0600, its folder 0700)
// and starts a sweeper that drops expired records every minute until Close.
// It takes back at once every claim on the outbox and the due queue: the
// file lock means the process that made them is no longer running.
// If another process holds the file, Open fails with ErrInUse after a short
// wait.
func Open(path string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data folder: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, fileOptions)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: %w (waited %s)", path, ErrInUse, openTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := rekeyDue(tx); err != nil {
			return fmt.Errorf("name due items by their person: %w", err)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		t := &txn{Tx: tx, now: time.Now()}
		if err := t.takeBackClaims(); err != nil {
			return err
		}
		return buildIndexes(t)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	s := &Store{db: db, commits: &committer{db: db}, now: time.Now, stop: make(chan struct{})}
	for _, opt := range opts {
		opt(s)
	}
	s.swept.Go(s.sweepLoop)
	return s, nil
}

// Option changes how Open sets up a Store.
type Option func(*Store)

// WithClock makes the store judge expiry (sessions, enrolment codes, dedupe
// keys, counters, lease TTLs) by c instead of the system clock. With the
// system clock bolt behaves as Redis does; a fake clock keeps a store
// consistent with the simulated time of tests and the simulator, whose
// expiry times come from that clock.
func WithClock(c clock.Clock) Option { return func(s *Store) { s.now = c.Now } }

// Close stops the sweeper and closes the file. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.swept.Wait()
		if err := s.stampClose(); err != nil {
			slog.Warn("bolt: the indexes will be built again at the next start", "err", err)
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("bolt: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(_ context.Context) error {
	return s.view("ping", func(*txn) error { return nil })
}

func (s *Store) sweepLoop() {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			if err := s.Sweep(s.now()); err != nil {
				slog.Warn("bolt: sweep expired records", "err", err)
			}
		}
	}
}

// txn is a bbolt transaction with the wall time it started at, so that one
// transaction judges every expiry against one instant.
type txn struct {
	*bbolt.Tx
	now time.Time
}

func (s *Store) view(op string, fn func(*txn) error) error {
	now := s.now()
	return s.wrap(op, s.db.View(func(tx *bbolt.Tx) error { return fn(&txn{tx, now}) }))
}

func (s *Store) update(op string, fn func(*txn) error) error {
	now := s.now()
	s.commits.txs.Add(1)
	return s.wrap(op, s.db.Update(func(tx *bbolt.Tx) error { return fn(&txn{tx, now}) }))
}

// batch is update for the writes on the hot path (a webhook's turn, a send,
// a status), shared with others waiting (group commit, see committer). fn
// may run more than once and must set, not add to, what it hands back.
func (s *Store) batch(op string, fn func(*txn) error) error {
	now := s.now()
	return s.wrap(op, s.commits.update(func(tx *bbolt.Tx) error { return fn(&txn{tx, now}) }))
}

// wrap adds the operation to an error and turns a closed file into
// store.ErrUnavailable. Callers put only IDs into op, never participant data.
func (s *Store) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("bolt: %s: %w: %w", op, store.ErrUnavailable, err)
	default:
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
}

// Keys.

// timeKey encodes t so that byte order is time order, zero time and times
// before 1970 included: seconds with the sign bit flipped, then nanoseconds.
func timeKey(t time.Time) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	return k
}

func parseTimeKey(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:]))).UTC()
}

const timeKeyLen = 12

// idPrefix starts every per-participant index key: the ID's length, then the
// ID, so that no ID is a prefix of another's keys.
func idPrefix(id string) []byte {
	k := binary.AppendUvarint(nil, uint64(len(id)))
	return append(k, id...)
}

// key joins parts into one index key. Every part but the last has a fixed
// length or its own length prefix, so keys never run into each other.
func key(parts ...[]byte) []byte {
	var k []byte
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// prefixKeys returns the keys of b that start with prefix, in order.
func prefixKeys(b *bbolt.Bucket, prefix []byte) [][]byte {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}

// readyKeys returns up to limit keys of an index bucket keyed by time, whose
// time is at or before now, earliest first.
func readyKeys(b *bbolt.Bucket, now time.Time, limit int) [][]byte {
	var out [][]byte
	end := timeKey(now)
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		if bytes.Compare(k[:timeKeyLen], end) > 0 {
			break
		}
		out = append(out, bytes.Clone(k))
	}
	return out
}

// JSON values.

// recordsOf reads one person's records of a kind through its
// per-participant index (keys: the person's ID prefix, then the record's
// key in records).
func recordsOf[T any](t *txn, index, records []byte, participantID string) ([]T, error) {
	var out []T
	pfx := idPrefix(participantID)
	b := t.Bucket(records)
	for _, k := range prefixKeys(t.Bucket(index), pfx) {
		var v T
		if ok, err := getJSON(b, k[len(pfx):], &v); err != nil || !ok {
			return nil, orMissingIndex(err, ok)
		}
		out = append(out, v)
	}
	return out, nil
}

// getJSON reads the record under k into v, reporting whether there is one.
func getJSON(b *bbolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	return true, decodeAt(k, raw, v)
}

// putJSON writes v under k: the records of a person's state in their
// compact form (internal/store/compact), which leaves out the ID that k
// is, everything else as JSON.
func putJSON(b *bbolt.Bucket, k []byte, v any) error {
	var raw []byte
	var err error
	switch r := v.(type) {
	case store.Participant:
		raw, err = compact.EncodeParticipant(r)
	case store.Link:
		raw, err = compact.EncodeLink(r)
	case store.Appointment:
		raw, err = compact.EncodeAppointment(r)
	case store.Session:
		raw, err = compact.EncodeSession(r)
	default:
		raw, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	return b.Put(k, raw)
}

// decodeAt reads raw, the record kept under k, into v.
func decodeAt(k, raw []byte, v any) error {
	var err error
	switch r := v.(type) {
	case *store.Participant:
		*r, err = compact.DecodeParticipant(string(k), raw)
	case *store.Link:
		*r, err = compact.DecodeLink(string(k), raw)
	case *store.Appointment:
		*r, err = compact.DecodeAppointment(string(k), raw)
	case *store.Session:
		*r, err = compact.DecodeSession(string(k), raw)
	default:
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

// unmarshal reads a record whose key says nothing it leaves out; the
// records of a person's state are read with their key, by decodeAt.
func unmarshal(raw []byte, v any) error {
	switch v.(type) {
	case *store.Participant, *store.Link, *store.Appointment, *store.Session:
		return fmt.Errorf("decode record: %T is read with its key", v)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

// errBrokenIndex means an index entry points at a record that is not there:
// the file was changed outside this package.
var errBrokenIndex = errors.New("index entry without its record")

// orMissingIndex turns a lookup through an index into an error when the
// record is missing or unreadable.
func orMissingIndex(err error, found bool) error {
	if err != nil {
		return err
	}
	if !found {
		return errBrokenIndex
	}
	return nil
}
