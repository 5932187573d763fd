package report_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/report"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// BenchmarkYearReport computes a year's weekly report for a programme of
// 10,000 people with a weekly check-in each: 520,000 windows, as many
// check-ins, a week of sent messages (what retention keeps), a missed
// window's item now and then, and an appointment a month. docs/performance.md
// records the figures; the target is under 2 s on the two-core machine.
//
//	go test -run '^$' -bench YearReport -benchtime 3x ./internal/report/
//	WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench YearReport/redis -benchtime 3x ./internal/report/
func BenchmarkYearReport(b *testing.B) {
	n := 10000
	seed := func(b *testing.B, st store.Store) { seedYear(b, st, n) }
	testkit.SeededStores(b, fmt.Sprintf("waymark-report-bench-%d-v2.db", n), seed, benchYear)
}

func seedYear(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	start := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC) // a Monday
	zones := []string{"Europe/London", "Europe/Madrid", "America/New_York", "Africa/Lagos"}
	outcomes := []store.WindowOutcome{store.WindowOnTime, store.WindowOnTime, store.WindowOnTime, store.WindowOnTime,
		store.WindowOnTime, store.WindowLate, store.WindowReportedUnable, store.WindowMissed, store.WindowNotDelivered, store.WindowOnTime}
	channels := []store.Channel{store.SMS, store.SMS, store.WhatsApp, store.Telegram, store.MissedCall}
	seeded := time.Now()
	for i := range n {
		p := store.Participant{ID: fmt.Sprintf("p_%05d", i), Label: "x", Language: "en", TimeZone: zones[i%len(zones)],
			CaseworkerID: fmt.Sprintf("cw%02d", i%40), Status: store.Active, CreatedAt: start, UpdatedAt: start}
		if err := st.CreateParticipant(ctx, p); err != nil {
			b.Fatal(err)
		}
		t := store.Turn{ParticipantID: p.ID}
		for w := range 52 {
			opens := start.AddDate(0, 0, 7*w)
			win := store.Window{Ref: fmt.Sprintf("win:%s:%d", p.ID, opens.Unix()), ParticipantID: p.ID, OpensAt: opens,
				ClosesAt: opens.Add(60 * time.Hour), GraceEndsAt: opens.Add(84 * time.Hour), Outcome: outcomes[(i+w)%len(outcomes)]}
			win.DecidedAt, win.UpdatedAt = win.GraceEndsAt, win.GraceEndsAt
			switch win.Outcome {
			case store.WindowOnTime, store.WindowLate:
				c := store.CheckIn{ID: fmt.Sprintf("c_%s_%d", p.ID, w), ParticipantID: p.ID, At: opens.Add(2 * time.Hour),
					Channel: channels[(i+w)%len(channels)], Outcome: store.OnTime}
				win.CheckInID = c.ID
				t.CheckIns = append(t.CheckIns, c)
			case store.WindowMissed:
				a := store.AttentionItem{ID: fmt.Sprintf("n_%s_%d", p.ID, w), ParticipantID: p.ID, Kind: store.AttentionMissed,
					Ref: win.Ref, CreatedAt: win.GraceEndsAt, ResolvedAt: win.GraceEndsAt.Add(20 * time.Hour), ResolvedBy: "cw", Resolution: "contacted"}
				win.AttentionID = a.ID
				t.Attention = append(t.Attention, a)
			}
			t.Windows = append(t.Windows, win)
		}
		last := start.AddDate(0, 0, 7*51)
		for k := range 3 {
			t.Outbound = append(t.Outbound, store.OutboundMessage{ID: fmt.Sprintf("m_%s_%d", p.ID, k), ParticipantID: p.ID,
				LinkIndex: "l", Channel: store.SMS, Kind: "checkin.window_open", Ref: "r", Status: store.Pending, Segments: 1,
				CreatedAt: last.Add(time.Duration(k) * time.Hour), NotBefore: last.Add(time.Duration(k) * time.Hour), UpdatedAt: last})
		}
		if err := st.ApplyTurn(ctx, t); err != nil {
			b.Fatal(err)
		}
		for m := range 12 {
			a := store.Appointment{ID: fmt.Sprintf("ap_%s_%d", p.ID, m), ParticipantID: p.ID, Kind: "caseworker_meeting", Place: "office",
				Date: time.Date(2025, time.Month(m+1), 15, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Time: "10:00",
				Status: store.AppointmentAttended, CreatedAt: start, UpdatedAt: start}
			if m%4 != 0 {
				continue // one a quarter: appointments are few
			}
			if err := st.PutAppointment(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("seeded %d people with a year's records in %s", n, time.Since(seeded).Round(time.Second))
}

func benchYear(b *testing.B, st store.Store) {
	ctx := context.Background()
	o := report.Options{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
		By: report.ByWeek, ShortWindow: 12 * time.Hour, QuietStart: 21 * time.Hour, QuietEnd: 8 * time.Hour, SegmentPrice: 0.04}
	// The machine is shared, so wall time depends on the neighbours; the
	// processor time this process spent is reported beside it (cpu-s/op).
	before := cpuTime()
	n := 0
	for b.Loop() {
		r, err := report.Compute(ctx, st, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Periods) != 53 {
			b.Fatalf("%d weeks", len(r.Periods))
		}
		n++
	}
	b.ReportMetric((cpuTime()-before).Seconds()/float64(n), "cpu-s/op")
}

// cpuTime is the processor time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
