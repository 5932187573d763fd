package bolt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/storetest"
)

func openTemp(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "waymark.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestPersistence(t *testing.T) {
	storetest.RunPersistence(t, func(t *testing.T, dir string) store.Store {
		s, err := Open(filepath.Join(dir, "waymark.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "waymark.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode %v, want at most %v: the file holds sealed addresses", filepath.Base(p), got, want)
		}
	}
}

// TestSecondOpenFailsClearly: a second process (here a second Open, which
// takes the same file lock) gets ErrInUse within the timeout, not a hang.
func TestSecondOpenFailsClearly(t *testing.T) {
	old := openTimeout
	openTimeout = 200 * time.Millisecond
	t.Cleanup(func() { openTimeout = old })

	path := filepath.Join(t.TempDir(), "waymark.db")
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	done := make(chan error, 1)
	go func() {
		s, err := Open(path)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("second open: got %v, want ErrInUse", err)
		}
		if want := "in use by another waymark process"; !strings.Contains(err.Error(), want) {
			t.Fatalf("second open error %q does not say %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second open hangs instead of failing")
	}

	// Once the first is closed the file opens again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	again.Close()
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	err := s.Ping(t.Context())
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping after close: got %v, want ErrUnavailable", err)
	}
	_, err = s.GetParticipant(t.Context(), "p_a")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("get after close: got %v, want ErrUnavailable", err)
	}
}

// TestSweepLeavesNothingExpired: after Sweep, no expired session, code,
// dedupe key, counter, lease or drained rate budget is left in the file, and
// live ones stay.
func TestSweepLeavesNothingExpired(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	s := openTemp(t, WithClock(clk))
	ctx := t.Context()
	now := clk.Now()
	soon, later := now.Add(time.Minute), now.Add(time.Hour)

	for _, pid := range []string{"p_soon", "p_later"} {
		exp := soon
		if pid == "p_later" {
			exp = later
		}
		mustNil(t, s.SaveSession(ctx, store.Session{ParticipantID: pid, Flow: "f", Node: "n", ExpiresAt: exp}))
		mustNil(t, s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "C" + pid, ParticipantID: pid, ExpiresAt: exp}))
		_, err := s.FirstSeen(ctx, "d"+pid, exp)
		mustNil(t, err)
		_, err = s.Increment(ctx, "n"+pid, exp)
		mustNil(t, err)
	}
	// A session replaced with a later expiry must survive a sweep between
	// the two expiries: the index follows the record.
	mustNil(t, s.SaveSession(ctx, store.Session{ParticipantID: "p_moved", ExpiresAt: soon}))
	mustNil(t, s.SaveSession(ctx, store.Session{ParticipantID: "p_moved", ExpiresAt: later}))
	_, err := s.AcquireLease(ctx, "lease_soon", "a", time.Minute)
	mustNil(t, err)
	_, err = s.AcquireLease(ctx, "lease_later", "a", time.Hour)
	mustNil(t, err)
	_, err = s.ReserveRate(ctx, "rate", 10, 10, now) // drains after 1s plus a minute's grace
	mustNil(t, err)

	mustNil(t, s.Sweep(now.Add(30*time.Minute)))

	want := map[string][]string{
		string(bSessions): {"p_later", "p_moved"},
		string(bCodes):    {"Cp_later"},
		string(bDedupe):   {"dp_later"},
		string(bCounters): {"np_later"},
		string(bLeases):   {"lease_later"},
		string(bRates):    nil,
	}
	for bucket, keys := range want {
		if got := keysOf(t, s, []byte(bucket)); !equalStrings(got, keys) {
			t.Errorf("%s after sweep: %q, want %q", bucket, got, keys)
		}
	}
	if n := len(keysOf(t, s, bExpiry)); n != 5 {
		t.Errorf("expiry index has %d entries, want 5 (one per live record)", n)
	}

	mustNil(t, s.Sweep(now.Add(2*time.Hour)))
	for _, b := range [][]byte{bSessions, bCodes, bDedupe, bCounters, bLeases, bExpiry} {
		if got := keysOf(t, s, b); len(got) != 0 {
			t.Errorf("%s after final sweep: %q left", b, got)
		}
	}
}

// TestExpiryFollowsInjectedClock: with WithClock, expiry is judged by that
// clock, so tests and the simulator can run in their own time.
func TestExpiryFollowsInjectedClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)) // long past on the wall
	s := openTemp(t, WithClock(clk))
	ctx := t.Context()
	mustNil(t, s.SaveSession(ctx, store.Session{ParticipantID: "p_a", ExpiresAt: clk.Now().Add(time.Hour)}))
	if _, err := s.GetSession(ctx, "p_a"); err != nil {
		t.Fatalf("session live in the store's clock: %v", err)
	}
	first, err := s.FirstSeen(ctx, "k", clk.Now().Add(time.Hour))
	mustNil(t, err)
	again, err := s.FirstSeen(ctx, "k", clk.Now().Add(time.Hour))
	mustNil(t, err)
	if !first || again {
		t.Fatalf("FirstSeen = %v, %v under an injected clock; want true, false", first, again)
	}
	clk.Advance(2 * time.Hour)
	if _, err := s.GetSession(ctx, "p_a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after the store's clock passed its expiry: %v", err)
	}
	if seen, _ := s.Seen(ctx, "k"); seen {
		t.Fatalf("dedupe key seen after the store's clock passed its expiry")
	}
}

// TestErrorsCarryNoParticipantData: errors name IDs only, never link
// indexes, codes or dedupe keys.
func TestErrorsCarryNoParticipantData(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	secret := "SECRET-VALUE-447700900123"
	checks := []error{
		func() error { _, err := s.GetLink(ctx, secret); return err }(),
		func() error { _, err := s.TakeEnrolmentCode(ctx, secret); return err }(),
	}
	mustNil(t, s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: secret, ParticipantID: "p_a", ExpiresAt: time.Now().Add(time.Hour)}))
	checks = append(checks, s.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: secret, ParticipantID: "p_a", ExpiresAt: time.Now().Add(time.Hour)}))
	mustNil(t, s.Close())
	checks = append(checks,
		func() error { _, err := s.FirstSeen(ctx, secret, time.Now().Add(time.Hour)); return err }(),
		func() error { _, err := s.Increment(ctx, secret, time.Now().Add(time.Hour)); return err }(),
		func() error { _, err := s.ReserveRate(ctx, secret, 1, 1, time.Now()); return err }(),
		s.DeleteLink(ctx, secret),
	)
	for i, err := range checks {
		if err == nil {
			t.Fatalf("check %d: no error", i)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("check %d: error %q carries the value", i, err)
		}
	}
}

func keysOf(t *testing.T, s *Store, bucket []byte) []string {
	t.Helper()
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	mustNil(t, err)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLoadSession(b *testing.B) {
	storetest.BenchLoadSession(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func BenchmarkSaveSessionAndEnqueue(b *testing.B) {
	storetest.BenchSaveSessionAndEnqueue(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func BenchmarkClaimDue(b *testing.B) {
	storetest.BenchClaimDue(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func BenchmarkMarkUnreachable(b *testing.B) {
	storetest.BenchMarkUnreachable(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func BenchmarkTurnSavingARecord(b *testing.B) {
	for _, child := range []bool{false, true} {
		b.Run(map[bool]string{false: "adult", true: "child"}[child], func(b *testing.B) {
			storetest.BenchChildTurn(b, func(b *testing.B) store.Store { return openTemp(b) }, child)
		})
	}
}

// TestReopenTakesBackClaims: the file lock means a claim found when the
// file is opened belongs to a process that is gone (killed, or crashed),
// so its messages and due items come round at once instead of when their
// leases end. A message whose send it began keeps that mark, for the
// dispatcher to judge.
func TestReopenTakesBackClaims(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "waymark.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	msg := func(id string, notBefore time.Time) store.OutboundMessage {
		return store.OutboundMessage{ID: id, ParticipantID: "p_1", LinkIndex: "idx", Channel: store.SMS, Kind: "k", Text: "hello",
			Status: store.Pending, NotBefore: notBefore, CreatedAt: now, UpdatedAt: now}
	}
	later := msg("m_later", now.Add(time.Hour))
	if err := s.EnqueueOutbound(ctx, msg("m_begun", now), msg("m_claimed", now), later); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDue(ctx, store.DueItem{ID: "d_1", ParticipantID: "p_1", Kind: "appt_reminder", Ref: "a_1", DueAt: now}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimOutbound(ctx, "gone", now, 2*time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	begun := claimed[0]
	begun.Attempts, begun.SendBegan = 1, now.Add(time.Second)
	if err := s.MarkSending(ctx, begun); err != nil {
		t.Fatal(err)
	}
	if items, err := s.ClaimDue(ctx, "gone", now, 2*time.Minute, 10); err != nil || len(items) != 1 {
		t.Fatalf("claim due: %v %v", items, err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The same moment: well inside the leases the gone process held.
	again, err := s.ClaimOutbound(ctx, "new", now.Add(3*time.Second), 2*time.Hour, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 2 || again[0].ID != "m_begun" || again[1].ID != "m_claimed" {
		t.Fatalf("claimed after reopening: %+v", again)
	}
	if !again[0].SendBegan.Equal(begun.SendBegan) || again[0].Attempts != 1 || !again[1].SendBegan.IsZero() {
		t.Fatalf("the send in doubt lost its mark, or another gained one: %+v", again)
	}
	items, err := s.ClaimDue(ctx, "new", now.Add(3*time.Second), 2*time.Minute, 10)
	if err != nil || len(items) != 1 || items[0].ID != "d_1" {
		t.Fatalf("due items after reopening: %v %v", items, err)
	}
	// A message that was never claimed keeps its time.
	if got, err := s.ClaimOutbound(ctx, "new", now.Add(59*time.Minute), 2*time.Hour, 10); err != nil || len(got) != 0 {
		t.Fatalf("a later message came early: %v %v", got, err)
	}
	if got, err := s.GetOutbound(ctx, "m_later"); err != nil || !got.NotBefore.Equal(later.NotBefore) {
		t.Fatalf("later message: %+v %v", got, err)
	}
}
