package bolt

import (
	"fmt"
	"sync"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
)

// committer runs the write transactions of many goroutines together
// (group commit): while one commit is on its way to the disk, the writes
// that arrive wait, and then go together in the next transaction with one
// fsync for all. A lone write goes at once, with no added delay, and each
// caller returns only when its own write is durable.
//
// bbolt's DB.Batch does the same with a timer (a lone write waits out
// MaxBatchDelay); this one batches only what queued up behind a commit, so
// a quiet server answers as fast as before and a busy one pays one fsync a
// batch instead of one a webhook.
//
// Writes in a batch see each other's changes, as if they ran one after the
// other. When one fails (a turn refused as stale or a duplicate, say), the
// transaction is rolled back, that write runs again on its own for its
// answer, and the others go again without it: every function may run more
// than once, so it must set, not add to, whatever it hands back.
type committer struct {
	db *bbolt.DB
	// txs counts the write transactions of the store, each one fsync:
	// this committer's and Store.update's (tests count a send's).
	txs atomic.Int64

	mu    sync.Mutex
	queue []*commitReq
	busy  bool
}

type commitReq struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

// panicked carries a panic out of the committer's goroutine to the caller
// whose function panicked, so that it surfaces where it would have without
// batching.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("panic in a write transaction: %v", p.value) }

// update runs fn in a write transaction shared with whatever else is
// waiting, and returns fn's error or the commit's.
func (c *committer) update(fn func(*bbolt.Tx) error) error {
	return c.updateEach([]func(*bbolt.Tx) error{fn})[0]
}

// updateEach runs every fn of fns in the transactions update would, queued
// together so that they share one (fns that fail are answered alone), and
// returns each one's error.
func (c *committer) updateEach(fns []func(*bbolt.Tx) error) []error {
	reqs := make([]*commitReq, len(fns))
	c.mu.Lock()
	for i, fn := range fns {
		reqs[i] = &commitReq{fn: fn, done: make(chan error, 1)}
	}
	c.queue = append(c.queue, reqs...)
	if !c.busy {
		c.busy = true
		go c.loop()
	}
	c.mu.Unlock()
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		errs[i] = <-r.done
		if p, ok := errs[i].(panicked); ok {
			panic(p.value)
		}
	}
	return errs
}

// loop commits batches until nothing is waiting.
func (c *committer) loop() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.commit(batch)
	}
}

// commit runs batch in one transaction. A write that fails is answered
// from a transaction of its own, and the rest are tried again together.
func (c *committer) commit(batch []*commitReq) {
	for len(batch) > 0 {
		failed := -1
		c.txs.Add(1)
		err := c.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range batch {
				if err := call(r.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, r := range batch {
				r.done <- err // nil, or the commit's own failure, which is everyone's
			}
			return
		}
		alone := batch[failed]
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		c.txs.Add(1)
		alone.done <- c.db.Update(func(tx *bbolt.Tx) error { return call(alone.fn, tx) })
	}
}

// call runs fn, turning a panic into an error for its caller.
func call(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicked{v}
		}
	}()
	return fn(tx)
}
