package bolt

import (
	"context"
	"fmt"

	"github.com/waymark-atd/waymark/internal/store"
)

// Appointments are indexed by participant, date and time; Date (2006-01-02)
// and Time (15:04) sort as text in time order.

func apptIndexKey(a store.Appointment) []byte {
	return key(idPrefix(a.ParticipantID), []byte(a.Date), []byte{' '}, []byte(a.Time), []byte{0}, []byte(a.ID))
}

func (s *Store) PutAppointment(_ context.Context, a store.Appointment) error {
	if err := store.CheckAppointment(a); err != nil {
		return fmt.Errorf("bolt: put appointment: %w", err)
	}
	return s.update("put appointment "+a.ID, func(t *txn) error {
		if err := t.deleteAppointment([]byte(a.ID)); err != nil {
			return err
		}
		if err := putJSON(t.Bucket(bAppointments), []byte(a.ID), a); err != nil {
			return err
		}
		return t.Bucket(bAppointmentsByP).Put(apptIndexKey(a), []byte(a.ID))
	})
}

func (s *Store) GetAppointment(_ context.Context, id string) (store.Appointment, error) {
	var a store.Appointment
	err := s.view("get appointment "+id, func(t *txn) error {
		ok, err := getJSON(t.Bucket(bAppointments), []byte(id), &a)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	return a, err
}

func (s *Store) AppointmentsOf(_ context.Context, participantID string) ([]store.Appointment, error) {
	var out []store.Appointment
	err := s.view("appointments of "+participantID, func(t *txn) (err error) {
		out, err = t.appointmentsOf(participantID)
		return err
	})
	return out, err
}

func (t *txn) appointmentsOf(participantID string) ([]store.Appointment, error) {
	var out []store.Appointment
	index, appts := t.Bucket(bAppointmentsByP), t.Bucket(bAppointments)
	for _, k := range prefixKeys(index, idPrefix(participantID)) {
		var a store.Appointment
		// The index value is the ID: Date and Time are free text, so
		// the key cannot be split reliably.
		if ok, err := getJSON(appts, index.Get(k), &a); err != nil || !ok {
			return nil, orMissingIndex(err, ok)
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *Store) DeleteAppointment(_ context.Context, id string) error {
	return s.update("delete appointment "+id, func(t *txn) error { return t.deleteAppointment([]byte(id)) })
}

func (t *txn) deleteAppointment(id []byte) error {
	b := t.Bucket(bAppointments)
	var old store.Appointment
	ok, err := getJSON(b, id, &old)
	if err != nil || !ok {
		return err
	}
	if err := t.Bucket(bAppointmentsByP).Delete(apptIndexKey(old)); err != nil {
		return err
	}
	return b.Delete(id)
}

func (t *txn) deleteAppointmentsOf(pfx []byte) error {
	index := t.Bucket(bAppointmentsByP)
	for _, k := range prefixKeys(index, pfx) {
		if err := t.deleteAppointment(index.Get(k)); err != nil {
			return err
		}
	}
	return nil
}
