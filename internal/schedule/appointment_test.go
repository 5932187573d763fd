package schedule_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

func (h *harness) appointment(pid, id, date, clock string, status store.AppointmentStatus) store.Appointment {
	h.t.Helper()
	a := store.Appointment{ID: id, ParticipantID: pid, Kind: "hearing", Place: "Room 2, Main St", Date: date, Time: clock,
		Status: status, CreatedAt: h.clock.Now(), UpdatedAt: h.clock.Now()}
	h.must(h.st.PutAppointment(h.ctx, a))
	return a
}

func (h *harness) apptDue(pid string) []string {
	h.t.Helper()
	var out []string
	for _, d := range h.due(pid) {
		if strings.HasPrefix(d, "appt:") {
			out = append(out, d)
		}
	}
	return out
}

// TestAppointmentReminders: 7, 3 and 1 days before at 09:00 local and on
// the morning, each with the date, time and place in the person's words,
// and a question with "I will be there" and "I need a new time".
func TestAppointmentReminders(t *testing.T) {
	h := newHarness(t)
	pid, addrs := h.enrol("Europe/London", nil, store.SMS)
	h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))

	for _, step := range []struct{ at, words string }{
		{"2026-01-13T09:00:00Z", "in 7 days"},
		{"2026-01-17T09:00:00Z", "in 3 days"},
		{"2026-01-19T09:00:00Z", "tomorrow"},
		{"2026-01-20T09:00:00Z", "today"},
	} {
		h.run(step.at)
		msgs := h.sent(pid)
		if len(msgs) != 1 {
			t.Fatalf("at %s: %d messages", step.at, len(msgs))
		}
		m := msgs[0]
		for _, want := range []string{step.words, "10:30am", "Room 2, Main St"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("at %s: %q does not say %q", step.at, m.Text, want)
			}
		}
		if step.words != "today" && !strings.Contains(m.Text, "Tuesday 20 January") {
			t.Errorf("at %s: %q has no date", step.at, m.Text)
		}
		if len(m.Choices) != 2 {
			t.Errorf("at %s: choices %+v, want confirm and reschedule", step.at, m.Choices)
		}
	}
	// "I need a new time" goes to the caseworker.
	h.clock.Set(utc("2026-01-20T09:05:00Z"))
	h.say(store.SMS, addrs[0], "2")
	att := h.attention(pid)
	if len(att) != 1 || att[0].Kind != store.AttentionReschedule {
		t.Errorf("attention after asking for a new time: %+v", att)
	}
}

// TestAppointmentChanged: moving an appointment makes its old reminders
// stale (never sent, even before anyone replans) and replanning puts new
// ones at the new date; a cancellation removes them.
func TestAppointmentChanged(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", nil, store.SMS)
	a := h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))

	a.Date = "2026-01-27"
	h.must(h.st.PutAppointment(h.ctx, a)) // no replan yet
	h.run("2026-01-13T09:00:00Z")
	h.expectKinds(pid, "old 7-day reminder after the move")
	// Handling the stale item replanned the person: the new date is in,
	// as its next reminder (each one, handled, plans the one after).
	want := []string{"appt:a1:7d @ 2026-01-20T09:00:00Z"}
	if got := h.apptDue(pid); !slices.Equal(got, want) {
		t.Errorf("after the move:\n got %v\nwant %v", got, want)
	}
	h.run("2026-01-17T09:00:00Z")
	h.expectKinds(pid, "old 3-day reminder")
	h.run("2026-01-20T09:00:00Z")
	h.expectKinds(pid, "new 7-day reminder", "reminder.upcoming")

	a.Status = store.AppointmentCancelled
	h.must(h.st.PutAppointment(h.ctx, a))
	h.must(h.sched.Replan(h.ctx, pid))
	if got := h.apptDue(pid); len(got) != 0 {
		t.Errorf("reminders left after cancelling: %v", got)
	}
	h.run("2026-01-27T09:00:00Z")
	h.expectKinds(pid, "after cancelling")
}

// TestAppointmentCancelledWithoutReplan: a reminder of an appointment
// cancelled (or deleted) since it was planned is never sent.
func TestAppointmentCancelledWithoutReplan(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", nil, store.SMS)
	a := h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.appointment(pid, "a2", "2026-01-20", "15:00", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))
	a.Status = store.AppointmentCancelled
	h.must(h.st.PutAppointment(h.ctx, a))
	h.must(h.st.DeleteAppointment(h.ctx, "a2"))
	if n := h.run("2026-01-13T09:00:00Z"); n != 2 {
		t.Errorf("handled %d, want both stale reminders dealt with", n)
	}
	h.expectKinds(pid, "cancelled and deleted")
}

// TestAppointmentFollowUp: once a caseworker marks an appointment missed,
// one kind follow-up invites the person to find a new time, and only one.
func TestAppointmentFollowUp(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", nil, store.SMS)
	a := h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-20T09:00:00Z")
	h.expectKinds(pid, "morning", "reminder.today")

	h.clock.Set(utc("2026-01-20T15:00:00Z"))
	a.Status = store.AppointmentMissed
	h.must(h.st.PutAppointment(h.ctx, a))
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-20T15:00:00Z")
	msgs := h.sent(pid)
	if len(msgs) != 1 || msgs[0].Kind != "appointment.followup" {
		t.Fatalf("follow-up: %+v", msgs)
	}
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-21T10:00:00Z")
	h.expectKinds(pid, "after the follow-up")
	if got := h.apptDue(pid); len(got) != 0 {
		t.Errorf("left after the follow-up: %v", got)
	}
}

// TestAppointmentWhilePaused: no appointment reminders while paused.
func TestAppointmentWhilePaused(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", nil, store.SMS)
	h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))
	h.update(pid, func(p *store.Participant) { p.Status = store.Paused })
	h.run("2026-01-13T09:00:00Z")
	h.expectKinds(pid, "paused")
}

// TestCatchingUp: after the scheduler was stopped for days, the person gets
// the latest reminder that is due, not every one they missed, and none
// for a window that has closed. Windows nobody was asked about are not
// missed: the ledger says "not delivered", and the caseworker sees that
// no prompt was sent.
func TestCatchingUp(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-08T10:00:00Z")
	h.expectKinds(pid, "Thursday, after the window closed")
	h.run("2026-01-19T10:00:00Z")
	kinds := h.kinds(pid)
	if want := []string{"reminder.upcoming"}; !slices.Equal(kinds, want) {
		t.Errorf("the day before the appointment: sent %v, want %v", kinds, want)
	}
	att := h.attention(pid)
	if len(att) != 2 || att[0].Kind != store.AttentionCantReach || att[0].Reason != schedule.ReasonNotSent {
		t.Errorf("attention: %+v, want two windows nobody was asked about", att)
	}
	for _, w := range h.windows(pid) {
		if w.Outcome != store.WindowNotDelivered {
			t.Errorf("window %s: %s, want not_delivered", w.Ref, w.Outcome)
		}
	}
	h.run("2026-01-20T11:00:00Z")
	h.expectKinds(pid, "after the appointment began")
}

// TestCatchingUpWaitsForMorning: a scheduler that starts again at night
// holds what fell due meanwhile until the quiet hours are over, for a child
// whatever the programme says.
func TestCatchingUpWaitsForMorning(t *testing.T) {
	h := newHarness(t)
	pid, _ := h.enrol("Europe/London", mondayToWednesday(), store.SMS)
	h.update(pid, func(p *store.Participant) { p.Child = true })
	h.appointment(pid, "a1", "2026-01-20", "10:30", store.AppointmentScheduled)
	h.must(h.sched.Replan(h.ctx, pid))
	h.run("2026-01-08T10:00:00Z")
	h.kinds(pid)
	// Stopped over the reminder on the 19th at 09:00; back at 23:30.
	h.run("2026-01-19T23:30:00Z")
	h.expectKinds(pid, "at night")
	h.run("2026-01-20T08:10:00Z")
	if kinds := h.kinds(pid); !slices.Contains(kinds, "reminder.today") && !slices.Contains(kinds, "reminder.upcoming") {
		t.Errorf("in the morning: sent %v, want the held reminder", kinds)
	}
}
