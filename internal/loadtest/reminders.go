package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/locales"
)

// ReminderMoment is when every window of the reminder measurement opens:
// Monday 4 January 2027, 09:00 UTC, outside quiet hours.
var ReminderMoment = time.Date(2027, time.January, 4, 9, 0, 0, 0, time.UTC)

// ShippedContent loads the flows and messages built into Waymark, checked
// as `waymark check` checks them.
func ShippedContent() (*conversation.Content, error) {
	set, problems := flow.Load(flows.FS)
	bundle, lp := locale.Load(locales.FS)
	problems = append(problems, lp...)
	if set != nil && bundle != nil {
		problems = append(problems, set.CheckMessages(bundle)...)
	}
	if errs := diag.Errors(problems); len(errs) > 0 || set == nil || bundle == nil {
		return nil, fmt.Errorf("loadtest: the shipped flows or locales are not valid: %v", errs)
	}
	bundle.SetDefault(set.Programme.DefaultLanguage)
	return &conversation.Content{Flows: set, Locale: bundle}, nil
}

// Store is what the measurements seed and run on: the people and their
// links, what the conversation and the scheduler use, as `waymark serve`
// would, and the outbox the reminders are counted in.
type Store interface {
	conversation.Store
	schedule.Store
	store.Outbox
}

// scheduler builds a conversation service and a scheduler over st, as
// `waymark serve` would, on a clock fixed at now.
func scheduler(st Store, box *seal.Box, content *conversation.Content, now time.Time) *schedule.Scheduler {
	clk := clock.NewFake(now)
	log := slog.New(slog.DiscardHandler)
	live := conversation.NewLive(content)
	windows := schedule.NewLedger(st, live, clk, log)
	return schedule.New(conversation.New(st, box, live, clk, log, windows), windows, schedule.Options{})
}

// SeedReminders makes n participants, each with one SMS link and a weekly
// check-in window that opens at ReminderMoment, and plans their reminders
// with the scheduler, workers at once. It returns their IDs.
func SeedReminders(ctx context.Context, st Store, box *seal.Box, content *conversation.Content, n, workers int) ([]string, error) {
	if n <= 0 {
		return nil, errors.New("loadtest: seed at least one person")
	}
	created := ReminderMoment.Add(-24 * time.Hour)
	sched := scheduler(st, box, content, ReminderMoment.Add(-time.Hour))
	weekly := &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}}}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = store.NewID("p_")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				pid := ids[i]
				err := func() error {
					// Agreed to get messages at enrolment: without it nothing
					// but each window's decision is planned.
					p := store.Participant{ID: pid, Label: "reminder " + pid[len(pid)-6:], Language: "en", TimeZone: "UTC",
						Status: store.Active, Schedule: weekly, CreatedAt: created, UpdatedAt: created, ConsentedAt: created}
					if err := st.CreateParticipant(ctx, p); err != nil {
						return err
					}
					addr := fmt.Sprintf("+4478%09d", i)
					sealed, err := box.Seal(string(store.SMS), addr)
					if err != nil {
						return err
					}
					if err := st.PutLink(ctx, store.Link{Index: box.Index(string(store.SMS), addr), Channel: store.SMS,
						ParticipantID: pid, Sealed: sealed, Masked: seal.Mask(addr), LinkedAt: created}); err != nil {
						return err
					}
					return sched.Replan(ctx, pid)
				}()
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("loadtest: seed %s: %w", pid, err); cancel() })
				}
			}
		})
	}
	for i := range ids {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return ids, ctx.Err()
}

// RunReminders runs one scheduler pass at ReminderMoment over st, as one
// process's scheduler does when it wakes, and returns how many items it
// handled and how long the pass took.
func RunReminders(ctx context.Context, st Store, box *seal.Box, content *conversation.Content) (int, time.Duration, error) {
	sched := scheduler(st, box, content, ReminderMoment)
	began := time.Now()
	n, err := sched.RunOnce(ctx, ReminderMoment)
	return n, time.Since(began), err
}

// CountQueued claims every message in the outbox that is due by an hour
// after ReminderMoment and counts them by participant, so that a caller
// can check each reminder was queued exactly once. It leaves them claimed.
func CountQueued(ctx context.Context, st Store) (map[string]int, error) {
	out := map[string]int{}
	owner := store.NewID("count_")
	for {
		msgs, err := st.ClaimOutbound(ctx, owner, ReminderMoment.Add(time.Hour), time.Hour, 1000)
		if err != nil {
			return nil, fmt.Errorf("loadtest: count queued: %w", err)
		}
		if len(msgs) == 0 {
			return out, nil
		}
		for _, m := range msgs {
			out[m.ParticipantID]++
		}
	}
}
