package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
)

// ActionKind is something a person did by telephone.
type ActionKind string

const (
	ActCheckIn  ActionKind = "checkin"  // a missed call in a window, or key 1
	ActCallback ActionKind = "callback" // key 2: please call me
	ActLanguage ActionKind = "language" // key 9, then a language's key
	// ActTell only sends the person Confirm, with Vars: a missed call
	// outside any window is answered with when the next one opens.
	ActTell ActionKind = "tell"
	// ActPINLocked records that the telephone menu's PIN was entered
	// wrong too often today: the menu stays shut to the number until
	// tomorrow, and the audit log shows the caseworker why.
	ActPINLocked ActionKind = "pin_locked"
)

// PINDigest is the keyed digest of a person's telephone PIN, as
// Participant.VoicePIN keeps it: index is the blind index
// (seal.Box.Index), under a name of its own for each person, so the same
// PIN of two people gives two digests and nothing without the key.
func PINDigest(index func(channel, address string) string, participantID, pin string) string {
	return index("voice-pin:"+participantID, pin)
}

// Action is one thing a person did outside any conversation: a call to the
// programme's number, or a key pressed in its menu. The telephone channel
// knows the person already (by the blind index of their caller ID) and
// decides what the call means; Act applies it as a turn of its own (run
// again if the person's record changed meanwhile, as every turn is), and
// leaves a conversation in progress where it was.
type Action struct {
	ParticipantID string
	Kind          ActionKind
	// Channel is what the action came through (store.MissedCall,
	// store.Keypad): the check-in's channel and the audit entry's detail.
	Channel store.Channel
	// Language is, for ActLanguage, the language to speak and write in
	// from now on; one the programme does not offer changes nothing.
	Language string
	// Confirm, when set, is the message ID of a confirmation queued with
	// the turn to the link the person last wrote from. A person who opted
	// out gets nothing.
	Confirm string
	// Vars are the template data of Confirm.
	Vars map[string]string
	// DedupeKey is the provider's ID of the call (and the key pressed):
	// an action whose turn already landed is not applied again.
	DedupeKey string
}

// ActResult says what Act did.
type ActResult struct {
	// Duplicate: the action was applied before (a retried webhook).
	Duplicate bool
	// Outcome is how a check-in relates to the person's schedule.
	Outcome store.CheckInOutcome
	// Queued is how many messages went into the outbox.
	Queued int
}

// Act applies one telephone action. Nothing about the call is kept but
// what the action records: a check-in (time and channel), a call-back
// request or a language, and their audit entry.
func (s *Service) Act(ctx context.Context, a Action) (ActResult, error) {
	switch a.Kind {
	case ActCheckIn, ActCallback, ActLanguage, ActTell, ActPINLocked:
	default:
		return ActResult{}, fmt.Errorf("conversation: act for %s: unknown action %q", a.ParticipantID, a.Kind)
	}
	if a.ParticipantID == "" {
		return ActResult{}, errors.New("conversation: act: no participant")
	}
	c := s.live.Content()
	var res ActResult
	err := s.retryStale(ctx, func() error {
		res = ActResult{}
		loaded, err := s.store.LoadTurn(ctx, a.ParticipantID, a.DedupeKey)
		if err != nil {
			return fmt.Errorf("conversation: participant %s: %w", a.ParticipantID, err)
		}
		if loaded.Seen {
			res.Duplicate = true
			return nil
		}
		p := loaded.Participant
		now := s.clock.Now()
		t := store.Turn{ParticipantID: p.ID}
		audit := func(action, detail string) {
			t.Audit = append(t.Audit, store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: "participant", Action: action, ParticipantID: p.ID, Detail: detail})
		}
		switch a.Kind {
		case ActCheckIn:
			// The check-in is its own record; no audit entry (see plan).
			ci, ch, err := s.judgeCheckIn(ctx, p, a.Channel, now)
			if err != nil {
				return err
			}
			ch.AddTo(&t)
			res.Outcome = ci.Outcome
			t.CheckIns = []store.CheckIn{ci}
		case ActCallback:
			// The reason tells the caseworker the person asked by phone:
			// they may have no credit to text, so calling suits them.
			t.Attention = []store.AttentionItem{{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionCallback, Reason: string(a.Channel), CreatedAt: now}}
			audit("callback_requested", string(a.Channel))
		case ActPINLocked:
			audit("voice_pin_locked", "")
		case ActLanguage:
			if offered(c, a.Language) && a.Language != p.Language {
				p.Language, p.UpdatedAt = a.Language, now
				audit("language_set", a.Language)
			}
		}
		if a.Confirm != "" && !p.OptedOut {
			msg, ok, err := s.confirmation(ctx, c, p, flow.Send{MessageID: a.Confirm, Vars: a.Vars}, now)
			if err != nil {
				return err
			}
			if ok {
				t.Outbound = []store.OutboundMessage{msg}
			}
		}
		if a.DedupeKey != "" {
			t.DedupeKey, t.DedupeUntil = a.DedupeKey, now.Add(c.Flows.Programme.Retention.DedupeKeys.D())
		}
		// Saved even when unchanged: its revision makes a message of the
		// person's at the same moment take effect before or after this,
		// never beside it (two check-ins both judged first, say).
		t.Participant = &p
		err = s.store.ApplyTurn(ctx, t)
		if errors.Is(err, store.ErrConflict) && a.DedupeKey != "" {
			// Another process applied the same call first.
			res = ActResult{Duplicate: true}
			return nil
		}
		if err != nil {
			return fmt.Errorf("conversation: apply %s action for %s: %w", a.Kind, p.ID, err)
		}
		res.Queued = len(t.Outbound)
		s.log.Debug("telephone action", "participant", p.ID, "kind", string(a.Kind), "channel", string(a.Channel), "replies", res.Queued)
		return nil
	})
	return res, err
}

// confirmation renders message id for the link the person last wrote
// from, as a reply to them would go; false when they have no link.
func (s *Service) confirmation(ctx context.Context, c *Content, p store.Participant, snd flow.Send, now time.Time) (store.OutboundMessage, bool, error) {
	index := p.LastLink
	if index == "" {
		links, err := s.store.LinksOf(ctx, p.ID)
		if err != nil {
			return store.OutboundMessage{}, false, fmt.Errorf("conversation: links of %s: %w", p.ID, err)
		}
		if len(links) == 0 {
			return store.OutboundMessage{}, false, nil
		}
		index = links[0].Index
	}
	to, err := s.store.GetLink(ctx, index)
	if errors.Is(err, store.ErrNotFound) {
		return store.OutboundMessage{}, false, nil
	}
	if err != nil {
		return store.OutboundMessage{}, false, fmt.Errorf("conversation: reply link of %s: %w", p.ID, err)
	}
	lang := s.language(c, p)
	text, choices := Render(c, lang, snd)
	text = ForChannel(c, lang, to.Channel, text)
	m := store.OutboundMessage{
		ID: store.NewID("m_"), ParticipantID: p.ID, LinkIndex: to.Index, Channel: to.Channel,
		Kind: snd.MessageID, Text: text, Choices: choices, Status: store.Pending,
		NotBefore: now, CreatedAt: now, UpdatedAt: now,
	}
	outsideWindow(c, p, lang, snd, &m) // a call is no message: the 24 hours may be over
	return m, true, nil
}

// Language is the language a participant is spoken and written to in: their
// own if the programme offers it, else the programme's default.
func (s *Service) Language(p store.Participant) string { return s.language(s.live.Content(), p) }
