// Package footprint builds what one typical participant costs a backend,
// written the way the programme writes it, for the storage measurements.
package footprint

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Footprint data: what one typical participant costs a backend, for the Redis store's
// TestMemoryPerParticipant and the bolt store's BenchmarkBoltFootprint.
// IDs, blind indexes and sealed numbers have their real sizes (store.NewID,
// internal/seal), and the due items are the ones the scheduler itself stores
// of a plan made with the shipped programme.yaml.

// Now is the moment the footprint describes: a Tuesday, an hour
// after the day's window opened (10:00 in Madrid), while the person is
// being asked to check in.
var Now = time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)

// Daily and Weekly are the schedules the footprint is measured with: a
// window every day from 09:00 for 12 hours, and one a week from Monday
// 09:00 to Wednesday 21:00, local time in Madrid.
var (
	Daily  = store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}}
	Weekly = store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}}}
)

// State is a participant's own state, what the programme needs
// to run for them: the record, one link, one upcoming appointment, the
// check-in conversation in progress and the due items the scheduler
// stores of the plan of the schedule and the appointment at Now.
type State struct {
	Participant store.Participant
	Link        store.Link
	Appointment store.Appointment
	Session     store.Session
	Due         []store.DueItem
}

// NewState builds the state of the i-th participant on sched.
func NewState(i int, sched store.CheckInSchedule) (State, error) {
	box, prog, err := footprintTools()
	if err != nil {
		return State{}, err
	}
	now := Now
	enrolled := now.Add(-60 * 24 * time.Hour)
	number := fmt.Sprintf("+3461%07d", i)
	pid := store.NewID("p_")
	sealed, err := box.Seal(string(store.SMS), number)
	if err != nil {
		return State{}, err
	}
	link := store.Link{Index: box.Index(string(store.SMS), number), Channel: store.SMS, ParticipantID: pid,
		Sealed: sealed, Masked: seal.Mask(number), LinkedAt: enrolled, LastSeenAt: now.Add(-24 * time.Hour)}
	s := sched
	// The person agreed to messages when they enrolled (without it Plan
	// plans only each window's decision), and shares their caseworker with
	// caseloadSize-1 others, so that the caseload index has its real shape.
	p := store.Participant{ID: pid, Label: fmt.Sprintf("case %04d", i), Language: "es", TimeZone: "Europe/Madrid",
		CaseworkerID: caseworkerOf(i), Status: store.Active, LastLink: link.Index,
		ConsentedAt: enrolled, ConsentVersion: "es:" + randomHex(6),
		CreatedAt: enrolled, UpdatedAt: now, Schedule: &s}
	appt := store.Appointment{ID: store.NewID("ap_"), ParticipantID: pid, Kind: "caseworker_meeting", Place: "Room 2",
		Date: "2026-03-13", Time: "10:30", Status: store.AppointmentScheduled, CreatedAt: enrolled, UpdatedAt: enrolled}
	due, err := schedule.Stored(schedule.PlanInput{Participant: p, Appointments: []store.Appointment{appt}, Programme: prog, Now: now})
	if err != nil {
		return State{}, err
	}
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		return State{}, err
	}
	closes := time.Date(2026, time.March, 3, 21, 0, 0, 0, madrid)
	ss := store.Session{ParticipantID: pid, Flow: "checkin", Node: "ask",
		Vars:      map[string]string{"Date": schedule.FormatDate(p.Language, closes), "Time": schedule.FormatTime(p.Language, closes)},
		UpdatedAt: now, ExpiresAt: now.Add(prog.SessionTimeout.D())}
	return State{Participant: p, Link: link, Appointment: appt, Session: ss, Due: due}, nil
}

// caseloadSize is how many participants share a caseworker in the
// footprint. It shapes only the caseload index, whose entries are per
// participant and whose keys per caseworker.
const caseloadSize = 50

// caseworkerOf is the account ID of the i-th participant's caseworker, of
// an ID's real length.
func caseworkerOf(i int) string {
	return fmt.Sprintf("acct_%016d", i/caseloadSize) // as long as store.NewID("acct_")
}

// Day is what one day adds to a participant's history: a
// check-in (its turn writes no audit entry), and two delivered messages (the question and the thanks). It also names the marks the
// day leaves for a while: the provider's message ID of the reply, and the
// keys the scheduler and the dispatcher record that they acted.
type Day struct {
	CheckIn   store.CheckIn
	Window    store.Window // the ledger's record of the day's window
	Messages  []store.OutboundMessage
	DedupeKey string    // the reply's, kept retention.dedupe_keys (48h)
	Marks     []string  // the window opening's (14 days after it) and each message's dispatch (24 hours)
	MarkUntil time.Time // when the window opening's mark expires
}

// NewDay builds the history of st's participant for the day that
// starts at day (the window's opening).
func NewDay(st State, day time.Time) Day {
	pid := st.Participant.ID
	at := day.Add(37*time.Minute + 12345678*time.Nanosecond)
	d := Day{
		CheckIn: store.CheckIn{ID: store.NewID("c_"), ParticipantID: pid, At: at, Channel: store.SMS, Outcome: store.OnTime},
		// The ledger's record of the day's window, as the scheduler leaves
		// it once the grace has ended.
		Window: store.Window{Ref: fmt.Sprintf("win:%s:%d", pid, day.Unix()), ParticipantID: pid,
			OpensAt: day, ClosesAt: day.Add(12 * time.Hour), GraceEndsAt: day.Add(36 * time.Hour),
			Outcome: store.WindowOnTime, DecidedAt: day.Add(36*time.Hour + 5*time.Second), UpdatedAt: day.Add(36*time.Hour + 5*time.Second)},
		DedupeKey: "sms:SM" + randomHex(16),
		Marks:     []string{fmt.Sprintf("sched:win:%s:%d:open@%d", pid, day.Unix(), day.Unix())},
		MarkUntil: day.Add(14 * 24 * time.Hour),
	}
	d.Window.CheckInID = d.CheckIn.ID
	for _, m := range []struct {
		kind string
		at   time.Time
	}{{"checkin.ask", day}, {"checkin.thanks", at}} {
		msg := store.OutboundMessage{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: st.Link.Index,
			Channel: store.SMS, Kind: m.kind, Status: store.Delivered, Attempts: 1, NotBefore: m.at,
			ProviderID: "SM" + randomHex(16), CreatedAt: m.at, UpdatedAt: m.at.Add(4 * time.Second)}
		d.Messages = append(d.Messages, msg)
		d.Marks = append(d.Marks, "outbox:pass:"+msg.ID+":0")
	}
	return d
}

// footprintTools returns a sealing box and the shipped programme, loaded
// once.
func footprintTools() (*seal.Box, flow.Programme, error) {
	t, err := loadFootprintTools()
	return t.box, t.prog, err
}

type tools struct {
	box  *seal.Box
	prog flow.Programme
}

var loadFootprintTools = sync.OnceValues(func() (tools, error) {
	box, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return tools{}, err
	}
	set, problems := flow.Load(flows.FS)
	if len(diag.Errors(problems)) > 0 || set == nil {
		return tools{}, errors.New("storetest: the shipped flows do not load")
	}
	return tools{box, set.Programme}, nil
})

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
