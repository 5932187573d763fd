package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestMovesDueItemsOfTheLayoutBefore writes due items as the shards of
// the layout before held them (whole store.DueItem JSON, and the short
// form with its participant; claimed and not), opens the store again,
// and checks that every item is its person's, claimable when it was,
// still held by its claim's owner, and that nothing of the old layout is
// left. On a single Redis and on a cluster.
func TestMovesDueItemsOfTheLayoutBefore(t *testing.T) {
	onSingleAndCluster(t, func(t *testing.T, o Options) {
		s := openTest(t, o)
		ctx := t.Context()
		at := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
		putOld := func(d store.DueItem, doc any, ready time.Time, owner string) {
			t.Helper()
			raw, err := json.Marshal(doc)
			mustDo(t, err)
			sh := s.k.legacyDueShard(shardOf(d.ID))
			mustDo(t, s.rdb.SAdd(ctx, s.k.legacyDueOf(d.ParticipantID), d.ID).Err())
			mustDo(t, s.rdb.HSet(ctx, sh.items, d.ID, raw).Err())
			mustDo(t, s.rdb.ZAdd(ctx, sh.ready, goredis.Z{Member: member(ready, d.ID)}).Err())
			mustDo(t, s.rdb.HSet(ctx, sh.pos, d.ID, timeKey(ready)).Err())
			if owner != "" {
				mustDo(t, s.rdb.HSet(ctx, sh.owner, d.ID, owner).Err())
			}
		}
		// The short form as the layout before wrote it, times in RFC 3339.
		type shortBefore struct {
			P    string            `json:"p"`
			K    string            `json:"k"`
			R    string            `json:"r,omitempty"`
			T    time.Time         `json:"t"`
			Data map[string]string `json:"data,omitempty"`
		}
		short := func(d store.DueItem) shortBefore {
			return shortBefore{P: d.ParticipantID, K: d.Kind, R: d.Ref, T: d.DueAt, Data: d.Data}
		}
		a := store.DueItem{ID: "win:p_a:1:open", ParticipantID: "p_a", Kind: "checkin_open", Ref: "win:p_a:1", DueAt: at,
			Data: map[string]string{"opens": "x"}}
		b := store.DueItem{ID: "win:p_a:2:open", ParticipantID: "p_a", Kind: "checkin_open", DueAt: at.Add(-time.Hour)}
		c := store.DueItem{ID: "win:p_a:3:open", ParticipantID: "p_a", Kind: "checkin_open", DueAt: at.Add(2 * time.Hour)}
		d := store.DueItem{ID: "appt:a_1:1d", ParticipantID: "p_b", Kind: "appointment", Ref: "a_1", DueAt: at}
		putOld(a, a, a.DueAt, "")
		putOld(b, short(b), at.Add(time.Hour), "w0") // claimed by w0 until at+1h
		putOld(c, short(c), c.DueAt, "")
		putOld(d, short(d), d.DueAt, "")

		// The next start moves them: two processes starting at once
		// take turns.
		moved := openTogether(t, o)[0]
		got, err := moved.DueOf(ctx, "p_a")
		mustDo(t, err)
		if len(got) != 3 || !sameDue(got[0], b) || !sameDue(got[1], a) || !sameDue(got[2], c) {
			t.Fatalf("DueOf(p_a) = %+v", got)
		}
		for n := range shardCount {
			sh := s.k.legacyDueShard(n)
			if left := s.rdb.Exists(ctx, sh.items, sh.ready, sh.pos, sh.owner).Val(); left != 0 {
				t.Errorf("shard %d of the layout before still has %d keys", n, left)
			}
		}
		for _, pid := range []string{"p_a", "p_b"} {
			if s.rdb.Exists(ctx, s.k.legacyDueOf(pid)).Val() != 0 {
				t.Errorf("%s's hint set of the layout before is left", pid)
			}
		}

		claimed, err := moved.ClaimDue(ctx, "w1", at, time.Minute, 10)
		mustDo(t, err)
		if len(claimed) != 2 || !sameDue(claimed[0], a) || !sameDue(claimed[1], d) {
			t.Fatalf("ClaimDue at the first due time = %+v; want %s and %s, and %s still w0's", claimed, a.ID, d.ID, b.ID)
		}
		mustDo(t, moved.CompleteDue(ctx, "p_a", b.ID, "w0"))
		mustDo(t, moved.CompleteDue(ctx, "p_b", d.ID, "w1"))
		if got, _ := moved.DueOf(ctx, "p_b"); len(got) != 0 {
			t.Fatalf("DueOf(p_b) after completing = %+v", got)
		}
	})
}

// TestMovesRecordsAndHintsOfTheLayoutsBefore writes a person's record as
// a string of its own and their link and appointment hints as the layouts
// before held them (two sets, with no layout mark; a hash of their own,
// with the mark "refs"), a stale hint among them, opens the store again
// from two processes at once, and checks that the records are found
// through the person, that the old keys are gone, and that erasure still
// reaches the records. On a single Redis and on a cluster.
func TestMovesRecordsAndHintsOfTheLayoutsBefore(t *testing.T) {
	for _, layout := range []string{"sets", "refs"} {
		t.Run(layout, func(t *testing.T) {
			onSingleAndCluster(t, func(t *testing.T, o Options) { movesLayoutBefore(t, o, layout) })
		})
	}
}

func movesLayoutBefore(t *testing.T, o Options, layout string) {
	s := openTest(t, o)
	ctx := t.Context()
	now := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	for _, pid := range []string{"p_a", "p_b"} {
		mustDo(t, s.CreateParticipant(ctx, store.Participant{ID: pid, Label: pid, Language: "en", TimeZone: "UTC", Status: store.Active,
			CaseworkerID: "acct_1", CreatedAt: now, UpdatedAt: now}))
	}
	links := []store.Link{
		{Index: "ix_a1", Channel: store.SMS, ParticipantID: "p_a", Sealed: []byte("x"), Masked: "x", LinkedAt: now},
		{Index: "ix_a2", Channel: store.Telegram, ParticipantID: "p_a", Sealed: []byte("y"), Masked: "y", LinkedAt: now},
		{Index: "ix_b", Channel: store.SMS, ParticipantID: "p_b", Sealed: []byte("z"), Masked: "z", LinkedAt: now},
	}
	for _, l := range links {
		mustDo(t, s.PutLink(ctx, l))
	}
	appt := store.Appointment{ID: "ap_1", ParticipantID: "p_a", Kind: "hearing", Place: "Court", Date: "2026-03-10", Time: "10:00",
		Status: store.AppointmentScheduled, CreatedAt: now, UpdatedAt: now}
	mustDo(t, s.PutAppointment(ctx, appt))
	due := []store.DueItem{
		{ID: "win:p_a:1772524800:open", ParticipantID: "p_a", Kind: "checkin_open", Ref: "win:p_a:1772524800", DueAt: now},
		{ID: "appt:ap_1:7d", ParticipantID: "p_a", Kind: "appointment_reminder", Ref: "ap_1", DueAt: now.Add(time.Hour)},
	}
	mustDo(t, s.PutDue(ctx, due...))

	// Back to the layout before: each record a string of its own, the
	// hints in sets or a hash of their own, one of them stale (ix_b is
	// p_b's), and the due items in a hash by their whole IDs, each value
	// with its time key and owner in front.
	hints := map[string][]string{"p_a": {"l:ix_a1", "l:ix_a2", "l:ix_b", "a:ap_1"}, "p_b": {"l:ix_b"}}
	for pid, fields := range hints {
		doc, err := s.rdb.HGet(ctx, s.k.person(pid), recordField).Result()
		mustDo(t, err)
		if layout == "refs" {
			for f, v := range s.rdb.HGetAll(ctx, s.k.person(pid)).Val() {
				if id, ok := itemID(pid, f); ok {
					at, owner, rec, _ := parseDueValue(v)
					mustDo(t, s.rdb.HSet(ctx, s.k.legacyDueItems(pid), id, at+fmt.Sprintf("%03d", len(owner))+owner+rec).Err())
				}
			}
		}
		mustDo(t, s.rdb.Del(ctx, s.k.person(pid)).Err())
		mustDo(t, s.rdb.Set(ctx, s.k.legacyParticipant(pid), doc, 0).Err())
		for _, f := range fields {
			switch kind, id, _ := strings.Cut(f, ":"); {
			case layout == "refs":
				mustDo(t, s.rdb.HSet(ctx, s.k.legacyRefs(pid), f, "").Err())
			case kind == "l":
				mustDo(t, s.rdb.SAdd(ctx, s.k.legacyLinksOf(pid), id).Err())
			default:
				mustDo(t, s.rdb.SAdd(ctx, s.k.legacyAppointmentsOf(pid), id).Err())
			}
		}
	}
	if layout == "refs" {
		mustDo(t, s.rdb.Set(ctx, s.k.layout(), "refs", 0).Err())
	} else {
		mustDo(t, s.rdb.Del(ctx, s.k.layout()).Err())
	}

	moved := openTogether(t, o)[1]
	if p, err := moved.GetParticipant(ctx, "p_a"); err != nil || p.Label != "p_a" || p.Revision != 1 {
		t.Fatalf("GetParticipant(p_a) = %+v, %v", p, err)
	}
	if got := storedDueIDs(t, moved, "p_a"); layout == "refs" && (len(got) != 2 || got[0] != "appt:ap_1:7d" || got[1] != due[0].ID) {
		t.Errorf("p_a's due items moved are %q; want both", got)
	}
	if layout == "refs" {
		claimed, err := moved.ClaimDue(ctx, "sched", now.Add(2*time.Hour), time.Minute, 10)
		mustDo(t, err)
		if len(claimed) != 2 || claimed[0].ID != due[0].ID || claimed[0].Ref != due[0].Ref || claimed[1].ID != due[1].ID {
			t.Errorf("claimed after the move: %+v; want both items, whole", claimed)
		}
	}
	if ids, err := moved.CaseloadIDs(ctx, "acct_1"); err != nil || len(ids) != 2 {
		t.Fatalf("CaseloadIDs(acct_1) = %v, %v; want both", ids, err)
	}
	got, err := moved.LinksOf(ctx, "p_a")
	mustDo(t, err)
	if len(got) != 2 || got[0].Index != "ix_a1" || got[1].Index != "ix_a2" {
		t.Fatalf("LinksOf(p_a) = %+v; want ix_a1 and ix_a2", got)
	}
	if got, err := moved.LinksOf(ctx, "p_b"); err != nil || len(got) != 1 || got[0].Index != "ix_b" {
		t.Fatalf("LinksOf(p_b) = %+v, %v; want ix_b", got, err)
	}
	if got, err := moved.AppointmentsOf(ctx, "p_a"); err != nil || len(got) != 1 || got[0].ID != appt.ID {
		t.Fatalf("AppointmentsOf(p_a) = %+v, %v", got, err)
	}
	ins, err := moved.LoadTurns(ctx, []store.TurnAsk{{ParticipantID: "p_a"}})
	mustDo(t, err)
	if in := ins[0]; in.Err != nil || in.Participant.ID != "p_a" || len(in.Links) != 2 || len(in.Appointments) != 1 {
		t.Fatalf("LoadTurns(p_a) = %q, %d links, %d appointments, %v; want p_a, 2, 1", in.Participant.ID, len(in.Links), len(in.Appointments), in.Err)
	}
	for pid := range hints {
		if n := s.rdb.Exists(ctx, s.k.legacyLinksOf(pid), s.k.legacyAppointmentsOf(pid), s.k.legacyRefs(pid), s.k.legacyParticipant(pid), s.k.legacyDueItems(pid)).Val(); n != 0 {
			t.Errorf("%s keeps %d keys of the layout before", pid, n)
		}
	}
	if v := s.rdb.Get(ctx, s.k.layout()).Val(); v != personLayout {
		t.Errorf("the layout mark reads %q; want %q", v, personLayout)
	}

	mustDo(t, moved.DeleteParticipant(ctx, "p_a"))
	for _, key := range []string{s.k.link("ix_a1"), s.k.link("ix_a2"), s.k.appointment("ap_1"), s.k.person("p_a")} {
		if s.rdb.Exists(ctx, key).Val() != 0 {
			t.Errorf("%s outlived its person's erasure", key)
		}
	}
	if _, err := moved.GetLink(ctx, "ix_b"); err != nil {
		t.Errorf("p_b's link went with p_a: %v", err)
	}
}

// openTogether opens two stores at once, as two processes started
// together would.
func openTogether(t *testing.T, o Options) [2]*Store {
	t.Helper()
	var both [2]*Store
	var errs [2]error
	var wg sync.WaitGroup
	for i := range both {
		wg.Go(func() { both[i], errs[i] = Open(t.Context(), o) })
	}
	wg.Wait()
	for i, err := range errs {
		mustDo(t, err)
		t.Cleanup(func() { both[i].Close() })
	}
	return both
}

func sameDue(a, b store.DueItem) bool {
	if len(a.Data) != len(b.Data) {
		return false
	}
	for k, v := range a.Data {
		if b.Data[k] != v {
			return false
		}
	}
	return a.ID == b.ID && a.ParticipantID == b.ParticipantID && a.Kind == b.Kind && a.Ref == b.Ref && a.DueAt.Equal(b.DueAt)
}

// TestReadsAuditEntriesOfTheEarlierFormat checks that audit entries
// stored whole (store.AuditEntry as JSON, before auditRecord), in the
// log's record hash and in a participant's slot, are still listed, purged
// and erased, and that an entry naming nobody survives the erasure.
func TestReadsAuditEntriesOfTheEarlierFormat(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	at := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	ix := s.k.auditIndex()
	putOld := func(e store.AuditEntry, slot string) {
		t.Helper()
		doc, err := json.Marshal(e)
		mustDo(t, err)
		names := "0"
		if e.ParticipantID != "" {
			names = "1"
		}
		record := string(doc)
		if slot != "" {
			record = ""
			mustDo(t, s.rdb.HSet(ctx, s.k.turnAudit(slot), e.ID, doc).Err())
		}
		keys := []string{ix.rec, ix.where, ix.all, s.k.auditOf(e.ParticipantID)}
		mustDo(t, s.run(ctx, luaAuditAdd, keys, slot, e.ID, timeKey(e.At), names, record).Err())
	}
	lone := store.AuditEntry{ID: "a_lone", At: at, Actor: "cw_1", Action: "participant.update", ParticipantID: "p_a", Detail: "status"}
	turn := store.AuditEntry{ID: "a_turn", At: at.Add(time.Minute), Actor: "participant", Action: "checked_in", ParticipantID: "p_a", Detail: "sms"}
	nobody := store.AuditEntry{ID: "a_nobody", At: at.Add(2 * time.Minute), Actor: "system", Action: "retention_run"}
	old := store.AuditEntry{ID: "a_old", At: at.Add(-time.Hour), Actor: "participant", Action: "checked_in", ParticipantID: "p_a"}
	putOld(lone, "")
	putOld(turn, "p_a")
	putOld(nobody, "p_a")
	putOld(old, "p_a")

	got, err := s.ListAudit(ctx, "", 0)
	mustDo(t, err)
	want := []store.AuditEntry{nobody, turn, lone, old}
	if !sameAudit(got, want) {
		t.Fatalf("ListAudit = %+v, want %+v", got, want)
	}
	if n, err := s.PurgeAudit(ctx, at); err != nil || n != 1 {
		t.Fatalf("PurgeAudit = %d, %v; want 1", n, err)
	}
	mustDo(t, s.DeleteParticipant(ctx, "p_a"))
	got, err = s.ListAudit(ctx, "", 0)
	mustDo(t, err)
	if !sameAudit(got, []store.AuditEntry{nobody}) {
		t.Fatalf("ListAudit after erasure = %+v", got)
	}
}

func sameAudit(got, want []store.AuditEntry) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.Actor != w.Actor || g.Action != w.Action ||
			g.ParticipantID != w.ParticipantID || g.Detail != w.Detail {
			return false
		}
	}
	return true
}

// TestReadsRecordsNotPlainlyWritten checks the records that the webhook's
// scripts read one field of without decoding them (linked_turn.lua the
// link's participant ID, turn.lua the participant's revision) when they
// are not written as encoding/json writes them: a link encoded again by
// cjson (fields in another order, "/" escaped as "\/"), a link whose
// participant ID is escaped, and a participant record whose revision is
// not its first field. Each is still followed, checked and updated right,
// through the scripts' decoding path.
func TestReadsRecordsNotPlainlyWritten(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := t.Context()
	linkedAt := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	p := store.Participant{Revision: 3, ID: "p_a", Label: "a", Language: "en", TimeZone: "UTC", Status: "active",
		CreatedAt: linkedAt, UpdatedAt: linkedAt}
	// The record as a map: encoding/json writes its fields sorted, so
	// "rev" is not first.
	var fields map[string]any
	doc, err := json.Marshal(p)
	mustDo(t, err)
	mustDo(t, json.Unmarshal(doc, &fields))
	doc, err = json.Marshal(fields)
	mustDo(t, err)
	mustDo(t, s.rdb.HSet(ctx, s.k.person("p_a"), recordField, doc).Err())

	links := map[string]string{
		"ix_cjson": `{"last_seen_at":"2026-03-03T09:00:00Z","sealed":"\/\/\/\/","index":"ix_cjson","channel":"sms",` +
			`"linked_at":"2026-03-03T09:00:00Z","participant_id":"p_a","unreachable":false,"masked":"+44 7*** ***123"}`,
		"ix_escaped": `{"index":"ix_escaped","channel":"sms","participant_id":"p\u005fa","sealed":"////","masked":"",` +
			`"unreachable":false,"linked_at":"2026-03-03T09:00:00Z"}`,
	}
	for ix, doc := range links {
		mustDo(t, s.rdb.Set(ctx, s.k.link(ix), doc, 0).Err())
	}

	for ix := range links {
		l, st, err := s.LoadLinkedTurn(ctx, ix, "sms:SM1")
		mustDo(t, err)
		if l.ParticipantID != "p_a" || st.Participant.ID != "p_a" || st.Participant.Revision != 3 {
			t.Fatalf("%s: linked turn of %q, participant %q at revision %d; want p_a at 3", ix, l.ParticipantID, st.Participant.ID, st.Participant.Revision)
		}
	}

	stale := atRev(p, 2)
	if err := s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &stale}); !errors.Is(err, store.ErrStale) {
		t.Fatalf("a turn read at revision 2 of a record at 3: %v, want ErrStale", err)
	}
	for i, ix := range []string{"ix_cjson", "ix_escaped"} {
		read := atRev(p, int64(3+i))
		seen := linkedAt.Add(time.Duration(i+1)*time.Hour + 5)
		mustDo(t, s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &read, SeenOn: ix, SeenAt: seen}))
		l, err := s.GetLink(ctx, ix)
		mustDo(t, err)
		if !l.LastSeenAt.Equal(seen) || l.ParticipantID != "p_a" || string(l.Sealed) != "\xff\xff\xff" || !l.LinkedAt.Equal(linkedAt) {
			t.Fatalf("%s after a turn seen on it: %+v, want last seen %v and the rest as it was", ix, l, seen)
		}
	}
	// Someone else's turn does not touch the escaped link.
	mustDo(t, s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", SeenOn: "ix_escaped", SeenAt: linkedAt.Add(9 * time.Hour)}))
	if l, _ := s.GetLink(ctx, "ix_escaped"); !l.LastSeenAt.Equal(linkedAt.Add(2*time.Hour + 5)) {
		t.Fatalf("another participant's turn moved the link's last-seen time to %v", l.LastSeenAt)
	}
}

func atRev(p store.Participant, n int64) store.Participant {
	p.Revision = n
	return p
}

// TestScriptsNameTheRecordField: the scripts find a participant's record
// in their person hash under the field the Go code writes it to.
func TestScriptsNameTheRecordField(t *testing.T) {
	src, err := luaFiles.ReadFile("lua/lib/person.lua")
	mustDo(t, err)
	if want := "local PERSON_RECORD = '" + recordField + "'\n"; !strings.Contains(string(src), want) {
		t.Errorf("lua/lib/person.lua does not say %q", want)
	}
}
