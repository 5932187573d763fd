package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Limits on what an unknown sender can cost the programme: a few replies a
// day, and a few wrong codes a day (codes must not be guessable by trying).
const (
	unknownRepliesPerDay = 3
	joinAttemptsPerDay   = 5
)

// handleUnknown answers a sender whose address is not linked. Only JOIN
// with a valid code changes anything; nothing else about them is stored
// beyond counters keyed by the address's blind index.
func (s *Service) handleUnknown(ctx context.Context, c *Content, in Inbound, index string) (Outcome, error) {
	now := s.clock.Now()
	lang, code, isJoin := matchJoin(c, in.Text)
	if in.JoinCode != "" {
		lang, code, isJoin = c.Flows.Programme.DefaultLanguage, in.JoinCode, true
	}
	if in.DedupeKey != "" {
		// A JOIN's message ID is recorded with the enrolment turn, once the
		// number is linked, so that a store failure before then leaves the
		// provider's retry to be handled; anything else is recorded now.
		seen, err := s.store.Seen(ctx, in.DedupeKey)
		if err == nil && !seen && !isJoin {
			var first bool
			first, err = s.store.FirstSeen(ctx, in.DedupeKey, now.Add(c.Flows.Programme.Retention.DedupeKeys.D()))
			seen = !first
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("conversation: dedupe: %w", err)
		}
		if seen {
			return Outcome{Duplicate: true}, nil
		}
	}
	if !isJoin {
		// In the languages the text's script points to; the text itself
		// is not kept.
		return s.replyUnknown(ctx, c, "unknown:"+index, unknownRepliesPerDay, func() string { return StrangerReply(c, in.Text) }, now)
	}
	// One JOIN from an address at a time: a copy delivered at the same
	// moment waits, then finds the number linked.
	var out Outcome
	err := s.withLease(ctx, "enrol:"+index, "enrolment", func() error {
		var err error
		out, err = s.join(ctx, c, in, index, lang, code, now)
		return err
	})
	return out, err
}

// join takes the enrolment code and links the address.
func (s *Service) join(ctx context.Context, c *Content, in Inbound, index, lang, code string, now time.Time) (Outcome, error) {
	n, err := s.store.Increment(ctx, "join:"+index, now.Add(24*time.Hour))
	if err != nil {
		return Outcome{}, fmt.Errorf("conversation: count join attempts: %w", err)
	}
	if n > joinAttemptsPerDay {
		s.log.Warn("enrolment attempts limited", "channel", in.Channel)
		return Outcome{}, nil
	}
	ec, err := s.store.TakeEnrolmentCode(ctx, strings.ToUpper(code))
	if errors.Is(err, store.ErrNotFound) {
		// The same JOIN delivered twice at once: the other copy took the
		// code and linked the number. Say nothing more.
		if l, lerr := s.store.GetLink(ctx, index); lerr == nil && l.ParticipantID != "" {
			return Outcome{Duplicate: true, ParticipantID: l.ParticipantID}, nil
		}
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && !now.Before(ec.ExpiresAt) {
		return s.replyUnknown(ctx, c, "badcode:"+index, unknownRepliesPerDay, func() string {
			return c.Locale.Render(lang, "enrol.bad_code", TemplateData(c, lang, nil))
		}, now)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("conversation: take enrolment code: %w", err)
	}
	linked := false
	defer func() {
		if !linked {
			s.giveBack(ctx, ec)
		}
	}()
	sealed, err := s.box.Seal(string(in.Channel), in.Address)
	if err != nil {
		return Outcome{}, fmt.Errorf("conversation: seal address: %w", err)
	}
	link := store.Link{
		Index: index, Channel: in.Channel, ParticipantID: ec.ParticipantID,
		Sealed: sealed, Masked: seal.Mask(in.Address), LinkedAt: now, LastSeenAt: now,
	}
	// The person's lock is held from linking to the end of the welcome, so
	// that a copy of this JOIN arriving meanwhile, which now finds the
	// number linked, waits and then sees it handled.
	err = s.withLock(ctx, ec.ParticipantID, func() error {
		if err := s.store.PutLink(ctx, link); err != nil {
			return fmt.Errorf("conversation: link address: %w", err)
		}
		linked = true
		if err := s.store.AppendAudit(ctx, store.AuditEntry{
			ID: store.NewID("a_"), At: now, Actor: "participant", Action: "channel_linked",
			ParticipantID: ec.ParticipantID, Detail: string(in.Channel),
		}); err != nil {
			return fmt.Errorf("conversation: audit: %w", err)
		}
		s.log.Info("channel linked", "participant", ec.ParticipantID, "channel", in.Channel)
		return s.retryStale(ctx, func() error {
			return s.turn(ctx, c, ec.ParticipantID, &link, Inbound{Channel: in.Channel, DedupeKey: in.DedupeKey},
				startEvent{flow: c.Flows.Programme.Flows.Enrolment, vars: enrolmentVars(c, in.Channel)})
		})
	})
	return Outcome{ParticipantID: ec.ParticipantID}, err
}

// enrolmentVars are the variables the enrolment flow starts with, for its
// branches. missed_call is "yes" when the person can check in by ringing
// the programme's number for free (docs/voice.md): the voice line is on
// and they joined by SMS, from the number a call is known by and to the
// number they would ring. A Telegram chat has no number, and a WhatsApp
// sender need not take calls.
//
// sms_fallback is "ask" when the person joined by WhatsApp and the
// programme sends by SMS what WhatsApp will not carry, to those who agree
// (programme.yaml whatsapp.fallback: sms): the enrolment flow asks them.
func enrolmentVars(c *Content, ch store.Channel) map[string]string {
	pr := c.Flows.Programme
	switch {
	case pr.Voice.Enabled && ch == store.SMS:
		return map[string]string{"missed_call": "yes"}
	case pr.WhatsApp.Fallback == flow.FallbackSMS && ch == store.WhatsApp:
		return map[string]string{"sms_fallback": "ask"}
	}
	return nil
}

// giveBack puts back an enrolment code taken for a JOIN that failed before
// the number was linked (the store went away, the person's lock stayed
// busy), so that the provider's retry of the JOIN, or the person's next
// try, still finds it and the caseworker need not make a new one.
func (s *Service) giveBack(ctx context.Context, ec store.EnrolmentCode) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.PutEnrolmentCode(ctx, ec); err != nil {
		s.log.Warn("an enrolment code taken for a failed JOIN could not be put back; the caseworker can make a new one",
			"participant", ec.ParticipantID, "err", err)
	}
}

func (s *Service) replyUnknown(ctx context.Context, c *Content, counter string, limit int, reply func() string, now time.Time) (Outcome, error) {
	n, err := s.store.Increment(ctx, counter, now.Add(24*time.Hour))
	if err != nil {
		return Outcome{}, fmt.Errorf("conversation: count replies: %w", err)
	}
	if n > limit {
		return Outcome{}, nil // stay quiet: a loop or a stranger must not cost credit
	}
	return Outcome{Direct: []string{reply()}}, nil
}

// matchJoin recognises "JOIN CODE" in any offered language and returns the
// language whose word matched, so the reply can be in it.
func matchJoin(c *Content, text string) (lang, code string, ok bool) {
	fields := strings.Fields(Normalize(text))
	if len(fields) == 0 {
		return "", "", false
	}
	word := fields[0]
	c.prepare()
	for _, j := range c.join {
		if slices.Contains(j.words, word) {
			if len(fields) < 2 {
				return j.lang, "", true
			}
			return j.lang, strings.Join(fields[1:], ""), true
		}
	}
	return "", "", false
}

func isJoin(c *Content, text string) bool {
	_, _, ok := matchJoin(c, text)
	return ok
}

// joinOrder is the default language first, then the others offered.
func joinOrder(c *Content) []string {
	pr := c.Flows.Programme
	out := []string{pr.DefaultLanguage}
	for _, l := range pr.Languages {
		if l != pr.DefaultLanguage {
			out = append(out, l)
		}
	}
	return out
}
