package metrics

import (
	"context"

	"github.com/waymark-atd/waymark/internal/ledger"
	"github.com/waymark-atd/waymark/internal/store"
)

// InstrumentStore returns st counting its errors (waymark_store_errors_total
// by operation) and, from what lands, the messages queued and the check-in
// outcomes: a turn is counted only once it is stored, so a refused
// duplicate counts nothing. A nil m returns st itself.
func InstrumentStore(st store.Store, m *Metrics) store.Store {
	if m == nil {
		return st
	}
	return instrumented{Store: st, m: m}
}

// instrumented wraps every store method: the ones that count more than
// errors here, the rest in store_gen.go, generated from store.Store. A
// method added to the interface since passes through the embedded Store
// uncounted, and TestInstrumentedStoreCoversTheStore says to regenerate.
type instrumented struct {
	store.Store
	m *Metrics
}

func (s instrumented) count(op string, err error) error {
	s.m.StoreError(op, err)
	return err
}

// ApplyTurn counts, once the turn has landed, its queued messages, its
// check-ins by outcome and the check-in windows it records as passed.
func (s instrumented) ApplyTurn(ctx context.Context, t store.Turn) error {
	if err := s.count("ApplyTurn", s.Store.ApplyTurn(ctx, t)); err != nil {
		return err
	}
	for _, m := range t.Outbound {
		s.m.Queued(m.Channel, 1)
	}
	for _, c := range t.CheckIns {
		s.m.CheckIn(string(c.Outcome))
	}
	for _, a := range t.Attention {
		s.m.attention(a)
	}
	for _, w := range t.Windows {
		s.windowDecided(ctx, t, w)
	}
	return nil
}

// windowDecided counts a window the turn decides: the ledger sets
// DecidedAt and UpdatedAt together when the grace ends (internal/ledger
// Judge), and a later move in the person's favour changes UpdatedAt only.
// The channel of a kept window is its check-in's, from the turn or else
// read once, now.
func (s instrumented) windowDecided(ctx context.Context, t store.Turn, w store.Window) {
	if !ledger.Decided(w.Outcome) || w.DecidedAt.IsZero() || !w.DecidedAt.Equal(w.UpdatedAt) {
		return
	}
	channel := ""
	if w.CheckInID != "" {
		channel = Other
		for _, c := range t.CheckIns {
			if c.ID == w.CheckInID {
				channel = string(c.Channel)
			}
		}
		if channel == Other {
			if cs, err := s.Store.CheckInsOf(ctx, w.ParticipantID, w.OpensAt); err == nil {
				for _, c := range cs {
					if c.ID == w.CheckInID {
						channel = string(c.Channel)
					}
				}
			}
		}
	}
	s.m.WindowDecided(string(w.Outcome), channel)
}

// attention counts an attention item that says a check-in window passed.
func (m *Metrics) attention(a store.AttentionItem) {
	switch {
	case a.Kind == store.AttentionMissed:
		m.CheckIn("missed")
	case a.Kind == store.AttentionCantReach && a.Ref != "":
		// A window passed while the person's channel was failing. A link
		// failing on its own (no Ref) is not about a window.
		m.CheckIn("cant_reach")
	}
}

func (s instrumented) RecordCheckIn(ctx context.Context, c store.CheckIn) error {
	err := s.count("RecordCheckIn", s.Store.RecordCheckIn(ctx, c))
	if err == nil {
		s.m.CheckIn(string(c.Outcome))
	}
	return err
}

func (s instrumented) AddAttention(ctx context.Context, a store.AttentionItem) error {
	err := s.count("AddAttention", s.Store.AddAttention(ctx, a))
	if err == nil {
		s.m.attention(a)
	}
	return err
}

func (s instrumented) EnqueueOutbound(ctx context.Context, msgs ...store.OutboundMessage) error {
	err := s.count("EnqueueOutbound", s.Store.EnqueueOutbound(ctx, msgs...))
	if err == nil {
		for _, m := range msgs {
			s.m.Queued(m.Channel, 1)
		}
	}
	return err
}
