// Package storetest is the contract every storage backend must meet. Run
// exercises each method of store.Store against a fresh backend; a backend
// passes only if it behaves exactly as the seam's comments say, so that the
// rest of Waymark never learns which backend it is talking to.
//
// Where store.go leaves a behaviour open, the suite pins it down and says so
// in the test that checks it. The decisions, in one place:
//
//   - Expiry that has no "now" argument is measured in wall time: a session,
//     enrolment code, dedupe key or counter whose expiry has passed on the
//     wall clock is gone (GetSession and TakeEnrolmentCode return
//     ErrNotFound; FirstSeen reports new; Increment starts again at 1).
//     Lease TTLs are wall time as well.
//   - Claims (ClaimOutbound, ClaimDue) are measured in the "now" the caller
//     passes: a claim lasts until now+lease, and a later claim whose now is
//     at or past that moment may take the item again. Claims change nothing
//     else in the record (not Status, not Attempts).
//   - Claim order is the order in which items became claimable: NotBefore or
//     DueAt for a fresh item, the end of its lease for one whose lease ran
//     out. Ties are in any order.
//   - Deleting something that is not there is not an error, for every
//     Delete method (DeleteDue already says so).
//   - CompleteDue returns ErrNotFound for a missing item and ErrConflict when
//     the item is not held by that owner (never claimed, or claimed since by
//     another owner, or replaced by PutDue, which clears any claim); in
//     either case nothing changes.
//   - ListAudit with limit <= 0 returns every entry.
//   - AppendAudit, AddAttention and EnqueueOutbound refuse an ID that already
//     exists with ErrConflict (a batch or Turn holding one is refused whole),
//     so no method but Resolve/Update can change what was written. A
//     check-in recorded twice is kept once.
//   - ReserveRate has no burst: each reservation of n units moves the key's
//     next free moment n/perSecond later than max(now, previous next free
//     moment), and returns that max.
//   - DeleteParticipant erases every outbound message of the participant,
//     whatever its status, and every audit entry naming them, whether a
//     turn or AppendAudit wrote it; entries naming no one stay.
//   - ListLinks and PurgeCheckIns reach the links and check-ins of
//     participants that exist (CreateParticipant or a turn saved them);
//     Waymark never writes either for anyone else.
//   - Each Purge method deletes records strictly before its time, returns
//     how many it deleted, and a second run deletes nothing more.
//   - Bad input (an empty key or ID, a record without its participant, a
//     non-positive rate or lease) is refused with an error, and nothing of
//     the call is stored, including the good items of a batch.
//   - ApplyTurn refuses a Turn whose records name a participant other than
//     Turn.ParticipantID (audit entries may name none); nothing of it lands.
//   - ApplyTurn refuses with ErrConflict, whole, a Turn whose DedupeKey is
//     recorded already (by FirstSeen or an earlier turn) and unexpired, so
//     two racing deliveries of one message cannot both land.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// Run runs the whole contract against the backend that newStore makes. Each
// subtest gets a fresh, empty store; newStore registers its own cleanup.
// Subtests run one after another, so a backend may share one server between
// them as long as each store starts empty.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Participants", participantTests},
		{"Links", linkTests},
		{"Enrolments", enrolmentTests},
		{"Sessions", sessionTests},
		{"CheckIns", checkInTests},
		{"Attention", attentionTests},
		{"Pages", pageTests},
		{"Tally", tallyTests},
		{"Windows", windowTests},
		{"Audit", auditTests},
		{"Dedupe", dedupeTests},
		{"Leases", leaseTests},
		{"Outbox", outboxTests},
		{"OutboxChange", outboxChangeTests},
		{"OutboxDoubt", outboxDoubtTests},
		{"RateLimits", rateTests},
		{"Counters", counterTests},
		{"Appointments", appointmentTests},
		{"Due", dueTests},
		{"Accounts", accountTests},
		{"Programmes", programmeTests},
		{"ApplyTurn", turnTests},
		{"DueBatches", batchTests},
		{"Validation", validationTests},
		{"Concurrency", concurrencyTests},
		{"Privacy", privacyTests},
		{"Guarded", guardedTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := newStore(t)
					tc.run(t, s)
				})
			}
		})
	}
}

type namedTest struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// base is the injected "now" of tests that pass time explicitly. It is far
// from the wall clock on purpose: a backend that reads its own clock where it
// should use the caller's shows up as a failure.
var base = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// wallNow is the wall clock, for the behaviours the contract measures in wall
// time (expiry, lease TTLs). Rounded to drop the monotonic reading, as a
// stored value would.
func wallNow() time.Time { return time.Now().Round(0) }

// same reports whether a and b hold the same values, comparing time.Time by
// instant (a backend may return another location) and treating nil and empty
// slices and maps alike (JSON does not keep the difference).
func same(a, b any) bool { return sameValue(reflect.ValueOf(a), reflect.ValueOf(b)) }

var timeType = reflect.TypeFor[time.Time]()

func sameValue(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	default:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
}

func mustSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if !same(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustBe(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func mustFail(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want one", what)
	}
}

// sleepPast sleeps until wall time is past deadline by a margin, so that a
// backend with millisecond resolution sees it as past too.
func sleepPast(deadline time.Time) {
	time.Sleep(time.Until(deadline) + 30*time.Millisecond)
}

func ctxOf(t *testing.T) context.Context { return t.Context() }

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func mustIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

// Fixtures: complete records, every field set, so that a backend that drops a
// field fails the round trip.

func participant(id string) store.Participant {
	return store.Participant{
		ID:           id,
		Label:        "case " + id,
		Language:     "es",
		TimeZone:     "Europe/Madrid",
		CaseworkerID: "cw_1",
		Status:       store.Active,
		LastLink:     "idx_last_" + id,
		CreatedAt:    at(0),
		UpdatedAt:    at(time.Minute),
		Schedule: &store.CheckInSchedule{
			From:   "2026-03-02",
			Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "wednesday", CloseTime: "21:00"}},
			Every:  &store.EveryDays{Days: 14, OpenTime: "08:00", Length: "1d12h"},
		},
		Child: true,
	}
}

// created creates the fixture participant id and returns it as stored.
func created(t *testing.T, s store.Store, id string) store.Participant {
	t.Helper()
	must(t, "create "+id, s.CreateParticipant(ctxOf(t), participant(id)))
	p, err := s.GetParticipant(ctxOf(t), id)
	must(t, "get "+id, err)
	return p
}

// atRevision is p as the store holds it after n saves: created (1), then
// updated or saved by a turn (one more each).
func atRevision(p store.Participant, n int64) store.Participant {
	p.Revision = n
	return p
}

func link(index, pid string) store.Link {
	return store.Link{
		Index:         index,
		Channel:       store.SMS,
		ParticipantID: pid,
		Sealed:        []byte{0, 1, 2, 0xfe, 0xff, '"', '\\', 0x80},
		Masked:        "+44 7*** ***123",
		LinkedAt:      at(0),
		LastSeenAt:    at(time.Hour),
	}
}

func session(pid string, expires time.Time) store.Session {
	return store.Session{
		ParticipantID: pid,
		Flow:          "checkin",
		Node:          "ask_ok",
		Vars:          map[string]string{"attempt": "2", "lang": "es", "empty": "", "ñ": "ü"},
		WaitUntil:     expires.Add(-time.Second),
		UpdatedAt:     at(0),
		ExpiresAt:     expires,
	}
}

func checkIn(id, pid string, when time.Time) store.CheckIn {
	return store.CheckIn{ID: id, ParticipantID: pid, At: when, Channel: store.WhatsApp, Outcome: store.OnTime}
}

func attention(id, pid string, created time.Time) store.AttentionItem {
	return store.AttentionItem{ID: id, ParticipantID: pid, Kind: store.AttentionMissed, Reason: "no_reply", Ref: "win:" + pid + ":1772442000", CreatedAt: created}
}

func audit(id, pid string, when time.Time) store.AuditEntry {
	return store.AuditEntry{ID: id, At: when, Actor: "cw_1", Action: "participant.update", ParticipantID: pid, Detail: "status"}
}

func outbound(id, pid string, notBefore time.Time) store.OutboundMessage {
	return store.OutboundMessage{
		ID:            id,
		ParticipantID: pid,
		LinkIndex:     "idx_" + pid,
		Channel:       store.Telegram,
		Kind:          "checkin.ask",
		Text:          "¿Todo bien? Responde 1 o 2",
		Choices:       []store.Choice{{Number: 1, Label: "Sí", Data: "yes"}, {Number: 2, Label: "No", Data: "no"}},
		Status:        store.Pending,
		NotBefore:     notBefore,
		CreatedAt:     notBefore,
		UpdatedAt:     notBefore,
	}
}

func appointment(id, pid, date, clock string) store.Appointment {
	return store.Appointment{
		ID: id, ParticipantID: pid, Kind: "caseworker_meeting", Place: "Office A",
		Date: date, Time: clock, Status: store.AppointmentScheduled,
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func due(id, pid string, when time.Time) store.DueItem {
	return store.DueItem{ID: id, ParticipantID: pid, Kind: "appt_reminder", Ref: "a_1", DueAt: when, Data: map[string]string{"offset": "7d"}}
}

func outboundID(m store.OutboundMessage) string { return m.ID }
func dueID(d store.DueItem) string              { return d.ID }
