package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
)

// PutAppointment inserts or replaces an appointment by ID. Like a link, the
// record is one key; the new participant's hint is added first and the old
// participant's removed last.
func (s *Store) PutAppointment(ctx context.Context, a store.Appointment) error {
	if err := store.CheckAppointment(a); err != nil {
		return fmt.Errorf("redis: put appointment: %w", err)
	}
	op := "put appointment " + a.ID
	doc, err := compact.EncodeAppointment(a)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if err := s.rdb.HSet(ctx, s.k.person(a.ParticipantID), refAppointment+a.ID, "").Err(); err != nil {
		return s.fail(op, err)
	}
	old, err := s.rdb.SetArgs(ctx, s.k.appointment(a.ID), doc, goredis.SetArgs{Get: true}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.fail(op, err)
	}
	if was, err := compact.DecodeAppointment(a.ID, []byte(old)); err == nil && was.ParticipantID != a.ParticipantID {
		if err := s.rdb.HDel(ctx, s.k.person(was.ParticipantID), refAppointment+a.ID).Err(); err != nil {
			return s.fail(op, err)
		}
	}
	return nil
}

// GetAppointment returns an appointment; ErrNotFound if there is none.
func (s *Store) GetAppointment(ctx context.Context, id string) (store.Appointment, error) {
	a, err := getRecord(ctx, s, s.k.appointment(id), id, compact.DecodeAppointment)
	if err != nil {
		return a, s.wrapGet("get appointment "+id, err)
	}
	return a, nil
}

// AppointmentsOf returns a participant's appointments, ordered by date and
// time.
func (s *Store) AppointmentsOf(ctx context.Context, participantID string) ([]store.Appointment, error) {
	ids, docs, err := s.hinted(ctx, participantID, refAppointment, s.k.appointment)
	if err != nil {
		return nil, s.fail("appointments of "+participantID, err)
	}
	return decodeAppointments(participantID, ids, docs)
}

// decodeAppointments reads the records a person's refs point at (docs[i]
// that of ids[i]), skipping stale hints, ordered by date and time.
func decodeAppointments(participantID string, ids []string, docs []*string) ([]store.Appointment, error) {
	out, err := owned(docs, participantID, keyedBy(ids, compact.DecodeAppointment), func(a store.Appointment) string { return a.ParticipantID })
	if err != nil {
		return nil, fmt.Errorf("redis: appointments of %s: %w", participantID, err)
	}
	slices.SortFunc(out, func(a, b store.Appointment) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Time, b.Time), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteAppointment removes an appointment; a missing one is no error.
func (s *Store) DeleteAppointment(ctx context.Context, id string) error {
	old, err := s.rdb.GetDel(ctx, s.k.appointment(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return s.fail("delete appointment "+id, err)
	}
	if was, err := compact.DecodeAppointment(id, []byte(old)); err == nil && was.ParticipantID != "" {
		if err := s.rdb.HDel(ctx, s.k.person(was.ParticipantID), refAppointment+id).Err(); err != nil {
			return s.fail("delete appointment "+id, err)
		}
	}
	return nil
}
