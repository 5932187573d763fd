package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// A pump hands claimed messages to a fixed set of workers, a person at a
// time: one person's messages go one after another, in the order claimed,
// by one worker; other people's go side by side. With one worker there is
// one queue for everyone, so that messages go strictly oldest first.
//
// Run feeds one pump for as long as it runs and claims again as soon as
// sends end, so that no message waits for the slowest send of the claim it
// came in, as it did when a pass claimed, sent the whole claim and only
// then claimed again. The store hands this owner a person's later messages
// while it still holds their earlier ones (store.Outbox); the pump queues
// them behind. DispatchOnce feeds a pump one claim and waits for it to
// empty.
type pump struct {
	d *Dispatcher

	mu   sync.Mutex
	cond *sync.Cond // a queue became ready, or the pump closed
	// queues holds, for each person with messages here (queueOf), those
	// not yet handled; a person stays while a worker handles them, so that
	// a message of theirs claimed meanwhile joins the same worker.
	queues  map[string]*personQueue
	ready   []string // queues waiting for a worker, in the order their first message came
	held    int      // messages claimed and not yet handled or handed back
	handled int      // messages handled (not handed back)
	closed  bool
	// claims counts the claims begun, and added those whose messages have
	// been queued here; a claim is in flight while added < claims.
	claims, added int
	// staysIn holds, for each person one of whose messages has just gone
	// back or stayed in the store's queue (deferred, in doubt), the claim
	// in flight then: it may have been answered while the store still saw
	// the message held by this owner, and so hold the person's later
	// messages (store.Outbox), which must go back, not out.
	staysIn map[string]int
	errs    []error
	onErr   func(error) // when set, errors go here as they happen instead of into errs (startPump)

	workers sync.WaitGroup
	// freed is rung whenever a message leaves the pump: there is room for
	// more, and a send that went may have woken the person's next message.
	freed chan struct{}
}

// personQueue is one person's claimed messages still to handle.
type personQueue struct {
	msgs    []pumped
	working bool // a worker is handling this queue
}

// pumped is a claimed message, the moment after which it may no longer be
// started, because its lease might end before the send is recorded, and
// the moment its lease ends.
type pumped struct {
	msg              store.OutboundMessage
	startBy, leaseBy time.Time
	back             bool // hand it back unsent (staysIn)
}

// startPump starts Options.Concurrency workers that handle messages until
// the pump is closed and empty. Errors go to onErr as they happen, or,
// when it is nil, into the pump's errs.
func (d *Dispatcher) startPump(ctx context.Context, onErr func(error)) *pump {
	p := &pump{d: d, queues: map[string]*personQueue{}, staysIn: map[string]int{}, freed: make(chan struct{}, 1), onErr: onErr}
	p.cond = sync.NewCond(&p.mu)
	for range d.opts.Concurrency {
		p.workers.Go(func() { p.work(ctx) })
	}
	return p
}

// room is how many more messages the pump takes, and whether a claim is
// worth making now. It takes enough for every worker to have its next
// message waiting when its send ends, so that workers never wait on a
// claim, and no fewer than Batch. A claim is worth making when the pump
// is empty, or has room for half of that: a claim costs the store about
// the same whatever it holds, and the workers still have messages to go
// on with.
func (p *pump) room() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	most := max(2*p.d.opts.Concurrency, p.d.opts.Batch)
	room := most - p.held
	return room, room > 0 && (p.held == 0 || room >= most/2)
}

// claim claims up to limit messages, or the adaptive batch if smaller, and
// hands them to the workers. full reports that the claim came back full,
// so more are likely waiting.
func (p *pump) claim(ctx context.Context, limit int) (n int, full bool, err error) {
	d := p.d
	p.mu.Lock()
	p.claims++
	claim := p.claims
	p.mu.Unlock()
	claimedAt := d.clock.Now()
	batch := int(d.batch.Load())
	want := min(limit, batch)
	msgs, err := d.store.ClaimOutbound(ctx, d.opts.Owner, claimedAt, d.opts.Lease, want)
	if err != nil {
		p.add(claim, nil, time.Time{}, time.Time{})
		return 0, false, err
	}
	d.batch.Store(int64(d.nextBatch(batch, len(msgs), want)))
	p.add(claim, msgs, claimedAt.Add(d.opts.Lease-d.opts.SendTimeout-d.opts.SendTimeout/2), claimedAt.Add(d.opts.Lease))
	return len(msgs), len(msgs) == want, nil
}

// add queues the messages of a claim behind the same person's earlier
// ones; those of a person whose earlier message stayed in the store's
// queue while the claim was in flight are marked to go back.
func (p *pump) add(claim int, msgs []store.OutboundMessage, startBy, leaseBy time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.added = claim
	defer func() {
		for pid, c := range p.staysIn {
			if c <= claim {
				delete(p.staysIn, pid) // no answer of a claim that old is still to come
			}
		}
	}()
	for _, m := range msgs {
		key := p.queueOf(m)
		q := p.queues[key]
		if q == nil {
			q = &personQueue{}
			p.queues[key] = q
		}
		if len(q.msgs) == 0 && !q.working {
			p.ready = append(p.ready, key)
			p.cond.Signal()
		}
		c, stays := p.staysIn[m.ParticipantID]
		back := stays && claim <= c
		q.msgs = append(q.msgs, pumped{msg: m, startBy: startBy, leaseBy: leaseBy, back: back})
		p.held++
	}
}

// queueOf names the queue m joins: its person's, or with one worker the
// one queue.
func (p *pump) queueOf(m store.OutboundMessage) string {
	if p.d.opts.Concurrency == 1 {
		return ""
	}
	return m.ParticipantID
}

// close lets the workers end once every message is handled or handed
// back, and waits for them.
func (p *pump) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.workers.Wait()
}

// work handles ready people until the pump is closed and empty.
func (p *pump) work(ctx context.Context) {
	for {
		p.mu.Lock()
		for len(p.ready) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.ready) == 0 {
			p.mu.Unlock()
			return
		}
		key := p.ready[0]
		p.ready = p.ready[1:]
		q := p.queues[key]
		q.working = true
		p.mu.Unlock()
		p.handleQueue(ctx, key, q)
	}
}

// handleQueue handles a queue's messages in order, including any claimed
// while it does, until none is left. A message is not started once the
// context is done or its lease is too short to outlast a send: it is
// handed back at once, for this process or another to take. Once one of
// a person's is handed back or stays in the store's queue, their later
// ones go back to follow it (sendBack).
func (p *pump) handleQueue(ctx context.Context, key string, q *personQueue) {
	d := p.d
	for {
		p.mu.Lock()
		if len(q.msgs) == 0 {
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		next := q.msgs[0]
		q.msgs = q.msgs[1:]
		p.mu.Unlock()

		pid, now := next.msg.ParticipantID, d.clock.Now()
		if until, ok := d.stuckUntil(pid, now); ok {
			// An earlier message of theirs may still be held by us,
			// unrecorded: the claim hands us their later ones all the same
			// (store.Outbox), so they wait for that lease to end, when the
			// earlier one is claimable again ahead of them.
			later := next.msg
			later.NotBefore = until
			d.release(ctx, []store.OutboundMessage{later})
		} else if next.back || ctx.Err() != nil || now.After(next.startBy) {
			d.release(ctx, []store.OutboundMessage{next.msg})
			p.sendBack(q, pid)
		} else {
			left, err := d.handle(ctx, next.msg)
			if !left {
				p.sendBack(q, pid)
			}
			if err != nil {
				p.fail(err)
				d.stuck(pid, next.leaseBy)
			}
			p.mu.Lock()
			p.handled++
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.held--
		p.mu.Unlock()
		select {
		case p.freed <- struct{}{}:
		default:
		}
	}
}

// sendBack marks pid's messages still in q, and those a claim in flight
// may bring, to go back unsent: one of theirs before them has not left
// the store's queue, and they must follow it.
func (p *pump) sendBack(q *personQueue, pid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range q.msgs {
		if q.msgs[i].msg.ParticipantID == pid {
			q.msgs[i].back = true
		}
	}
	if p.added < p.claims {
		p.staysIn[pid] = p.claims
	}
}

// fail records an error of one message.
func (p *pump) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.onErr != nil {
		p.onErr(err)
		return
	}
	p.errs = append(p.errs, err)
}

// stuck notes that a message of pid's handling failed may stay claimed by
// this dispatcher, unrecorded, until its lease ends at until.
func (d *Dispatcher) stuck(pid string, until time.Time) {
	d.stuckMu.Lock()
	defer d.stuckMu.Unlock()
	if d.stuckPeople == nil {
		d.stuckPeople = map[string]time.Time{}
	}
	if until.After(d.stuckPeople[pid]) {
		d.stuckPeople[pid] = until
	}
}

// stuckUntil reports whether pid has a message that may still be claimed
// by this dispatcher after a failure, and until when; it forgets those
// whose lease has ended.
func (d *Dispatcher) stuckUntil(pid string, now time.Time) (time.Time, bool) {
	d.stuckMu.Lock()
	defer d.stuckMu.Unlock()
	for p, until := range d.stuckPeople {
		if !until.After(now) {
			delete(d.stuckPeople, p)
		}
	}
	until, ok := d.stuckPeople[pid]
	return until, ok
}
