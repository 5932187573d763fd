package loadtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// BenchmarkBoltFootprint measures the embedded store's file size per
// enrolled participant, with what the Redis store's
// TestMemoryPerParticipant puts in Redis: the record, one link, a week of
// planned items (a window opening, a closing-soon reminder and a miss
// check a day, and three appointment reminders) and 12 weeks of daily
// check-ins; then the same with the 12 weeks of delivered messages the
// outbox keeps (two a day, text dropped). The figure is the file's size,
// which bbolt grows in steps, divided by the people in it.
//
//	go test -run '^$' -bench BoltFootprint -benchtime 1x ./internal/loadtest/
func BenchmarkBoltFootprint(b *testing.B) {
	for _, withMessages := range []bool{false, true} {
		name := "core"
		if withMessages {
			name = "with_12_weeks_of_messages"
		}
		b.Run(name, func(b *testing.B) {
			const people, days = 1000, 84
			var perPerson float64
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "w.db")
				st, err := bolt.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := fillFootprint(context.Background(), st, people, days, withMessages); err != nil {
					b.Fatal(err)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				perPerson = float64(fi.Size()) / people
			}
			b.ReportMetric(perPerson, "bytes/participant")
		})
	}
}

func fillFootprint(ctx context.Context, st store.Store, people, days int, withMessages bool) error {
	start := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	for i := range people {
		pid := store.NewID("p_")
		p := store.Participant{ID: pid, Label: fmt.Sprintf("case %04d", i), Language: "es", TimeZone: "Europe/Madrid",
			CaseworkerID: "cw_" + store.NewID(""), Status: store.Active, LastLink: store.NewID("ix_"), CreatedAt: start, UpdatedAt: start}
		if err := st.CreateParticipant(ctx, p); err != nil {
			return err
		}
		if err := st.PutLink(ctx, store.Link{Index: p.LastLink, Channel: store.SMS, ParticipantID: pid,
			Sealed: make([]byte, 60), Masked: "+44 7*** ***123", LinkedAt: start, LastSeenAt: start}); err != nil {
			return err
		}
		var due []store.DueItem
		for d := range 7 {
			day := start.Add(time.Duration(days+d) * 24 * time.Hour)
			for _, kind := range []string{"window_open", "window_closing", "missed_check"} {
				due = append(due, store.DueItem{ID: fmt.Sprintf("%s:%s:%s", kind, pid, day.Format("20060102")), ParticipantID: pid,
					Kind: kind, Ref: "w_" + day.Format("20060102"), DueAt: day})
			}
		}
		for _, off := range []string{"7d", "3d", "1d"} {
			due = append(due, store.DueItem{ID: "appt:ap_" + pid + ":" + off, ParticipantID: pid, Kind: "appt_reminder",
				Ref: "ap_" + pid, DueAt: start.Add(100 * 24 * time.Hour), Data: map[string]string{"offset": off}})
		}
		if err := st.PutDue(ctx, due...); err != nil {
			return err
		}
		var cis []store.CheckIn
		for d := range days {
			cis = append(cis, store.CheckIn{ID: store.NewID("c_"), ParticipantID: pid, At: start.Add(time.Duration(d) * 24 * time.Hour),
				Channel: store.SMS, Outcome: store.OnTime})
		}
		if err := st.ApplyTurn(ctx, store.Turn{ParticipantID: pid, CheckIns: cis}); err != nil {
			return err
		}
		if !withMessages {
			continue
		}
		var msgs []store.OutboundMessage
		for d := range days {
			for _, kind := range []string{"checkin.ask", "checkin.thanks"} {
				at := start.Add(time.Duration(d) * 24 * time.Hour)
				msgs = append(msgs, store.OutboundMessage{ID: store.NewID("m_"), ParticipantID: pid, LinkIndex: p.LastLink,
					Channel: store.SMS, Kind: kind, Status: store.Delivered, Attempts: 1, NotBefore: at,
					ProviderID: "SM" + strings.Repeat("0", 32), CreatedAt: at, UpdatedAt: at})
			}
		}
		if err := st.EnqueueOutbound(ctx, msgs...); err != nil {
			return err
		}
	}
	return nil
}
