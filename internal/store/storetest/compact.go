package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// RawRecords reads and writes a store's stored form of a person's
// records, by kind ("participant", "link", "appointment", "session") and
// the ID their key holds.
type RawRecords interface {
	Raw(t *testing.T, kind, id string) []byte
	SetRaw(t *testing.T, kind, id string, doc []byte)
}

// RunCompactRecords writes a person's record, link, appointment and
// session through s, and checks that raw holds them in the compact form
// (internal/store/compact: no ID their key already is, times as Unix
// seconds), and that each record as the version before wrote it (the
// whole type as JSON) reads back the same.
func RunCompactRecords(t *testing.T, s store.Store, raw RawRecords) {
	ctx := ctxOf(t)
	at := time.Date(2026, time.March, 3, 9, 0, 0, 123456789, time.UTC)
	p := store.Participant{ID: "p_compact", Label: "case 1", Language: "es", TimeZone: "Europe/Madrid", Status: store.Active,
		CaseworkerID: "acct_compact_a", CreatedAt: at, UpdatedAt: at, ConsentedAt: at, ConsentVersion: "es:1"}
	l := store.Link{Index: "ix_compact", Channel: store.SMS, ParticipantID: p.ID, Sealed: []byte("sealed"), Masked: "+34 6***", LinkedAt: at}
	a := store.Appointment{ID: "ap_compact", ParticipantID: p.ID, Kind: "hearing", Place: "Court", Date: "2026-03-10", Time: "10:00",
		Status: store.AppointmentScheduled, CreatedAt: at, UpdatedAt: at}
	ss := store.Session{ParticipantID: p.ID, Flow: "checkin", Node: "ask", UpdatedAt: at, ExpiresAt: time.Now().Add(time.Hour).UTC()}
	must(t, "create", s.CreateParticipant(ctx, p))
	must(t, "put link", s.PutLink(ctx, l))
	must(t, "put appointment", s.PutAppointment(ctx, a))
	must(t, "save session", s.SaveSession(ctx, ss))
	p.Revision = 1

	for _, r := range []struct {
		kind, id string
		value    any
		read     func() (any, error)
	}{
		{"participant", p.ID, p, func() (any, error) { return s.GetParticipant(ctx, p.ID) }},
		{"link", l.Index, l, func() (any, error) { return s.GetLink(ctx, l.Index) }},
		{"appointment", a.ID, a, func() (any, error) { return s.GetAppointment(ctx, a.ID) }},
		{"session", ss.ParticipantID, ss, func() (any, error) { return s.GetSession(ctx, ss.ParticipantID) }},
	} {
		doc := raw.Raw(t, r.kind, r.id)
		if len(doc) == 0 || strings.Contains(string(doc), r.id) || strings.Contains(string(doc), "2026-03-03T09") {
			t.Errorf("the %s is kept with its ID or an RFC 3339 time: %q", r.kind, doc)
		}
		before, err := json.Marshal(r.value)
		must(t, "encode as before", err)
		raw.SetRaw(t, r.kind, r.id, before)
		got, err := r.read()
		must(t, "read "+r.kind, err)
		if !reflect.DeepEqual(got, r.value) {
			t.Errorf("the %s as written before reads back as\n%+v\nwant\n%+v", r.kind, got, r.value)
		}
	}
	runStepsOnRecordsWrittenBefore(t, s, raw, p, l, a)
}

// runStepsOnRecordsWrittenBefore: the steps that read a record's
// participant or caseworker inside the store (the Redis store's Lua
// scripts) find them in records as the version before wrote them, with
// long names: the inbound read by link, a link's last seen time, a link
// marked unreachable, a caseworker change, and erasure.
func runStepsOnRecordsWrittenBefore(t *testing.T, s store.Store, raw RawRecords, p store.Participant, l store.Link, a store.Appointment) {
	ctx := ctxOf(t)
	asBefore := func(kind, id string, v any) {
		doc, err := json.Marshal(v)
		must(t, "encode as before", err)
		raw.SetRaw(t, kind, id, doc)
	}
	l.LastSeenAt = l.LinkedAt
	asBefore("link", l.Index, l)
	got, ts, err := s.LoadLinkedTurn(ctx, l.Index, "")
	must(t, "load a turn by a link written before", err)
	if got.ParticipantID != p.ID || ts.Participant.ID != p.ID {
		t.Errorf("a link written before leads to %q (record %q); want %q", got.ParticipantID, ts.Participant.ID, p.ID)
	}

	seen := l.LinkedAt.Add(time.Hour)
	must(t, "turn seen on a link written before", s.ApplyTurn(ctx, store.Turn{ParticipantID: p.ID, SeenOn: l.Index, SeenAt: seen}))
	if got, err := s.GetLink(ctx, l.Index); err != nil || !got.LastSeenAt.Equal(seen) {
		t.Errorf("a link written before, seen at %v: last seen %v, %v", seen, got.LastSeenAt, err)
	}

	asBefore("link", l.Index, l)
	marked, err := s.MarkUnreachable(ctx, store.CantReach(l, "30003", "system", seen))
	must(t, "mark a link written before unreachable", err)
	if got, err := s.GetLink(ctx, l.Index); !marked || err != nil || !got.Unreachable || got.ParticipantID != p.ID {
		t.Errorf("a link written before, marked unreachable (%v): %+v, %v", marked, got, err)
	}

	asBefore("participant", p.ID, p)
	moved := p
	moved.CaseworkerID = "acct_compact_b"
	must(t, "change the caseworker of a record written before", s.UpdateParticipant(ctx, moved))
	for cw, want := range map[string]bool{"acct_compact_a": false, "acct_compact_b": true} {
		ids, err := s.CaseloadIDs(ctx, cw)
		must(t, "caseload", err)
		if slices.Contains(ids, p.ID) != want {
			t.Errorf("after a record written before moved to acct_compact_b, %s's caseload is %v", cw, ids)
		}
	}

	asBefore("link", l.Index, l)
	asBefore("appointment", a.ID, a)
	must(t, "erase a person whose records were written before", s.DeleteParticipant(ctx, p.ID))
	if _, err := s.GetLink(ctx, l.Index); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the erased person's link written before: %v; want ErrNotFound", err)
	}
	if _, err := s.GetAppointment(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the erased person's appointment written before: %v; want ErrNotFound", err)
	}
}
