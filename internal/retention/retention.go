// Package retention deletes what Waymark no longer needs, on the schedule
// programme.yaml sets: check-ins, audit entries, sent messages and resolved
// attention items past their time, the words of messages whose delivery is
// never confirmed, and everything about a person a while after they left
// the programme. One process at a time runs it, under a
// lease in the store; each run leaves an audit entry saying what went.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/store"
)

// LeaseName is the store lease a run holds, so that of many `waymark serve`
// processes one runs the job per interval.
const LeaseName = "retention"

// DefaultEvery is how often the job runs when Options leave it out.
const DefaultEvery = time.Hour

// Store is what retention deletes from: the kinds of record it purges,
// people who left, and the audit log its runs write to, with the lease
// that lets one process at a time run it.
type Store interface {
	store.Purge
	store.Participants
	store.Audit
	store.Leases
}

// Job enforces the retention policy.
type Job struct {
	store  Store
	clock  clock.Clock
	policy func() flow.Retention
	log    *slog.Logger
	owner  string
	every  time.Duration
}

// Options tune a Job.
type Options struct {
	// Every is how often Run runs the job, and how long its lease lasts;
	// DefaultEvery when zero.
	Every time.Duration
	// Owner names this process in the lease; a fresh ID when empty.
	Owner string
}

// New returns a Job over st. Policy is read at every run, so that a reload
// of programme.yaml takes effect at the next one.
func New(st Store, clk clock.Clock, policy func() flow.Retention, log *slog.Logger, opts Options) *Job {
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Owner == "" {
		opts.Owner = store.NewID("ret_")
	}
	return &Job{store: st, clock: clk, policy: policy, log: log, owner: opts.Owner, every: opts.Every}
}

// Report is what one run deleted.
type Report struct {
	// Skipped is set when another process holds the lease: this one did
	// nothing.
	Skipped      bool
	CheckIns     int
	Windows      int // the ledger's window records, kept as long as check-ins
	Audit        int
	SentMessages int
	MessageTexts int // texts dropped from messages never confirmed
	Attention    int
	Participants int
}

// Total is how many records the run deleted.
func (r Report) Total() int {
	return r.CheckIns + r.Windows + r.Audit + r.SentMessages + r.MessageTexts + r.Attention + r.Participants
}

func (r Report) String() string {
	return fmt.Sprintf("checkins=%d windows=%d audit=%d sent_messages=%d message_texts=%d attention=%d participants=%d",
		r.CheckIns, r.Windows, r.Audit, r.SentMessages, r.MessageTexts, r.Attention, r.Participants)
}

// Run runs the job at once and then every interval until ctx ends. A
// failed run is logged and tried again at the next interval: what it did
// not delete is still due then.
func (j *Job) Run(ctx context.Context) {
	tick := time.NewTicker(j.every)
	defer tick.Stop()
	for {
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.log.Error("retention: run failed; trying again at the next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce takes the lease and deletes everything past its time. The lease
// is kept until it runs out, so that other processes skip the rest of the
// interval. Every step is run even when one fails; the errors are joined.
func (j *Job) RunOnce(ctx context.Context) (Report, error) {
	var r Report
	ok, err := j.store.AcquireLease(ctx, LeaseName, j.owner, j.every)
	if err != nil {
		return r, fmt.Errorf("retention: lease: %w", err)
	}
	if !ok {
		r.Skipped = true
		return r, nil
	}
	pol := j.policy()
	now := j.clock.Now()
	var errs []error
	step := func(name string, keep flow.Duration, purge func(context.Context, time.Time) (int, error), n *int) {
		if keep <= 0 {
			return // never configured so: programme.yaml refuses it; keep everything rather than guess
		}
		got, err := purge(ctx, now.Add(-keep.D()))
		*n += got
		if err != nil {
			errs = append(errs, fmt.Errorf("retention: %s: %w", name, err))
		}
	}
	// Exited participants go first: their records then need no purging.
	step("exited participants", pol.ExitedAfter, j.purgeExited, &r.Participants)
	step("check-ins", pol.CheckIns, j.store.PurgeCheckIns, &r.CheckIns)
	step("windows", pol.CheckIns, j.store.PurgeWindows, &r.Windows)
	step("sent messages", pol.SentMessages, j.store.PurgeOutbound, &r.SentMessages)
	step("unconfirmed message texts", pol.UnconfirmedText, j.store.PurgeOutboundText, &r.MessageTexts)
	step("attention", pol.ResolvedAttention, j.store.PurgeAttention, &r.Attention)
	step("audit", pol.Audit, j.store.PurgeAudit, &r.Audit)

	if r.Total() > 0 {
		// Evidence that deletion happens (GDPR art. 5(2)): counts only.
		e := store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: "system", Action: "retention_run", Detail: r.String()}
		if err := j.store.AppendAudit(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("retention: audit: %w", err))
		}
		j.log.Info("retention: deleted records past their time", "checkins", r.CheckIns, "audit", r.Audit,
			"sent_messages", r.SentMessages, "message_texts", r.MessageTexts, "attention", r.Attention, "participants", r.Participants)
	}
	return r, errors.Join(errs...)
}

// purgeExited erases every participant who exited before cutoff: from
// ExitedAt, or from their last change when it is not set (a record from
// before ExitedAt existed). Each erasure is audited as a caseworker's is,
// with "retention" as the actor.
func (j *Job) purgeExited(ctx context.Context, cutoff time.Time) (int, error) {
	ps, err := j.store.ListParticipants(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, p := range ps {
		if p.Status != store.Exited {
			continue
		}
		since := p.ExitedAt
		if since.IsZero() {
			since = p.UpdatedAt
		}
		if since.After(cutoff) {
			continue
		}
		if err := j.store.DeleteParticipant(ctx, p.ID); err != nil {
			errs = append(errs, fmt.Errorf("erase %s: %w", p.ID, err))
			continue
		}
		n++
		e := store.AuditEntry{ID: store.NewID("a_"), At: j.clock.Now(), Actor: "retention", Action: "participant_erased",
			ParticipantID: p.ID, Detail: "exited " + since.UTC().Format(time.DateOnly)}
		if err := j.store.AppendAudit(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("audit erasure of %s: %w", p.ID, err))
		}
	}
	return n, errors.Join(errs...)
}

// Describe says in one line what the policy keeps, for the startup log.
func Describe(p flow.Retention) string {
	return fmt.Sprintf("checkins %s, audit %s, exited participants %s, sent messages %s, unconfirmed message text %s, resolved attention %s",
		days(p.CheckIns), days(p.Audit), days(p.ExitedAfter), days(p.SentMessages), days(p.UnconfirmedText), days(p.ResolvedAttention))
}

// days writes a duration as programme.yaml does: "365d", or "36h" when it
// is not whole days.
func days(d flow.Duration) string {
	const day = 24 * time.Hour
	if d.D()%day == 0 {
		return fmt.Sprintf("%dd", d.D()/day)
	}
	return d.D().String()
}
