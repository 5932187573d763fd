package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/report"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// backends runs fn against bolt and, when WAYMARK_TEST_REDIS_URL is set,
// against Redis.
func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("bolt", func(t *testing.T) { fn(t, testkit.Bolt(t, nil)) })
	t.Run("redis", func(t *testing.T) { fn(t, testkit.Redis(t)) })
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// seed writes one person's records through the store's ordinary calls.
type seed struct {
	p     store.Participant
	wins  []store.Window
	cis   []store.CheckIn
	msgs  []store.OutboundMessage
	items []store.AttentionItem
	appts []store.Appointment
}

func (s seed) put(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	p := s.p
	if p.Status == "" {
		p.Status = store.Active
	}
	p.Language, p.CreatedAt, p.UpdatedAt = "en", utc("2026-01-01 00:00"), utc("2026-01-01 00:00")
	if err := st.CreateParticipant(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.cis {
		c.ParticipantID = p.ID
		if err := st.RecordCheckIn(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ws := make([]store.Window, 0, len(s.wins))
	for _, w := range s.wins {
		w.ParticipantID = p.ID
		w.Ref = "win:" + p.ID + ":" + w.OpensAt.Format("20060102T1504")
		w.GraceEndsAt = w.ClosesAt.Add(24 * time.Hour)
		if w.Outcome != store.WindowOpen {
			w.DecidedAt = w.GraceEndsAt
		}
		w.UpdatedAt = w.GraceEndsAt
		ws = append(ws, w)
	}
	if len(ws) > 0 {
		if err := st.ApplyTurn(ctx, store.Turn{ParticipantID: p.ID, Windows: ws}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range s.msgs {
		m.ParticipantID = p.ID
		m.UpdatedAt = m.CreatedAt
		m.NotBefore = m.CreatedAt
		final := m
		m.Status = store.Pending
		if err := st.EnqueueOutbound(ctx, m); err != nil {
			t.Fatal(err)
		}
		if final.Status != store.Pending {
			if err := st.UpdateOutbound(ctx, final); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, a := range s.items {
		a.ParticipantID = p.ID
		open := a
		open.ResolvedAt, open.ResolvedBy, open.Resolution = time.Time{}, "", ""
		if err := st.AddAttention(ctx, open); err != nil {
			t.Fatal(err)
		}
		if !a.Open() {
			if err := st.ResolveAttention(ctx, a.ID, a.ResolvedBy, a.Resolution, a.ResolvedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, a := range s.appts {
		a.ParticipantID = p.ID
		a.Kind, a.Place, a.Time = "caseworker_meeting", "office", "10:00"
		a.CreatedAt, a.UpdatedAt = utc("2026-01-01 00:00"), utc("2026-01-01 00:00")
		if err := st.PutAppointment(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture is four people in four time zones over the two weeks around
// the change to summer time in Europe (Sunday 29 March 2026, 01:00 UTC)
// and just after it in America (8 March). Each window is placed by its
// local opening date, which for three of them is not its UTC date's week:
//
//	week 1 (Mon 23 – Sun 29 Mar)       week 2 (Mon 30 Mar – Sun 5 Apr)
//	A a1 Sun 00:30 GMT  on time, SMS   A a2 Mon 00:30 BST (Sun 23:30 UTC), 8 h, missed, acted on after 5 h
//	B b1 Sun 22:00 EDT (Mon 02:00 UTC)  late by missed call (Mon 23:00 EDT)
//	C c1 Wed 09:00      not delivered  C c2 Wed 09:00 BST  missed, then excused after 6 h
//	D d2 Mon 07:00 JST  still open     D d1 Mon 07:00 JST (Sun 22:00 UTC)  on time, Telegram
func fixture() []seed {
	h := time.Hour
	return []seed{
		{p: store.Participant{ID: "p_a", TimeZone: "Europe/London", CaseworkerID: "cw1"},
			wins: []store.Window{
				{OpensAt: utc("2026-03-29 00:30"), ClosesAt: utc("2026-03-29 12:30"), Outcome: store.WindowOnTime, CheckInID: "c_a1", Texts: 2},
				{OpensAt: utc("2026-03-29 23:30"), ClosesAt: utc("2026-03-30 07:30"), Outcome: store.WindowMissed, AttentionID: "n_a2"},
			},
			cis: []store.CheckIn{{ID: "c_a1", At: utc("2026-03-29 09:00"), Channel: store.SMS, Outcome: store.OnTime}},
			msgs: []store.OutboundMessage{
				{ID: "m_a1", Channel: store.SMS, Kind: "checkin.thanks", Status: store.Delivered, ProviderID: "SMa1", Segments: 1, CreatedAt: utc("2026-03-29 09:00")},
				{ID: "m_a2", Channel: store.SMS, Kind: "checkin.window_open", Ref: "r", Status: store.Delivered, ProviderID: "SMa2", Segments: 2, CreatedAt: utc("2026-03-29 23:30")},
			},
			items: []store.AttentionItem{{ID: "n_a2", Kind: store.AttentionMissed, CreatedAt: utc("2026-03-31 07:30"),
				ResolvedAt: utc("2026-03-31 07:30").Add(5 * h), ResolvedBy: "cw1", Resolution: "contacted"}},
			appts: []store.Appointment{{ID: "ap_a", Date: "2026-03-24", Status: store.AppointmentAttended}},
		},
		{p: store.Participant{ID: "p_b", TimeZone: "America/New_York", CaseworkerID: "cw1"},
			wins: []store.Window{{OpensAt: utc("2026-03-30 02:00"), ClosesAt: utc("2026-03-31 02:00"), Outcome: store.WindowLate, CheckInID: "c_b1", Texts: 4}},
			cis:  []store.CheckIn{{ID: "c_b1", At: utc("2026-03-31 03:00"), Channel: store.MissedCall, Outcome: store.Late}},
			msgs: []store.OutboundMessage{{ID: "m_b1", Channel: store.SMS, Kind: "checkin.by_call", CreatedAt: utc("2026-03-31 03:00"), Status: store.Pending}},
			items: []store.AttentionItem{{ID: "n_b1", Kind: store.AttentionReschedule, CreatedAt: utc("2026-04-02 12:00"),
				ResolvedAt: utc("2026-04-02 13:00"), ResolvedBy: "cw1", Resolution: "rescheduled"}},
		},
		{p: store.Participant{ID: "p_c", TimeZone: "Europe/London", CaseworkerID: "cw2"},
			wins: []store.Window{
				{OpensAt: utc("2026-03-25 09:00"), ClosesAt: utc("2026-03-25 21:00"), Outcome: store.WindowNotDelivered},
				// missed when its grace ended, then excused six hours later
				{OpensAt: utc("2026-04-01 08:00"), ClosesAt: utc("2026-04-01 20:00"), Outcome: store.WindowExcused, AttentionID: "n_c2",
					ExcusedAt: utc("2026-04-03 02:00"), ExcusedBy: "cw2"},
			},
			msgs: []store.OutboundMessage{{ID: "m_c1", Channel: store.SMS, Kind: "checkin.window_open", Ref: "r", Status: store.Failed,
				ErrorCode: "30003", ProviderID: "SMc1", CreatedAt: utc("2026-03-25 09:00")}},
			items: []store.AttentionItem{{ID: "n_c1", Kind: store.AttentionCantReach, CreatedAt: utc("2026-03-26 09:00"),
				ResolvedAt: utc("2026-03-27 09:00"), ResolvedBy: "cw2", Resolution: "contacted"},
				{ID: "n_c2", Kind: store.AttentionMissed, CreatedAt: utc("2026-04-02 20:00"),
					ResolvedAt: utc("2026-04-03 02:00"), ResolvedBy: "cw2", Resolution: "excused"}},
			appts: []store.Appointment{{ID: "ap_c", Date: "2026-04-03", Status: store.AppointmentMissed}},
		},
		{p: store.Participant{ID: "p_d", TimeZone: "Asia/Tokyo", CaseworkerID: "cw2"},
			wins: []store.Window{
				{OpensAt: utc("2026-03-22 22:00"), ClosesAt: utc("2026-03-23 10:00"), Outcome: store.WindowOpen},
				{OpensAt: utc("2026-03-29 22:00"), ClosesAt: utc("2026-03-30 10:00"), Outcome: store.WindowOnTime, CheckInID: "c_d1", Texts: 1},
			},
			cis: []store.CheckIn{{ID: "c_d1", At: utc("2026-03-29 23:00"), Channel: store.Telegram, Outcome: store.OnTime}},
			msgs: []store.OutboundMessage{{ID: "m_d1", Channel: store.Telegram, Kind: "checkin.window_open", Ref: "r", Status: store.Queued,
				ProviderID: "tg1", CreatedAt: utc("2026-03-29 22:00")}},
			appts: []store.Appointment{{ID: "ap_d", Date: "2026-03-30", Status: store.AppointmentCancelled}},
		},
	}
}

func options(from, to string, by report.By) report.Options {
	f, _ := report.ParseDate(from)
	t, _ := report.ParseDate(to)
	return report.Options{From: f, To: t, By: by, MinPeople: 1, ShortWindow: 12 * time.Hour,
		QuietStart: 21 * time.Hour, QuietEnd: 8 * time.Hour, SegmentPrice: 0.05, Currency: "GBP"}
}

// figures is a report as key -> one value per period (nil when hidden
// or there is none).
func figures(r report.Report) map[string][]*float64 {
	out := map[string][]*float64{}
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			for _, c := range row.Cells {
				out[row.Key] = append(out[row.Key], c.Value)
			}
		}
	}
	return out
}

func expect(t *testing.T, r report.Report, want map[string][]float64) {
	t.Helper()
	got := figures(r)
	for key, vals := range want {
		g := got[key]
		if len(g) != len(vals) {
			t.Errorf("%s: %d periods, want %d", key, len(g), len(vals))
			continue
		}
		for i, v := range vals {
			switch {
			case g[i] == nil && v != 0:
				t.Errorf("%s[%s]: no value, want %v", key, r.Periods[i].Label, v)
			case g[i] != nil && *g[i] != v:
				t.Errorf("%s[%s] = %v, want %v", key, r.Periods[i].Label, *g[i], v)
			}
		}
	}
}

// weekly are the fixture's figures worked out by hand (see fixture).
var weekly = map[string][]float64{
	"windows": {3, 3}, "on_time": {1, 1}, "late": {1, 0}, "not_delivered": {1, 0}, "excused": {0, 1}, "missed": {0, 1},
	"kept": {2, 1}, "sms": {1, 0}, "missed_call": {1, 0}, "telegram": {0, 1},
	// a2 and c2 were flagged as missed; a2 acted on after 5 hours, c2 excused after 6: the lower middle is 5.
	"missed_flagged": {0, 2}, "missed_acted_on": {0, 2}, "hours_to_action_median": {0, 5},
	"cant_reach": {1, 0}, "cant_reach_resolved": {1, 0}, "rescheduled": {0, 1},
	"appointments_attended": {1, 0}, "appointments_missed": {0, 1}, "appointments_cancelled": {0, 1},
	// b1's check-in is Monday 23:00 in New York: week 2, though its window is week 1's.
	"checkins": {1, 2}, "checkins_missed_call": {0, 1},
	// a1 took two texts, d1 one; b1's four texts ended in a free missed call, not counted.
	"texts_per_checkin_median": {2, 1}, "texts_per_checkin_p90": {2, 1},
	// person-weeks: week 1 A 1, B 0, C 1 (D's only window is open); week 2 A 1, C 0, D 1.
	"messages_per_person_week_median": {1, 1}, "messages_per_person_week_p90": {1, 1},
	// a2's prompt is 00:30 in London, d1's 07:00 in Tokyo: both quiet.
	"reminders": {1, 2}, "reminders_quiet_hours": {0, 2}, "windows_short": {0, 1},
	"sms_messages": {2, 1}, "sms_delivered": {1, 1}, "sms_failed": {1, 0}, "failed_unreachable": {1, 0},
	"telegram_messages": {0, 1}, "telegram_unconfirmed": {0, 1},
	// a missing segment count is taken as one.
	"sms_segments": {2, 2},
}

func TestFixtureByWeekOnBothStores(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		for _, s := range fixture() {
			s.put(t, st)
		}
		ctx := context.Background()
		r, err := report.Compute(ctx, st, options("2026-03-25", "2026-04-01", report.ByWeek))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Periods) != 2 || r.Periods[0].Label != "2026-03-23" || r.Periods[1].Label != "2026-03-30" {
			t.Fatalf("periods %+v, want the weeks of 23 and 30 March", r.Periods)
		}
		expect(t, r, weekly)
		seg := r.Sections[4].Rows[len(r.Sections[4].Rows)-1]
		if seg.Total == nil || *seg.Total.Cost != 0.2 {
			t.Errorf("segment cost total %+v, want 4 × 0.05", seg.Total)
		}

		// One caseload: A and B.
		o := options("2026-03-23", "2026-04-05", report.ByWeek)
		o.Caseworker = "cw1"
		r, err = report.Compute(ctx, st, o)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, r, map[string][]float64{"windows": {2, 1}, "on_time": {1, 0}, "late": {1, 0}, "missed": {0, 1},
			"checkins": {1, 1}, "rescheduled": {0, 1}})

		// March by month is the weeks beginning in March: 2 March to 5 April.
		r, err = report.Compute(ctx, st, options("2026-03-10", "2026-03-31", report.ByMonth))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Periods) != 1 || r.Periods[0].Label != "2026-03" || r.To.Format(time.DateOnly) != "2026-04-05" {
			t.Fatalf("periods %+v, want March as 2 March to 5 April", r.Periods)
		}
		month := map[string][]float64{}
		for k, v := range weekly {
			month[k] = []float64{v[0] + v[1]}
		}
		// medians are of all six person-weeks: [0 0 1 1 1 1]
		month["hours_to_action_median"] = []float64{5}
		month["messages_per_person_week_median"] = []float64{1}
		month["messages_per_person_week_p90"] = []float64{1}
		month["texts_per_checkin_median"] = []float64{1} // of [1 2], the lower
		month["texts_per_checkin_p90"] = []float64{2}
		expect(t, r, month)
	})
}
