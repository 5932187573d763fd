// Package simulator lets an organisation try its flows without a phone: a
// throwaway participant talks to the same conversation service, engine and
// keywords as real people, on a scratch store of its own, with a clock that
// can skip ahead so that timeouts and expiry can be watched. Nothing is sent
// anywhere and nothing touches the real store.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Bounds that keep the simulator a place to try flows, not a free store
// for whoever finds it: a simulated person lasts an hour from the start
// (however busy), sends a bounded number of messages, and the transcript
// keeps only the latest lines. Expired people are erased from the scratch
// store, so it holds at most MaxSessions people's short histories.
const (
	// MaxSessions bounds how many simulated people exist at once; the
	// oldest is dropped to make room.
	MaxSessions = 200
	// SessionLife is how long a simulated person lasts from their start.
	SessionLife = time.Hour
	// MaxMessages bounds what one simulated person sends and skips.
	MaxMessages = 300
	// MaxTranscript is how many lines of the conversation are kept.
	MaxTranscript = 200
)

// ErrSessionUsedUp is returned once a simulated person has sent
// MaxMessages; starting again makes a new one.
var ErrSessionUsedUp = errors.New("simulator: this simulated person has sent as many messages as one may: start again")

// ErrFull is returned for a new simulated person while the scratch store
// is over its size budget.
var ErrFull = errors.New("simulator: the simulator is full: try again later")

// MaxSkip is the longest single skip ahead.
const MaxSkip = 60 * 24 * time.Hour

// ErrBadSkip is returned for a skip that is not a positive duration within
// MaxSkip.
var ErrBadSkip = errors.New("simulator: skip must be between 1m and 60d")

// Reply is one message the simulated person received, or one they sent.
type Reply struct {
	FromPerson bool
	Text       string
	Choices    []store.Choice
	At         time.Time
	// Lang is the language Waymark wrote in (the person's when it sent
	// the message); empty for what the person wrote.
	Lang string
}

// Options bound the scratch store; zero values take the defaults.
type Options struct {
	// ScratchSize reports the scratch store's size in bytes; nil for no
	// size budget.
	ScratchSize func() int64
	// MaxScratchBytes is the budget past which no new person starts: 64 MB.
	MaxScratchBytes int64
	// Now is the wall clock sessions expire by; time.Now by default.
	Now func() time.Time
}

// Store is the scratch store a simulated person's conversation runs on:
// what the conversation and its ledger use, and the outbox the replies are
// taken from as a provider would take them.
type Store interface {
	conversation.Store
	schedule.Store
	store.Outbox
}

// Simulator holds the simulated people.
type Simulator struct {
	store   Store
	box     *seal.Box
	content func() *conversation.Content
	log     *slog.Logger
	opts    Options

	mu       sync.Mutex
	sessions map[string]*Session
}

// New returns a Simulator over a scratch store, reading the current flows
// and messages through content on every turn (so a reload shows at once).
func New(scratch Store, content func() *conversation.Content, log *slog.Logger, opts ...Options) (*Simulator, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.MaxScratchBytes <= 0 {
		o.MaxScratchBytes = 64 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := seal.ParseKey(seal.NewKey())
	if err != nil {
		return nil, err
	}
	box, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	return &Simulator{store: scratch, box: box, content: content, log: log, opts: o, sessions: map[string]*Session{}}, nil
}

// Session is one simulated person.
type Session struct {
	ID   string
	Code string // the enrolment code to send with JOIN

	sim           *Simulator
	clock         *clock.Fake
	conv          *conversation.Service
	sched         *schedule.Scheduler
	participantID string
	address       string

	started time.Time // wall time; the session ends SessionLife after it
	// content is the flows and messages the person talks to: those in use,
	// or a draft's.
	content func() *conversation.Content

	mu         sync.Mutex
	transcript []Reply
	sent       int // messages and skips, up to MaxMessages
}

// NewSession creates a simulated person enrolled by a caseworker in lang,
// not yet linked: they start by sending JOIN and the code, as in real life.
// They have the demo check-in schedule, so that skipping ahead shows a
// week of reminders and what a missed check-in looks like.
func (s *Simulator) NewSession(ctx context.Context, lang string) (*Session, error) {
	return s.NewSessionOn(ctx, lang, s.content)
}

// NewSessionOn is NewSession on other flows and messages than the ones in
// use: a draft of the programme, tried before it is published.
func (s *Simulator) NewSessionOn(ctx context.Context, lang string, content func() *conversation.Content) (*Session, error) {
	s.dropExpired(ctx)
	if s.opts.ScratchSize != nil && s.opts.ScratchSize() > s.opts.MaxScratchBytes {
		return nil, ErrFull
	}
	c := content()
	if !offered(c, lang) {
		lang = c.Flows.Programme.DefaultLanguage
	}
	now := time.Now().UTC().Truncate(time.Minute)
	sess := &Session{
		ID:            store.NewID("sim_"),
		Code:          strings.ToUpper(store.NewID("")[:6]),
		sim:           s,
		clock:         clock.NewFake(now),
		participantID: store.NewID("p_"),
		started:       s.opts.Now(),
		content:       content,
	}
	sess.address = "sim:" + sess.ID
	live := conversation.NewLive(c)
	windows := schedule.NewLedger(s.store, live, sess.clock, s.log)
	sess.conv = conversation.New(s.store, s.box, live, sess.clock, s.log, windows)
	err := s.store.CreateParticipant(ctx, store.Participant{
		ID: sess.participantID, Label: "Simulated person", Language: lang, TimeZone: "UTC",
		Status: store.Active, Schedule: schedule.DemoSchedule(), CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("simulator: create participant: %w", err)
	}
	sess.sched = schedule.New(sess.conv, windows, schedule.Options{Owner: sess.ID})
	if err := sess.sched.Replan(ctx, sess.participantID); err != nil {
		return nil, fmt.Errorf("simulator: plan schedule: %w", err)
	}
	if err := s.store.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: sess.Code, ParticipantID: sess.participantID, ExpiresAt: now.Add(MaxSkip * 10)}); err != nil {
		return nil, fmt.Errorf("simulator: enrolment code: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= MaxSessions {
		s.dropOldestLocked(ctx)
	}
	s.sessions[sess.ID] = sess
	return sess, nil
}

// Session returns a simulated person by ID; one whose hour is over is
// gone.
func (s *Simulator) Session(id string) (*Session, bool) {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	s.mu.Unlock()
	if ok && s.expired(sess) {
		s.Drop(context.Background(), id)
		return nil, false
	}
	return sess, ok
}

func (s *Simulator) expired(sess *Session) bool {
	return !s.opts.Now().Before(sess.started.Add(SessionLife))
}

// dropExpired erases every simulated person whose hour is over, with all
// the scratch store holds of them: the scratch store's retention.
func (s *Simulator) dropExpired(ctx context.Context) {
	s.mu.Lock()
	var gone []string
	for id, sess := range s.sessions {
		if s.expired(sess) {
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.Drop(ctx, id)
	}
}

// Drop forgets a simulated person and everything the scratch store holds
// about them.
func (s *Simulator) Drop(ctx context.Context, id string) {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	delete(s.sessions, id)
	s.mu.Unlock()
	if ok {
		if err := s.store.DeleteParticipant(ctx, sess.participantID); err != nil {
			s.log.Warn("simulator: drop session", "err", err)
		}
	}
}

// dropOldestLocked drops the person started longest ago, busy or not:
// keeping a session busy must not keep it for ever.
func (s *Simulator) dropOldestLocked(ctx context.Context) {
	var oldest *Session
	for _, sess := range s.sessions {
		if oldest == nil || sess.started.Before(oldest.started) {
			oldest = sess
		}
	}
	if oldest != nil {
		delete(s.sessions, oldest.ID)
		_ = s.store.DeleteParticipant(ctx, oldest.participantID)
	}
}

// Language is the simulated person's language now.
func (sess *Session) Language(ctx context.Context) string {
	if p, err := sess.sim.store.GetParticipant(ctx, sess.participantID); err == nil {
		return p.Language
	}
	return ""
}

// Now is the simulated person's clock.
func (sess *Session) Now() time.Time { return sess.clock.Now() }

// Transcript returns everything said so far, oldest first.
func (sess *Session) Transcript() []Reply {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return append([]Reply(nil), sess.transcript...)
}

// Send delivers text from the simulated person and returns the replies.
func (sess *Session) Send(ctx context.Context, text string) ([]Reply, error) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if err := sess.use(); err != nil {
		return nil, err
	}
	sess.conv.SetContent(sess.content())
	in := conversation.Inbound{Channel: store.Simulator, Address: sess.address, Text: text}
	switch {
	case len(text) > 4*conversation.MaxText || len([]rune(text)) > conversation.MaxText:
		in.Problem = conversation.TooLong
	case !utf8.ValidString(text):
		in.Problem = conversation.InvalidText
	}
	shown := text
	if in.Problem != conversation.NoProblem {
		shown = "(" + string(in.Problem) + ")"
	}
	sess.record(Reply{FromPerson: true, Text: shown, At: sess.clock.Now()})
	out, err := sess.conv.Handle(ctx, in)
	if err != nil {
		return nil, err
	}
	var replies []Reply
	for _, d := range out.Direct {
		replies = append(replies, Reply{Text: d, At: sess.clock.Now()})
	}
	more, err := sess.drain(ctx)
	replies = append(replies, more...)
	sess.record(replies...)
	return replies, err
}

// use counts one message or skip against MaxMessages and the session's
// hour.
func (sess *Session) use() error {
	if sess.sim.expired(sess) {
		return ErrSessionUsedUp
	}
	if sess.sent >= MaxMessages {
		return ErrSessionUsedUp
	}
	sess.sent++
	return nil
}

// record adds lines to the transcript, keeping the latest MaxTranscript.
func (sess *Session) record(lines ...Reply) {
	sess.transcript = append(sess.transcript, lines...)
	if over := len(sess.transcript) - MaxTranscript; over > 0 {
		sess.transcript = append(sess.transcript[:0:0], sess.transcript[over:]...)
	}
}

// Skip moves the simulated clock ahead by d and returns what happened
// meanwhile: timeouts firing, reminders and missed check-ins, each at its
// own simulated time.
func (sess *Session) Skip(ctx context.Context, d time.Duration) ([]Reply, error) {
	if d < time.Minute || d > MaxSkip {
		return nil, ErrBadSkip
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if err := sess.use(); err != nil {
		return nil, err
	}
	sess.conv.SetContent(sess.content())
	target := sess.clock.Now().Add(d)
	replies, err := sess.runSchedule(ctx, target)
	if err != nil {
		return replies, err
	}
	sess.clock.Set(target)
	if err := sess.conv.Tick(ctx, sess.participantID); err != nil {
		return replies, err
	}
	more, err := sess.drain(ctx)
	replies = append(replies, more...)
	sess.record(replies...)
	return replies, err
}

// maxScheduleSteps bounds the due items one Skip handles.
const maxScheduleSteps = 500

// runSchedule steps the clock through the person's due items up to target,
// earliest first, and runs the scheduler at each, so that every reminder
// goes out at its own time and sees what happened before it. What each
// step sends is delivered at once, as a provider would, so that the
// ledger sees the prompts that reached the person.
func (sess *Session) runSchedule(ctx context.Context, target time.Time) ([]Reply, error) {
	var replies []Reply
	for range maxScheduleSteps {
		at, ok, err := sess.sched.NextDue(ctx, sess.participantID)
		if err != nil || !ok || at.After(target) {
			return replies, err
		}
		if at.After(sess.clock.Now()) {
			sess.clock.Set(at)
		}
		if err := sess.conv.Tick(ctx, sess.participantID); err != nil {
			return replies, err
		}
		n, err := sess.sched.RunParticipant(ctx, sess.participantID, sess.clock.Now())
		more, derr := sess.drain(ctx)
		replies = append(replies, more...)
		if err != nil || derr != nil || n == 0 {
			return replies, errors.Join(err, derr)
		}
	}
	return replies, nil
}

// drain takes the person's queued replies out of the scratch outbox, marking
// them delivered, as a provider would.
func (sess *Session) drain(ctx context.Context) ([]Reply, error) {
	st := sess.sim.store
	// The scratch outbox is shared by every simulated person, each with its
	// own clock; claim far ahead, keep ours and hand back the rest.
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	msgs, err := st.ClaimOutbound(ctx, sess.ID, far, time.Millisecond, 1000)
	if err != nil {
		return nil, fmt.Errorf("simulator: read replies: %w", err)
	}
	var out []Reply
	lang := ""
	if p, err := st.GetParticipant(ctx, sess.participantID); err == nil {
		lang = p.Language
	}
	for _, m := range msgs {
		if m.ParticipantID != sess.participantID {
			continue // its lease ends at once; its own session will claim it
		}
		out = append(out, Reply{Text: m.Text, Choices: m.Choices, At: m.CreatedAt, Lang: lang})
		m.Status = store.Delivered
		if err := st.UpdateOutbound(ctx, m); err != nil {
			return out, fmt.Errorf("simulator: mark delivered: %w", err)
		}
	}
	return out, nil
}

func offered(c *conversation.Content, lang string) bool {
	return slices.Contains(c.Flows.Programme.Languages, lang)
}
