// Package outbox sends the messages the conversation has stored, on every
// channel: it claims them with a lease so that many processes can share the
// work and none sends a message twice, keeps each sender within its rate
// budget, retries temporary failures with backoff, marks an address that can
// never be reached, stops messages to people who opted out, and guards
// against loops. Delivery statuses from providers come back through
// ApplyStatus.
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
)

// AddressOpener returns the address of a link from its sealed form (the
// web server wires seal.Box.Open). The address must not be logged.
type AddressOpener func(ctx context.Context, l store.Link) (string, error)

// Reasons a message fails without being sent; they become its ErrorCode.
const (
	ReasonNoSender       = "no_sender"      // no sender configured for the channel
	ReasonNoParticipant  = "no_participant" // the participant was deleted
	ReasonNoLink         = "no_link"        // the link is gone or now belongs to someone else
	ReasonOptedOut       = "opted_out"      // the person opted out
	ReasonUnreachable    = "unreachable"    // the link is marked unreachable
	ReasonLoopGuard      = "loop_guard"     // too many identical messages
	ReasonSealed         = "address_sealed" // the address could not be opened
	reasonUnknownFailure = "error"
)

// Options tune a Dispatcher. Zero values take the defaults shown.
type Options struct {
	// Owner names this process in leases; default a random ID.
	Owner string
	// Lease is how long a claimed message is ours; default 2m. It is kept
	// well above SendTimeout so that no lease runs out mid-send.
	Lease time.Duration
	// Batch is how many messages a claim takes while the queue is short;
	// default 10. A claim that comes back full means more are waiting,
	// and the next one takes twice as many, up to MaxBatch (default
	// Batch): every send waits on the store a few times, and only sends
	// side by side share those waits (a pipeline, a commit). Run holds
	// at most twice Concurrency claimed messages (Batch if more), so its
	// claims take no more than that.
	Batch, MaxBatch int
	// Concurrency is how many people's messages are sent side by side at
	// most; default 1. One person's messages always go one after
	// another, in order; others need not wait behind a slow provider
	// call.
	Concurrency int
	// Bell, rung by whatever queues messages, wakes the dispatcher
	// between polls (Wake rings it too); one of its own when nil.
	Bell *Bell
	// PollInterval is the pause between passes when there is no work;
	// default 500ms.
	PollInterval time.Duration
	// SendTimeout bounds one provider call; default 30s.
	SendTimeout time.Duration
	// MaxAttempts bounds sends of one message; default 6.
	MaxAttempts int
	// DoubtWait is how long after a send in doubt began (the process
	// sending it crashed, or the provider's answer never came) the message
	// waits for a status callback of the provider before it is sent again;
	// default 5m. Only for senders whose provider calls back
	// (StatusReporter); others send again at once (at least once).
	DoubtWait time.Duration
	// BackoffBase is the wait after the first temporary failure, doubled on
	// each later one up to BackoffMax; defaults 10s and 10m. The actual wait
	// is between half and all of that (jitter), so that processes that failed
	// together do not retry together.
	BackoffBase, BackoffMax time.Duration
	// OptOutKinds are message kinds (message IDs) sent even to a person who
	// opted out: the one confirmation of opting out. Default none.
	OptOutKinds []string
	// LoopLimit identical messages to one person within LoopWindow are sent;
	// later ones fail. Defaults 5 and 10m.
	LoopLimit  int
	LoopWindow time.Duration
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
	// Observer is told what becomes of each message (metrics); may be nil.
	Observer Observer
	// Segments counts the SMS segments a text takes (sms.Segments),
	// kept on the message for the programme report's cost; nil counts
	// none.
	Segments func(text string) int
	// Ledger is told when a window's prompt is reported failed, so that a
	// window already decided "missed" is judged again (internal/schedule);
	// nil tells no one.
	Ledger Ledger
}

// Store is what the dispatcher reads and writes: the outbox (whose
// BeginSend also counts for the loop guard), the links it sends to and
// marks unreachable, rate budgets, and the attention items and audit
// entries a delivery closes or a failure opens.
type Store interface {
	store.Outbox
	store.LinkMarks
	store.RateLimits
	store.Attention
	store.Audit
	GetLink(ctx context.Context, index string) (store.Link, error)
}

// Ledger keeps the record of check-in windows.
type Ledger interface {
	// PromptFailed judges window ref of the person again, now that one
	// of its prompts failed.
	PromptFailed(ctx context.Context, participantID, ref string) error
}

func (o Options) withDefaults() Options {
	if o.Owner == "" {
		o.Owner = store.NewID("outbox_")
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Lease < 3*o.SendTimeout {
		o.Lease = 3 * o.SendTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	o.MaxBatch = max(o.MaxBatch, o.Batch)
	if o.Bell == nil {
		o.Bell = NewBell()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.DoubtWait <= 0 {
		o.DoubtWait = 5 * time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 10 * time.Second
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = max(10*time.Minute, o.BackoffBase)
	}
	if o.LoopLimit <= 0 {
		o.LoopLimit = 5
	}
	if o.LoopWindow <= 0 {
		o.LoopWindow = 10 * time.Minute
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	return o
}

// Dispatcher sends stored messages. One runs in every process; they share
// the work through the store.
type Dispatcher struct {
	store   Store
	senders map[store.Channel]Sender
	open    AddressOpener
	clock   clock.Clock
	log     *slog.Logger
	opts    Options
	// optOut is the set of OptOutKinds, swapped whole when the flows are
	// reloaded (SetOptOutKinds) while sends read it.
	optOut atomic.Pointer[map[string]bool]
	// batch is how many messages the next claim takes, between
	// Options.Batch and Options.MaxBatch (nextBatch).
	batch atomic.Int64
	// stuckPeople holds the people one of whose messages may still be
	// claimed by this dispatcher after its handling failed, until that
	// claim's lease ends (stuck).
	stuckMu     sync.Mutex
	stuckPeople map[string]time.Time
}

// New returns a Dispatcher sending through senders, one per channel.
func New(st Store, senders map[store.Channel]Sender, opener AddressOpener, clk clock.Clock, logger *slog.Logger, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		store: st, senders: senders, open: opener, clock: clk,
		log:  logger.With("component", "outbox"),
		opts: opts,
	}
	d.SetOptOutKinds(opts.OptOutKinds)
	d.batch.Store(int64(opts.Batch))
	return d
}

// SetOptOutKinds replaces the message kinds sent even to a person who has
// opted out (Options.OptOutKinds): after a reload of the flows, their
// confirmations may have new message IDs.
func (d *Dispatcher) SetOptOutKinds(kinds []string) {
	set := make(map[string]bool, len(kinds))
	for _, k := range kinds {
		set[k] = true
	}
	d.optOut.Store(&set)
}

// Owner is the name this dispatcher claims messages under.
func (d *Dispatcher) Owner() string { return d.opts.Owner }

// Wake asks a running dispatcher to look for work now rather than at its
// next poll; call it after enqueueing. It never blocks.
func (d *Dispatcher) Wake() { d.opts.Bell.Ring() }

// Run dispatches until ctx is done. It keeps up to Options.Concurrency
// people's messages going at once and claims more as sends end, never
// waiting for a whole claim to be sent first: a send that takes long holds
// up only the person it is for. A send in progress is finished and
// recorded (its outcome would otherwise be unknown); messages claimed but
// not yet started are handed back at once.
func (d *Dispatcher) Run(ctx context.Context) {
	p := d.startPump(ctx, func(err error) {
		if ctx.Err() == nil {
			d.log.Warn("outbox: a send had errors", "error", err)
		}
	})
	defer p.close()
	poll := time.NewTimer(d.opts.PollInterval)
	defer poll.Stop()
	var took time.Duration  // the last claim's
	var rung bool           // the wait before this claim ended with a ring
	var again time.Duration // how soon to look again after a ring found nothing
	for {
		wait := d.opts.PollInterval
		if room, worth := p.room(); worth {
			began := time.Now()
			n, full, err := p.claim(ctx, room)
			took = time.Since(began)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil:
				d.log.Warn("outbox: claim failed", "error", err)
			case full:
				// More are waiting: claim again as soon as there is room.
				again = 0
				continue
			case n > 0:
				again = 0
			case rung || again > 0:
				if again = lookAgain(again); again < wait {
					wait = again
				} else {
					again = 0 // back to the poll
				}
			}
		}
		rung = false
		poll.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.opts.Bell.rung:
			rung = true
		case <-p.freed:
			// Room for more, and a message sent may have woken the
			// person's next one, parked behind it by this process or
			// another (store.Outbox).
		case <-poll.C:
		}
		// Messages queued and sends ending close together share one claim
		// rather than each making its own, and claims take at most about
		// half of the time: a claim is a write (on bolt, one the sends'
		// writes wait behind), so while the store is slow they come
		// further apart and larger.
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(claimPause, took)):
		}
	}
}

// lookAgain is how long to wait before looking again after a ring whose
// claim found nothing, given the wait after the previous such ring (zero
// when there was none). Something was queued, but not yet claimably: on
// Redis a claim that meets a message whose enqueue is still in flight puts
// it off for a moment (a tenth of a second), and another process may have
// taken it. Looking again after 50, 100, 200 ms and so on, while each
// look finds nothing, until the wait reaches the poll's, costs a few
// claims; waiting for the poll instead would hold the reply for up to
// PollInterval unless someone else's message rang the bell.
func lookAgain(prev time.Duration) time.Duration {
	if prev == 0 {
		return 50 * time.Millisecond
	}
	return 2 * prev
}

// claimPause is the least time between claims that come back short: at
// thousands of replies a second, rings and ends of sends come every
// fraction of a millisecond, and a claim costs the store a few round
// trips whatever it holds, so they are gathered into one claim a pause
// apart. It adds at most the pause (or, while claims are slow, a claim's
// time) to a reply's wait.
const claimPause = 5 * time.Millisecond

// DispatchOnce claims the messages that are due and handles each: sends
// it, defers it for the rate budget or a retry, or fails it. It returns how
// many it handled; errors are store errors (the message concerned is
// retried once its lease ends).
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	p := d.startPump(ctx, nil)
	_, _, err := p.claim(ctx, int(d.batch.Load()))
	p.close()
	if err != nil {
		return 0, fmt.Errorf("outbox: claim: %w", err)
	}
	return p.handled, errors.Join(p.errs...)
}

// nextBatch is the size of the claim after one of want, asked when the
// batch was batch, that found n messages: twice the batch when it was
// full, as the queue holds more, and back to Options.Batch when it was
// not, as the queue is short again.
func (d *Dispatcher) nextBatch(batch, n, want int) int {
	if n < want {
		return d.opts.Batch
	}
	return min(2*batch, d.opts.MaxBatch)
}

// release hands claimed, unstarted messages back to the queue at once
// rather than when their lease ends.
func (d *Dispatcher) release(ctx context.Context, msgs []store.OutboundMessage) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := d.store.UpdateOutbound(ctx, m); err != nil {
			d.log.Warn("outbox: could not hand a message back; it returns when its lease ends",
				"message_id", m.ID, "participant_id", m.ParticipantID, "error", err)
		}
	}
}

// handle sends m, defers it or fails it, and reports whether it has left
// the queue (sent or failed for good): while it has not, the person's
// later messages must not go.
func (d *Dispatcher) handle(ctx context.Context, m store.OutboundMessage) (bool, error) {
	log := d.log.With("message_id", m.ID, "participant_id", m.ParticipantID)
	sender, ok := d.senders[m.Channel]
	if !ok {
		log.Error("outbox: no sender for the channel", "channel", string(m.Channel))
		return gone(d.fail(ctx, m, ReasonNoSender))
	}
	if !m.SendBegan.IsZero() {
		wait, err := d.inDoubt(ctx, sender, &m, log)
		if err != nil || wait {
			return false, err
		}
	}
	// One step: the person, the link, the note that this pass looks at
	// this attempt of m (see passKey) and, on the first look at m, its
	// count for the loop guard (once per message).
	now := d.clock.Now()
	var count store.SendCount
	if m.Attempts == 0 {
		count = d.loopCount(m, now)
	}
	check, err := d.store.BeginSend(ctx, m.ParticipantID, m.LinkIndex, passKey(m), now.Add(24*time.Hour), count)
	if err != nil {
		return false, fmt.Errorf("outbox: checks before sending %s: %w", m.ID, err)
	}
	if reason := d.undeliverable(m, check); reason != "" {
		return gone(d.fail(ctx, m, reason))
	}
	link := *check.Link
	if r, ok := sender.(Router); ok {
		routed, err := r.Route(m, link, now)
		if perm, ok := errors.AsType[*PermanentError](err); ok {
			return gone(d.fail(ctx, m, perm.Code))
		}
		if err != nil {
			return false, fmt.Errorf("outbox: route %s: %w", m.ID, err)
		}
		m = routed
	}

	// An earlier pass over this attempt (one that deferred it for the rate
	// budget) has counted it and holds its reservation.
	held := !check.FirstSeen
	if !held {
		// First look at this attempt of the message: BeginSend counted it
		// for the loop guard if it is the first attempt; reserve its rate
		// budget.
		if check.Count > d.opts.LoopLimit {
			log.Warn("outbox: loop guard: too many identical messages to one person; not sent",
				"limit", d.opts.LoopLimit, "window", d.opts.LoopWindow.String())
			return gone(d.fail(ctx, m, ReasonLoopGuard))
		}
		at, err := d.reserve(ctx, sender, m, now)
		if err != nil {
			return false, err
		}
		// Against the clock as the answer came: sends side by side reserve
		// with moments taken a little apart, and a budget that gave this one
		// a moment already past would otherwise defer it for nothing, and
		// the person's later messages behind it.
		if at.After(d.clock.Now()) {
			// The reservation stands; the message goes when it falls due, and
			// its pass key keeps it from reserving a second time.
			m.NotBefore, m.UpdatedAt = at, now
			if err := d.store.UpdateOutbound(ctx, m); err != nil {
				return false, fmt.Errorf("outbox: defer %s: %w", m.ID, err)
			}
			log.Debug("outbox: waiting for the rate budget", "wait", at.Sub(now).String())
			return false, nil
		}
	}

	address, err := d.open(ctx, link)
	if err != nil {
		log.Error("outbox: cannot open the link's address", "error", err)
		return gone(d.fail(ctx, m, ReasonSealed))
	}
	if m.Channel == store.SMS && d.opts.Segments != nil {
		m.Segments = d.opts.Segments(m.Text)
	}
	// The attempt counts from the moment it is marked: should this process
	// die before the answer is recorded, whoever finds the message next
	// knows it may have gone (inDoubt).
	began := d.clock.Now()
	m.Attempts++
	m.SendBegan = began
	if err := d.store.MarkSending(ctx, m); errors.Is(err, store.ErrConflict) {
		log.Info("outbox: the provider reported on an earlier send meanwhile; not sent again")
		d.opts.Observer.InDoubt(m.Channel, false)
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("outbox: mark sending of %s: %w", m.ID, err)
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SendTimeout)
	providerID, sendErr := sender.Send(sendCtx, address, m)
	cancel()
	// From here on the outcome must be recorded even if we are shutting down.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now = d.clock.Now()
	m.UpdatedAt = now
	took := now.Sub(began)
	var te *TemporaryError
	if errors.As(sendErr, &te) && te.MaybeSent {
		// No answer: the provider may have the message. It keeps its mark
		// and comes back when the wait for a status callback is over.
		return false, d.unanswered(ctx, m, te, log)
	}
	m.SendBegan = time.Time{} // the provider answered

	if sendErr == nil {
		d.opts.Observer.Sent(m.Channel, took)
		return gone(d.sent(ctx, m, providerID, log))
	}
	if perm, ok := errors.AsType[*PermanentError](sendErr); ok {
		log.Warn("outbox: provider refused the message for good", "code", perm.Code, "unreachable", perm.Unreachable, "attempt", m.Attempts)
		m.Status, m.ErrorCode = store.Failed, perm.Code
		d.opts.Observer.Failed(m.Channel, ReasonRefused)
		if err := d.reroute(ctx, sender, m, perm.Code, now); err != nil {
			return false, err
		}
		if err := d.store.UpdateOutbound(ctx, m); err != nil {
			return false, fmt.Errorf("outbox: record failure of %s: %w", m.ID, err)
		}
		if perm.Unreachable && ownChannel(m) {
			return true, d.markUnreachable(ctx, m.ParticipantID, m.LinkIndex, perm.Code, now)
		}
		return true, nil
	}

	code := reasonUnknownFailure
	var wait time.Duration
	var ra *RetryAfterError
	switch {
	case errors.As(sendErr, &ra):
		code, wait = ra.Code, ra.After
	case errors.As(sendErr, &te):
		code = te.Code
	}
	m.ErrorCode = code
	if m.Attempts >= d.opts.MaxAttempts {
		log.Warn("outbox: giving up after temporary failures", "code", code, "attempts", m.Attempts)
		m.Status = store.Failed
		d.opts.Observer.Failed(m.Channel, ReasonGaveUp)
		if err := d.store.UpdateOutbound(ctx, m); err != nil {
			return false, fmt.Errorf("outbox: record failure of %s: %w", m.ID, err)
		}
		return true, nil
	}
	wait = max(wait, d.backoff(m.Attempts))
	m.NotBefore = now.Add(wait)
	d.opts.Observer.Retrying(m.Channel, took)
	log.Info("outbox: temporary failure, will retry", "code", code, "attempt", m.Attempts, "wait", wait.String(), "error", sendErr)
	if err := d.store.UpdateOutbound(ctx, m); err != nil {
		return false, fmt.Errorf("outbox: schedule retry of %s: %w", m.ID, err)
	}
	return false, nil
}

// inDoubt handles m, claimed with the mark of a send that began and whose
// answer was never recorded: the process sending it died, or the provider
// did not answer. Where the provider reports each message's status to a
// callback that carries our ID, m waits for it until DoubtWait after the
// send began; a status that comes moves it out of the queue (ApplyStatus)
// and it is never sent again. Once the wait is over, or where no callback
// will ever come (Telegram), m is sent again, and the log says so. It
// reports whether m is waiting (and so not to be sent now).
func (d *Dispatcher) inDoubt(ctx context.Context, s Sender, m *store.OutboundMessage, log *slog.Logger) (bool, error) {
	now := d.clock.Now()
	until := m.SendBegan.Add(d.opts.DoubtWait)
	if r, ok := s.(StatusReporter); ok && r.ReportsStatus() && now.Before(until) {
		began := m.SendBegan
		_, changed, err := d.store.ChangeOutbound(ctx, m.ID, func(c *store.OutboundMessage) bool {
			// Only while it is still the same send in doubt: a status may
			// have come since the claim.
			if c.Status != store.Pending || !c.SendBegan.Equal(began) {
				return false
			}
			c.NotBefore, c.UpdatedAt = until, now
			return true
		})
		if err != nil {
			return true, fmt.Errorf("outbox: wait for the status of %s: %w", m.ID, err)
		}
		if changed {
			log.Info("outbox: send in doubt: waiting for the provider's status before sending again",
				"attempt", m.Attempts, "until", until.UTC().Format(time.RFC3339))
		}
		return true, nil
	}
	log.Warn("outbox: retry in doubt: no answer from the provider to the last send; sending again, so it may arrive twice",
		"attempt", m.Attempts, "began", m.SendBegan.UTC().Format(time.RFC3339))
	d.opts.Observer.InDoubt(m.Channel, true)
	// Settled: whatever becomes of m now (deferred for the rate budget,
	// sent, failed) is recorded without the old mark, so it is judged once.
	m.SendBegan = time.Time{}
	if m.Attempts >= d.opts.MaxAttempts {
		log.Warn("outbox: giving up after sends without an answer", "attempts", m.Attempts)
		return true, d.fail(ctx, *m, ReasonGaveUp)
	}
	return false, nil
}

// unanswered records a send that got no answer (a timeout, a connection
// lost after the request went): the provider may have taken the message,
// so it keeps its mark and is claimable again only once a status callback
// has had its time (inDoubt decides then), or after its backoff where
// that is longer.
func (d *Dispatcher) unanswered(ctx context.Context, m store.OutboundMessage, te *TemporaryError, log *slog.Logger) error {
	m.ErrorCode = te.Code
	m.NotBefore = m.UpdatedAt.Add(d.backoff(m.Attempts))
	if r, ok := d.senders[m.Channel].(StatusReporter); ok && r.ReportsStatus() {
		m.NotBefore = later(m.NotBefore, m.SendBegan.Add(d.opts.DoubtWait))
	}
	d.opts.Observer.Retrying(m.Channel, m.UpdatedAt.Sub(m.SendBegan))
	log.Info("outbox: no answer from the provider; the message may have gone", "code", te.Code, "attempt", m.Attempts,
		"next", m.NotBefore.UTC().Format(time.RFC3339))
	if err := d.store.UpdateOutbound(ctx, m); err != nil {
		return fmt.Errorf("outbox: record unanswered send of %s: %w", m.ID, err)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reroute queues a copy of m, refused by its provider with code, to go
// once more by another route where the sender has one (WhatsApp's 63016:
// outside the 24-hour window, so as its template or by SMS). The copy's
// ID is m's with the route, so a refusal reported twice, or to two
// processes at once, queues it once. m itself keeps its failure: the
// copy's fate is the window's.
func (d *Dispatcher) reroute(ctx context.Context, s Sender, m store.OutboundMessage, code string, now time.Time) error {
	r, ok := s.(Router)
	if !ok {
		return nil
	}
	next, ok := r.Reroute(m, code)
	if !ok {
		return nil
	}
	next.ID = m.ID + "." + string(next.Route)
	next.Status, next.Attempts, next.ProviderID = store.Pending, 0, ""
	next.NotBefore, next.CreatedAt, next.UpdatedAt = now, now, now
	err := d.store.EnqueueOutbound(ctx, next)
	if errors.Is(err, store.ErrConflict) {
		return nil // queued already, for an earlier report of the refusal
	}
	if err != nil {
		return fmt.Errorf("outbox: reroute %s: %w", m.ID, err)
	}
	d.log.Info("outbox: refused on its route; queued once by another", "message_id", m.ID, "participant_id", m.ParticipantID,
		"code", code, "route", string(next.Route))
	d.Wake()
	return nil
}

// sent records a provider's acceptance. A status callback may have come in
// between the send and now (Twilio calls back fast); MarkSent keeps its
// status, in one step with the write.
// gone is the answer of handle for a message whose end was recorded if
// err is nil.
func gone(err error) (bool, error) { return err == nil, err }

func (d *Dispatcher) sent(ctx context.Context, m store.OutboundMessage, providerID string, log *slog.Logger) error {
	m.ProviderID = providerID
	var err error
	for try := 1; ; try++ {
		if err = d.store.MarkSent(ctx, m); err == nil {
			log.Info("outbox: sent", "kind", m.Kind, "attempt", m.Attempts)
			return nil
		}
		if try == markSentTries || !pause(ctx, markSentPause<<(try-1)) {
			break
		}
	}
	log.Error("outbox: sent but not recorded; it may be sent again when its lease ends", "error", err)
	return fmt.Errorf("outbox: record sending of %s: %w", m.ID, err)
}

// The message is out, so losing the record of it would send it again: a
// store that stumbled (a failover, a dropped connection) is given a moment
// to come back between tries, a quarter, a half and a whole second, well
// within the ten seconds an outcome has to be recorded in.
const (
	markSentTries = 4
	markSentPause = 250 * time.Millisecond
)

// pause waits for d, and reports false if ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fail ends a message that will not be sent.
func (d *Dispatcher) fail(ctx context.Context, m store.OutboundMessage, reason string) error {
	m.Status, m.ErrorCode, m.UpdatedAt = store.Failed, reason, d.clock.Now()
	if err := d.store.UpdateOutbound(ctx, m); err != nil {
		return fmt.Errorf("outbox: fail %s: %w", m.ID, err)
	}
	d.opts.Observer.Failed(m.Channel, reason)
	d.log.Info("outbox: not sent", "message_id", m.ID, "participant_id", m.ParticipantID, "reason", reason)
	return nil
}

// undeliverable says why m cannot go to the person and the link that
// BeginSend found, or "" when it can.
func (d *Dispatcher) undeliverable(m store.OutboundMessage, c store.SendCheck) string {
	switch {
	case c.Participant == nil:
		return ReasonNoParticipant
	case c.Participant.OptedOut && !(*d.optOut.Load())[m.Kind]:
		return ReasonOptedOut
	case c.Link == nil || c.Link.ParticipantID != m.ParticipantID || c.Link.Channel != m.Channel:
		return ReasonNoLink
	case c.Link.Unreachable:
		return ReasonUnreachable
	}
	return ""
}

// ownChannel reports whether m went on its link's own channel. A
// WhatsApp message sent by SMS instead (the person agreed) that is refused
// as unreachable (say the number sent STOP by SMS) says nothing about the
// WhatsApp link, which stays as it was.
func ownChannel(m store.OutboundMessage) bool {
	return m.Route != store.RouteSMS || m.Channel == store.SMS
}

// passKey is the dedupe key of one attempt of m. BeginSend records it on
// the first pass over the attempt, before the loop guard counts the
// message and its rate budget is reserved; a later pass over the same
// attempt (one deferred for the budget) finds it recorded and neither
// counts nor reserves again. It needs nothing of the message record.
func passKey(m store.OutboundMessage) string {
	return "outbox:pass:" + m.ID + ":" + strconv.Itoa(m.Attempts)
}

// reserve takes m's share of every budget it draws on and returns when all
// of them allow it to go.
func (d *Dispatcher) reserve(ctx context.Context, s Sender, m store.OutboundMessage, now time.Time) (time.Time, error) {
	th, ok := s.(Throttler)
	if !ok {
		return now, nil
	}
	at := now
	for _, t := range th.Throttles(m) {
		if t.Units <= 0 || t.PerSecond <= 0 {
			continue
		}
		when, err := d.store.ReserveRate(ctx, "rate:"+t.Key, t.Units, t.PerSecond, now)
		if err != nil {
			return time.Time{}, fmt.Errorf("outbox: rate budget for %s: %w", m.ID, err)
		}
		if when.After(at) {
			at = when
		}
	}
	return at, nil
}

// loopCount is the counter of messages identical to m sent to the same
// person, which the loop guard holds to LoopLimit in LoopWindow. The key
// holds a hash of the text, never the text.
func (d *Dispatcher) loopCount(m store.OutboundMessage, now time.Time) store.SendCount {
	h := sha256.Sum256([]byte(m.Text))
	return store.SendCount{Key: "outbox:loop:" + m.ParticipantID + ":" + hex.EncodeToString(h[:12]), ExpiresAt: now.Add(d.opts.LoopWindow)}
}

// backoff is the wait after the attempt-th temporary failure: exponential,
// capped, with jitter between half and all of it.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	w := d.opts.BackoffBase
	for i := 1; i < attempt && w < d.opts.BackoffMax; i++ {
		w *= 2
	}
	w = min(w, d.opts.BackoffMax)
	return w/2 + time.Duration(d.opts.Jitter()*float64(w/2))
}

// markUnreachable records that a link cannot be reached: the link is
// marked, the caseworker gets a "can't reach" item and the audit log an
// entry, all in one store step (store.MarkUnreachable), so that no
// failure can leave the link marked without its item, after which no
// later refusal would raise one. A link gone, another person's or marked
// already changes nothing.
func (d *Dispatcher) markUnreachable(ctx context.Context, participantID, linkIndex, code string, now time.Time) error {
	link, err := d.store.GetLink(ctx, linkIndex)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox: mark link unreachable: %w", err)
	}
	if link.Unreachable || link.ParticipantID != participantID {
		return nil // marked already; or the address is someone else's now
	}
	marked, err := d.store.MarkUnreachable(ctx, store.CantReach(link, code, "system", now))
	if err != nil {
		return fmt.Errorf("outbox: mark link unreachable: %w", err)
	}
	if marked {
		d.log.Warn("outbox: link marked unreachable", "participant_id", participantID, "channel", string(link.Channel), "code", code)
	}
	return nil
}

// ApplyStatus records a delivery status a provider reported for message id
// (our ID, from the callback URL) under the provider's own ID, which is
// kept when the message has none yet: a send whose answer was lost learns
// it here, and leaves the queue, not to be sent again. Statuses only move
// forward: a late or
// repeated one changes nothing and is not an error. A final status drops
// the text (the store does). An error code that the channel's sender
// classes as unreachable marks the link, as a synchronous refusal would.
// ErrNotFound (wrapped) when there is no such message.
func (d *Dispatcher) ApplyStatus(ctx context.Context, id, providerID string, st store.MessageStatus, errorCode string) error {
	if rank(st) < 0 {
		return fmt.Errorf("outbox: status %q of %s: unknown status", st, id)
	}
	// One step in the store: the status is compared with the one stored at
	// the moment it is written, so two callbacks at once ("delivered", and
	// a late "sent") cannot leave the earlier status, or bring back the
	// text a final status dropped.
	now := d.clock.Now()
	var have store.MessageStatus
	// withWords is the message as changed, before the store drops its
	// words at a final status: a refused message's copy by another route
	// (reroute) needs its text or its template.
	var withWords store.OutboundMessage
	// early: the status came for a send whose answer is not recorded: one
	// in flight (Twilio calls back fast) or one in doubt. Either way the
	// message is with the provider, and leaves the queue.
	var early bool
	var began time.Time
	m, changed, err := d.store.ChangeOutbound(ctx, id, func(m *store.OutboundMessage) bool {
		have = m.Status
		if !Advances(m.Status, st) {
			return false
		}
		early, began = m.Status == store.Pending && !m.SendBegan.IsZero(), m.SendBegan
		m.Status, m.UpdatedAt, m.SendBegan = st, now, time.Time{}
		if m.ProviderID == "" {
			m.ProviderID = providerID
		}
		if errorCode != "" {
			m.ErrorCode = errorCode
		}
		withWords = *m
		return true
	})
	if err != nil {
		return fmt.Errorf("outbox: status of %s: %w", id, err)
	}
	log := d.log.With("message_id", m.ID, "participant_id", m.ParticipantID)
	if !changed {
		log.Debug("outbox: status ignored, not newer", "have", string(have), "got", string(st))
		return nil
	}
	d.opts.Observer.Status(m.Channel, st)
	log.Info("outbox: status", "status", string(st), "code", errorCode)
	if early {
		log.Info("outbox: the provider's status came before its answer to the send was recorded; not sent again", "attempt", m.Attempts)
		// A send outlived by its timeout is no longer in flight: the
		// status answers a send in doubt.
		if now.Sub(began) > d.opts.SendTimeout {
			d.opts.Observer.InDoubt(m.Channel, false)
		}
	}
	if errorCode != "" && (st == store.Failed || st == store.Undelivered) {
		if err := d.reroute(ctx, d.senders[m.Channel], withWords, errorCode, now); err != nil {
			return err
		}
		if cc, ok := d.senders[m.Channel].(CodeClassifier); ok && cc.UnreachableCode(errorCode) && ownChannel(m) {
			if err := d.markUnreachable(ctx, m.ParticipantID, m.LinkIndex, errorCode, now); err != nil {
				return err
			}
		}
	}
	if (st == store.Failed || st == store.Undelivered) && m.Ref != "" && d.opts.Ledger != nil {
		if err := d.opts.Ledger.PromptFailed(ctx, m.ParticipantID, m.Ref); err != nil {
			return fmt.Errorf("outbox: judge the window of %s again: %w", id, err)
		}
	}
	if st == store.Delivered || st == store.Read {
		return d.reached(ctx, m.ParticipantID, now)
	}
	return nil
}

// reached closes the person's open "can't reach" items once a message is
// confirmed delivered to them: the fact behind the item changed, and the
// caseworker sees it under "recently dealt with" instead of chasing it.
func (d *Dispatcher) reached(ctx context.Context, participantID string, now time.Time) error {
	items, err := d.store.AttentionOf(ctx, participantID)
	if err != nil {
		return fmt.Errorf("outbox: attention of %s: %w", participantID, err)
	}
	for _, it := range items {
		if it.Kind != store.AttentionCantReach || !it.Open() {
			continue
		}
		err := d.store.ResolveAttention(ctx, it.ID, store.ResolvedBySystem, store.ResolvedDelivered, now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("outbox: close can't-reach item: %w", err)
		}
		if err := d.store.AppendAudit(ctx, store.AuditEntry{
			ID: store.NewID("au_"), At: now, Actor: "system", Action: "attention_delivered",
			ParticipantID: participantID, Detail: it.ID + " " + string(it.Kind),
		}); err != nil {
			return fmt.Errorf("outbox: audit reached: %w", err)
		}
	}
	return nil
}
