package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

func openCommitter(t *testing.T) *committer {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return &committer{db: db}
}

// Many writers at once: each returns only once its write is committed, a
// refused write gets its own error and leaves nothing, and the others all
// land even when they shared a transaction with it.
func TestCommitterGroupsWritesAndIsolatesFailures(t *testing.T) {
	c := openCommitter(t)
	refuse := errors.New("refused")
	var wg sync.WaitGroup
	var runs atomic.Int64
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() {
			errs[i] = c.update(func(tx *bbolt.Tx) error {
				runs.Add(1)
				if err := tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "k%03d", i), []byte("v")); err != nil {
					return err
				}
				if i%50 == 7 {
					return refuse // after writing: the rollback must take it back
				}
				return nil
			})
		})
	}
	wg.Wait()
	err := c.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i, err := range errs {
			got := b.Get(fmt.Appendf(nil, "k%03d", i)) != nil
			switch {
			case i%50 == 7 && !errors.Is(err, refuse):
				t.Errorf("write %d: %v, want its own refusal", i, err)
			case i%50 == 7 && got:
				t.Errorf("refused write %d landed", i)
			case i%50 != 7 && (err != nil || !got):
				t.Errorf("write %d: %v, stored %v", i, err, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200 writes, %d runs of their functions (retries after refusals included)", runs.Load())
}

// A panic in a write reaches the caller whose function panicked, as it
// would without batching, and the committer goes on serving others.
func TestCommitterPanicReachesItsCaller(t *testing.T) {
	c := openCommitter(t)
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the write's own panic", v)
			}
		}()
		_ = c.update(func(*bbolt.Tx) error { panic("boom") })
		t.Error("update returned after its function panicked")
	}()
	if err := c.update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
}
