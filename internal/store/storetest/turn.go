package storetest

import (
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// startedWithKeys gives p_a a record and a session by a turn recording the
// dedupe key sms:SM1, and records sms:SM2 with FirstSeen: what seenCases
// ask about.
func startedWithKeys(t *testing.T, s store.Store) (store.Participant, store.Session) {
	ctx := ctxOf(t)
	p := participant("p_a")
	ss := session("p_a", wallNow().Add(time.Hour))
	must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &p, Session: &ss,
		DedupeKey: "sms:SM1", DedupeUntil: wallNow().Add(time.Hour)}))
	_, err := s.FirstSeen(ctx, "sms:SM2", wallNow().Add(time.Hour))
	must(t, "first seen", err)
	return p, ss
}

// seenCases are the dedupe keys startedWithKeys leaves, and whether a
// turn's read finds each recorded.
var seenCases = []struct {
	key  string
	seen bool
}{{"", false}, {"sms:SM1", true}, {"sms:SM2", true}, {"sms:SM3", false}}

// fullTurn is a turn that touches every kind of record.
func fullTurn(pid string, expires time.Time) store.Turn {
	p := participant(pid)
	ss := session(pid, expires)
	return store.Turn{
		ParticipantID: pid,
		Participant:   &p,
		Session:       &ss,
		CheckIns:      []store.CheckIn{checkIn("c_"+pid, pid, at(0))},
		Attention:     []store.AttentionItem{attention("att_"+pid, pid, at(0))},
		Audit:         []store.AuditEntry{audit("au_"+pid, pid, at(0)), audit("au_sys_"+pid, "", at(time.Second))},
		Outbound:      []store.OutboundMessage{outbound("m_"+pid, pid, at(0)), outbound("m2_"+pid, pid, at(time.Second))},
	}
}

var turnTests = []namedTest{
	{"EverythingLands", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		turn := fullTurn("p_a", wallNow().Add(time.Hour))
		must(t, "apply", s.ApplyTurn(ctx, turn))
		checkTurnLanded(t, s, turn)
	}},
	{"ParticipantIsCreatedOrUpdated", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		p := created(t, s, "p_a")
		p.OptedOut, p.OptedOutAt = true, at(time.Hour)
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Participant: &p}))
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant saved by turn", got, atRevision(p, 2))
	}},
	{"TurnOfAStaleReadIsRefusedWhole", func(t *testing.T, s store.Store) {
		// A caseworker paused the person after the turn read the record:
		// the turn is refused whole (nothing of it lands) and the pause
		// stays. A turn for a record erased meanwhile does not bring it
		// back.
		ctx := ctxOf(t)
		read := created(t, s, "p_a")
		paused := read
		paused.Status = store.Paused
		must(t, "pause", s.UpdateParticipant(ctx, paused))
		turn := fullTurn("p_a", wallNow().Add(time.Hour))
		turn.Participant = &read
		mustBe(t, "stale turn", s.ApplyTurn(ctx, turn), store.ErrStale)
		got, err := s.GetParticipant(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "participant after a stale turn", got, atRevision(paused, 2))
		checkNothingElseOf(t, s, "p_a", 0)

		must(t, "erase", s.DeleteParticipant(ctx, "p_a"))
		turn.Participant = &got
		mustBe(t, "turn for an erased participant", s.ApplyTurn(ctx, turn), store.ErrStale)
		_, err = s.GetParticipant(ctx, "p_a")
		mustBe(t, "erased participant after a turn", err, store.ErrNotFound)
	}},
	{"EndSessionDeletesIt", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "save", s.SaveSession(ctx, session("p_a", wallNow().Add(time.Hour))))
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{
			ParticipantID: "p_a",
			EndSession:    true,
			CheckIns:      []store.CheckIn{checkIn("c_1", "p_a", at(0))},
		}))
		_, err := s.GetSession(ctx, "p_a")
		mustBe(t, "session after EndSession", err, store.ErrNotFound)
		cis, err := s.CheckInsOf(ctx, "p_a", time.Time{})
		must(t, "check-ins", err)
		if len(cis) != 1 {
			t.Fatalf("check-in of the ending turn: %d recorded, want 1", len(cis))
		}
		// Ending a session that does not exist is fine.
		must(t, "apply again", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", EndSession: true}))
	}},
	{"SessionWinsOverEndSession", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		ss := session("p_a", wallNow().Add(time.Hour))
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", Session: &ss, EndSession: true}))
		got, err := s.GetSession(ctx, "p_a")
		must(t, "get", err)
		mustSame(t, "session (EndSession ignored when Session is set)", got, ss)
	}},
	{"EmptyTurnChangesNothing", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		must(t, "save", s.SaveSession(ctx, session("p_a", wallNow().Add(time.Hour))))
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a"}))
		_, err := s.GetSession(ctx, "p_a")
		must(t, "session kept", err)
	}},
	{"DedupeKeyLandsWithTurn", func(t *testing.T, s store.Store) {
		// The key is recorded with the turn, so a retry after a landed turn
		// is seen, and a second turn with the same key (a concurrent
		// duplicate) is refused whole with ErrConflict.
		ctx := ctxOf(t)
		turn := store.Turn{
			ParticipantID: "p_a",
			CheckIns:      []store.CheckIn{checkIn("c_1", "p_a", at(0))},
			DedupeKey:     "sms:SM1",
			DedupeUntil:   wallNow().Add(time.Hour),
		}
		must(t, "apply", s.ApplyTurn(ctx, turn))
		seen, err := s.Seen(ctx, "sms:SM1")
		must(t, "seen", err)
		if !seen {
			t.Fatalf("turn's dedupe key not recorded")
		}
		first, err := s.FirstSeen(ctx, "sms:SM1", wallNow().Add(time.Hour))
		must(t, "first seen", err)
		if first {
			t.Fatalf("turn's dedupe key new to FirstSeen")
		}
		dup := turn
		dup.CheckIns = []store.CheckIn{checkIn("c_2", "p_a", at(time.Minute))}
		dup.Outbound = []store.OutboundMessage{outbound("m_dup", "p_a", at(0))}
		mustBe(t, "duplicate turn", s.ApplyTurn(ctx, dup), store.ErrConflict)
		cis, err := s.CheckInsOf(ctx, "p_a", time.Time{})
		must(t, "check-ins", err)
		mustIDs(t, "check-ins after refused duplicate", ids(cis, func(c store.CheckIn) string { return c.ID }), []string{"c_1"})
		_, err = s.GetOutbound(ctx, "m_dup")
		mustBe(t, "message of refused duplicate", err, store.ErrNotFound)
	}},
	{"KeyFromFirstSeenRefusesTurn", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		_, err := s.FirstSeen(ctx, "sms:SM1", wallNow().Add(time.Hour))
		must(t, "first seen", err)
		mustBe(t, "turn with a recorded key", s.ApplyTurn(ctx, store.Turn{
			ParticipantID: "p_a", DedupeKey: "sms:SM1", DedupeUntil: wallNow().Add(time.Hour),
			CheckIns: []store.CheckIn{checkIn("c_1", "p_a", at(0))},
		}), store.ErrConflict)
		checkNothingOf(t, s, "p_a", 0)
	}},
	{"RecordInUseRefusesTurnWhole", func(t *testing.T, s store.Store) {
		// A turn that would queue a message, raise an item or write an
		// audit entry whose ID is in use is refused with ErrConflict, and
		// nothing of it lands.
		ctx := ctxOf(t)
		clashes := []func(*store.Turn){
			func(tr *store.Turn) { tr.Outbound[1].ID = "m_taken" },
			func(tr *store.Turn) { tr.Attention[0].ID = "att_taken" },
			func(tr *store.Turn) { tr.Audit[1].ID = "au_taken" },
		}
		must(t, "enqueue", s.EnqueueOutbound(ctx, outbound("m_taken", "p_b", at(0))))
		must(t, "attention", s.AddAttention(ctx, attention("att_taken", "p_b", at(0))))
		must(t, "audit", s.AppendAudit(ctx, audit("au_taken", "p_b", at(0))))
		for i, clash := range clashes {
			turn := fullTurn("p_a", wallNow().Add(time.Hour))
			clash(&turn)
			mustBe(t, "turn with a record in use", s.ApplyTurn(ctx, turn), store.ErrConflict)
			if _, err := s.GetParticipant(ctx, "p_a"); !isNotFound(err) {
				t.Fatalf("refused turn %d: participant saved: %v", i, err)
			}
			if _, err := s.GetSession(ctx, "p_a"); !isNotFound(err) {
				t.Fatalf("refused turn %d: session saved: %v", i, err)
			}
			if cis, err := s.CheckInsOf(ctx, "p_a", time.Time{}); err != nil || len(cis) != 0 {
				t.Fatalf("refused turn %d: %d check-ins, err %v", i, len(cis), err)
			}
			if _, err := s.GetOutbound(ctx, "m_p_a"); !isNotFound(err) {
				t.Fatalf("refused turn %d: message queued: %v", i, err)
			}
			if entries, err := s.ListAudit(ctx, "p_a", 0); err != nil || len(entries) != 0 {
				t.Fatalf("refused turn %d: %d audit entries, err %v", i, len(entries), err)
			}
		}
	}},
	{"LoadTurnReadsWhatATurnStartsFrom", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		_, err := s.LoadTurn(ctx, "p_a", "")
		mustBe(t, "load turn of nobody", err, store.ErrNotFound)

		p, ss := startedWithKeys(t, s)
		for _, c := range seenCases {
			st, err := s.LoadTurn(ctx, "p_a", c.key)
			must(t, "load turn", err)
			mustSame(t, "participant", st.Participant, atRevision(p, 1))
			if st.Session == nil {
				t.Fatalf("load turn: no session")
			}
			mustSame(t, "session", *st.Session, ss)
			if st.Seen != c.seen {
				t.Fatalf("load turn with key %q: seen %v, want %v", c.key, st.Seen, c.seen)
			}
		}

		// A session that has expired is no session.
		short := session("p_a", wallNow().Add(50*time.Millisecond))
		must(t, "save", s.SaveSession(ctx, short))
		sleepPast(short.ExpiresAt)
		st, err := s.LoadTurn(ctx, "p_a", "")
		must(t, "load turn", err)
		if st.Session != nil {
			t.Fatalf("expired session loaded: %+v", *st.Session)
		}
	}},
	{"LoadLinkedTurnFollowsTheLink", func(t *testing.T, s store.Store) {
		// What an inbound message starts from: the link by its index and
		// the turn of the link's participant, as GetLink and LoadTurn
		// would read them one after the other.
		ctx := ctxOf(t)
		l, _, err := s.LoadLinkedTurn(ctx, "ix_a", "")
		mustBe(t, "no link", err, store.ErrNotFound)
		mustSame(t, "link of a missing index", l, store.Link{})

		mine := link("ix_a", "p_a")
		must(t, "put link", s.PutLink(ctx, mine))
		must(t, "put link", s.PutLink(ctx, link("ix_b", "p_b")))
		l, _, err = s.LoadLinkedTurn(ctx, "ix_a", "")
		mustBe(t, "a link whose participant has no record", err, store.ErrNotFound)
		mustSame(t, "link whose participant has no record", l, mine)

		startedWithKeys(t, s)
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_b", Participant: new(participant("p_b"))}))
		for _, c := range seenCases {
			l, st, err := s.LoadLinkedTurn(ctx, "ix_a", c.key)
			must(t, "load linked turn", err)
			mustSame(t, "link", l, mine)
			want, werr := s.LoadTurn(ctx, "p_a", c.key)
			must(t, "load turn", werr)
			mustSame(t, "turn state beside LoadTurn's", st, want)
			if st.Session == nil || st.Seen != c.seen {
				t.Fatalf("load linked turn with key %q: session %v, seen %v, want a session and seen %v", c.key, st.Session, st.Seen, c.seen)
			}
		}
		l, st, err := s.LoadLinkedTurn(ctx, "ix_b", "sms:SM3")
		must(t, "load linked turn", err)
		if l.ParticipantID != "p_b" || st.Participant.ID != "p_b" || st.Session != nil || st.Seen {
			t.Fatalf("another link: link of %s, participant %s, session %v, seen %v; want p_b's, no session, not seen",
				l.ParticipantID, st.Participant.ID, st.Session, st.Seen)
		}
	}},
	{"SeenOnChangesOnlyTheLinksLastSeenTime", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		mine := link("ix_a", "p_a")
		mine.Unreachable, mine.Reason = true, "30003"
		theirs := link("ix_b", "p_b")
		must(t, "put link", s.PutLink(ctx, mine))
		must(t, "put link", s.PutLink(ctx, theirs))

		seen := at(3 * time.Hour).Add(123456789)
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", SeenOn: "ix_a", SeenAt: seen}))
		got, err := s.GetLink(ctx, "ix_a")
		must(t, "get link", err)
		want := mine
		want.LastSeenAt = seen
		mustSame(t, "link after a turn seen on it", got, want)
		// Seen again: the time moves on, the rest stays.
		later := seen.Add(time.Minute + 7)
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", SeenOn: "ix_a", SeenAt: later}))
		got, err = s.GetLink(ctx, "ix_a")
		must(t, "get link", err)
		want.LastSeenAt = later
		mustSame(t, "link after a second turn seen on it", got, want)

		// Another participant's link, or a link that is gone, is left alone.
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", SeenOn: "ix_b", SeenAt: seen}))
		got, err = s.GetLink(ctx, "ix_b")
		must(t, "get link", err)
		mustSame(t, "another participant's link", got, theirs)
		must(t, "apply", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", SeenOn: "ix_gone", SeenAt: seen}))
		_, err = s.GetLink(ctx, "ix_gone")
		mustBe(t, "a link that never was", err, store.ErrNotFound)
		links, err := s.LinksOf(ctx, "p_a")
		must(t, "links of", err)
		mustIDs(t, "links of p_a", ids(links, func(l store.Link) string { return l.Index }), []string{"ix_a"})

		mustFail(t, "seen on without a time", s.ApplyTurn(ctx, store.Turn{ParticipantID: "p_a", SeenOn: "ix_a"}))
	}},
	{"MismatchedParticipantRefusedWhole", func(t *testing.T, s store.Store) {
		ctx := ctxOf(t)
		bad := []func(*store.Turn){
			func(tr *store.Turn) { tr.Participant.ID = "p_other" },
			func(tr *store.Turn) { tr.Session.ParticipantID = "p_other" },
			func(tr *store.Turn) { tr.CheckIns[0].ParticipantID = "p_other" },
			func(tr *store.Turn) { tr.Attention[0].ParticipantID = "p_other" },
			func(tr *store.Turn) { tr.Audit[0].ParticipantID = "p_other" },
			func(tr *store.Turn) { tr.Outbound[1].ParticipantID = "p_other" },
			func(tr *store.Turn) { tr.ParticipantID = "" },
		}
		for i, spoil := range bad {
			turn := fullTurn("p_a", wallNow().Add(time.Hour))
			spoil(&turn)
			mustFail(t, "spoilt turn", s.ApplyTurn(ctx, turn))
			checkNothingOf(t, s, "p_a", i)
		}
	}},
}

func checkTurnLanded(t *testing.T, s store.Store, turn store.Turn) {
	t.Helper()
	ctx := ctxOf(t)
	pid := turn.ParticipantID
	got, err := s.GetParticipant(ctx, pid)
	must(t, "participant", err)
	mustSame(t, "participant", got, atRevision(*turn.Participant, turn.Participant.Revision+1))
	ss, err := s.GetSession(ctx, pid)
	must(t, "session", err)
	mustSame(t, "session", ss, *turn.Session)
	cis, err := s.CheckInsOf(ctx, pid, time.Time{})
	must(t, "check-ins", err)
	mustSame(t, "check-ins", cis, turn.CheckIns)
	items, err := s.ListAttention(ctx, false)
	must(t, "attention", err)
	var mine []store.AttentionItem
	for _, a := range items {
		if a.ParticipantID == pid {
			mine = append(mine, a)
		}
	}
	mustSame(t, "attention", mine, turn.Attention)
	entries, err := s.ListAudit(ctx, "", 0)
	must(t, "audit", err)
	var found int
	for _, want := range turn.Audit {
		for _, e := range entries {
			if e.ID == want.ID {
				mustSame(t, "audit entry", e, want)
				found++
			}
		}
	}
	if found != len(turn.Audit) {
		t.Fatalf("audit: %d of %d entries found", found, len(turn.Audit))
	}
	for _, m := range turn.Outbound {
		got, err := s.GetOutbound(ctx, m.ID)
		must(t, "outbound "+m.ID, err)
		mustSame(t, "outbound", got, m)
	}
}

// checkNothingOf fails if any record of pid exists: a refused turn must leave
// no trace.
func checkNothingOf(t *testing.T, s store.Store, pid string, attempt int) {
	t.Helper()
	ctx := ctxOf(t)
	if _, err := s.GetParticipant(ctx, pid); !isNotFound(err) {
		t.Fatalf("refused turn %d: participant: %v", attempt, err)
	}
	checkNothingElseOf(t, s, pid, attempt)
}

// checkNothingElseOf is checkNothingOf for a participant whose record is
// there: nothing else of theirs is.
func checkNothingElseOf(t *testing.T, s store.Store, pid string, attempt int) {
	t.Helper()
	ctx := ctxOf(t)
	if _, err := s.GetSession(ctx, pid); !isNotFound(err) {
		t.Fatalf("refused turn %d: session: %v", attempt, err)
	}
	if cis, err := s.CheckInsOf(ctx, pid, time.Time{}); err != nil || len(cis) != 0 {
		t.Fatalf("refused turn %d: %d check-ins, err %v", attempt, len(cis), err)
	}
	if items, err := s.ListAttention(ctx, false); err != nil || len(items) != 0 {
		t.Fatalf("refused turn %d: %d attention items, err %v", attempt, len(items), err)
	}
	if entries, err := s.ListAudit(ctx, "", 0); err != nil || len(entries) != 0 {
		t.Fatalf("refused turn %d: %d audit entries, err %v", attempt, len(entries), err)
	}
	if msgs, err := s.ClaimOutbound(ctx, "check", at(time.Hour), time.Nanosecond, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("refused turn %d: %d outbound messages, err %v", attempt, len(msgs), err)
	}
}
