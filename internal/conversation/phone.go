package conversation

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
)

// The telephone line (docs/voice.md), decided here as a text is: who is
// calling, whether the call counts as a check-in, whether it is answered
// and with what, and what a PIN or a key may do. The channel
// (internal/channel/twilio) verifies and parses the webhook and says the
// answer in TwiML; it decides nothing about the person.

// PhoneCall is an incoming call as the channel read it.
type PhoneCall struct {
	// DedupeKey names the call for the provider's retries (Twilio's
	// CallSid, prefixed): a call is recorded once, kept only as long as
	// dedupe keys are.
	DedupeKey string
	// From is the caller ID, held only to compute its blind indexes; never
	// stored or logged. Empty when the number is withheld.
	From string
	// Verified is true only when the network vouched for the caller ID in
	// full: anyone can make a call show any number.
	Verified bool
}

// Answer is what the line does with a call.
type Answer string

const (
	// AnswerReject: a busy tone, never answered, free to the caller on
	// most networks.
	AnswerReject Answer = "reject"
	// AnswerJoin: a stranger hears how to join, then goodbye.
	AnswerJoin Answer = "join"
	// AnswerPIN: the PIN is asked, in the same words for every caller.
	AnswerPIN Answer = "pin"
	// AnswerMenu: the keypad menu, in the person's language.
	AnswerMenu Answer = "menu"
)

// CallAnswer says how to answer a call, and what the call did.
type CallAnswer struct {
	Answer Answer
	// Language is the person's, for AnswerMenu.
	Language string
	// Participant is who called, when known: for logs only.
	Participant string
	// Queued is how many texts the call queued (a confirmation, when the
	// next window opens): the channel wakes the outbox.
	Queued int
}

// Limits on what callers can cost the programme and what guessing can win.
const (
	// UnknownAnswersPerDay: a number nobody linked is answered this often
	// a day (menu policy); after that its calls are rejected. Where the
	// menu asks for a PIN every answered caller counts alike.
	UnknownAnswersPerDay = 3
	// ConfirmationsPerDay: a person who calls again and again in a window
	// has each call recorded, but gets this many confirmations a day.
	ConfirmationsPerDay = 3
	// PINTriesPerDay: after this many PINs entered for a person in a day,
	// right or wrong, no PIN opens their menu until the next day: a
	// guesser wins 9 in 10,000 a day at most.
	PINTriesPerDay = 9
)

// Texts a call may send (docs/voice.md).
const (
	msgCheckedInByCall = "checkin.by_call"         // a missed call counted as a check-in
	msgNextWindow      = "checkin.next_window"     // a missed call outside any window
	msgCallUnverified  = "checkin.call_unverified" // a missed call not counted, its caller ID unverified
)

// caller is who is calling, if anyone Waymark knows.
type caller struct {
	index string // blind index of the caller ID as an SMS address
	known bool
	link  store.Link
	p     store.Participant
}

// identify finds the person by their caller ID: the blind index of the
// number as an SMS address, and failing that as a WhatsApp one (the same
// phone). A Telegram account has no number to match. An exited person is
// a stranger now.
func (s *Service) identify(ctx context.Context, from string) (caller, error) {
	who := caller{index: s.box.Index(string(store.SMS), from)}
	if from == "" {
		return who, nil
	}
	for _, ch := range []store.Channel{store.SMS, store.WhatsApp} {
		index := who.index
		if ch != store.SMS {
			index = s.box.Index(string(ch), from)
		}
		link, err := s.store.GetLink(ctx, index)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return who, fmt.Errorf("conversation: find caller: %w", err)
		}
		p, err := s.store.GetParticipant(ctx, link.ParticipantID)
		if errors.Is(err, store.ErrNotFound) {
			return who, nil
		}
		if err != nil {
			return who, fmt.Errorf("conversation: caller %s: %w", link.ParticipantID, err)
		}
		if p.Status == store.Exited {
			return who, nil
		}
		who.known, who.link, who.p = true, link, p
		return who, nil
	}
	return who, nil
}

// Call decides an incoming call. A known person inside an open window
// (or its grace) is checked in and the call rejected, free; anyone else
// is rejected or answered as the programme's voice policy says. On an
// error the answer is still a reject: answering to play an error would
// cost the caller.
func (s *Service) Call(ctx context.Context, call PhoneCall) (CallAnswer, error) {
	reject := CallAnswer{Answer: AnswerReject}
	pol := s.live.Content().Flows.Programme.Voice
	if !pol.Enabled {
		return reject, nil
	}
	who, err := s.identify(ctx, call.From)
	if err != nil {
		return reject, err
	}
	if !who.known {
		return s.answer(ctx, who, pol.UnknownCaller)
	}
	p := who.p
	if p.OptedOut {
		return s.answer(ctx, who, pol.OptedOut)
	}
	now := s.clock.Now()
	// Open, or closed but in its grace: a missed call then is a late
	// check-in, as "you can still check in late" promised.
	_, open := s.Window(p, now)
	if p.Status != store.Active || who.link.Unreachable || !open {
		// A number whose messages fail may have changed hands: its missed
		// calls are not taken as the person's check-in.
		queued := 0
		if p.Status == store.Active && !who.link.Unreachable && pol.OutsideWindow != flow.VoiceMenu {
			if vars, ok := s.Upcoming(p, now); ok {
				queued = s.tellOnce(ctx, who, call, msgNextWindow, vars, "voice:next:", now)
			}
		}
		ans, err := s.answer(ctx, who, pol.OutsideWindow)
		ans.Queued += queued
		return ans, err
	}
	if !call.Verified && pol.UnverifiedCalls == flow.UnverifiedAsk {
		// Not counted: the person is asked, on their own number, to check
		// in by a reply, which someone faking the number cannot send.
		queued := s.tellOnce(ctx, who, call, msgCallUnverified, nil, "voice:unverified:", now)
		return CallAnswer{Answer: AnswerReject, Participant: p.ID, Queued: queued}, nil
	}
	return s.checkInByMissedCall(ctx, who, call, pol)
}

// answer is a call's answer when it is not a check-in: a reject, or the
// menu as policy says, behind the PIN where the programme asks for one.
func (s *Service) answer(ctx context.Context, who caller, policy string) (CallAnswer, error) {
	reject := CallAnswer{Answer: AnswerReject, Participant: who.p.ID}
	if policy != flow.VoiceMenu {
		return reject, nil
	}
	pin := s.live.Content().Flows.Programme.Voice.PIN()
	if !who.known || pin {
		// A stranger is answered a few times a day; where the PIN is asked,
		// every caller counts alike, so that a fourth call tells nobody
		// whether the number is enrolled.
		n, err := s.store.Increment(ctx, "voice:unknown:"+who.index, s.clock.Now().Add(24*time.Hour))
		if err != nil {
			return reject, fmt.Errorf("conversation: count answered calls: %w", err)
		}
		if n > UnknownAnswersPerDay {
			return reject, nil
		}
	}
	switch {
	case pin:
		return CallAnswer{Answer: AnswerPIN, Participant: who.p.ID}, nil
	case !who.known:
		return CallAnswer{Answer: AnswerJoin}, nil
	}
	return CallAnswer{Answer: AnswerMenu, Language: s.Language(who.p), Participant: who.p.ID}, nil
}

// tellOnce texts the caller, who agreed to get messages, message id, at
// most once a day for each counter (a prefix): a person who calls again
// and again is not sent text after text. A failure only goes unsaid.
func (s *Service) tellOnce(ctx context.Context, who caller, call PhoneCall, id string, vars map[string]string, counter string, now time.Time) int {
	if !who.p.Consented() {
		return 0
	}
	if seen, err := s.store.Seen(ctx, call.DedupeKey); err != nil || seen {
		return 0
	}
	n, err := s.store.Increment(ctx, counter+who.p.ID, now.Add(24*time.Hour))
	if err != nil || n > 1 {
		return 0
	}
	res, err := s.Act(ctx, Action{ParticipantID: who.p.ID, Kind: ActTell, Channel: store.MissedCall,
		Confirm: id, Vars: vars, DedupeKey: call.DedupeKey})
	if err != nil {
		s.log.Warn("voice: could not text the caller", "participant", who.p.ID, "message", id, "err", err)
		return 0
	}
	return res.Queued
}

// checkInByMissedCall records the check-in; the call is rejected.
func (s *Service) checkInByMissedCall(ctx context.Context, who caller, call PhoneCall, pol flow.Voice) (CallAnswer, error) {
	ans := CallAnswer{Answer: AnswerReject, Participant: who.p.ID}
	// A caller ID without full attestation may be spoofed: the check-in
	// counts, but the caseworker sees that the number was not verified.
	channel := store.MissedCall
	if !call.Verified {
		channel = store.MissedCallUnverified
	}
	a := Action{ParticipantID: who.p.ID, Kind: ActCheckIn, Channel: channel, DedupeKey: call.DedupeKey}
	if pol.ConfirmByMessage {
		confirm, err := s.mayConfirm(ctx, who.p.ID, call.DedupeKey)
		if err != nil {
			return ans, err
		}
		if confirm {
			a.Confirm = msgCheckedInByCall
		}
	}
	res, err := s.Act(ctx, a)
	if err != nil {
		return ans, err
	}
	if !res.Duplicate {
		s.log.Info("missed-call check-in", "participant", who.p.ID, "outcome", string(res.Outcome), "confirmation", res.Queued > 0)
	}
	ans.Queued = res.Queued
	return ans, nil
}

// mayConfirm counts a confirmation against the person's daily allowance,
// unless the call was handled before (a retry changes nothing).
func (s *Service) mayConfirm(ctx context.Context, pid, dedupeKey string) (bool, error) {
	seen, err := s.store.Seen(ctx, dedupeKey)
	if err != nil || seen {
		return false, err
	}
	n, err := s.store.Increment(ctx, "voice:confirm:"+pid, s.clock.Now().Add(24*time.Hour))
	if err != nil {
		return false, err
	}
	return n <= ConfirmationsPerDay, nil
}

// PINAnswer is what a PIN keyed in opens.
type PINAnswer struct {
	// Right: the menu opens, in Language, for this call only; Pass goes
	// with every key pressed in it (MenuCaller).
	Right    bool
	Language string
	Pass     string
}

// EnterPIN checks the PIN a caller keyed in. The right PIN of a known
// person opens their menu; anything else (a stranger, no PIN chosen, a
// wrong one, too many tries today) is the same "not right", so nothing
// tells a guesser which it was. The pass is good for this call alone.
func (s *Service) EnterPIN(ctx context.Context, call PhoneCall, digits string) (PINAnswer, error) {
	c := s.live.Content()
	if !c.Flows.Programme.Voice.PIN() {
		return PINAnswer{}, nil
	}
	who, err := s.identify(ctx, call.From)
	if err != nil || !who.known || who.p.VoicePIN == "" || digits == "" {
		return PINAnswer{}, err
	}
	n, err := s.store.Increment(ctx, "voice:pin:"+who.p.ID, s.clock.Now().Add(24*time.Hour))
	if err != nil {
		return PINAnswer{}, fmt.Errorf("conversation: count PIN tries: %w", err)
	}
	if n == PINTriesPerDay+1 {
		if _, err := s.Act(ctx, Action{ParticipantID: who.p.ID, Kind: ActPINLocked, Channel: store.Keypad,
			DedupeKey: call.DedupeKey + ":pin-locked"}); err != nil {
			s.log.Error("voice: record PIN lock", "participant", who.p.ID, "err", err)
		}
		s.log.Warn("voice: PIN tries used up for today", "participant", who.p.ID)
	}
	digest := PINDigest(s.box.Index, who.p.ID, digits)
	if n > PINTriesPerDay || !hmac.Equal([]byte(digest), []byte(who.p.VoicePIN)) {
		return PINAnswer{}, nil
	}
	return PINAnswer{Right: true, Language: s.Language(who.p), Pass: s.menuPass(call, who.p.ID)}, nil
}

// menuPass is what the menu's own addresses carry once the PIN was right:
// a keyed digest of the call and the person, which only Waymark can make
// and the provider, signing the address, hands back unchanged.
func (s *Service) menuPass(call PhoneCall, participantID string) string {
	return s.box.Index("voice-menu", call.DedupeKey+":"+participantID)
}

// MenuCaller returns the person whose menu a key was pressed in: the
// caller, if known, the line on, and, where the programme asks for a PIN,
// pass is this call's. False means the key acts on nothing.
func (s *Service) MenuCaller(ctx context.Context, call PhoneCall, pass string) (store.Participant, bool, error) {
	pol := s.live.Content().Flows.Programme.Voice
	if !pol.Enabled {
		return store.Participant{}, false, nil
	}
	who, err := s.identify(ctx, call.From)
	if err != nil || !who.known {
		return store.Participant{}, false, err
	}
	if pol.PIN() && (pass == "" || !hmac.Equal([]byte(pass), []byte(s.menuPass(call, who.p.ID)))) {
		return store.Participant{}, false, nil
	}
	return who.p, true, nil
}
