package loadtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/footprint"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// BenchmarkBoltFootprint measures the embedded store's file size per
// participant with the data the Redis store's BenchmarkMemoryPerParticipant
// puts in Redis (internal/footprint):
//
//   - state: the record, one link, an appointment, a check-in conversation
//     in progress and the due items the scheduler stores of the plan of a
//     daily schedule and the appointment, for 1,000 people;
//   - history: the same for 200 people, with the delivered messages of the
//     last 7 days (two a day), and two years of daily check-ins and the
//     ledger's record of each day's window, both then purged to the year
//     retention keeps.
//
// The figures are the file's size, which bbolt grows in steps and never
// shrinks, and the part of it the data reaches (pagesUsed), each divided
// by the people in it.
//
//	go test -run '^$' -bench BoltFootprint -benchtime 1x ./internal/loadtest/
func BenchmarkBoltFootprint(b *testing.B) {
	for _, c := range []struct {
		name    string
		people  int
		history bool
	}{{"state", 1000, false}, {"state_and_two_years_of_history", 200, true}} {
		b.Run(c.name, func(b *testing.B) {
			var perPerson, pagesPerPerson float64
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "w.db")
				st, err := bolt.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := fillFootprint(b.Context(), st, c.people, c.history); err != nil {
					b.Fatal(err)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				perPerson = float64(fi.Size()) / float64(c.people)
				used, err := pagesUsed(path)
				if err != nil {
					b.Fatal(err)
				}
				pagesPerPerson = float64(used) / float64(c.people)
			}
			b.ReportMetric(perPerson, "bytes/participant")
			b.ReportMetric(pagesPerPerson, "page_bytes/participant")
		})
	}
}

// pagesUsed is how much of the file at path its data reaches: the pages
// up to the highest one in use, free ones among them included. bbolt
// grows the file in steps, doubling it up to a gigabyte, so at a thousand
// people the file's size says more about the step than the data.
func pagesUsed(path string) (int64, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.View(func(tx *bbolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

func fillFootprint(ctx context.Context, s store.Store, people int, history bool) error {
	day := func(d int) time.Time { return footprint.Now.Add(-time.Duration(d) * 24 * time.Hour) }
	for i := range people {
		st, err := footprint.NewState(i, footprint.Daily)
		if err != nil {
			return err
		}
		if err := putFootprintState(ctx, s, st); err != nil {
			return err
		}
		if !history {
			continue
		}
		var msgs []store.OutboundMessage
		for d := 1; d <= 7; d++ {
			msgs = append(msgs, footprint.NewDay(st, day(d)).Messages...)
		}
		if err := s.EnqueueOutbound(ctx, msgs...); err != nil {
			return err
		}
		// Two years of check-ins (a check-in writes no audit entry), a month's in one turn.
		for from := 730; from > 0; from -= 30 {
			t := store.Turn{ParticipantID: st.Participant.ID}
			for d := from; d > max(from-30, 0); d-- {
				h := footprint.NewDay(st, day(d))
				t.CheckIns = append(t.CheckIns, h.CheckIn)
				t.Windows = append(t.Windows, h.Window)
			}
			if err := s.ApplyTurn(ctx, t); err != nil {
				return err
			}
		}
	}
	if history {
		// As the retention job does with retention.checkins.
		if _, err := s.PurgeCheckIns(ctx, day(365)); err != nil {
			return err
		}
		if _, err := s.PurgeWindows(ctx, day(365)); err != nil {
			return err
		}
	}
	return nil
}

func putFootprintState(ctx context.Context, s store.Store, st footprint.State) error {
	ss := st.Session
	ss.ExpiresAt = time.Now().Add(time.Hour) // expiry is wall time
	for _, put := range []func() error{
		func() error { return s.CreateParticipant(ctx, st.Participant) },
		func() error { return s.PutLink(ctx, st.Link) },
		func() error { return s.PutAppointment(ctx, st.Appointment) },
		func() error { return s.SaveSession(ctx, ss) },
		func() error { return s.PutDue(ctx, st.Due...) },
	} {
		if err := put(); err != nil {
			return err
		}
	}
	return nil
}
