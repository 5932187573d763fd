// Package conversation turns an inbound message or a scheduled event into
// what Waymark does about it: it finds the participant by the blind index of
// the sender's address, runs the flow engine, and applies the engine's
// effects to the store in one turn, replies queued in the outbox.
package conversation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/whatsapp"
)

// MaxText is the longest message Waymark reads, in characters: Twilio's
// limit for one inbound SMS body.
const MaxText = 1600

// ErrBusy means a turn could not land: another process held the person's
// enrolment lock too long, or their record kept changing under every try.
// The webhook answers 503 so that the provider may retry.
var ErrBusy = errors.New("conversation: participant is busy, try again")

// Content is one loaded, validated set of flows and messages. Reloading
// swaps it whole, so a turn never sees half of an old set and half of a new.
type Content struct {
	Flows  *flow.Set
	Locale *locale.Bundle

	// What every message is compared with, worked out once (see prepare).
	prepared sync.Once
	words    flow.Words  // Locale, indexed for Flows
	join     []joinWords // the words of JOIN, in joinOrder
}

type joinWords struct {
	lang  string
	words []string
}

// prepare works out, on first use, the words every message is compared
// with, so that a message costs lookups rather than the locale's fallback
// and a normal form for each keyword of each language.
func (c *Content) prepare() {
	c.prepared.Do(func() {
		c.words = c.Flows.Indexed(c.Locale)
		for _, l := range joinOrder(c) {
			c.join = append(c.join, joinWords{lang: l, words: c.Locale.Words(l, "keyword.join")})
		}
	})
}

// matchWords is what the flow engine matches a person's text against.
func (c *Content) matchWords() flow.Words {
	c.prepare()
	return c.words
}

// Problem is what the channel found wrong with an inbound message before it
// reached the conversation.
type Problem string

const (
	NoProblem   Problem = ""
	TooLong     Problem = "too_long"
	InvalidText Problem = "invalid_text"
	MediaOnly   Problem = "media_only" // photo, file, location, contact: never needed, never kept
)

// Inbound is one message from a person. Address lives only in memory: it is
// sealed and indexed here, never stored or logged in clear.
type Inbound struct {
	Channel store.Channel
	Address string
	Text    string
	Problem Problem
	// DedupeKey is the provider's message ID with a channel prefix; a
	// message whose turn already landed is not handled again.
	DedupeKey string
	// JoinCode is an enrolment code the channel received out of band, such
	// as Telegram's /start deep link; it is treated as "JOIN <code>".
	JoinCode string

	// dedupeUntil, for an event's Once key, is how long it is kept;
	// a message's is kept for the programme's retention.dedupe_keys.
	dedupeUntil time.Time
	// ref, for an event about a check-in window, is the window's Ref,
	// carried by the messages the event sends.
	ref string
}

// Outcome is what the channel does in its webhook answer.
type Outcome struct {
	ParticipantID string // empty for an unknown sender
	// Direct holds replies to an unknown sender, given in the webhook answer
	// itself: nothing about a person Waymark does not know is stored.
	Direct []string
	// Duplicate is set when the message was handled before.
	Duplicate bool
}

// Service runs conversations. It is safe for concurrent use, and several
// processes may share a Redis store: a turn reads the participant's record
// and saves it with everything else the turn changes, refused by the store
// (store.ErrStale) if another turn or a caseworker changed the record in
// between, and then run again on what is there now. So turns of one person
// take effect one after the other without a lock, which would cost two
// more store round trips on every message.
type Service struct {
	store Store
	box   *seal.Box
	clock clock.Clock
	log   *slog.Logger
	live  *Live
	owner string
	turns atomic.Uint64

	// windows answers about check-in windows and keeps the ledger
	// (internal/schedule). Without it every check-in is unscheduled and no
	// window is ever open.
	windows Windows
}

// Store is what the conversation reads and writes: a person's turn and
// where it starts from, their links and enrolment codes, dedupe keys,
// leases, counters, their attention items and the audit log.
type Store interface {
	store.Turns
	store.Links
	store.Enrolments
	store.Dedupe
	store.Leases
	store.Counters
	store.Attention
	store.Audit
	GetParticipant(ctx context.Context, id string) (store.Participant, error)
}

// Live holds the flows and messages in use, which every part that reads
// them shares: swapped whole on a reload or a publish.
type Live struct{ p atomic.Pointer[Content] }

// NewLive holds c.
func NewLive(c *Content) *Live {
	l := &Live{}
	l.p.Store(c)
	return l
}

// Content returns the flows and messages in use.
func (l *Live) Content() *Content { return l.p.Load() }

// Set swaps in a new, already validated set of flows and messages.
func (l *Live) Set(c *Content) { l.p.Store(c) }

// New returns a Service over st, sealing addresses with box, speaking with
// live's content, and asking windows (nil for none) about check-in windows.
func New(st Store, box *seal.Box, live *Live, clk clock.Clock, log *slog.Logger, windows Windows) *Service {
	return &Service{store: st, box: box, clock: clk, log: log, live: live, windows: windows, owner: store.NewID("proc_")}
}

// Content returns the flows and messages in use.
func (s *Service) Content() *Content { return s.live.Content() }

// SetContent swaps in a new, already validated set of flows and messages.
// Conversations in progress continue on it; one whose node has gone is
// restarted politely by the engine.
func (s *Service) SetContent(c *Content) { s.live.Set(c) }

// Handle deals with one inbound message.
func (s *Service) Handle(ctx context.Context, in Inbound) (Outcome, error) {
	c := s.live.Content()
	index := s.box.Index(string(in.Channel), in.Address)
	// The link and the turn it starts from are read together (one round
	// trip on a single Redis); a turn that runs again reads afresh.
	link, loaded, err := s.store.LoadLinkedTurn(ctx, index, in.DedupeKey)
	switch {
	case errors.Is(err, store.ErrNotFound) && link.Index == "":
		return s.handleUnknown(ctx, c, in, index)
	case err != nil:
		return Outcome{}, fmt.Errorf("conversation: participant %s: %w", link.ParticipantID, err)
	}
	out := Outcome{ParticipantID: link.ParticipantID}
	first := &loaded
	turn := func() error {
		return s.retryStale(ctx, func() error {
			st := first
			first = nil
			return s.turnFrom(ctx, c, link.ParticipantID, &link, in, &out.Direct, nil, st)
		})
	}
	if in.JoinCode != "" || isJoin(c, in.Text) {
		// A copy of the JOIN that linked this address may arrive while the
		// enrolment still holds the person's lock: it waits, and then reads
		// its turn again, finding its message handled.
		first = nil
		err = s.withLock(ctx, link.ParticipantID, turn)
	} else {
		err = turn()
	}
	if errors.Is(err, ErrHandledBefore) {
		out.Duplicate, err = true, nil
	}
	return out, err
}

// Start begins a flow for a participant without a message from them: an
// appointment reminder, a check-in window opening. Vars are template data.
func (s *Service) Start(ctx context.Context, participantID, flowID string, vars map[string]string) error {
	return s.StartOnce(ctx, participantID, flowID, vars, Once{})
}

// Notify sends one message outside any flow (a missed check-in note, an
// appointment follow-up), unless the person has opted out.
func (s *Service) Notify(ctx context.Context, participantID, messageID string, vars map[string]string) error {
	return s.NotifyOnce(ctx, participantID, messageID, vars, Once{})
}

// Once makes an event act at most once: its key is recorded with the turn
// it causes, until Until, and an event whose key is recorded does nothing
// and returns ErrHandledBefore. The scheduler names each due item so, and
// a reminder handled again (its lease ran out mid-way) is not sent twice.
type Once struct {
	Key   string
	Until time.Time
	// Ref names the check-in window the event is about, if any: its
	// messages carry it, so that the ledger knows whether a prompt for the
	// window reached the person.
	Ref string
}

// ErrHandledBefore means an event's Once key is recorded: it acted before.
var ErrHandledBefore = errors.New("conversation: handled before")

// StartOnce is Start, at most once for once.Key.
func (s *Service) StartOnce(ctx context.Context, participantID, flowID string, vars map[string]string, once Once) error {
	c := s.live.Content()
	return s.retryStale(ctx, func() error {
		return s.turn(ctx, c, participantID, nil, once.inbound(), startEvent{flow: flowID, vars: vars})
	})
}

// NotifyOnce is Notify, at most once for once.Key.
func (s *Service) NotifyOnce(ctx context.Context, participantID, messageID string, vars map[string]string, once Once) error {
	c := s.live.Content()
	return s.retryStale(ctx, func() error {
		return s.turn(ctx, c, participantID, nil, once.inbound(), notifyEvent{message: messageID, vars: vars})
	})
}

// ErrOwnTurn means a prepared turn needs what only a turn of its own
// does: it plans the person again (their consent moved) or forgets their
// links, or the link it would reply on is not among those read. Run the
// event with StartOnce or NotifyOnce instead.
var ErrOwnTurn = errors.New("conversation: the event needs a turn of its own")

// PrepareStart makes the turn StartOnce would apply, from what was read
// before (store.LoadTurns, with once.Key as the dedupe key), without
// applying it, so that a batch of scheduled events lands at once. A nil
// turn and no error: nobody to talk to yet (no link). ErrHandledBefore
// when once.Key is recorded; ErrOwnTurn as it says.
func (s *Service) PrepareStart(ctx context.Context, from store.TurnInputs, flowID string, vars map[string]string, once Once) (*store.Turn, error) {
	return s.prepare(ctx, from, once, startEvent{flow: flowID, vars: vars})
}

// PrepareNotify is PrepareStart for NotifyOnce.
func (s *Service) PrepareNotify(ctx context.Context, from store.TurnInputs, messageID string, vars map[string]string, once Once) (*store.Turn, error) {
	return s.prepare(ctx, from, once, notifyEvent{message: messageID, vars: vars})
}

func (s *Service) prepare(ctx context.Context, from store.TurnInputs, once Once, ev event) (*store.Turn, error) {
	if from.Seen {
		return nil, ErrHandledBefore
	}
	p := from.Participant
	if p.LastLink == "" {
		if len(from.Links) == 0 {
			return nil, nil // nobody to talk to yet: not enrolled on any channel
		}
		p.LastLink = from.Links[0].Index
	}
	i := slices.IndexFunc(from.Links, func(l store.Link) bool { return l.Index == p.LastLink })
	if i < 0 {
		return nil, ErrOwnTurn
	}
	m, err := s.makeTurn(ctx, s.live.Content(), from.TurnState, p, from.Links[i], nil, once.inbound(), ev, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if m.forgotten != nil || m.consentMoved {
		return nil, ErrOwnTurn
	}
	return &m.turn, nil
}

// inbound carries the key the way a message's dedupe key is carried.
func (o Once) inbound() Inbound {
	return Inbound{DedupeKey: o.Key, dedupeUntil: o.Until, ref: o.Ref}
}

// Tick fires a waiting question's timeout once it has passed.
func (s *Service) Tick(ctx context.Context, participantID string) error {
	c := s.live.Content()
	return s.retryStale(ctx, func() error {
		return s.turn(ctx, c, participantID, nil, Inbound{}, timeoutEvent{})
	})
}

// event is what a turn without a message from the person is about: a
// closed set, as flow.Effect is. A turn with no event is the person's
// message (Inbound.Text).
type event interface{ isEvent() }

// startEvent begins a flow (a reminder, a window opening, enrolment).
type startEvent struct {
	flow string
	vars map[string]string
}

// timeoutEvent fires a waiting question's timeout.
type timeoutEvent struct{}

// notifyEvent sends one message outside any flow.
type notifyEvent struct {
	message string
	vars    map[string]string
}

func (startEvent) isEvent()   {}
func (timeoutEvent) isEvent() {}
func (notifyEvent) isEvent()  {}

// turn runs one step for a participant and applies it. With link set it is
// an inbound message from that link; otherwise ev names the event.
func (s *Service) turn(ctx context.Context, c *Content, pid string, link *store.Link, in Inbound, ev event) error {
	return s.turnFrom(ctx, c, pid, link, in, nil, ev, nil)
}

// turnFrom is turn, starting from loaded, the person's turn state read
// with their link (nil: it is read here), and with the replies of a turn
// that forgets the person (forget_me) appended to direct: the channel
// gives them in its answer to the person's message, since no link is left
// for the outbox to use.
func (s *Service) turnFrom(ctx context.Context, c *Content, pid string, link *store.Link, in Inbound, direct *[]string, ev event, loaded *store.TurnState) error {
	now := s.clock.Now()
	if loaded == nil {
		st, err := s.store.LoadTurn(ctx, pid, in.DedupeKey)
		if err != nil {
			return fmt.Errorf("conversation: participant %s: %w", pid, err)
		}
		loaded = &st
	}
	var err error
	if loaded.Seen {
		return ErrHandledBefore
	}
	p := loaded.Participant
	if link != nil {
		// The link's last-seen time is saved with the turn.
		link.LastSeenAt = now
		p.LastLink = link.Index
		if ev == nil {
			s.countText(&p, now)
		}
	} else if p.LastLink == "" {
		links, err := s.store.LinksOf(ctx, pid)
		if err != nil {
			return fmt.Errorf("conversation: links of %s: %w", pid, err)
		}
		if len(links) == 0 {
			return nil // nobody to talk to yet: not enrolled on any channel
		}
		p.LastLink = links[0].Index
	}
	// The reply goes where the person last wrote from: for an inbound
	// message that is the link in hand, so it is not read again.
	var to store.Link
	if link != nil {
		to = *link
	} else if to, err = s.store.GetLink(ctx, p.LastLink); err != nil {
		return fmt.Errorf("conversation: reply link of %s: %w", pid, err)
	}
	m, err := s.makeTurn(ctx, c, *loaded, p, to, link, in, ev, now)
	if err != nil {
		return err
	}
	t := m.turn
	if err := s.store.ApplyTurn(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) && s.handledMeanwhile(ctx, pid, t.DedupeKey) {
			// Another copy of the message (a provider's retry, delivered
			// to another process) landed between our read and our write.
			return ErrHandledBefore
		}
		return fmt.Errorf("conversation: apply turn for %s: %w", pid, err)
	}
	if m.consentMoved && s.windows != nil {
		// Prompts begin once the person agrees; the re-ask is planned from
		// when they were asked. A failure is only logged: the next due
		// item or caseworker change plans again.
		if err := s.windows.Replan(ctx, pid); err != nil {
			s.log.Warn("replan after consent", "participant", pid, "err", err)
		}
	}
	if m.forgotten != nil {
		// The erasure request is recorded; now the links go, so that
		// nothing more reaches the person from this moment.
		if err := s.forgetLinks(ctx, pid); err != nil {
			return err
		}
		if direct != nil {
			*direct = append(*direct, m.forgotten.last...)
		}
	}
	s.log.Debug("turn", "participant", pid, "effects", m.effects, "replies", len(t.Outbound), "forgotten", m.forgotten != nil)
	return nil
}

// madeTurn is a turn made and not yet applied, with what must follow it.
type madeTurn struct {
	turn         store.Turn
	forgotten    *farewell // the person asked to be forgotten: their links go next
	consentMoved bool      // their consent changed: their items are planned again
	effects      int
}

// makeTurn runs the engine for a turn of p from loaded, replying to to,
// and makes the store.Turn its effects ask for. With link set it is an
// inbound message from that link; otherwise ev names the event.
func (s *Service) makeTurn(ctx context.Context, c *Content, loaded store.TurnState, p store.Participant, to store.Link, link *store.Link, in Inbound, ev event, now time.Time) (madeTurn, error) {
	pid := p.ID
	st := stateOf(loaded.Session, now)
	var err error
	var effects []flow.Effect
	var vars map[string]string
	next := st
	pin, isPIN := "", false
	if link != nil && ev == nil && in.Problem == NoProblem && c.Flows.Programme.Voice.PIN() {
		pin, isPIN = flow.PINCommand(in.Text, c.Locale, joinOrder(c))
	}
	switch {
	case link != nil && in.Problem != NoProblem:
		effects = []flow.Effect{flow.Send{MessageID: problemMessage(in.Problem)}}
	case isPIN && pin == "":
		effects = []flow.Effect{flow.Send{MessageID: msgPINHow}}
	case isPIN:
		// Only the digest is kept; the conversation, if any, waits on.
		p.VoicePIN = PINDigest(s.box.Index, p.ID, pin)
		effects = []flow.Effect{flow.Send{MessageID: msgPINSaved}}
	case link != nil && (in.JoinCode != "" || isJoin(c, in.Text)):
		effects = []flow.Effect{flow.Send{MessageID: "enrol.already"}}
	case isNotify(ev):
		n := ev.(notifyEvent)
		effects = []flow.Effect{flow.Send{MessageID: n.message, Vars: n.vars}}
		// Single messages end with "reply 1 to check in, 2 for a call":
		// the numbers of the main menu. Unless a question is already
		// waiting, the reply is read as an answer to that menu.
		if !st.Active() {
			if l, ok := c.Flows.Listening(c.Flows.Programme.Flows.Default); ok {
				next = l
			}
		}
	default:
		fe := flow.Event{Kind: flow.EventText, Text: in.Text, Now: now}
		switch e := ev.(type) {
		case startEvent:
			fe = flow.Event{Kind: flow.EventStart, Flow: e.flow, Vars: e.vars, Now: now}
			vars = e.vars
		case timeoutEvent:
			fe = flow.Event{Kind: flow.EventTimeout, Now: now}
		}
		if fe.Kind == flow.EventText && link != nil {
			st = s.understood(c, p, st, in.Text, now)
		}
		next, effects = c.Flows.Step(st, view(p), fe, c.matchWords())
		if fe.Kind == flow.EventStart && len(vars) > 0 {
			// The event's data (an appointment's date and place) is the
			// template data of every message of the flow it starts.
			for i, e := range effects {
				if snd, ok := e.(flow.Send); ok {
					snd.Vars = mergeVars(vars, snd.Vars)
					effects[i] = snd
				}
			}
			if next.Flow != "" {
				next.Vars = mergeVars(vars, next.Vars)
			}
		}
	}

	erasureOpen := false
	if slices.ContainsFunc(effects, isErasureRequest) {
		if erasureOpen, err = s.erasureOpen(ctx, pid); err != nil {
			return madeTurn{}, err
		}
	}
	if link != nil && !p.Consented() && c.Flows.AsksConsent(next) && !c.Flows.AsksConsent(st) {
		p.ConsentAskedAt, p.ConsentAsks = now, p.ConsentAsks+1
	} else if link == nil && !p.Consented() && c.Flows.AsksConsent(next) {
		p.ConsentAskedAt, p.ConsentAsks = now, p.ConsentAsks+1 // asked again by the scheduler
	}
	t, forgotten, err := s.plan(ctx, c, p, to, st, next, effects, now, erasureOpen)
	if err != nil {
		return madeTurn{}, err
	}
	if isPIN && pin != "" {
		t.Audit = append(t.Audit, store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: "participant", Action: "voice_pin_set", ParticipantID: p.ID})
	}
	if t.Session != nil {
		s.holdWindowQuestion(c, p, t.Session, now)
	}
	consentMoved := t.Participant.ConsentAsks != loaded.Participant.ConsentAsks || t.Participant.Consented() != loaded.Participant.Consented()
	for i := range t.Outbound {
		t.Outbound[i].Ref = in.ref // the window a prompt is about, for the ledger
	}
	t.DedupeKey = in.DedupeKey
	if in.DedupeKey != "" {
		t.DedupeUntil = in.dedupeUntil
		if t.DedupeUntil.IsZero() {
			t.DedupeUntil = now.Add(c.Flows.Programme.Retention.DedupeKeys.D())
		}
	}
	if link != nil {
		t.SeenOn, t.SeenAt = link.Index, now
	}
	return madeTurn{turn: t, forgotten: forgotten, consentMoved: consentMoved, effects: len(effects)}, nil
}

// handledMeanwhile reports whether a turn refused as a conflict was
// refused because its dedupe key is recorded now.
func (s *Service) handledMeanwhile(ctx context.Context, pid, key string) bool {
	if key == "" {
		return false
	}
	st, err := s.store.LoadTurn(ctx, pid, key)
	return err == nil && st.Seen
}

// ReasonUnconfirmedErasure is the reason of an erasure request from a
// person who had opted out: they sent DELETE, but could not be asked to
// confirm it, so their links are kept and a caseworker checks with them.
const ReasonUnconfirmedErasure = "unconfirmed_after_stop"

// erasureOpen reports whether the person has an erasure request that no
// caseworker has dealt with yet, so that sending DELETE again adds nothing.
// It reads the open queue, as the Telegram channel does for its items: it
// runs only for a DELETE after STOP, which is rare. It is read after the
// turn's participant, and the turn saves the participant, so of two such
// DELETEs at once the second is refused as stale and, run again, finds
// the first one's request.
func (s *Service) erasureOpen(ctx context.Context, pid string) (bool, error) {
	items, err := s.store.AttentionOf(ctx, pid)
	if err != nil {
		return false, fmt.Errorf("conversation: open requests of %s: %w", pid, err)
	}
	return slices.ContainsFunc(items, func(it store.AttentionItem) bool {
		return it.Kind == store.AttentionErasure && it.Open()
	}), nil
}

func isErasureRequest(e flow.Effect) bool {
	_, ok := e.(flow.RequestErasure)
	return ok
}

// forgetLinks deletes every channel link of a participant: the sealed
// addresses and their blind indexes. A message from one of those
// addresses is then a stranger's, and the outbox has nowhere to send.
func (s *Service) forgetLinks(ctx context.Context, pid string) error {
	links, err := s.store.LinksOf(ctx, pid)
	if err != nil {
		return fmt.Errorf("conversation: links of %s: %w", pid, err)
	}
	for _, l := range links {
		if err := s.store.DeleteLink(ctx, l.Index); err != nil {
			return fmt.Errorf("conversation: forget a link of %s: %w", pid, err)
		}
	}
	return nil
}

// stateOf is the flow state a session holds; an expired session is
// forgotten, and the person starts afresh.
func stateOf(sess *store.Session, now time.Time) flow.State {
	if sess == nil || !now.Before(sess.ExpiresAt) {
		return flow.State{}
	}
	return flow.State{Flow: sess.Flow, Node: sess.Node, Vars: sess.Vars, WaitUntil: sess.WaitUntil}
}

// farewell is what a turn that forgets the person (forget_me) says last:
// the replies rendered, to be given in the webhook's answer, since no link
// is left for the outbox to use.
type farewell struct{ last []string }

// plan turns the engine's effects into a store.Turn. When the effects
// forget the person, the turn queues nothing and the farewell holds the
// replies. asked is the state the person answered in; erasureOpen says
// they have an erasure request open already.
func (s *Service) plan(ctx context.Context, c *Content, p store.Participant, to store.Link, asked, next flow.State, effects []flow.Effect, now time.Time, erasureOpen bool) (store.Turn, *farewell, error) {
	t := store.Turn{ParticipantID: p.ID}
	var errs []error
	// resolve closes the person's open items of kind, because the fact
	// behind them changed (an opt-out undone, consent given).
	resolve := func(kind store.AttentionKind, resolution string) {
		items, err := s.store.AttentionOf(ctx, p.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("conversation: attention of %s: %w", p.ID, err))
			return
		}
		for _, a := range items {
			if a.Kind == kind && a.Open() {
				a.ResolvedAt, a.ResolvedBy, a.Resolution = now, store.ResolvedBySystem, resolution
				t.Resolved = append(t.Resolved, a)
			}
		}
	}
	audit := func(action, detail string) {
		t.Audit = append(t.Audit, store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: "participant", Action: action, ParticipantID: p.ID, Detail: detail})
	}
	attention := func(kind store.AttentionKind, reason string) {
		t.Attention = append(t.Attention, store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: kind, Reason: reason, CreatedAt: now})
	}
	optChanged, forget := false, false
	var sends []flow.Send
	// replies are the answers to an opted-out person's own keywords.
	var replies []flow.Send
	for _, e := range effects {
		switch e := e.(type) {
		case flow.Send:
			sends = append(sends, e)
		case flow.Restarted:
			sends = append(sends, flow.Send{MessageID: "common.restarted"})
		case flow.RecordCheckIn:
			// No audit entry: the check-in is its own record, deleted after
			// retention.checkins as people are told when they join. An
			// entry would keep its time for retention.audit, twice as long.
			ci, ch, err := s.judgeCheckIn(ctx, p, to.Channel, now)
			errs = append(errs, err)
			for i, w := range ch.Windows {
				if w.CheckInID == ci.ID && w.Ref == p.TextsWindow {
					ch.Windows[i].Texts = p.TextsInWindow
				}
			}
			ch.AddTo(&t)
			t.CheckIns = append(t.CheckIns, ci)
		case flow.RequestCallback:
			attention(store.AttentionCallback, "")
			audit("callback_requested", "")
		case flow.CantMakeIt:
			item := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionCantMakeIt, CreatedAt: now}
			if s.windows != nil {
				ch, err := s.windows.CantMakeIt(ctx, p, &item)
				errs = append(errs, err)
				ch.AddTo(&t)
			}
			t.Attention = append(t.Attention, item)
			audit("cant_make_it", item.Ref)
		case flow.Reschedule:
			attention(store.AttentionReschedule, "")
			audit("reschedule_requested", "")
		case flow.SetLanguage:
			if offered(c, e.Language) && e.Language != p.Language {
				p.Language = e.Language
				audit("language_set", e.Language)
			}
		case flow.OptOut:
			if !p.OptedOut {
				p.OptedOut, p.OptedOutAt = true, now
				attention(store.AttentionOptedOut, "")
				audit("opted_out", string(to.Channel))
			}
			optChanged = true
		case flow.LoopStopped:
			s.log.Warn("flow loop stopped: check the flow for a cycle without a question", "flow", e.Flow, "node", e.Node, "participant", p.ID)
		case flow.OptIn:
			if p.OptedOut {
				p.OptedOut, p.OptedOutAt = false, time.Time{}
				audit("opted_in", string(to.Channel))
				resolve(store.AttentionOptedOut, store.ResolvedOptedIn)
			}
			optChanged = true
		case flow.AgreeSMS:
			if p.SMSAgreedAt.IsZero() {
				p.SMSAgreedAt = now
				audit("sms_fallback_agreed", string(to.Channel))
			}
		case flow.Consent:
			if !p.Consented() {
				p.ConsentedAt, p.ConsentVersion = now, consentVersion(c, s.language(c, p), asked)
				audit("consented", p.ConsentVersion)
				resolve(store.AttentionNotConsented, store.ResolvedConsented)
			}
		case flow.ForgetMe:
			if !forget {
				forget = true
				p.LastLink = ""
				attention(store.AttentionErasure, "")
				audit("erasure_requested", string(to.Channel))
			}
		case flow.RequestErasure:
			// DELETE after STOP. The delete flow asks first, since a
			// message sent by mistake or by someone else holding the phone
			// must change nothing, and no question reaches this person. So
			// nothing is removed now: the links stay (they carry nothing to
			// an opted-out person, and still let them send START), and the
			// caseworker, who can check with them, erases the record.
			if !erasureOpen {
				erasureOpen = true
				attention(store.AttentionErasure, ReasonUnconfirmedErasure)
				audit("erasure_requested", string(to.Channel)+",unconfirmed")
			}
			replies = append(replies, flow.Send{MessageID: flow.ErasurePassedOnMessage})
		case flow.OptedOutHelp:
			replies = append(replies, flow.Send{MessageID: flow.OptedOutHelpMessage})
		}
	}
	// An opted-out person gets nothing but the confirmation of opting out
	// (or in): that one message is all Twilio allows, and all that is kind.
	// On Telegram, where nothing blocks a message after STOP, the answer to
	// their own HELP or DELETE goes too; by SMS or WhatsApp Twilio would
	// refuse it (21610), marking the number unreachable, and answers its
	// own HELP words itself where the programme set that up.
	if p.OptedOut && !optChanged {
		sends = nil
		if to.Channel == store.Telegram {
			sends = replies
		}
	}
	lang := s.language(c, p)
	var last []string
	for i, snd := range sends {
		if forget {
			text, _ := Render(c, lang, snd)
			last = append(last, text)
			continue
		}
		text, choices := Render(c, lang, snd)
		text = ForChannel(c, lang, to.Channel, text)
		if text == "" {
			continue // in no language: an organisation's locales may predate optout.help
		}
		// The outbox sends oldest first; a microsecond apart keeps a turn's
		// messages in the order the flow wrote them.
		at := now.Add(time.Duration(i) * time.Microsecond)
		m := store.OutboundMessage{
			ID: store.NewID("m_"), ParticipantID: p.ID, LinkIndex: to.Index, Channel: to.Channel,
			Kind: snd.MessageID, Text: text, Choices: choices, Status: store.Pending,
			NotBefore: at, CreatedAt: at, UpdatedAt: at,
		}
		outsideWindow(c, p, lang, snd, &m)
		t.Outbound = append(t.Outbound, m)
	}
	p.UpdatedAt = now
	t.Participant = &p
	if next.Active() {
		t.Session = &store.Session{
			ParticipantID: p.ID, Flow: next.Flow, Node: next.Node, Vars: next.Vars,
			WaitUntil: next.WaitUntil, UpdatedAt: now,
			ExpiresAt: now.Add(c.Flows.Programme.SessionTimeout.D()),
		}
	} else {
		t.EndSession = true
	}
	if forget {
		return t, &farewell{last: last}, errors.Join(errs...)
	}
	return t, nil, errors.Join(errs...)
}

// outsideWindow says, for a WhatsApp message, what may carry it outside
// the person's 24-hour window: its approved template, filled, and whether
// SMS may. Whether the window is open is known only when the message goes
// (the outbox); what may carry it if not is decided here, where the
// programme and the person are.
func outsideWindow(c *Content, p store.Participant, lang string, snd flow.Send, m *store.OutboundMessage) {
	if m.Channel != store.WhatsApp {
		return
	}
	w := c.Flows.Programme.WhatsApp
	m.Template = whatsapp.Fill(w, c.Locale, snd.MessageID, lang, TemplateData(c, lang, snd.Vars))
	m.FallbackSMS = w.Fallback == flow.FallbackSMS && !p.SMSAgreedAt.IsZero()
}

// understood returns the state a person's reply is best read in, so that
// one text does what they meant:
//
//   - While a check-in window is open or in its grace, a reply that
//     answers the check-in question ("1", "here", "I can't make it") is
//     that answer, with no question waiting (it timed out, or the prompt
//     was a single message) as much as in the check-in flow. While
//     another question waits, its own answers come first, and only words
//     (not numbers, which mean that question's choices) check in.
//   - Someone asked whether they agree to get messages who answers after
//     the question lapsed has still answered it.
//   - With no window open and no question waiting, a reply that answers
//     the main menu's question is that answer: "1" checks in (an
//     unscheduled check-in, which the caseworker sees), "2" asks for a
//     call, instead of costing a second text to see the menu first.
func (s *Service) understood(c *Content, p store.Participant, st flow.State, text string, now time.Time) flow.State {
	pr := c.Flows.Programme
	if p.OptedOut {
		return st // only keywords are answered (START, DELETE)
	}
	if s.windows != nil {
		if _, open := s.windows.Current(p, now); open && st.Flow != pr.Flows.CheckIn {
			if l, ok := c.Flows.Listening(pr.Flows.CheckIn); ok {
				answers, byNumber := c.Flows.Answers(l, view(p), text, c.matchWords())
				if answers && (!st.Active() || !byNumber && !s.answersNow(c, p, st, text)) {
					return l
				}
			}
			if st.Active() {
				return st
			}
		}
	}
	if st.Active() {
		return st
	}
	if !p.Consented() && p.ConsentAsks > 0 {
		// Asked whether they agree, and the question has lapsed: "yes" is
		// still the answer to it, not the START keyword.
		if l, ok := c.Flows.Listening(pr.Flows.Consent); ok {
			if answers, _ := c.Flows.Answers(l, view(p), text, c.matchWords()); answers {
				return l
			}
		}
	}
	if l, ok := c.Flows.Listening(pr.Flows.Default); ok {
		if answers, _ := c.Flows.Answers(l, view(p), text, c.matchWords()); answers {
			return l
		}
	}
	return st
}

// answersNow reports whether text answers the question st waits on.
func (s *Service) answersNow(c *Content, p store.Participant, st flow.State, text string) bool {
	answers, _ := c.Flows.Answers(st, view(p), text, c.matchWords())
	return answers
}

// The answers to a text that sets the telephone menu's PIN (flow.PINCommand).
const (
	msgPINSaved = "pin.saved"
	msgPINHow   = "pin.how"
)

// countText counts a text the person sent towards the window a check-in
// now would count for, starting again at one when that window is a new
// one. The check-in that a text makes carries the count to the window
// (Window.Texts): what reporting cost the person, in messages.
func (s *Service) countText(p *store.Participant, now time.Time) {
	if s.windows == nil {
		return
	}
	ref, ok := s.windows.CountsFor(*p, now)
	if !ok {
		p.TextsWindow, p.TextsInWindow = "", 0
		return
	}
	if ref != p.TextsWindow {
		p.TextsWindow, p.TextsInWindow = ref, 0
	}
	p.TextsInWindow++
}

// judgeCheckIn makes the record of a check-in now and asks the scheduler
// how it counts, and what it changes in the ledger.
func (s *Service) judgeCheckIn(ctx context.Context, p store.Participant, ch store.Channel, now time.Time) (store.CheckIn, LedgerChange, error) {
	c := store.CheckIn{ID: store.NewID("c_"), ParticipantID: p.ID, At: now, Channel: ch, Outcome: store.Unscheduled}
	if s.windows == nil {
		return c, LedgerChange{}, nil
	}
	outcome, change, err := s.windows.CheckIn(ctx, p, c)
	c.Outcome = outcome
	return c, change, err
}

// holdWindowQuestion keeps a question of the check-in flow answerable
// until the grace of the window open now ends, whatever session_timeout
// says: "1" a day after the prompt must still check the person in.
//
// "Do you agree?" is held as long as the scheduler waits before asking
// again (checkin.consent_reask), for the same reason: a "yes" the next
// day must be the answer, not the START keyword.
func (s *Service) holdWindowQuestion(c *Content, p store.Participant, sess *store.Session, now time.Time) {
	st := flow.State{Flow: sess.Flow, Node: sess.Node}
	if !p.Consented() && c.Flows.AsksConsent(st) {
		if until := now.Add(c.Flows.Programme.CheckIn.ConsentReask.D()); until.After(sess.ExpiresAt) {
			sess.ExpiresAt = until
		}
		return
	}
	if s.windows == nil || sess.Flow != c.Flows.Programme.Flows.CheckIn {
		return
	}
	if w, ok := s.windows.Current(p, now); ok && w.GraceEndsAt.After(sess.ExpiresAt) {
		sess.ExpiresAt = w.GraceEndsAt
	}
}

// consentVersion names the wording a person agreed to: their language and
// a digest of the privacy notice and of the question they answered, as
// rendered for them, so that a caseworker can tell which notice was seen
// after the words are edited.
func consentVersion(c *Content, lang string, asked flow.State) string {
	h := sha256.New()
	for _, id := range []string{"enrol.privacy", c.Flows.QuestionOf(asked)} {
		if id != "" && c.Locale.Has(lang, id) {
			h.Write([]byte(c.Locale.Render(lang, id, TemplateData(c, lang, nil))))
			h.Write([]byte{0})
		}
	}
	return lang + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

func (s *Service) language(c *Content, p store.Participant) string {
	if offered(c, p.Language) {
		return p.Language
	}
	return c.Flows.Programme.DefaultLanguage
}

func offered(c *Content, lang string) bool {
	return slices.Contains(c.Flows.Programme.Languages, lang)
}

func isNotify(e event) bool {
	_, ok := e.(notifyEvent)
	return ok
}

func view(p store.Participant) flow.Participant {
	return flow.Participant{Language: p.Language, Status: string(p.Status), OptedOut: p.OptedOut}
}

func mergeVars(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

func problemMessage(p Problem) string {
	switch p {
	case TooLong:
		return "common.too_long"
	case MediaOnly:
		return "common.media_not_needed"
	}
	return "common.not_understood"
}

// Render produces the text of a Send in a language: the message, then one
// numbered line per choice (so any phone can answer with a digit), and the
// choices as data for channels that show buttons.
func Render(c *Content, lang string, snd flow.Send) (string, []store.Choice) {
	data := TemplateData(c, lang, snd.Vars)
	var b strings.Builder
	b.WriteString(c.Locale.Render(lang, snd.MessageID, data))
	var choices []store.Choice
	for _, ch := range snd.Choices {
		label := c.Locale.Render(lang, ch.LabelID, data)
		b.WriteByte('\n')
		b.WriteString(c.Locale.Render(lang, "common.choice", map[string]any{"Number": ch.Number, "Label": label}))
		choices = append(choices, store.Choice{Number: ch.Number, Label: label, Data: "c:" + strconv.Itoa(ch.Number)})
	}
	return b.String(), choices
}

// ForChannel is text as it goes out on ch: folded to GSM-7 for SMS in a
// language the programme folds (see flow.Programme.Fold).
func ForChannel(c *Content, lang string, ch store.Channel, text string) string {
	if ch == store.SMS && c.Flows.Programme.Folds(lang) {
		return sms.FoldGSM(text)
	}
	return text
}

// TemplateData is what message templates may use in lang: the programme's
// contacts (its name and hours in lang's words where programme.yaml gives
// them), its retention periods (CheckInMonths, AuditMonths, AttentionMonths,
// SentDays, ExitDays: see flow.Retention.TemplateData), and the flow's
// variables.
func TemplateData(c *Content, lang string, vars map[string]string) map[string]any {
	pr := c.Flows.Programme
	data := pr.Retention.TemplateData()
	data["Org"] = pr.Organisation.NameIn(lang)
	data["HelpPhone"] = pr.Organisation.Phone
	data["HelpHours"] = pr.Organisation.HoursIn(lang)
	for k, v := range vars {
		data[k] = v
	}
	return data
}

// staleTries is how often a turn is run before giving up with ErrBusy when
// every try finds the participant changed under it (by other turns of the
// same person, or a caseworker's edits): more than any real person makes.
const staleTries = 8

// retryStale runs a turn, and again after a short random pause while the
// store refuses it because the participant changed since it was read.
func (s *Service) retryStale(ctx context.Context, turn func() error) error {
	pause := 2 * time.Millisecond
	for try := 1; ; try++ {
		err := turn()
		if !errors.Is(err, store.ErrStale) {
			return err
		}
		if try == staleTries {
			return ErrBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rand.N(pause) + pause/2):
		}
		pause *= 2
	}
}

// withLock runs fn holding the participant's lease, waiting a little for
// another turn of the same person to finish.
func (s *Service) withLock(ctx context.Context, pid string, fn func() error) error {
	return s.withLease(ctx, "conv:"+pid, pid, fn)
}

// withLease runs fn holding the named lease, waiting up to 5 seconds for
// another holder to finish. what names the lease in errors (a participant
// ID, never an address or its index).
func (s *Service) withLease(ctx context.Context, name, what string, fn func() error) error {
	owner := s.owner + ":" + strconv.FormatUint(s.turns.Add(1), 10)
	err := store.WithLease(ctx, s.store, name, owner, 5*time.Second, s.log.With("of", what), fn)
	if errors.Is(err, store.ErrLeaseBusy) {
		return ErrBusy
	}
	return err
}

// Normalize prepares a message for keyword matching: trimmed, folded to
// lower case, surrounding punctuation removed. Invalid UTF-8 gives "".
func Normalize(text string) string {
	if !utf8.ValidString(text) {
		return ""
	}
	if len(text) > 200 {
		text = text[:200] // no keyword or code is longer; never read 100 KB
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(text), " .,!?¡¿;:'\"()[]"))
}
