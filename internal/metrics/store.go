package metrics

import (
	"context"
	"time"

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

// instrumented wraps every store method. A method added to store.Store
// later passes through the embedded Store uncounted until it is added here.
type instrumented struct {
	store.Store
	m *Metrics
}

// storeOps are the operation names a store error can carry.
var storeOps = []string{
	"AcquireLease",
	"AddAttention",
	"AppendAudit",
	"ApplyTurn",
	"AppointmentsOf",
	"CheckInsOf",
	"ClaimDue",
	"ClaimOutbound",
	"CompleteDue",
	"CreateParticipant",
	"DeleteAppointment",
	"DeleteDue",
	"DeleteLink",
	"DeleteParticipant",
	"DeleteSession",
	"DueOf",
	"EnqueueOutbound",
	"FirstSeen",
	"GetAppointment",
	"GetLink",
	"GetOutbound",
	"GetParticipant",
	"GetSession",
	"Increment",
	"LinksOf",
	"ListAttention",
	"ListAudit",
	"ListParticipants",
	"Ping",
	"PutAppointment",
	"PutDue",
	"PutEnrolmentCode",
	"PutLink",
	"RecordCheckIn",
	"ReleaseLease",
	"ReserveRate",
	"ResolveAttention",
	"SaveSession",
	"Seen",
	"TakeEnrolmentCode",
	"UpdateOutbound",
	"UpdateParticipant",
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
	return nil
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

func (s instrumented) CreateParticipant(ctx context.Context, p store.Participant) error {
	return s.count("CreateParticipant", s.Store.CreateParticipant(ctx, p))
}

func (s instrumented) GetParticipant(ctx context.Context, id string) (store.Participant, error) {
	v, err := s.Store.GetParticipant(ctx, id)
	return v, s.count("GetParticipant", err)
}

func (s instrumented) UpdateParticipant(ctx context.Context, p store.Participant) error {
	return s.count("UpdateParticipant", s.Store.UpdateParticipant(ctx, p))
}

func (s instrumented) ListParticipants(ctx context.Context) ([]store.Participant, error) {
	v, err := s.Store.ListParticipants(ctx)
	return v, s.count("ListParticipants", err)
}

func (s instrumented) DeleteParticipant(ctx context.Context, id string) error {
	return s.count("DeleteParticipant", s.Store.DeleteParticipant(ctx, id))
}

func (s instrumented) PutLink(ctx context.Context, l store.Link) error {
	return s.count("PutLink", s.Store.PutLink(ctx, l))
}

func (s instrumented) GetLink(ctx context.Context, index string) (store.Link, error) {
	v, err := s.Store.GetLink(ctx, index)
	return v, s.count("GetLink", err)
}

func (s instrumented) LinksOf(ctx context.Context, participantID string) ([]store.Link, error) {
	v, err := s.Store.LinksOf(ctx, participantID)
	return v, s.count("LinksOf", err)
}

func (s instrumented) DeleteLink(ctx context.Context, index string) error {
	return s.count("DeleteLink", s.Store.DeleteLink(ctx, index))
}

func (s instrumented) PutEnrolmentCode(ctx context.Context, c store.EnrolmentCode) error {
	return s.count("PutEnrolmentCode", s.Store.PutEnrolmentCode(ctx, c))
}

func (s instrumented) TakeEnrolmentCode(ctx context.Context, code string) (store.EnrolmentCode, error) {
	v, err := s.Store.TakeEnrolmentCode(ctx, code)
	return v, s.count("TakeEnrolmentCode", err)
}

func (s instrumented) GetSession(ctx context.Context, participantID string) (store.Session, error) {
	v, err := s.Store.GetSession(ctx, participantID)
	return v, s.count("GetSession", err)
}

func (s instrumented) SaveSession(ctx context.Context, sess store.Session) error {
	return s.count("SaveSession", s.Store.SaveSession(ctx, sess))
}

func (s instrumented) DeleteSession(ctx context.Context, participantID string) error {
	return s.count("DeleteSession", s.Store.DeleteSession(ctx, participantID))
}

func (s instrumented) RecordCheckIn(ctx context.Context, c store.CheckIn) error {
	err := s.count("RecordCheckIn", s.Store.RecordCheckIn(ctx, c))
	if err == nil {
		s.m.CheckIn(string(c.Outcome))
	}
	return err
}

func (s instrumented) CheckInsOf(ctx context.Context, participantID string, since time.Time) ([]store.CheckIn, error) {
	v, err := s.Store.CheckInsOf(ctx, participantID, since)
	return v, s.count("CheckInsOf", err)
}

func (s instrumented) AddAttention(ctx context.Context, a store.AttentionItem) error {
	err := s.count("AddAttention", s.Store.AddAttention(ctx, a))
	if err == nil {
		s.m.attention(a)
	}
	return err
}

func (s instrumented) ListAttention(ctx context.Context, openOnly bool) ([]store.AttentionItem, error) {
	v, err := s.Store.ListAttention(ctx, openOnly)
	return v, s.count("ListAttention", err)
}

func (s instrumented) ResolveAttention(ctx context.Context, id, by, resolution string, at time.Time) error {
	return s.count("ResolveAttention", s.Store.ResolveAttention(ctx, id, by, resolution, at))
}

func (s instrumented) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	return s.count("AppendAudit", s.Store.AppendAudit(ctx, e))
}

func (s instrumented) ListAudit(ctx context.Context, participantID string, limit int) ([]store.AuditEntry, error) {
	v, err := s.Store.ListAudit(ctx, participantID, limit)
	return v, s.count("ListAudit", err)
}

func (s instrumented) FirstSeen(ctx context.Context, key string, expiresAt time.Time) (bool, error) {
	v, err := s.Store.FirstSeen(ctx, key, expiresAt)
	return v, s.count("FirstSeen", err)
}

func (s instrumented) Seen(ctx context.Context, key string) (bool, error) {
	v, err := s.Store.Seen(ctx, key)
	return v, s.count("Seen", err)
}

func (s instrumented) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	v, err := s.Store.AcquireLease(ctx, name, owner, ttl)
	return v, s.count("AcquireLease", err)
}

func (s instrumented) ReleaseLease(ctx context.Context, name, owner string) error {
	return s.count("ReleaseLease", s.Store.ReleaseLease(ctx, name, owner))
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

func (s instrumented) ClaimOutbound(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboundMessage, error) {
	v, err := s.Store.ClaimOutbound(ctx, owner, now, lease, limit)
	return v, s.count("ClaimOutbound", err)
}

func (s instrumented) GetOutbound(ctx context.Context, id string) (store.OutboundMessage, error) {
	v, err := s.Store.GetOutbound(ctx, id)
	return v, s.count("GetOutbound", err)
}

func (s instrumented) UpdateOutbound(ctx context.Context, m store.OutboundMessage) error {
	return s.count("UpdateOutbound", s.Store.UpdateOutbound(ctx, m))
}

func (s instrumented) ReserveRate(ctx context.Context, key string, n int, perSecond float64, now time.Time) (time.Time, error) {
	v, err := s.Store.ReserveRate(ctx, key, n, perSecond, now)
	return v, s.count("ReserveRate", err)
}

func (s instrumented) Increment(ctx context.Context, key string, expiresAt time.Time) (int, error) {
	v, err := s.Store.Increment(ctx, key, expiresAt)
	return v, s.count("Increment", err)
}

func (s instrumented) PutAppointment(ctx context.Context, a store.Appointment) error {
	return s.count("PutAppointment", s.Store.PutAppointment(ctx, a))
}

func (s instrumented) GetAppointment(ctx context.Context, id string) (store.Appointment, error) {
	v, err := s.Store.GetAppointment(ctx, id)
	return v, s.count("GetAppointment", err)
}

func (s instrumented) AppointmentsOf(ctx context.Context, participantID string) ([]store.Appointment, error) {
	v, err := s.Store.AppointmentsOf(ctx, participantID)
	return v, s.count("AppointmentsOf", err)
}

func (s instrumented) DeleteAppointment(ctx context.Context, id string) error {
	return s.count("DeleteAppointment", s.Store.DeleteAppointment(ctx, id))
}

func (s instrumented) PutDue(ctx context.Context, items ...store.DueItem) error {
	return s.count("PutDue", s.Store.PutDue(ctx, items...))
}

func (s instrumented) DeleteDue(ctx context.Context, ids ...string) error {
	return s.count("DeleteDue", s.Store.DeleteDue(ctx, ids...))
}

func (s instrumented) DueOf(ctx context.Context, participantID string) ([]store.DueItem, error) {
	v, err := s.Store.DueOf(ctx, participantID)
	return v, s.count("DueOf", err)
}

func (s instrumented) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.DueItem, error) {
	v, err := s.Store.ClaimDue(ctx, owner, now, lease, limit)
	return v, s.count("ClaimDue", err)
}

func (s instrumented) CompleteDue(ctx context.Context, id, owner string) error {
	return s.count("CompleteDue", s.Store.CompleteDue(ctx, id, owner))
}

func (s instrumented) Ping(ctx context.Context) error {
	return s.count("Ping", s.Store.Ping(ctx))
}
