package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// coalescer sends the calls of concurrent callers to Redis together, in
// shared pipelines ("auto-pipelining"). Under load most of a webhook's
// cost is round trips, each a write and a read system call on both sides
// of the connection; webhooks that arrive while a pipeline is on its way
// wait for it to return and then go together in the next one, so that
// fifty webhooks cost a few round trips instead of fifty times four.
//
// A caller that finds fewer than lanes pipelines in flight is sent at
// once, with no timer and no added delay. Each caller gets its own Cmds:
// Redis answers every command of a pipeline on its own, so one caller's
// error (a refused script, a wrong type) never reaches another, and a
// script stays one command, atomic, whatever shares its pipeline. Only a
// failure of the connection itself fails every command sent over it.
//
// On a cluster go-redis splits a pipeline by node (each node's commands
// in order, MOVED and ASK followed per command), so a shared pipeline is
// one round trip per node that its callers' keys live on.
type coalescer struct {
	rdb   goredis.UniversalClient
	lanes int // pipelines in flight at most

	mu       sync.Mutex
	waiting  []*request
	inFlight int
}

// lanes is how many shared pipelines may be in flight at once. One would
// make every caller wait for the pipeline before it; two let a pipeline
// be sent while the previous one's answers are still being read and
// handed out.
const lanes = 2

// request is one caller's calls, and their answers once done is closed.
type request struct {
	calls []call
	cmds  []*goredis.Cmd
	done  chan struct{}
	gone  bool // the caller gave up before its calls were sent; guarded by coalescer.mu
}

func newCoalescer(rdb goredis.UniversalClient) *coalescer {
	return &coalescer{rdb: rdb, lanes: lanes}
}

// do sends calls in a pipeline shared with whatever other callers submit
// meanwhile, and returns one Cmd per call, in order. When ctx ends first
// the Cmds carry its error; calls already sent may still run.
func (c *coalescer) do(ctx context.Context, calls []call) []*goredis.Cmd {
	if err := ctx.Err(); err != nil {
		return failed(ctx, calls, err)
	}
	r := &request{calls: calls, done: make(chan struct{})}
	c.mu.Lock()
	c.waiting = append(c.waiting, r)
	var batch []*request
	if c.inFlight < c.lanes {
		c.inFlight++
		batch = c.take()
	}
	c.mu.Unlock()
	if batch != nil {
		// Sent from a goroutine of its own, so that every caller, this
		// one too, can stop waiting when its context ends.
		go c.send(batch)
	}
	select {
	case <-r.done:
		return r.cmds
	case <-ctx.Done():
		c.mu.Lock()
		r.gone = true
		c.mu.Unlock()
		return failed(ctx, calls, ctx.Err())
	}
}

// take empties the queue, leaving out callers who gave up. Called with mu
// held.
func (c *coalescer) take() []*request {
	batch := c.waiting[:0:0]
	for _, r := range c.waiting {
		if !r.gone {
			batch = append(batch, r)
		}
	}
	c.waiting = nil
	return batch
}

// send sends batch, then whatever queued up while it was away, until the
// queue is empty.
func (c *coalescer) send(batch []*request) {
	for {
		c.pipeline(batch)
		c.mu.Lock()
		if len(c.waiting) == 0 {
			c.inFlight--
			c.mu.Unlock()
			return
		}
		batch = c.take()
		c.mu.Unlock()
	}
}

// pipeline sends every call of batch in one pipeline and hands each
// request its answers. The context is no caller's: one caller giving up
// must not cut off the others' commands. go-redis's read and write
// timeouts bound the wait when Redis stops answering.
func (c *coalescer) pipeline(batch []*request) {
	ctx := context.Background()
	// Each command's own error is in its Cmd, which its caller reads.
	_, _ = c.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, r := range batch {
			r.cmds = make([]*goredis.Cmd, len(r.calls))
			for i, cl := range r.calls {
				if cl.sc != nil {
					r.cmds[i] = p.EvalSha(ctx, cl.sc.Hash(), cl.keys, cl.args...)
				} else {
					r.cmds[i] = p.Do(ctx, cl.args...)
				}
			}
		}
		return nil
	})
	for _, r := range batch {
		close(r.done)
	}
}

// failed is one Cmd per call, each carrying err.
func failed(ctx context.Context, calls []call, err error) []*goredis.Cmd {
	cmds := make([]*goredis.Cmd, len(calls))
	for i := range calls {
		cmds[i] = goredis.NewCmd(ctx)
		cmds[i].SetErr(err)
	}
	return cmds
}
