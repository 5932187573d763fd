package loadtest_test

import (
	"testing"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/loadtest"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// TestRemindersQueueOneEach: the reminder measurement's people each have
// a reminder due at ReminderMoment, and one pass queues exactly one for
// each of them.
func TestRemindersQueueOneEach(t *testing.T) {
	ctx := t.Context()
	content, err := loadtest.ShippedContent()
	if err != nil {
		t.Fatal(err)
	}
	st := testkit.Bolt(t, clock.NewFake(loadtest.ReminderMoment))
	box := testkit.Box(t)
	ids, err := loadtest.SeedReminders(ctx, st, box, content, 20, 4)
	if err != nil {
		t.Fatal(err)
	}
	handled, _, err := loadtest.RunReminders(ctx, st, box, content)
	if err != nil || handled != len(ids) {
		t.Fatalf("handled %d of %d reminders: %v", handled, len(ids), err)
	}
	queued, err := loadtest.CountQueued(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if queued[id] != 1 {
			t.Errorf("%s has %d reminders queued, want 1", id, queued[id])
		}
	}
}
