package web

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Leaving the programme records when, so that retention can erase the
// person retention.exited_participants later; coming back clears it.
func TestExitRecordsWhenForRetention(t *testing.T) {
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Exit test", e.cara)
	e.clock.Advance(time.Hour)
	exitAt := e.clock.Now()
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"status": "exited"}); rec.Code != http.StatusOK {
		t.Fatalf("exit: %d %s", rec.Code, rec.Body)
	}
	got, err := e.st.GetParticipant(t.Context(), p.ID)
	if err != nil || got.Status != store.Exited || !got.ExitedAt.Equal(exitAt) {
		t.Fatalf("after exit: status %q exited_at %v (want %v), err %v", got.Status, got.ExitedAt, exitAt, err)
	}
	e.clock.Advance(time.Hour)
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"status": "active"}); rec.Code != http.StatusOK {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	got, _ = e.st.GetParticipant(t.Context(), p.ID)
	if got.Status != store.Active || !got.ExitedAt.IsZero() {
		t.Fatalf("after resume: status %q exited_at %v", got.Status, got.ExitedAt)
	}
}

// A caseworker's erasure takes everything about the person; the audit log
// keeps one entry: that the erasure happened, by whom and when.
func TestErasureKeepsOnlyWhoAndWhen(t *testing.T) {
	e := newCaseworkerEnv(t, envOptions{})
	ctx := t.Context()
	p := e.participant("Erase test", e.cara)
	other := e.participant("Stays", e.cara)
	e.attentionItem(p, store.AttentionMissed)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.st.RecordCheckIn(ctx, store.CheckIn{ID: "c_1", ParticipantID: p.ID, At: e.clock.Now(), Channel: store.SMS, Outcome: store.OnTime}))
	must(e.st.PutLink(ctx, store.Link{Index: "ix_erase", Channel: store.SMS, ParticipantID: p.ID, Sealed: []byte{1}, Masked: "+44 7*** ***123", LinkedAt: e.clock.Now()}))
	if rec := e.api(e.cara, http.MethodPatch, "/api/v1/participants/"+p.ID, map[string]any{"label": "Renamed"}); rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	before, _ := e.st.ListAudit(ctx, p.ID, 0)
	if len(before) == 0 {
		t.Fatal("the update was not audited; the test needs an entry to see go")
	}

	e.clock.Advance(time.Minute)
	if rec := e.api(e.cara, http.MethodDelete, "/api/v1/participants/"+p.ID, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if _, err := e.st.GetParticipant(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("participant still there: %v", err)
	}
	if _, err := e.st.GetLink(ctx, "ix_erase"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("link still there: %v", err)
	}
	if cis, _ := e.st.CheckInsOf(ctx, p.ID, time.Time{}); len(cis) != 0 {
		t.Errorf("check-ins left: %+v", cis)
	}
	entries, err := e.st.ListAudit(ctx, p.ID, 0)
	must(err)
	if len(entries) != 1 {
		t.Fatalf("audit of the erased person: %+v, want the erasure alone", entries)
	}
	got := entries[0]
	if got.Action != "participant_erased" || got.Actor != e.cara.ID || !got.At.Equal(e.clock.Now()) || got.Detail != "" {
		t.Errorf("erasure entry %+v: want participant_erased by %s at %v with no detail", got, e.cara.ID, e.clock.Now())
	}
	if _, err := e.st.GetParticipant(ctx, other.ID); err != nil {
		t.Errorf("the other participant went too: %v", err)
	}
}
