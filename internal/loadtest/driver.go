package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Driver sends webhooks for simulated participants and, when Replies is
// set, expects one reply per message at the fake providers.
type Driver struct {
	Target  Target
	Replies *Replies // nil: replies are not expected (the ceiling server)
	Client  *http.Client

	runID   uint32 // makes MessageSids and update IDs unique to this run
	seq     atomic.Int64
	ok      atomic.Int64 // webhooks answered 200, for progress reports
	updBase int64
}

// NewDriver returns a Driver with an HTTP client that keeps up to conns
// connections open to the target.
func NewDriver(t Target, replies *Replies, conns int) *Driver {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base, _ := rand.Int(rand.Reader, big.NewInt(1<<40))
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Driver{
		Target: t, Replies: replies,
		Client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		runID:  binary.BigEndian.Uint32(b[:]), updBase: 1<<40 + base.Int64(),
	}
}

// nextIDs returns a fresh MessageSid and Telegram update ID.
func (d *Driver) nextIDs() (string, int64) {
	n := d.seq.Add(1)
	return fmt.Sprintf("SM%08x%024x", d.runID, n), d.updBase + n
}

// Answered counts the webhooks answered 200 so far, in every phase.
func (d *Driver) Answered() int64 { return d.ok.Load() }

// outcome is what became of one webhook.
type outcome struct {
	status int  // 0 when the request failed before an answer
	direct bool // the answer carried a reply itself: the sender is unknown to the server
	err    error
}

// send posts one message from p, expecting replies replies, and returns
// when the webhook has been answered. start is when the message counts
// as sent (for a paced run, when it was due).
func (d *Driver) send(ctx context.Context, p Person, text string, start time.Time, replies int) outcome {
	sid, upd := d.nextIDs()
	return d.sendAs(ctx, p, text, sid, upd, start, replies)
}

func (d *Driver) sendAs(ctx context.Context, p Person, text, sid string, upd int64, start time.Time, replies int) outcome {
	if d.Replies != nil && replies > 0 {
		d.Replies.Expect(p.key(), start, replies)
	}
	req := d.Target.request(p, text, sid, upd).WithContext(ctx)
	resp, err := d.Client.Do(req)
	if err != nil {
		if d.Replies != nil && replies > 0 {
			d.Replies.Forget(p.key(), start, replies)
		}
		return outcome{err: err}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	o := outcome{status: resp.StatusCode, direct: directReply(body)}
	if resp.StatusCode == http.StatusOK {
		d.ok.Add(1)
	}
	if (resp.StatusCode != http.StatusOK || o.direct) && d.Replies != nil && replies > 0 {
		d.Replies.Forget(p.key(), start, replies)
	}
	return o
}

// directReply reports whether a webhook's answer carries a reply itself
// (TwiML with a <Message>, or a Bot API call for Telegram): what Waymark
// does for a sender it does not know, such as a refused enrolment code.
// Replies to people it knows go through the outbox instead.
func directReply(body []byte) bool {
	return bytes.Contains(body, []byte("<Message>")) || bytes.Contains(body, []byte(`"method"`))
}

// Errors counts failed webhooks by what went wrong ("503", "transport").
type Errors struct {
	mu sync.Mutex
	m  map[string]int
}

func (e *Errors) add(o outcome) {
	key := fmt.Sprint(o.status)
	if o.status == 0 {
		key = "transport"
		if errors.Is(o.err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(o.err), "Timeout") {
			key = "timeout"
		}
	}
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	e.m[key]++
	e.mu.Unlock()
}

func (e *Errors) addKind(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	e.m[kind]++
	e.mu.Unlock()
}

// Total is the number of failed webhooks.
func (e *Errors) Total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, v := range e.m {
		n += v
	}
	return n
}

func (e *Errors) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range e.m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Enrolment is what enrolling a person takes: JOIN and the code (on
// Telegram the /start deep link), agreeing to the privacy notice, and
// choosing English. The shipped flows answer with five (the welcome, the
// three messages of the privacy notice and the consent question), one and
// one messages.
var Enrolment = []struct {
	Text    string
	Replies int
}{{"JOIN %s", 5}, {"1", 1}, {"1", 1}}

// LinkResult is how enrolling went.
type LinkResult struct {
	Linked   []Person // those whose three messages were all answered 200
	Errors   Errors
	Took     time.Duration
	Open     int // replies still missing after the drain
	Answered Latencies
}

// Link enrols every person through the server's webhooks, conns at once,
// and waits up to drain for the replies.
func (d *Driver) Link(ctx context.Context, people []Person, conns int, drain time.Duration) *LinkResult {
	res := &LinkResult{}
	began := time.Now()
	next := make(chan Person)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(conns, 1) {
		wg.Go(func() {
			for p := range next {
				ok := true
				for _, step := range Enrolment {
					text := step.Text
					if strings.Contains(text, "%s") {
						text = fmt.Sprintf(text, p.Code)
						if p.Channel == store.Telegram {
							text = "/start " + p.Code
						}
					}
					start := time.Now()
					o := d.send(ctx, p, text, start, step.Replies)
					if o.status != http.StatusOK {
						res.Errors.add(o)
						ok = false
						break
					}
					if o.direct {
						// Answered as a stranger: the code was refused (a
						// store other than the server's, or used already).
						res.Errors.addKind("code refused")
						ok = false
						break
					}
					res.Answered.Add(time.Since(start))
				}
				if ok {
					mu.Lock()
					res.Linked = append(res.Linked, p)
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range people {
		if ctx.Err() != nil {
			break
		}
		next <- p
	}
	close(next)
	wg.Wait()
	if d.Replies != nil {
		res.Open = d.Replies.Wait(ctx, drain)
	}
	res.Took = time.Since(began)
	return res
}

// Cycle is what a linked person sends over and over in a run: MENU (the
// menu comes back) and 1 (a check-in is recorded and thanked for). Each
// message has exactly one reply, and the two replies differ, so that the
// outbox's loop guard (five identical messages to one person in ten
// minutes) allows ten messages per person per ten minutes.
var Cycle = []string{"MENU", "1"}

// MaxPerPerson is how many messages of the cycle one person sends in a
// run: past it the outbox's loop guard would hold replies back.
const MaxPerPerson = 10

// RunOptions shape a run.
type RunOptions struct {
	// Rate is messages a second; 0 sends as fast as Conns connections can.
	Rate     float64
	Duration time.Duration
	Conns    int
	// Drain is how long to wait for replies after the last message.
	Drain time.Duration
}

// Result is what a run measured.
type Result struct {
	Sent, OK  int
	CheckIns  int // "1"s answered 200: check-ins the store must now hold
	Errors    Errors
	Elapsed   time.Duration // first message to last answer
	Answered  Latencies     // webhook sent (or due) to answer
	StartLag  Latencies     // paced runs: how late messages left
	Exhausted int           // messages not sent: every person had sent MaxPerPerson
	// Replies after the drain: still missing, and received but matching
	// no message.
	Open, Unexpected int
}

// Throughput is webhooks answered 200 a second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// person is one participant's place in the cycle during a run.
type person struct {
	Person
	step, sent int
}

// Run sends the cycle from people for opts.Duration, paced or flat out,
// and measures the answers and, with Replies, the replies.
func (d *Driver) Run(ctx context.Context, people []Person, opts RunOptions) (*Result, error) {
	if len(people) == 0 {
		return nil, errors.New("loadtest: no people to send from")
	}
	if opts.Conns <= 0 {
		opts.Conns = 64
	}
	if opts.Rate > 0 && opts.Rate*opts.Duration.Seconds() > float64(MaxPerPerson*len(people)) {
		return nil, fmt.Errorf("loadtest: %.0f messages from %d people is more than %d each, which the outbox's loop guard would hold back; seed at least %d people",
			opts.Rate*opts.Duration.Seconds(), len(people), MaxPerPerson, int(opts.Rate*opts.Duration.Seconds())/MaxPerPerson+1)
	}
	if d.Replies != nil {
		d.Replies.Reset()
	}
	idle := make(chan *person, len(people))
	for _, p := range people {
		idle <- &person{Person: p}
	}
	res := &Result{}
	var mu sync.Mutex
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()

	// Each token is one message to send, stamped with when it was due.
	tokens := make(chan time.Time, opts.Conns)
	began := time.Now()
	go func() {
		defer close(tokens)
		for i := 0; ; i++ {
			due := time.Now()
			if opts.Rate > 0 {
				due = began.Add(time.Duration(float64(i) / opts.Rate * float64(time.Second)))
				if due.Sub(began) > opts.Duration {
					// Past the run's end, whichever of the two timers a
					// busy machine fires first: a paced run sends
					// Rate × Duration messages, and one for time zero.
					return
				}
				if wait := time.Until(due); wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case tokens <- due:
			}
		}
	}()
	var last atomic.Int64
	var remaining atomic.Int64 // people who may still send
	remaining.Store(int64(len(people)))
	var wg sync.WaitGroup
	for range opts.Conns {
		wg.Go(func() {
			for due := range tokens {
				var p *person
				if opts.Rate > 0 {
					// A paced message that finds nobody free is not sent,
					// and counted: the run needs more people.
					select {
					case p = <-idle:
					default:
						mu.Lock()
						res.Exhausted++
						mu.Unlock()
						continue
					}
				} else {
					select {
					case p = <-idle:
					case <-ctx.Done():
						continue
					}
				}
				start := time.Now()
				if opts.Rate > 0 {
					res.StartLag.Add(start.Sub(due))
					start = due
				}
				text := Cycle[p.step%len(Cycle)]
				// The run's own context ends at the deadline; a message
				// already on its way is allowed to finish.
				o := d.send(context.WithoutCancel(ctx), p.Person, text, start, 1)
				now := time.Now()
				last.Store(now.UnixNano())
				mu.Lock()
				res.Sent++
				if o.status == http.StatusOK {
					res.OK++
					if text == "1" {
						res.CheckIns++
					}
				}
				mu.Unlock()
				if o.status == http.StatusOK {
					res.Answered.Add(now.Sub(start))
					p.step++ // on failure the same message is sent again next time, as a provider would
				} else {
					res.Errors.add(o)
				}
				p.sent++
				if p.sent < MaxPerPerson {
					idle <- p
				} else if remaining.Add(-1) == 0 {
					cancel() // everyone has sent all they may: the run is over
				}
			}
		})
	}
	wg.Wait()
	if l := last.Load(); l > 0 {
		res.Elapsed = time.Unix(0, l).Sub(began)
	}
	if d.Replies != nil {
		res.Open = d.Replies.Wait(parent, opts.Drain)
		res.Unexpected = int(d.Replies.Unexpected())
	}
	return res, nil
}
