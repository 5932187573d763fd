package report

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Source is what a report reads: every participant and, for each, the
// records the figures are made of. store.Store is one.
type Source interface {
	ListParticipants(ctx context.Context) ([]store.Participant, error)
	store.Histories
}

var _ Source = store.Store(nil)

// Compute reads every participant's records from src and builds the
// report. Everyone is read, whatever the caseload asked for, because what
// a caseload's report hides depends on every other caseload (cells.go).
// Reading is shared among readers, two for each processor (decoding
// records is work for a processor; waiting for Redis is not); counting
// is done by one.
func Compute(ctx context.Context, src Source, o Options) (Report, error) {
	b := NewBuilder(o)
	ps, err := src.ListParticipants(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("report: participants: %w", err)
	}
	since := b.Since()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan store.Participant)
	done := make(chan Person, 64)
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			zones := map[string]*time.Location{}
			for p := range work {
				person, err := read(ctx, src, p, since, zones)
				if err != nil {
					cancel(fmt.Errorf("report: %s: %w", p.ID, err))
					return
				}
				done <- person
			}
		})
	}
	go func() {
		defer close(work)
		for _, p := range ps {
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()
	for person := range done {
		b.Add(person)
	}
	if err := context.Cause(ctx); err != nil {
		return Report{}, err
	}
	return b.Build(), nil
}

// read gathers one person's records from since.
func read(ctx context.Context, src Source, p store.Participant, since time.Time, zones map[string]*time.Location) (Person, error) {
	loc, ok := zones[p.TimeZone]
	if !ok {
		var err error
		if loc, err = time.LoadLocation(p.TimeZone); err != nil {
			loc = time.UTC // validated on enrolment; a zone since removed is read as UTC
		}
		zones[p.TimeZone] = loc
	}
	out := Person{Caseworker: p.CaseworkerID, Location: loc}
	h, err := src.HistoryOf(ctx, p.ID, since)
	if err != nil {
		return out, err
	}
	out.Windows, out.CheckIns, out.Messages, out.Attention, out.Appointments = h.Windows, h.CheckIns, h.Messages, h.Attention, h.Appointments
	return out, nil
}
