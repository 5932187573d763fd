package retention_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/retention"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

const day = 24 * time.Hour

// t0 is the fake "now" of every test: far from the wall clock, so that a
// step reading the wall clock instead of the injected one shows.
var t0 = time.Date(2031, 6, 2, 3, 0, 0, 0, time.UTC)

// backends runs fn against bolt and, when WAYMARK_TEST_REDIS_URL is set,
// against Redis; both with the fake clock.
func backends(t *testing.T, fn func(t *testing.T, st store.Store, clk *clock.Fake)) {
	t.Run("bolt", func(t *testing.T) {
		clk := clock.NewFake(t0)
		fn(t, testkit.Bolt(t, clk), clk)
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, testkit.Redis(t), clock.NewFake(t0))
	})
}

func newJob(st store.Store, clk clock.Clock, owner string, logs *bytes.Buffer) *retention.Job {
	policy := flow.DefaultProgramme().Retention
	return retention.New(st, clk, func() flow.Retention { return policy }, slog.New(slog.NewTextHandler(logs, nil)), retention.Options{Owner: owner})
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestRunDeletesWhatIsPastItsTime sets up records on either side of every
// limit of the default policy, runs the job once at t0, and checks that
// exactly those past their time went; then moves the clock two days on and
// checks the participant who exited 29 days before t0 goes too.
func TestRunDeletesWhatIsPastItsTime(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, clk *clock.Fake) {
		ctx := context.Background()
		ago := func(d time.Duration) time.Time { return t0.Add(-d) }
		person := func(id string, status store.ParticipantStatus, exitedAt, updated time.Time) {
			p := store.Participant{ID: id, Label: "R", Language: "en", TimeZone: "UTC", Status: status,
				ExitedAt: exitedAt, CreatedAt: ago(900 * day), UpdatedAt: updated}
			must(t, "create "+id, st.CreateParticipant(ctx, p))
			must(t, "check-in of "+id, st.RecordCheckIn(ctx, store.CheckIn{ID: "c_" + id, ParticipantID: id, At: ago(2 * day), Channel: store.SMS, Outcome: store.OnTime}))
			must(t, "audit of "+id, st.AppendAudit(ctx, store.AuditEntry{ID: "a_" + id, At: ago(day), Actor: "cw_1", Action: "participant_updated", ParticipantID: id}))
		}
		person("p_active", store.Active, time.Time{}, ago(400*day))
		person("p_paused", store.Paused, time.Time{}, ago(400*day))
		person("p_exited_old", store.Exited, ago(31*day), ago(day))
		person("p_exited_new", store.Exited, ago(29*day), ago(29*day))
		person("p_exited_legacy", store.Exited, time.Time{}, ago(40*day))

		must(t, "old check-in", st.RecordCheckIn(ctx, store.CheckIn{ID: "c_old", ParticipantID: "p_active", At: ago(366 * day), Channel: store.SMS, Outcome: store.Late}))
		must(t, "old audit", st.AppendAudit(ctx, store.AuditEntry{ID: "a_old", At: ago(731 * day), Actor: "system", Action: "x"}))
		must(t, "kept audit", st.AppendAudit(ctx, store.AuditEntry{ID: "a_kept", At: ago(729 * day), Actor: "system", Action: "x"}))

		msg := func(id string, status store.MessageStatus, updated time.Time) {
			m := store.OutboundMessage{ID: id, ParticipantID: "p_active", LinkIndex: "ix", Channel: store.SMS, Kind: "k",
				Text: "hello", Status: store.Pending, NotBefore: ago(30 * day), CreatedAt: ago(30 * day), UpdatedAt: ago(30 * day)}
			must(t, "enqueue "+id, st.EnqueueOutbound(ctx, m))
			if status != store.Pending {
				m.Status, m.UpdatedAt = status, updated
				must(t, "update "+id, st.UpdateOutbound(ctx, m))
			}
		}
		msg("m_old", store.Delivered, ago(8*day))
		msg("m_recent", store.Failed, ago(6*day))
		msg("m_pending", store.Pending, time.Time{})
		msg("m_unconfirmed", store.Queued, ago(49*time.Hour)) // Telegram: never a final status
		msg("m_queued_recent", store.Queued, ago(47*time.Hour))

		item := func(id string, created, resolved time.Time) {
			must(t, "attention "+id, st.AddAttention(ctx, store.AttentionItem{ID: id, ParticipantID: "p_active", Kind: store.AttentionMissed, CreatedAt: created}))
			if !resolved.IsZero() {
				must(t, "resolve "+id, st.ResolveAttention(ctx, id, "cw_1", "contacted", resolved))
			}
		}
		item("n_old", ago(500*day), ago(366*day))
		item("n_recent", ago(500*day), ago(364*day))
		item("n_open", ago(500*day), time.Time{})

		var logs bytes.Buffer
		job := newJob(st, clk, "proc_a", &logs)
		r, err := job.RunOnce(ctx)
		must(t, "run", err)
		want := retention.Report{CheckIns: 1, Audit: 1, SentMessages: 1, MessageTexts: 1, Attention: 1, Participants: 2}
		if r != want {
			t.Fatalf("report %+v, want %+v", r, want)
		}

		left, err := st.ListParticipants(ctx)
		must(t, "list", err)
		var ids []string
		for _, p := range left {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, []string{"p_active", "p_exited_new", "p_paused"}) {
			t.Errorf("participants left: %v", ids)
		}
		cis, err := st.CheckInsOf(ctx, "p_active", time.Time{})
		must(t, "check-ins", err)
		if len(cis) != 1 || cis[0].ID != "c_p_active" {
			t.Errorf("check-ins left: %+v", cis)
		}
		for id, text := range map[string]string{"m_unconfirmed": "", "m_queued_recent": "hello", "m_pending": "hello"} {
			if m, err := st.GetOutbound(ctx, id); err != nil || m.Text != text {
				t.Errorf("message %s: text %q (%v), want %q", id, m.Text, err, text)
			}
		}
		for id, gone := range map[string]bool{"m_old": true, "m_recent": false, "m_pending": false} {
			_, err := st.GetOutbound(ctx, id)
			if gone != errors.Is(err, store.ErrNotFound) {
				t.Errorf("message %s: err %v, want gone=%v", id, err, gone)
			}
		}
		items, err := st.ListAttention(ctx, false)
		must(t, "attention", err)
		var itemIDs []string
		for _, it := range items {
			itemIDs = append(itemIDs, it.ID)
		}
		slices.Sort(itemIDs)
		if !slices.Equal(itemIDs, []string{"n_open", "n_recent"}) {
			t.Errorf("attention left: %v", itemIDs)
		}

		// The audit log: the old entry went, the erased people's entries
		// went, and it says what the run did and whom it erased.
		audit, err := st.ListAudit(ctx, "", 0)
		must(t, "audit", err)
		var actions []string
		for _, e := range audit {
			if e.ID == "a_old" || e.ID == "a_p_exited_old" || e.ID == "a_p_exited_legacy" {
				t.Errorf("audit entry %s survived", e.ID)
			}
			actions = append(actions, e.Actor+":"+e.Action+":"+e.ParticipantID)
			if e.Action == "retention_run" && e.Detail != want.String() {
				t.Errorf("retention_run detail %q, want %q", e.Detail, want.String())
			}
		}
		for _, a := range []string{"retention:participant_erased:p_exited_old", "retention:participant_erased:p_exited_legacy", "system:retention_run:"} {
			if !slices.Contains(actions, a) {
				t.Errorf("audit log lacks %s: %v", a, actions)
			}
		}

		// Another process in the same interval does nothing.
		other, err := newJob(st, clk, "proc_b", &logs).RunOnce(ctx)
		must(t, "second process", err)
		if !other.Skipped || other.Total() != 0 {
			t.Errorf("second process ran: %+v", other)
		}

		// Two days later the person who exited 29 days before t0 is due.
		clk.Advance(2 * day)
		r, err = job.RunOnce(ctx)
		must(t, "run two days later", err)
		if r.Participants != 1 {
			t.Errorf("two days later: %+v, want one participant erased", r)
		}
		if _, err := st.GetParticipant(ctx, "p_exited_new"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("p_exited_new still there: %v", err)
		}
		if !strings.Contains(logs.String(), "participants=1") {
			t.Errorf("the run was not logged with its counts: %s", logs.String())
		}
	})
}

// A run that finds nothing to delete leaves no audit entry: the log is
// not filled with empty runs.
func TestQuietRunLeavesNoTrace(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, clk *clock.Fake) {
		ctx := context.Background()
		must(t, "create", st.CreateParticipant(ctx, store.Participant{ID: "p_a", Status: store.Active, CreatedAt: t0, UpdatedAt: t0}))
		r, err := newJob(st, clk, "proc_a", &bytes.Buffer{}).RunOnce(ctx)
		must(t, "run", err)
		if r.Total() != 0 || r.Skipped {
			t.Fatalf("report %+v", r)
		}
		audit, err := st.ListAudit(ctx, "", 0)
		must(t, "audit", err)
		if len(audit) != 0 {
			t.Errorf("quiet run audited: %+v", audit)
		}
	})
}

// Run runs at once, then every interval, and returns when ctx ends.
func TestRunLoopsUntilCancelled(t *testing.T) {
	clk := clock.NewFake(t0)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "w.db"), bolt.WithClock(clk))
	must(t, "open", err)
	defer st.Close()
	ctx := context.Background()
	must(t, "create", st.CreateParticipant(ctx, store.Participant{ID: "p_x", Status: store.Exited, ExitedAt: t0.Add(-60 * day), UpdatedAt: t0}))
	policy := flow.DefaultProgramme().Retention
	job := retention.New(st, clk, func() flow.Retention { return policy }, slog.New(slog.DiscardHandler), retention.Options{Every: 10 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { job.Run(runCtx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := st.GetParticipant(ctx, "p_x"); errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not erase the exited participant")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestDescribe(t *testing.T) {
	got := retention.Describe(flow.DefaultProgramme().Retention)
	want := "checkins 365d, audit 730d, exited participants 30d, sent messages 7d, unconfirmed message text 2d, resolved attention 365d"
	if got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}
