// Package store declares Waymark's storage seam in domain terms. Backends
// (bolt, redis) implement Store and must pass the contract suite in
// storetest; a behaviour only one backend has is a bug.
//
// Nothing here ever holds a phone number, chat ID or message text in clear,
// with one exception: OutboundMessage.Text, which lives only until the
// message reaches a final status, or a short while after the provider took
// it when no final status comes (PurgeOutboundText).
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"time"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrConflict    = errors.New("store: already exists")
	ErrUnavailable = errors.New("store: backend unavailable")
	// ErrStale refuses a write of a participant's record that was read
	// before someone else changed it: read it again and redo the change.
	ErrStale = errors.New("store: changed since it was read")
	// ErrBadCursor refuses a page cursor the store did not hand out.
	ErrBadCursor = errors.New("store: not a cursor of this list")
)

// Channel names the way a person reaches Waymark.
type Channel string

const (
	SMS       Channel = "sms"
	WhatsApp  Channel = "whatsapp"
	Telegram  Channel = "telegram"
	Simulator Channel = "simulator"

	// MissedCall and Keypad are how a check-in came by telephone: a call
	// rejected unanswered (free to the caller), or a key pressed in the
	// telephone menu. They only ever appear on a CheckIn, never on a Link or
	// an OutboundMessage: the caller is known by their SMS link.
	MissedCall Channel = "missed_call"
	Keypad     Channel = "keypad"
	// MissedCallUnverified is a missed call whose caller ID the carrier did
	// not vouch for in full (no STIR/SHAKEN "A" attestation): it counts,
	// but anyone can make a call show a number, so caseworkers see it.
	MissedCallUnverified Channel = "missed_call_unverified"
)

// channelLabels are the names caseworkers read.
var channelLabels = map[Channel]string{
	SMS: "SMS", WhatsApp: "WhatsApp", Telegram: "Telegram", Simulator: "Simulator",
	MissedCall: "Missed call", Keypad: "Phone keypad",
	MissedCallUnverified: "Missed call, caller ID not verified",
}

// Label is the channel's name for caseworker pages and the API, e.g.
// "Missed call"; an unknown channel is shown as its code.
func (c Channel) Label() string {
	if l, ok := channelLabels[c]; ok {
		return l
	}
	return string(c)
}

// ParticipantStatus is where a person stands in the programme.
type ParticipantStatus string

const (
	Active ParticipantStatus = "active"
	Paused ParticipantStatus = "paused" // illness, hospital, caseworker's decision: no reminders, no misses
	Exited ParticipantStatus = "exited"
)

// Participant is a person in the programme, known by a pseudonymous ID.
// Label is the caseworker's own reference (never a phone number).
type Participant struct {
	// Revision counts the record's changes. A write carries the revision
	// it read and is refused with ErrStale when the record has changed
	// since, so that a person's message and a caseworker's edit at the
	// same moment never overwrite each other (an opt-out lost, a pause
	// undone); the store saves the record one revision higher. A new
	// record is revision 1.
	Revision int64 `json:"rev,omitempty"`

	ID           string            `json:"id"`
	Label        string            `json:"label"`
	Language     string            `json:"language"`
	TimeZone     string            `json:"time_zone"`
	CaseworkerID string            `json:"caseworker_id,omitempty"`
	Status       ParticipantStatus `json:"status"`
	OptedOut     bool              `json:"opted_out"`
	OptedOutAt   time.Time         `json:"opted_out_at,omitzero"`
	// ExitedAt is when Status became Exited: everything about the person
	// is deleted retention.exited_participants later (internal/retention,
	// which falls back to UpdatedAt when it is not set).
	ExitedAt time.Time `json:"exited_at,omitzero"`
	// LastLink is the blind index of the link the person last wrote from;
	// replies go there.
	LastLink  string    `json:"last_link,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Schedule says when the person is asked to check in; nil means never.
	Schedule *CheckInSchedule `json:"schedule,omitempty"`

	// Child marks a person under 18: their case goes only to a caseworker
	// trained in child protection, and nothing is sent to them in quiet
	// hours whatever programme.yaml says.
	Child bool `json:"child,omitempty"`

	// ConsentedAt is when the person agreed to get messages, and
	// ConsentVersion names the wording they saw (language and a digest of
	// the notice and the question). Zero means they have not agreed:
	// silence is never consent, so nothing is sent them unasked and no
	// check-in window counts (internal/ledger: not_consented).
	ConsentedAt    time.Time `json:"consented_at,omitzero"`
	ConsentVersion string    `json:"consent_version,omitempty"`
	// ConsentAskedAt is when they were last asked, and ConsentAsks how
	// often: the scheduler asks once more after checkin.consent_reask,
	// then tells the caseworker, and never asks a third time.
	ConsentAskedAt time.Time `json:"consent_asked_at,omitzero"`
	ConsentAsks    int       `json:"consent_asks,omitempty"`
	// SMSAgreedAt is when a person who joined by WhatsApp agreed that a
	// message WhatsApp will not carry (no approved template outside the
	// 24-hour window) may go to the same number by SMS, where the
	// programme offers it (programme.yaml whatsapp.fallback: sms). Zero
	// means they did not: such a message is not sent.
	SMSAgreedAt time.Time `json:"sms_agreed_at,omitzero"`

	// Pauses are the person's recent pauses, oldest first, the last one
	// open (Until zero) while Status is Paused: a window that overlaps a
	// pause is "paused", never "missed", even when the pause ended before
	// the window closed. Only the last MaxPauses are kept.
	Pauses []Pause `json:"pauses,omitempty"`

	// VoicePIN is a keyed digest (HMAC with the blind-index key) of the
	// PIN the person chose by text to open the telephone menu; never the
	// PIN. Empty when they chose none.
	VoicePIN string `json:"voice_pin,omitempty"`

	// TextsWindow is the ref of the window a check-in would count for
	// when the person last wrote, and TextsInWindow how many texts they
	// sent since it opened: copied to the window as Window.Texts when a
	// text checks them in, for the report's "texts per check-in". A
	// count, never what the texts said.
	TextsWindow   string `json:"texts_window,omitempty"`
	TextsInWindow int    `json:"texts_in_window,omitempty"`
}

// Pause is a time a participant was paused; Until is zero while it lasts.
type Pause struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until,omitzero"`
}

// MaxPauses is how many pauses a participant record keeps: enough to
// cover every window still undecided, however often a caseworker pauses.
const MaxPauses = 8

// SetStatus moves p to status at now, keeping the pause record: a pause
// begins when Paused starts and ends when any other status follows.
func (p *Participant) SetStatus(status ParticipantStatus, now time.Time) {
	if status == p.Status {
		return
	}
	if n := len(p.Pauses); n > 0 && p.Pauses[n-1].Until.IsZero() {
		p.Pauses[n-1].Until = now
	}
	if status == Paused {
		p.Pauses = append(p.Pauses, Pause{From: now})
		if len(p.Pauses) > MaxPauses {
			p.Pauses = p.Pauses[len(p.Pauses)-MaxPauses:]
		}
	}
	p.Status = status
}

// Consented reports whether the person has agreed to get messages.
func (p Participant) Consented() bool { return !p.ConsentedAt.IsZero() }

// CheckInSchedule is when a person is asked to check in, in local time in
// their own time zone (Participant.TimeZone). One of Weekly or Every is
// set; internal/schedule validates it and turns it into windows.
type CheckInSchedule struct {
	// From is the local date (2006-01-02) of the first day windows may
	// open; empty means no limit. For Every it is also the date of the
	// first window, from which the others are counted.
	From   string         `json:"from,omitempty"`
	Weekly []WeeklyWindow `json:"weekly,omitempty"`
	Every  *EveryDays     `json:"every,omitempty"`
}

// WeeklyWindow is a window that opens and closes on given days of every
// week, e.g. Monday 09:00 to Wednesday 21:00. A window may cross midnight
// or the end of the week (Sunday 20:00 to Monday 08:00).
type WeeklyWindow struct {
	OpenDay   string `json:"open_day"`   // monday ... sunday
	OpenTime  string `json:"open_time"`  // local, 15:04
	CloseDay  string `json:"close_day"`  // monday ... sunday
	CloseTime string `json:"close_time"` // local, 15:04
}

// EveryDays is a window that opens every Days days from the schedule's
// From date at OpenTime and stays open for Length (on the local clock).
type EveryDays struct {
	Days     int    `json:"days"`      // 1 daily, 7 weekly, 14 fortnightly ...
	OpenTime string `json:"open_time"` // local, 15:04
	Length   string `json:"length"`    // e.g. "12h", "2d" or "1d12h"
}

// Link ties one channel address to a participant. The address itself is
// only held sealed; Index is its blind index (HMAC), the lookup key.
type Link struct {
	Index         string    `json:"index"`
	Channel       Channel   `json:"channel"`
	ParticipantID string    `json:"participant_id"`
	Sealed        []byte    `json:"sealed"`
	Masked        string    `json:"masked"` // e.g. "+44 7*** ***123", for caseworker pages
	Unreachable   bool      `json:"unreachable"`
	Reason        string    `json:"reason,omitempty"` // why unreachable: a provider error code, "blocked"
	LinkedAt      time.Time `json:"linked_at"`
	LastSeenAt    time.Time `json:"last_seen_at,omitzero"`
}

// EnrolmentCode is a one-time code a caseworker hands to a person so that
// the first message from their phone links it to their record.
type EnrolmentCode struct {
	Code          string    `json:"code"`
	ParticipantID string    `json:"participant_id"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// Session is a conversation in progress. The domain checks ExpiresAt
// against its own clock; backends also drop expired sessions on their own
// (Redis TTL, bolt sweep) so that nothing lingers.
type Session struct {
	ParticipantID string            `json:"participant_id"`
	Flow          string            `json:"flow"`
	Node          string            `json:"node"`
	Vars          map[string]string `json:"vars,omitempty"`
	WaitUntil     time.Time         `json:"wait_until,omitzero"` // an ask node's timeout
	UpdatedAt     time.Time         `json:"updated_at"`
	ExpiresAt     time.Time         `json:"expires_at"`
}

// CheckInOutcome says how a check-in relates to the person's schedule.
type CheckInOutcome string

const (
	OnTime      CheckInOutcome = "on_time"
	Late        CheckInOutcome = "late"
	Unscheduled CheckInOutcome = "unscheduled" // no window open or no schedule
	// Repeat is a further check-in for a window that already has one (say
	// on SMS, then on Telegram): recorded, but the window counts once.
	Repeat CheckInOutcome = "repeat"
)

// CheckIn is the record of one check-in: when and through which channel.
// Never the words the person used.
type CheckIn struct {
	ID            string         `json:"id"`
	ParticipantID string         `json:"participant_id"`
	At            time.Time      `json:"at"`
	Channel       Channel        `json:"channel"`
	Outcome       CheckInOutcome `json:"outcome"`
}

// AttentionKind is why a person needs a human.
type AttentionKind string

const (
	AttentionMissed     AttentionKind = "missed_checkin"
	AttentionCantReach  AttentionKind = "cant_reach"
	AttentionCallback   AttentionKind = "callback_request"
	AttentionCantMakeIt AttentionKind = "cant_make_it"
	AttentionReschedule AttentionKind = "reschedule_request"
	AttentionOptedOut   AttentionKind = "opted_out"
	// AttentionNotConsented: the person was asked twice whether they agree
	// to get messages and never answered. Nothing is sent to them and no
	// window counts until they do; a caseworker may reach them another way.
	AttentionNotConsented AttentionKind = "not_consented"
	// AttentionErasure: the person texted DELETE and confirmed, and their
	// channel links are gone already; or, having opted out, they could not
	// be asked to confirm, and the links stay (Reason says so). Either way
	// the caseworker decides about the rest (store.DeleteParticipant).
	AttentionErasure AttentionKind = "erasure_request"
)

// AttentionKinds are every kind of item, in the order caseworkers read
// them.
var AttentionKinds = []AttentionKind{
	AttentionMissed, AttentionCantReach, AttentionCallback, AttentionCantMakeIt,
	AttentionReschedule, AttentionOptedOut, AttentionNotConsented, AttentionErasure,
}

// AttentionItem is one entry in a caseworker's "needs attention" queue.
type AttentionItem struct {
	ID            string        `json:"id"`
	ParticipantID string        `json:"participant_id"`
	Kind          AttentionKind `json:"kind"`
	Reason        string        `json:"reason,omitempty"` // a short code, never free text from the person
	CreatedAt     time.Time     `json:"created_at"`
	ResolvedAt    time.Time     `json:"resolved_at,omitzero"`
	ResolvedBy    string        `json:"resolved_by,omitempty"`
	Resolution    string        `json:"resolution,omitempty"` // contacted, excused, rescheduled, paused, resolved, or one of the system's below

	// Ref is what the item is about: a check-in window
	// ("win:<participant>:<opening, Unix seconds>") or an appointment ID.
	Ref string `json:"ref,omitempty"`
}

// Resolutions the system records when the fact behind an item changes;
// ResolvedBy is then "system".
const (
	ResolvedCheckedInLate = "checked_in_late" // a missed check-in, made late
	ResolvedCheckedIn     = "checked_in"      // "can't make it", and then they checked in
	ResolvedOptedIn       = "opted_in"        // an opt-out, undone by START
	ResolvedDelivered     = "delivered"       // can't reach: a message reached the person
	ResolvedConsented     = "consented"       // not consented: the person agreed
	ResolvedNotDelivered  = "not_delivered"   // a missed check-in whose prompt, it turned out, never reached the person
	ResolvedBySystem      = "system"
)

// Open reports whether nobody has dealt with the item yet.
func (a AttentionItem) Open() bool { return a.ResolvedAt.IsZero() }

// WindowOutcome is what became of one planned check-in window: exactly
// one per window, decided by internal/ledger from recorded facts, and
// only ever moved in the person's favour.
type WindowOutcome string

const (
	// WindowOpen is a window not yet decided: open, or in its grace period.
	WindowOpen           WindowOutcome = "open"
	WindowOnTime         WindowOutcome = "on_time"
	WindowLate           WindowOutcome = "late"
	WindowReportedUnable WindowOutcome = "reported_unable"
	WindowExcused        WindowOutcome = "excused"
	WindowPaused         WindowOutcome = "paused"
	WindowNotConsented   WindowOutcome = "not_consented"
	WindowOptedOut       WindowOutcome = "opted_out"
	WindowNotDelivered   WindowOutcome = "not_delivered"
	WindowMissed         WindowOutcome = "missed"
)

// Window is the ledger's record of one check-in window of a participant:
// when it was, the facts recorded about it that are not kept elsewhere,
// and its outcome once decided. Ref is the window's ID
// ("win:<participant>:<opening, Unix seconds>"), as on its due items and
// attention items.
type Window struct {
	Ref           string    `json:"ref"`
	ParticipantID string    `json:"participant_id"`
	OpensAt       time.Time `json:"opens_at"`
	ClosesAt      time.Time `json:"closes_at"`
	GraceEndsAt   time.Time `json:"grace_ends_at"`

	Outcome     WindowOutcome `json:"outcome"`
	DecidedAt   time.Time     `json:"decided_at,omitzero"` // when the grace ended and the outcome was first decided
	CheckInID   string        `json:"checkin_id,omitempty"`
	AttentionID string        `json:"attention_id,omitempty"` // the item raised for it: missed, can't reach, can't make it

	// Facts only the ledger keeps.
	ReportedUnableAt time.Time `json:"reported_unable_at,omitzero"` // "can't make it", before the grace ended
	ExcusedAt        time.Time `json:"excused_at,omitzero"`
	ExcusedBy        string    `json:"excused_by,omitempty"` // a caseworker ID
	UpdatedAt        time.Time `json:"updated_at"`

	// Texts is how many texts (SMS, WhatsApp, Telegram) the person sent
	// from the window's opening up to and including the one that checked
	// them in; zero when the check-in came another way (a missed call),
	// or before Waymark counted.
	Texts int `json:"texts,omitempty"`
}

// AuditEntry records who did what to which participant, and when.
type AuditEntry struct {
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	Actor         string    `json:"actor"` // "participant", "system" or a caseworker ID
	Action        string    `json:"action"`
	ParticipantID string    `json:"participant_id,omitempty"`
	Detail        string    `json:"detail,omitempty"` // never a phone number, chat ID or message text
}

// MessageStatus is an outbound message's delivery state. Statuses only move
// forward (see Rank).
type MessageStatus string

const (
	Pending     MessageStatus = "pending" // stored, waiting for the dispatcher
	Queued      MessageStatus = "queued"  // accepted by the provider
	Sent        MessageStatus = "sent"
	Delivered   MessageStatus = "delivered"
	Read        MessageStatus = "read"
	Undelivered MessageStatus = "undelivered"
	Failed      MessageStatus = "failed"
)

// Final reports whether no further status can follow; at a final status the
// message text is deleted.
func (s MessageStatus) Final() bool {
	switch s {
	case Delivered, Read, Undelivered, Failed:
		return true
	}
	return false
}

// Accepted is m once its provider has taken it: Queued, with no error
// code left from an earlier attempt and no send in doubt.
func Accepted(m OutboundMessage) OutboundMessage {
	m.Status, m.ErrorCode, m.SendBegan = Queued, "", time.Time{}
	return m
}

// PastQueued reports whether a message at status s has heard from its
// provider after being accepted (sent, delivered, read or a failure), so
// that recording the acceptance must not move it back to Queued.
func (s MessageStatus) PastQueued() bool {
	switch s {
	case Sent, Delivered, Read, Undelivered, Failed:
		return true
	}
	return false
}

// AcceptedOver is the record MarkSent saves for m over the stored record
// cur: cur, whose later status stays, with m's ProviderID, Attempts,
// UpdatedAt and Segments when cur is PastQueued; Accepted(m) otherwise.
func AcceptedOver(cur, m OutboundMessage) OutboundMessage {
	if !cur.Status.PastQueued() {
		return Accepted(m)
	}
	cur.ProviderID, cur.Attempts, cur.UpdatedAt = m.ProviderID, m.Attempts, m.UpdatedAt
	cur.SendBegan = time.Time{}
	if m.Segments > 0 {
		cur.Segments = m.Segments
	}
	return cur
}

// DropWords forgets what the message says (its text and its template's
// variables), keeping the record of which message it was and what became
// of it: done at a final status and by retention.
func (m *OutboundMessage) DropWords() {
	m.Text, m.Template = "", nil
}

// HasWords reports whether the message still holds words DropWords would
// forget.
func (m OutboundMessage) HasWords() bool { return m.Text != "" || m.Template != nil }

// Template is a provider's pre-approved message (a Twilio Content
// template, "HX..."), with its numbered variables filled from the
// message's values: {"1": "Tuesday", "2": "09:00"}.
type Template struct {
	SID       string            `json:"sid"`
	Variables map[string]string `json:"variables,omitempty"`
}

// Route is how a message goes when not as free text on its own channel.
type Route string

const (
	// RouteTemplate: as its approved template (WhatsApp, outside the
	// 24-hour window).
	RouteTemplate Route = "template"
	// RouteSMS: by SMS to the same number, where WhatsApp would not carry
	// it and the person agreed.
	RouteSMS Route = "sms"
)

// Choice is a numbered reply option shown with a question; Telegram shows it
// as a button carrying Data.
type Choice struct {
	Number int    `json:"number"`
	Label  string `json:"label"`
	Data   string `json:"data"`
}

// OutboundMessage is a message waiting in, or passed through, the outbox.
// It names the link (blind index), never the address.
type OutboundMessage struct {
	ID            string  `json:"id"`
	ParticipantID string  `json:"participant_id"`
	LinkIndex     string  `json:"link_index"`
	Channel       Channel `json:"channel"`
	Kind          string  `json:"kind"` // the message ID, kept after Text is gone
	// Ref is the check-in window a prompt or reminder is about, so that
	// the ledger can tell a window whose every prompt failed ("not
	// delivered") from one the person ignored ("missed").
	Ref  string `json:"ref,omitempty"`
	Text string `json:"text,omitempty"`
	// Segments is how many SMS segments Text takes (billed messages),
	// counted when it is queued and kept after Text is gone, for the
	// programme report's cost. Zero on other channels and older records.
	Segments int      `json:"segments,omitempty"`
	Choices  []Choice `json:"choices,omitempty"`
	// Template, on WhatsApp, is the approved template that carries the
	// message outside the person's 24-hour window, with its variables
	// filled: words of the message, so they go with Text at a final
	// status. Nil when programme.yaml names none for the message and
	// language.
	Template *Template `json:"template,omitempty"`
	// FallbackSMS, on WhatsApp, allows a message WhatsApp will not carry to
	// go to the same number by SMS: the programme offers it and the person
	// agreed when they joined.
	FallbackSMS bool `json:"fallback_sms,omitempty"`
	// Route is how the message was last sent when not as free text on its
	// channel: RouteTemplate or RouteSMS. It is chosen at each send and
	// kept so that a refusal is answered once, never in a loop.
	Route Route `json:"route,omitempty"`
	// SendBegan is when the current attempt was handed to the provider,
	// recorded (MarkSending) before the call and cleared once the
	// provider's answer is recorded. A Pending message that still carries
	// it is in doubt: a process began to send it and never recorded an
	// answer (it crashed, or the answer was lost), so the provider may
	// have it already.
	SendBegan  time.Time     `json:"send_began,omitzero"`
	Status     MessageStatus `json:"status"`
	Attempts   int           `json:"attempts"`
	NotBefore  time.Time     `json:"not_before"`
	ProviderID string        `json:"provider_id,omitempty"`
	ErrorCode  string        `json:"error_code,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// Turn is everything one inbound message or scheduled event changes. A
// backend applies it atomically where it can, so that a crash never leaves a
// check-in recorded without its reply queued, or the reverse.
type Turn struct {
	ParticipantID string
	// Participant, when set, is saved, as UpdateParticipant saves it: a
	// turn whose participant was changed since it was read is refused
	// whole with ErrStale. A turn may create the record (Revision 0).
	Participant *Participant
	Session     *Session // saved when set
	EndSession  bool     // delete the session (ignored when Session is set)
	CheckIns    []CheckIn
	Attention   []AttentionItem
	// Resolved are attention items of the participant closed by the
	// turn, saved whole over the stored ones; an item no longer stored is
	// skipped (a caseworker deleted the person meanwhile).
	Resolved []AttentionItem
	// Windows are ledger records saved by the turn, each replacing the
	// participant's record of the same Ref.
	Windows  []Window
	Audit    []AuditEntry
	Outbound []OutboundMessage
	// DedupeKey, when set, is recorded until DedupeUntil together with the
	// rest of the turn, so that a provider's retry of a message whose turn
	// failed is handled again, and one whose turn landed is not.
	DedupeKey   string
	DedupeUntil time.Time
	// SeenOn, when set, is the index of the link the message came from:
	// its LastSeenAt becomes SeenAt, if the link still belongs to the
	// participant. Nothing else of the link changes, so what changed
	// meanwhile (the outbox marking it unreachable) is kept, and a link
	// deleted meanwhile stays deleted.
	SeenOn string
	SeenAt time.Time
}

// TurnState is what a turn starts from, read in one step by LoadTurn.
type TurnState struct {
	Participant Participant
	Session     *Session // nil when there is none, or it has expired
	// Seen reports whether the dedupe key asked about is recorded, by a
	// turn of this participant or by FirstSeen.
	Seen bool
}

// SendCheck is what a send starts from, read by BeginSend.
type SendCheck struct {
	Participant *Participant // nil when there is none
	Link        *Link        // nil when there is none
	// FirstSeen reports whether the dedupe key was new, as FirstSeen does.
	FirstSeen bool
	// Count is the new count of the SendCount's counter when BeginSend
	// counted (the key was new); 0 when it did not.
	Count int
}

// SendCount is a counter BeginSend adds one to, as Counters.Increment
// does, when its dedupe key is new: the outbox's loop guard counts a
// message on its first look in the same step. A zero SendCount counts
// nothing.
type SendCount struct {
	Key       string
	ExpiresAt time.Time
}

// Participants keeps participant records.
type Participants interface {
	CreateParticipant(ctx context.Context, p Participant) error // ErrConflict if the ID exists
	GetParticipant(ctx context.Context, id string) (Participant, error)
	// GetParticipants returns the participants of ids that exist, in the
	// order of ids: one read for the people on a page.
	GetParticipants(ctx context.Context, ids []string) ([]Participant, error)
	// UpdateParticipant saves a record read before: ErrNotFound if it is
	// missing, ErrStale if its Revision is not the stored one.
	UpdateParticipant(ctx context.Context, p Participant) error
	// ListParticipants returns every participant, ordered by ID: for work
	// over the whole programme (the scheduler's start, retention, the
	// report), never for a request.
	ListParticipants(ctx context.Context) ([]Participant, error)
	// PageParticipants returns up to limit participants ordered by ID,
	// starting after cursor ("" for the first page), and the cursor of the
	// next page ("" after the last).
	PageParticipants(ctx context.Context, cursor string, limit int) ([]Participant, string, error)
	// ParticipantsOf returns a caseworker's caseload, ordered by ID; with
	// an empty caseworkerID, the participants no caseworker was given.
	ParticipantsOf(ctx context.Context, caseworkerID string) ([]Participant, error)
	// CaseloadIDs returns the IDs ParticipantsOf would, in order, without
	// reading the records: a caseworker's queue needs only who is in the
	// caseload. After a write cut short by a crash it may still name
	// someone who left the caseload (Redis keeps the list beside the
	// records), so callers check the records of the people they show.
	CaseloadIDs(ctx context.Context, caseworkerID string) ([]string, error)
	// PageCaseload is ParticipantsOf a page at a time: up to limit after
	// cursor, and the next page's cursor ("" after the last).
	PageCaseload(ctx context.Context, caseworkerID, cursor string, limit int) ([]Participant, string, error)
	// Caseloads counts the participants of every caseworker ID that has
	// any, the empty ID for those with none.
	Caseloads(ctx context.Context) (map[string]Caseload, error)
	// DeleteParticipant erases the participant and everything keyed by it:
	// links, session, check-ins, attention items, queued messages.
	DeleteParticipant(ctx context.Context, id string) error
}

// Caseload is how many participants a caseworker has, and how many of
// them are children.
type Caseload struct {
	People   int `json:"people"`
	Children int `json:"children"`
}

// Links finds participants by the blind index of a channel address.
type Links interface {
	PutLink(ctx context.Context, l Link) error // insert or replace by Index
	GetLink(ctx context.Context, index string) (Link, error)
	LinksOf(ctx context.Context, participantID string) ([]Link, error) // ordered by Index
	DeleteLink(ctx context.Context, index string) error
	// ListLinks returns every link, ordered by Index: key rotation
	// (waymark rekey) re-seals them all.
	ListLinks(ctx context.Context) ([]Link, error)
}

// Enrolments holds one-time enrolment codes.
type Enrolments interface {
	PutEnrolmentCode(ctx context.Context, c EnrolmentCode) error // ErrConflict if the code exists
	// TakeEnrolmentCode returns and deletes the code in one step, so that two
	// people racing with one code cannot both enrol. The caller checks
	// ExpiresAt.
	TakeEnrolmentCode(ctx context.Context, code string) (EnrolmentCode, error)
}

// Sessions keeps conversations in progress, one per participant.
type Sessions interface {
	GetSession(ctx context.Context, participantID string) (Session, error)
	SaveSession(ctx context.Context, s Session) error
	DeleteSession(ctx context.Context, participantID string) error
}

// CheckIns keeps check-in records.
type CheckIns interface {
	RecordCheckIn(ctx context.Context, c CheckIn) error
	// CheckInsOf returns a participant's check-ins at or after since, oldest first.
	CheckInsOf(ctx context.Context, participantID string, since time.Time) ([]CheckIn, error)
	// LastCheckIns returns the latest check-in of each of the people who
	// have one, by participant ID: one read for a page of people, however
	// many check-ins each has.
	LastCheckIns(ctx context.Context, participantIDs []string) (map[string]CheckIn, error)
}

// Windows keeps the ledger: one record per check-in window a participant
// has had, written by turns (Turn.Windows).
type Windows interface {
	// WindowsOf returns a participant's windows that open at or after
	// since, ordered by OpensAt.
	WindowsOf(ctx context.Context, participantID string, since time.Time) ([]Window, error)
	// GetWindow returns one window by participant and Ref; ErrNotFound if
	// there is none.
	GetWindow(ctx context.Context, participantID, ref string) (Window, error)
}

// History is what the programme report reads of one person: their windows
// and check-ins from a time, and all their messages, attention items and
// appointments, each ordered as its own method orders it.
type History struct {
	Windows      []Window
	CheckIns     []CheckIn
	Messages     []OutboundMessage
	Attention    []AttentionItem
	Appointments []Appointment
}

// Histories reads a person's history in one go where the backend allows
// (Redis: one pipeline and the appointments), because the report reads
// every participant's.
type Histories interface {
	// HistoryOf returns what WindowsOf and CheckInsOf (from since),
	// OutboundOf, AttentionOf and AppointmentsOf return for the person.
	HistoryOf(ctx context.Context, participantID string, since time.Time) (History, error)
}

// Attention keeps the caseworkers' queue.
type Attention interface {
	AddAttention(ctx context.Context, a AttentionItem) error
	// ListAttention returns items, newest first; only open ones when
	// openOnly. It reads the whole queue: for tools, never for a request.
	ListAttention(ctx context.Context, openOnly bool) ([]AttentionItem, error)
	// GetAttention returns one item; ErrNotFound if there is none.
	GetAttention(ctx context.Context, id string) (AttentionItem, error)
	// PageAttention returns up to q.Limit items newest first (by
	// CreatedAt, then ID, both descending), only open ones when
	// q.OpenOnly, starting after q.Cursor, and the next page's cursor (""
	// after the last). An item resolved between two pages is not shown
	// again nor skipped over. With q.Kinds it keeps only items of those
	// kinds and reads at most AttentionScan items a call, so a page may
	// then hold fewer than q.Limit, or none, while a next cursor says more
	// may follow.
	PageAttention(ctx context.Context, q AttentionQuery) ([]AttentionItem, string, error)
	// AttentionOfMany returns the items of the given participants, newest
	// first as PageAttention orders them, only open ones when openOnly.
	AttentionOfMany(ctx context.Context, participantIDs []string, openOnly bool) ([]AttentionItem, error)
	// AttentionOf returns one participant's items, open and resolved,
	// oldest first (by CreatedAt, then ID).
	AttentionOf(ctx context.Context, participantID string) ([]AttentionItem, error)
	// ResolveAttention closes an item; ErrNotFound if missing.
	ResolveAttention(ctx context.Context, id, by, resolution string, at time.Time) error
	// TallyAttention counts the people with open items in the whole
	// queue, by kind, and the children among them, from counts the store
	// keeps as items open and close: it reads no item, so the whole
	// programme's queue is counted as cheaply as one page of it.
	TallyAttention(ctx context.Context) (AttentionTally, error)
}

// AttentionTally is who has open items in the whole queue. A person with
// two open items of one kind counts once for it; a child is counted in
// People and ByKind too.
type AttentionTally struct {
	People   int // with any open item
	Children int // children among People
	ByKind   map[AttentionKind]int
	// ChildrenByKind counts the children among ByKind's people.
	ChildrenByKind map[AttentionKind]int
}

// Audit is an append-only log of who did what.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns up to limit entries, newest first; all participants
	// when participantID is empty.
	ListAudit(ctx context.Context, participantID string, limit int) ([]AuditEntry, error)
	// PageAudit returns entries matching q, newest first (by At, then ID,
	// both descending), and the cursor of the next page ("" after the
	// last). It reads at most AuditScan entries of its index a call, so a
	// page may hold fewer than q.Limit entries, or none, while a next
	// cursor says more may follow.
	PageAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error)
}

// AttentionQuery is a page of the attention queue.
type AttentionQuery struct {
	OpenOnly bool
	Kinds    []AttentionKind // any kind when empty
	Cursor   string
	Limit    int
}

// AttentionScan bounds how many items PageAttention reads for one page
// when it filters by kind.
const AttentionScan = 2000

// Matches reports whether a is of a kind the query asks for.
func (q AttentionQuery) Matches(a AttentionItem) bool {
	return len(q.Kinds) == 0 || slices.Contains(q.Kinds, a.Kind)
}

// AuditQuery is a page of the audit log: the entries of one participant
// when Participant is set, by one actor, of one action, with At in
// [From, To) where set.
type AuditQuery struct {
	Participant, Actor, Action string
	From, To                   time.Time
	Cursor                     string
	Limit                      int
}

// AuditScan bounds how many index entries PageAudit reads for one page,
// so that a filter that matches little never reads the whole log.
const AuditScan = 2000

// Matches reports whether e is one the query asks for (its participant
// aside, which the index chooses).
func (q AuditQuery) Matches(e AuditEntry) bool {
	return (q.Actor == "" || e.Actor == q.Actor) && (q.Action == "" || e.Action == q.Action) &&
		(q.From.IsZero() || !e.At.Before(q.From)) && (q.To.IsZero() || e.At.Before(q.To))
}

// Dedupe remembers provider message IDs so that a retried webhook changes
// nothing.
type Dedupe interface {
	// FirstSeen records key until expiresAt and reports whether it was new.
	FirstSeen(ctx context.Context, key string, expiresAt time.Time) (bool, error)
	// Seen reports whether key is recorded (by FirstSeen or a Turn's
	// DedupeKey) and not yet expired, without recording it.
	Seen(ctx context.Context, key string) (bool, error)
}

// Leases let several processes share work: a lease is held by one owner
// until it expires or is released, so a crashed owner's work is taken over.
type Leases interface {
	// AcquireLease takes or renews name for owner for ttl; false if another
	// owner holds it.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// ReleaseLease gives name up if owner holds it.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Outbox stores messages before they are sent, so that none is lost or sent
// twice.
type Outbox interface {
	EnqueueOutbound(ctx context.Context, msgs ...OutboundMessage) error
	// ClaimOutbound leases up to limit Pending messages with NotBefore <= now
	// to owner for lease, oldest first. A message leased to an owner that
	// did not finish is claimable again once the lease ends.
	//
	// One person's messages go in the order they were enqueued (made),
	// whichever owner sends them: a message is handed out only together
	// with every Pending message of its person made before it, or once
	// owner itself holds those from an earlier claim, and not while another
	// owner's lease holds one of the person's; each person's are returned
	// in that order. An owner that claims again while it holds some of a
	// person's messages must send the later ones after those (the
	// dispatcher queues them behind, per person). A message that must wait is set aside,
	// not looked at again claim after claim, and becomes claimable as soon
	// as the message it waits for leaves the queue (sent, failed, deleted)
	// or its lease ends. So a message deferred or waiting for a retry keeps
	// the person's later ones behind it.
	ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboundMessage, error)
	GetOutbound(ctx context.Context, id string) (OutboundMessage, error)
	// UpdateOutbound saves m and ends any lease on it. Text is dropped when
	// m.Status is final. ErrNotFound if missing.
	UpdateOutbound(ctx context.Context, m OutboundMessage) error
	// ChangeOutbound applies change to the message with that ID as it is
	// stored now and, when change says so, saves the result as
	// UpdateOutbound does, in one step: a change that raced another runs
	// again on what the other saved, so no update is lost (a late "sent"
	// never undoes "delivered" or brings back its dropped text). change
	// may run more than once and must only edit the message. It returns
	// the message as stored afterwards and whether change saved it;
	// ErrNotFound if missing.
	ChangeOutbound(ctx context.Context, id string, change func(*OutboundMessage) bool) (OutboundMessage, bool, error)
	// MarkSent records that the provider accepted m (m.ProviderID), a
	// message the caller claimed, and ends the lease: the message leaves
	// the queue. The record saved is Accepted(m), unless a status the
	// provider reported meanwhile moved the stored record past Queued (a
	// status callback can arrive before the send is recorded): then that
	// record is kept, status and error code included, with m's ProviderID,
	// Attempts and UpdatedAt (AcceptedOver). One step, so that a status
	// recorded at the same moment is never undone. Text is dropped at a
	// final status. ErrNotFound if missing.
	MarkSent(ctx context.Context, m OutboundMessage) error
	// MarkSending records that attempt m.Attempts of m, a message the
	// caller claimed, is handed to its provider at m.SendBegan: m is saved
	// over the stored record, as UpdateOutbound saves it, except that the
	// claim stays. It is written before the provider is called, so that
	// whoever finds the message still Pending later knows it may have
	// gone. ErrConflict when the stored message is no longer Pending (a
	// status reported for an earlier send moved it on: it must not be
	// sent again), and nothing is saved; ErrNotFound if missing.
	MarkSending(ctx context.Context, m OutboundMessage) error
	// BeginSend reads what must be checked before a message is sent to a
	// participant through a link, their record and the link (nil when
	// missing; an empty linkIndex is no link), and records dedupeKey until
	// expiresAt as FirstSeen does, reporting whether it was new; when it
	// was, it also counts count (SendCount). It is one step where the
	// backend allows, because every send needs all of them.
	BeginSend(ctx context.Context, participantID, linkIndex, dedupeKey string, expiresAt time.Time, count SendCount) (SendCheck, error)
	// OutboundOf returns a participant's messages whatever their status,
	// oldest first (by CreatedAt, then ID): for a subject access request,
	// and to re-point pending messages at a re-sealed link.
	OutboundOf(ctx context.Context, participantID string) ([]OutboundMessage, error)
}

// RateLimits share a send budget between processes (per sender number, per
// Telegram chat, for the whole bot).
type RateLimits interface {
	// ReserveRate reserves n units on key's budget of perSecond units a
	// second and returns the time at which they may be used: now when the
	// budget allows, later otherwise. The reservation stands either way.
	ReserveRate(ctx context.Context, key string, n int, perSecond float64, now time.Time) (time.Time, error)
}

// Counters count events in a window: loop guard, login attempts.
type Counters interface {
	// Increment adds one to key, which is forgotten at expiresAt (set when
	// the key is created, not moved by later increments), and returns the
	// new count.
	Increment(ctx context.Context, key string, expiresAt time.Time) (int, error)
}

// AppointmentStatus is where an appointment stands.
type AppointmentStatus string

const (
	AppointmentScheduled AppointmentStatus = "scheduled"
	AppointmentConfirmed AppointmentStatus = "confirmed"
	AppointmentCancelled AppointmentStatus = "cancelled"
	AppointmentAttended  AppointmentStatus = "attended"
	AppointmentMissed    AppointmentStatus = "missed"
)

// Appointment is a meeting or hearing, in the participant's local time.
type Appointment struct {
	ID            string            `json:"id"`
	ParticipantID string            `json:"participant_id"`
	Kind          string            `json:"kind"`  // "caseworker_meeting", "hearing", ...
	Place         string            `json:"place"` // a short label, not an address history
	Date          string            `json:"date"`  // local, 2006-01-02
	Time          string            `json:"time"`  // local, 15:04
	Status        AppointmentStatus `json:"status"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Appointments keeps appointments.
type Appointments interface {
	PutAppointment(ctx context.Context, a Appointment) error // insert or replace by ID
	GetAppointment(ctx context.Context, id string) (Appointment, error)
	AppointmentsOf(ctx context.Context, participantID string) ([]Appointment, error) // ordered by date and time
	DeleteAppointment(ctx context.Context, id string) error
}

// DueItem is scheduled work: a reminder, a window opening, a miss to check.
type DueItem struct {
	ID            string            `json:"id"` // deterministic, e.g. "appt:<id>:7d", so re-planning replaces
	ParticipantID string            `json:"participant_id"`
	Kind          string            `json:"kind"`
	Ref           string            `json:"ref,omitempty"` // what it is about: an appointment or window ID
	DueAt         time.Time         `json:"due_at"`
	Data          map[string]string `json:"data,omitempty"`
}

// Due keeps scheduled work, claimed with leases so that many processes can
// run the scheduler and each item is handled once.
//
// Every call that ends or removes items names the person whose items they
// are, as the scheduler always knows it: an item is found through its
// person, so that a store may keep a person's items with the rest of
// them, and an ID held by another person is not there for the call
// (DeleteDue ignores it; CompleteDue and ReleaseDue answer ErrNotFound).
type Due interface {
	PutDue(ctx context.Context, items ...DueItem) error // insert or replace by ID
	// DeleteDue deletes the person's items by ID, claimed or not; missing
	// IDs, and IDs another person's items hold, are ignored.
	DeleteDue(ctx context.Context, participantID string, ids ...string) error
	DueOf(ctx context.Context, participantID string) ([]DueItem, error) // ordered by DueAt
	// ClaimDue leases up to limit items with DueAt <= now to owner, earliest
	// first. An item whose lease ended without CompleteDue is claimable again.
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]DueItem, error)
	// CompleteDue deletes the person's claimed item if owner still holds it.
	CompleteDue(ctx context.Context, participantID, id, owner string) error
	// ReleaseDue hands back the person's claimed item owner has not begun (a
	// process shutting down): claimable again at once, unchanged.
	// ErrNotFound if it is gone, ErrConflict if owner does not hold it.
	ReleaseDue(ctx context.Context, participantID, id, owner string) error
}

// Role is what a caseworker account may do.
type Role string

const (
	RoleAdmin      Role = "admin"      // every caseload, the audit log
	RoleCaseworker Role = "caseworker" // their own caseload only
)

// Account is a caseworker's login. PasswordHash is a self-describing hash
// string (internal/auth says which); the password is never stored.
type Account struct {
	ID                     string    `json:"id"`
	Username               string    `json:"username"`
	Role                   Role      `json:"role"`
	PasswordHash           string    `json:"password_hash"`
	ChildProtectionTrained bool      `json:"child_protection_trained"`
	CreatedAt              time.Time `json:"created_at"`
	PasswordChangedAt      time.Time `json:"password_changed_at"`
	// Disabled accounts cannot sign in and no session or token of theirs
	// works; their participants show as having no active caseworker.
	Disabled bool `json:"disabled,omitempty"`
	// TimeZone is where the caseworker reads times (an IANA name); empty:
	// the programme's office.
	TimeZone string `json:"time_zone,omitempty"`
}

// WebSession is a signed-in browser. It is found by the hash of the token
// in its cookie; the token itself is never stored. CSRFToken is the
// session's form token, compared in constant time on every form.
type WebSession struct {
	TokenHash string    `json:"token_hash"`
	AccountID string    `json:"account_id"`
	CSRFToken string    `json:"csrf_token"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// APIToken lets a script call the JSON API as an account. Only the hash of
// the token is stored; the token is shown once when it is made.
type APIToken struct {
	TokenHash string    `json:"token_hash"`
	AccountID string    `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working; zero for never. The store
	// keeps an expired token (it is listed as expired) until it is revoked.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// LastUsedAt is when the token last opened the API, to the minute or
	// so (internal/auth records it at most once a minute).
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Accounts keeps caseworker accounts, their web sessions, their API tokens
// and the one-time tokens that set up the first administrator. Expiry
// (sessions, setup tokens) is measured in wall time, like every expiry
// without a "now" argument.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error // ErrConflict if the ID or the username exists
	GetAccount(ctx context.Context, id string) (Account, error)
	AccountByUsername(ctx context.Context, username string) (Account, error)
	// UpdateAccount replaces an account by ID; ErrNotFound if missing,
	// ErrConflict if another account has the username.
	UpdateAccount(ctx context.Context, a Account) error
	ListAccounts(ctx context.Context) ([]Account, error) // ordered by username
	// DeleteAccount deletes an account, its username, and every web
	// session and API token of it; ErrNotFound if missing. Audit entries
	// that name the account stay.
	DeleteAccount(ctx context.Context, id string) error

	PutWebSession(ctx context.Context, s WebSession) error // ErrConflict if the hash exists
	// GetWebSession returns a session by its token hash; ErrNotFound when
	// there is none or it has expired.
	GetWebSession(ctx context.Context, tokenHash string) (WebSession, error)
	DeleteWebSession(ctx context.Context, tokenHash string) error
	// DeleteWebSessionsOf ends every session of an account, e.g. when its
	// password changes.
	DeleteWebSessionsOf(ctx context.Context, accountID string) error

	PutAPIToken(ctx context.Context, t APIToken) error // ErrConflict if the hash exists
	GetAPIToken(ctx context.Context, tokenHash string) (APIToken, error)
	APITokensOf(ctx context.Context, accountID string) ([]APIToken, error) // oldest first
	// APITokensOfMany returns the tokens of each of the accounts, oldest
	// first, in one read where the backend allows: the Accounts page and
	// the API list every account's.
	APITokensOfMany(ctx context.Context, accountIDs []string) (map[string][]APIToken, error)
	DeleteAPIToken(ctx context.Context, tokenHash string) error
	// TouchAPIToken records that a token was used at at. LastUsedAt only
	// moves forward, and a token deleted meanwhile stays deleted
	// (ErrNotFound): a revocation is never undone by a late touch.
	TouchAPIToken(ctx context.Context, tokenHash string, at time.Time) error

	// PutSetupToken records the hash of a first-administrator setup token
	// until expiresAt. It replaces any earlier setup token: only the link
	// logged last works.
	PutSetupToken(ctx context.Context, tokenHash string, expiresAt time.Time) error
	// TakeSetupToken deletes the token in one step, so that it works once;
	// ErrNotFound if there is none or it has expired.
	TakeSetupToken(ctx context.Context, tokenHash string) error
}

// Purge deletes records older than the programme keeps them
// (programme.yaml retention; internal/retention runs it). Each method
// returns how many records it deleted, and may be run again after an
// interruption.
type Purge interface {
	// PurgeCheckIns deletes every check-in with At before before.
	PurgeCheckIns(ctx context.Context, before time.Time) (int, error)
	// PurgeWindows deletes every window that closed before before; they
	// are kept as long as check-ins (retention.checkins).
	PurgeWindows(ctx context.Context, before time.Time) (int, error)
	// PurgeAudit deletes every audit entry with At before before.
	PurgeAudit(ctx context.Context, before time.Time) (int, error)
	// PurgeOutbound deletes messages at a final status whose UpdatedAt is
	// before before. Messages not yet final are never touched.
	PurgeOutbound(ctx context.Context, before time.Time) (int, error)
	// PurgeAttention deletes resolved attention items whose ResolvedAt is
	// before before. Open items are never touched.
	PurgeAttention(ctx context.Context, before time.Time) (int, error)
	// PurgeOutboundText drops the text of messages that have left the
	// queue (any status but Pending) and were last updated before before,
	// leaving the rest of each record as it is: a provider that never
	// reports a final status (Telegram, or a lost callback) must not keep
	// a message's words for ever. It returns how many texts it dropped.
	PurgeOutboundText(ctx context.Context, before time.Time) (int, error)
}

// Turns apply a participant's turn whole, and read what one starts from.
type Turns interface {
	ApplyTurn(ctx context.Context, t Turn) error
	// LoadTurn reads what a turn of a participant starts from: the record
	// (ErrNotFound if missing), the session in progress and, when
	// dedupeKey is not empty, whether it is recorded. It is one read where
	// the backend allows, because every message and reminder needs all
	// three.
	LoadTurn(ctx context.Context, participantID, dedupeKey string) (TurnState, error)
	// LoadLinkedTurn is GetLink and then LoadTurn of the link's
	// participant, what every inbound message starts from, in one read
	// where the backend allows (a link and its participant may live in
	// different places). An error matching ErrNotFound comes with a zero
	// Link when no link has this index, and with the link when the link's
	// participant has no record.
	LoadLinkedTurn(ctx context.Context, index, dedupeKey string) (Link, TurnState, error)
}

// TurnAsk asks LoadTurns for what one scheduled turn starts from.
type TurnAsk struct {
	ParticipantID string
	DedupeKey     string // "": nothing to ask
	// Lease, when set, is taken for Owner for LeaseTTL before anything of
	// the participant is read, so that nothing planned from what is read
	// interleaves with another planning of the person; ApplyDueSteps gives
	// it up. Held by another owner, the answer is ErrLeaseBusy.
	Lease    string
	Owner    string
	LeaseTTL time.Duration
	// HistorySince, when not zero, asks for the person's history from
	// then as well (TurnInputs.History): what judging a window reads.
	HistorySince time.Time
}

// TurnInputs is what LoadTurns read for one ask: the turn's starting
// point and what planning the person's next items reads.
type TurnInputs struct {
	TurnState
	// Err is ErrNotFound when the participant is missing and ErrLeaseBusy
	// when the ask's lease is held by another; nothing else is read then.
	Err          error
	Links        []Link        // ordered by index, as LinksOf
	Appointments []Appointment // as AppointmentsOf
	Due          []DueItem     // as DueOf
	// History is what HistoryOf(participant, HistorySince) returns, when
	// the ask had a HistorySince; nil otherwise.
	History *History
}

// DueStep is everything handling one due item changes, applied by
// ApplyDueSteps in this order: the turn, the person's next items planned
// and dropped, the item ended, the lease given up. A step is one
// person's: its turn, the items it puts, drops and ends are all
// ParticipantID's.
type DueStep struct {
	ParticipantID string
	Turn          *Turn // applied as ApplyTurn applies it; nil for none
	Put           []DueItem
	Drop          []string // as DeleteDue drops them
	// Complete is the ID of the claimed item the step ends, as
	// CompleteDue ends it for Owner; gone or held by another is no error
	// (re-planning replaced it, or its lease ran out and it was taken).
	Complete string
	Owner    string
	Lease    string // given up for Owner whether the step landed or not
}

// DueBatches read and write the work of many due items at once: the
// scheduler's batch, in a few round trips (Redis) or transactions (bolt)
// instead of a dozen an item.
type DueBatches interface {
	// LoadTurns answers each ask, in order. An error is for the whole
	// batch; one ask's is in its TurnInputs.Err.
	LoadTurns(ctx context.Context, asks []TurnAsk) ([]TurnInputs, error)
	// ApplyDueSteps applies each step on its own terms: one refused (its
	// turn stale or a duplicate) or failed changes nothing of its own and
	// nothing of the others, which land. The answer holds one error a
	// step, nil for each that landed.
	ApplyDueSteps(ctx context.Context, steps []DueStep) []error
}

// ProgrammeVersion is one published programme: the flow files,
// programme.yaml and the locale files, whole, as the files in flows/ and
// locales/ hold them. Versions are numbered 1, 2, 3… and never change once
// published; the highest is the live one. Nothing in it names a person:
// By is an account ID, or "files" for a version taken from the files.
type ProgrammeVersion struct {
	Number int       `json:"number"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	// Source says how it came: "files" (the flows and locales folders),
	// "editor" (published in the browser) or "rollback" (an earlier
	// version published again).
	Source string `json:"source"`
	// Note is a short, readable account of what changed, from the editor.
	Note string `json:"note,omitempty"`
	// FilesDigest is the digest of the files in WAYMARK_FLOWS_DIR and
	// WAYMARK_LOCALES_DIR when it was published, so that a process can
	// tell whether the files changed since (the files then win).
	FilesDigest string `json:"files_digest,omitempty"`
	// Files maps "flows/<name>.yaml" and "locales/<lang>.yaml" to their
	// text. ListProgrammes leaves it nil.
	Files map[string]string `json:"files,omitempty"`
}

// ProgrammeDraft is the one draft of the next version, shared by the
// administrators who edit it.
type ProgrammeDraft struct {
	// Basis is the version the draft was started from.
	Basis int `json:"basis"`
	// Revision counts the saves; a save names the revision it read and is
	// refused (ErrStale) if another save came in between.
	Revision int       `json:"revision"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	// Files holds every file of the draft, changed or not. Whether a
	// reader of a language checked a message is in its locale file (the
	// "# reviewed" mark), so it travels with the words.
	Files map[string]string `json:"files"`
}

// Programmes keeps the published versions of the programme and its draft,
// so that every process that shares the store runs the same version.
type Programmes interface {
	// PublishProgramme makes v the next version and the live one, in one
	// step, only if basis is still the latest version (0: none yet);
	// otherwise nothing changes and it returns ErrStale. v.Number is set
	// to basis+1 and the stored version returned.
	PublishProgramme(ctx context.Context, basis int, v ProgrammeVersion) (ProgrammeVersion, error)
	// CurrentProgramme returns the number of the live version, 0 when none
	// was ever published. It is one small read: every process polls it.
	CurrentProgramme(ctx context.Context) (int, error)
	// GetProgramme returns a version with its files; ErrNotFound if none.
	GetProgramme(ctx context.Context, number int) (ProgrammeVersion, error)
	// ListProgrammes returns every version without its files, newest first.
	ListProgrammes(ctx context.Context) ([]ProgrammeVersion, error)
	// SaveProgrammeDraft stores d if the stored draft's revision is still
	// d.Revision (0: there is none), with Revision one higher, and returns
	// what it stored; ErrStale otherwise.
	SaveProgrammeDraft(ctx context.Context, d ProgrammeDraft) (ProgrammeDraft, error)
	// GetProgrammeDraft returns the draft; ErrNotFound if there is none.
	GetProgrammeDraft(ctx context.Context) (ProgrammeDraft, error)
	// DeleteProgrammeDraft drops the draft if its revision is still
	// revision; ErrStale if it changed, nothing if there is none.
	DeleteProgrammeDraft(ctx context.Context, revision int) error
}

// Store is everything Waymark keeps.
type Store interface {
	Participants
	Links
	Enrolments
	Sessions
	CheckIns
	Windows
	Histories
	Attention
	Audit
	Dedupe
	Leases
	Outbox
	RateLimits
	Counters
	Appointments
	Due
	Accounts
	Purge
	Turns
	DueBatches
	LinkMarks
	KeyChecks
	Programmes
	Ping(ctx context.Context) error
	Close() error
}

// NewID returns a random identifier with the given prefix, e.g. "p_" for
// participants. 80 random bits: unguessable, short enough to read aloud.
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("store: no randomness: " + err.Error())
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
