package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

func apptIDs(as []store.Appointment) []string {
	return ids(as, func(a store.Appointment) string { return a.ID })
}

var appointmentTests = []namedTest{
	{"PutThenGet", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		a := appointment("ap_1", "p_a", "2026-03-10", "09:30")
		must(t, "put", s.PutAppointment(ctx, a))
		got, err := s.GetAppointment(ctx, "ap_1")
		must(t, "get", err)
		mustSame(t, "appointment", got, a)
		_, err = s.GetAppointment(ctx, "ap_missing")
		mustBe(t, "get missing", err, store.ErrNotFound)
	}},
	{"PutReplacesByID", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutAppointment(ctx, appointment("ap_1", "p_a", "2026-03-10", "09:30")))
		a := appointment("ap_1", "p_a", "2026-03-12", "14:00")
		a.Status, a.UpdatedAt = store.AppointmentConfirmed, at(time.Hour)
		must(t, "replace", s.PutAppointment(ctx, a))
		got, err := s.GetAppointment(ctx, "ap_1")
		must(t, "get", err)
		mustSame(t, "replaced appointment", got, a)
		list, err := s.AppointmentsOf(ctx, "p_a")
		must(t, "list", err)
		mustIDs(t, "listed once", apptIDs(list), []string{"ap_1"})
		mustSame(t, "listed replacement", list[0], a)
	}},
	{"AppointmentsOfOrderedByDateAndTime", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		for _, a := range []store.Appointment{
			appointment("ap_a", "p_a", "2026-04-01", "08:00"),
			appointment("ap_b", "p_a", "2026-03-15", "16:00"),
			appointment("ap_c", "p_a", "2026-03-15", "09:00"),
			appointment("ap_d", "p_b", "2026-03-01", "09:00"),
			appointment("ap_e", "p_a", "2026-12-01", "07:00"),
		} {
			must(t, "put", s.PutAppointment(ctx, a))
		}
		got, err := s.AppointmentsOf(ctx, "p_a")
		must(t, "list", err)
		mustIDs(t, "date then time order", apptIDs(got), []string{"ap_c", "ap_b", "ap_a", "ap_e"})
	}},
	{"ReplaceMovesToNewParticipant", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutAppointment(ctx, appointment("ap_1", "p_a", "2026-03-10", "09:30")))
		must(t, "put later time", s.PutAppointment(ctx, appointment("ap_1", "p_b", "2026-03-11", "09:30")))
		old, err := s.AppointmentsOf(ctx, "p_a")
		must(t, "list old", err)
		mustIDs(t, "old participant", apptIDs(old), nil)
		now, err := s.AppointmentsOf(ctx, "p_b")
		must(t, "list new", err)
		mustIDs(t, "new participant", apptIDs(now), []string{"ap_1"})
	}},
	{"DeleteRemovesAndIsIdempotent", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "put", s.PutAppointment(ctx, appointment("ap_1", "p_a", "2026-03-10", "09:30")))
		must(t, "put", s.PutAppointment(ctx, appointment("ap_2", "p_a", "2026-03-11", "09:30")))
		must(t, "delete", s.DeleteAppointment(ctx, "ap_1"))
		_, err := s.GetAppointment(ctx, "ap_1")
		mustBe(t, "get deleted", err, store.ErrNotFound)
		list, err := s.AppointmentsOf(ctx, "p_a")
		must(t, "list", err)
		mustIDs(t, "after delete", apptIDs(list), []string{"ap_2"})
		must(t, "delete again", s.DeleteAppointment(ctx, "ap_1"))
	}},
}
