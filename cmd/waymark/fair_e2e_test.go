package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// The fair record, end to end: a running `waymark serve` with the real
// twilio-go client against a fake Twilio, on the embedded store and on
// Redis. Three people share a window, Monday 09:00 to 21:00 in London:
//
//   - Asha (SMS) answers "1" three hours after the prompt, past the
//     session timeout: on time.
//   - Bilal (WhatsApp) is never reached: every prompt fails with 63016
//     (outside WhatsApp's 24 hours). Not delivered, "can't reach" for the
//     caseworker, and no "we did not get your check-in".
//   - Chen (SMS) rings from their phone the next morning, in the grace
//     period: a late check-in by missed call.
func TestFairRecordEndToEnd(t *testing.T) { onBothStores(t, fairRecord) }

// onBothStores runs test on the embedded store and on Redis.
func onBothStores(t *testing.T, test func(*testing.T, store.Store)) {
	t.Run("bolt", func(t *testing.T) { test(t, openBolt(t)) })
	t.Run("redis", func(t *testing.T) {
		url, prefix := testkit.RedisPrefix(t)
		st, err := redisstore.Open(context.Background(), redisstore.Options{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
}

func fairRecord(t *testing.T, st store.Store) {
	fake := twiliotest.New(t, testAccount, testToken)
	s := startService(t, st, fake, seal.NewKey())
	defer s.stop()
	ctx := context.Background()
	// Monday 7 January 2030, 08:50 in London (UTC in winter).
	monday := time.Date(2030, time.January, 7, 8, 50, 0, 0, time.UTC)
	s.clock.Advance(time.Until(monday))

	window := &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "monday", CloseTime: "21:00"}}}
	people := []struct {
		name, from string
		id         string
	}{
		{name: "Asha", from: "+447700900201"},
		{name: "Bilal", from: "whatsapp:+447700900202"},
		{name: "Chen", from: "+447700900203"},
	}
	sent := 0
	sid := 0
	text := func(from, body string) {
		t.Helper()
		sid++
		if code, answer := s.sms("SM"+strings.Repeat("0", 28)+string(rune('a'+sid/26))+string(rune('a'+sid%26)), from, body); code != http.StatusOK {
			t.Fatalf("%q answered %d %q", body, code, answer)
		}
	}
	for i := range people {
		p := &people[i]
		now := s.clock.Now()
		p.id = store.NewID("p_")
		code := "FAIR" + strings.ToUpper(store.NewID("")[:4])
		must(t, st.CreateParticipant(ctx, store.Participant{ID: p.id, Label: p.name, Language: "en", TimeZone: "Europe/London",
			Status: store.Active, Schedule: window, CreatedAt: now, UpdatedAt: now}))
		must(t, st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: p.id, ExpiresAt: now.Add(time.Hour)}))
		text(p.from, "JOIN "+code)
		sent = len(s.awaitSent(sent, sent+5)) + sent // welcome, the notice, the question
		text(p.from, "yes")
		sent = len(s.awaitSent(sent, sent+1)) + sent
		text(p.from, "English")
		sent = len(s.awaitSent(sent, sent+1)) + sent
		if got, _ := st.GetParticipant(ctx, p.id); !got.Consented() {
			t.Fatalf("%s agreed, but consent is not recorded: %+v", p.name, got)
		}
	}
	asha, bilal, chen := people[0], people[1], people[2]

	// 09:00: the prompts go out. Bilal's fails as WhatsApp fails it
	// outside the 24 hours; the others are delivered.
	s.clock.Advance(11 * time.Minute)
	prompts := s.awaitSent(sent, sent+3)
	sent += 3
	for _, r := range prompts {
		status, code := "delivered", ""
		if r.To == bilal.from {
			status, code = "failed", "63016"
		}
		if !strings.Contains(r.Body, "1 - Check in") {
			t.Errorf("prompt to %s is not a question with its choices: %q", r.To, r.Body)
		}
		if resp, err := fake.SendStatus(ctx, r, status, code); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status callback: %v %v", resp, err)
		}
	}

	// 12:05, three hours on: Asha's "1" still answers the prompt.
	s.clock.Advance(3 * time.Hour)
	text(asha.from, "1")
	thanks := s.awaitSent(sent, sent+1)[0]
	sent++
	if thanks.To != asha.from || !strings.Contains(thanks.Body, "checked in") {
		t.Errorf("after 1: %q to %s", thanks.Body, thanks.To)
	}

	// 15:00: closing soon goes to those not checked in; Bilal's fails too.
	s.clock.Advance(3 * time.Hour)
	closing := s.awaitSent(sent, sent+2)
	sent += 2
	for _, r := range closing {
		if r.To == asha.from {
			t.Errorf("closing soon went to Asha, who checked in")
		}
		status, code := "delivered", ""
		if r.To == bilal.from {
			status, code = "failed", "63016"
		}
		fake.SendStatus(ctx, r, status, code)
	}

	// Tuesday 10:00, in the grace: Chen's missed call is a late check-in.
	s.clock.Advance(19 * time.Hour)
	if code, body := s.call("CA"+strings.Repeat("0", 31)+"1", chen.from); code != http.StatusOK || !rejectedBusy(t, body) {
		t.Fatalf("call answered %d %q", code, body)
	}
	s.awaitSent(sent, sent+1) // the confirmation
	sent++

	// Wednesday 08:00: the grace has ended (Tuesday 21:00, held for the
	// quiet hours), and every window is decided.
	s.clock.Advance(22*time.Hour + 5*time.Minute)
	outcome := func(pid string) store.WindowOutcome { return onlyOutcome(ctx, st, pid) }
	waitFor(t, "every window decided", func() bool {
		return outcome(asha.id) != "" && outcome(bilal.id) != "" && outcome(chen.id) != ""
	})
	for _, tc := range []struct {
		who  string
		pid  string
		want store.WindowOutcome
	}{{"Asha", asha.id, store.WindowOnTime}, {"Bilal", bilal.id, store.WindowNotDelivered}, {"Chen", chen.id, store.WindowLate}} {
		if got := outcome(tc.pid); got != tc.want {
			t.Errorf("%s's window: %s, want %s", tc.who, got, tc.want)
		}
	}
	items, err := st.ListAttention(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range items {
		kinds = append(kinds, it.ParticipantID+" "+string(it.Kind)+" "+it.Reason)
		if it.Kind == store.AttentionMissed {
			t.Errorf("a missed check-in was recorded: %+v", it)
		}
	}
	if !slices.Contains(kinds, bilal.id+" cant_reach whatsapp:no_template") {
		t.Errorf("open items %q, want Bilal's can't reach (WhatsApp: no approved template)", kinds)
	}
	awaitQuiet(t, st, s.clock, asha.id, bilal.id, chen.id) // then nothing more goes out
	for _, r := range fake.Accepted()[sent:] {
		t.Errorf("sent after the windows were decided: %q to %s", r.Body, r.To)
	}
}

// onlyOutcome is the outcome of a person's one check-in window, "" until
// it is decided.
func onlyOutcome(ctx context.Context, st store.Store, pid string) store.WindowOutcome {
	ws, err := st.WindowsOf(ctx, pid, time.Time{})
	if err != nil || len(ws) != 1 || ws[0].DecidedAt.IsZero() {
		return ""
	}
	return ws[0].Outcome
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
