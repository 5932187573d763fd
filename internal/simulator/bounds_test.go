package simulator_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/simulator"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// wall is a settable wall clock for the simulator's session life.
type wall struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wall) now() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.t }
func (w *wall) add(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	w.mu.Unlock()
}

func newBounded(t *testing.T, opts simulator.Options) (*simulator.Simulator, *bolt.Store) {
	t.Helper()
	scratch, err := bolt.Open(filepath.Join(t.TempDir(), "sim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scratch.Close() })
	c := content(t)
	sim, err := simulator.New(scratch, func() *conversation.Content { return c }, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return sim, scratch
}

func TestSessionLastsAnHourOfUseAndIsErased(t *testing.T) {
	w := &wall{t: time.Now()}
	sim, scratch := newBounded(t, simulator.Options{Now: w.now})
	ctx := t.Context()
	sess, err := sim.NewSession(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	// Busy all hour: being used does not keep it.
	for range 6 {
		w.add(10 * time.Minute)
		if _, err := sess.Send(ctx, "HELP"); err != nil && !errors.Is(err, simulator.ErrSessionUsedUp) {
			t.Fatal(err)
		}
	}
	if _, err := sess.Send(ctx, "HELP"); !errors.Is(err, simulator.ErrSessionUsedUp) {
		t.Errorf("a message after the hour: %v", err)
	}
	if _, ok := sim.Session(sess.ID); ok {
		t.Error("the session is still there after its hour")
	}
	ps, err := scratch.ListParticipants(ctx)
	if err != nil || len(ps) != 0 {
		t.Errorf("the scratch store keeps %d people after their hour (%v)", len(ps), err)
	}
}

func TestSessionMessagesAndTranscriptAreBounded(t *testing.T) {
	sim, _ := newBounded(t, simulator.Options{})
	ctx := t.Context()
	sess, err := sim.NewSession(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	for i := range simulator.MaxMessages {
		if _, err := sess.Send(ctx, "x"); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	if _, err := sess.Send(ctx, "x"); !errors.Is(err, simulator.ErrSessionUsedUp) {
		t.Errorf("message %d: %v, want ErrSessionUsedUp", simulator.MaxMessages+1, err)
	}
	if _, err := sess.Skip(ctx, time.Hour); !errors.Is(err, simulator.ErrSessionUsedUp) {
		t.Errorf("a skip past the limit: %v", err)
	}
	if n := len(sess.Transcript()); n > simulator.MaxTranscript {
		t.Errorf("transcript holds %d lines, want at most %d", n, simulator.MaxTranscript)
	}
}

func TestAFullScratchStoreStartsNoOne(t *testing.T) {
	size := int64(0)
	sim, _ := newBounded(t, simulator.Options{ScratchSize: func() int64 { return size }, MaxScratchBytes: 1000})
	ctx := t.Context()
	if _, err := sim.NewSession(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	size = 2000
	if _, err := sim.NewSession(ctx, "en"); !errors.Is(err, simulator.ErrFull) {
		t.Errorf("a new person over the budget: %v, want ErrFull", err)
	}
}

func TestTheOldestSessionGoesEvenWhenBusy(t *testing.T) {
	w := &wall{t: time.Now()}
	sim, _ := newBounded(t, simulator.Options{Now: w.now})
	ctx := t.Context()
	first, err := sim.NewSession(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	for range simulator.MaxSessions - 1 {
		w.add(time.Millisecond)
		if _, err := sim.NewSession(ctx, "en"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := first.Send(ctx, "HELP"); err != nil { // busy, not idle
		t.Fatal(err)
	}
	if _, err := sim.NewSession(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.Session(first.ID); ok {
		t.Error("the oldest session stayed because it was busy")
	}
}
