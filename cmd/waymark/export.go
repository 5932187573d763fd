package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
)

// Subject access: waymark export --participant ID prints everything held
// about one person.

const exportUsage = `Usage:
  waymark export --participant ID

Prints everything Waymark holds about one person as JSON, for a subject
access request: their record, their channels (addresses masked), check-ins,
appointments, scheduled reminders, needs-attention items, messages and the
audit log's entries about them. The export itself is recorded in the audit
log. Opens the store as waymark serve does; with the embedded store, stop
serve first.
`

// subjectExport is the document export prints. Field names are the
// store's, so that docs/privacy.md explains them all.
type subjectExport struct {
	ExportedAt  time.Time               `json:"exported_at"`
	Note        string                  `json:"note"`
	Participant store.Participant       `json:"participant"`
	Channels    []exportedLink          `json:"channels"`
	Session     *store.Session          `json:"session,omitempty"`
	CheckIns    []store.CheckIn         `json:"checkins"`
	Windows     []store.Window          `json:"windows"` // the ledger: each check-in window's outcome
	Appointment []store.Appointment     `json:"appointments"`
	Scheduled   []store.DueItem         `json:"scheduled"`
	Attention   []store.AttentionItem   `json:"attention"`
	Messages    []store.OutboundMessage `json:"messages"`
	Audit       []store.AuditEntry      `json:"audit"`
}

// exportedLink is a link as the person may see it: the masked address,
// never the sealed bytes or the blind index (they mean nothing to anyone
// without the key, and the index is a lookup key).
type exportedLink struct {
	Channel     store.Channel `json:"channel"`
	Address     string        `json:"address"`
	Unreachable bool          `json:"unreachable"`
	Reason      string        `json:"reason,omitempty"`
	LinkedAt    time.Time     `json:"linked_at"`
	LastSeenAt  time.Time     `json:"last_seen_at,omitzero"`
}

const exportNote = "Everything Waymark holds about this person. Phone numbers and chat IDs are stored encrypted and shown masked. " +
	"Message texts are kept only until delivered. Waymark never stores what the person wrote."

// pinChosen stands in the export for the digest of a telephone PIN.
const pinChosen = "chosen (kept only as a keyed digest, never the PIN)"

func exportCmd(ctx context.Context, env cmdEnv, args []string) int {
	fl := flag.NewFlagSet("export", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	fl.Usage = func() { fmt.Fprint(env.stderr, exportUsage) }
	pid := fl.String("participant", "", "the participant's ID (p_...)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *pid == "" {
		fmt.Fprint(env.stderr, exportUsage)
		return 2
	}
	cfg, _, err := config.Load(env.getenv, env.environ, nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark export: configuration is not valid:\n%v\n", err)
		return 1
	}
	st, err := openStore(ctx, cfg)
	if errors.Is(err, bolt.ErrInUse) {
		fmt.Fprintf(env.stderr, "waymark export: the data file in %s is in use by a running waymark serve: stop it first (or use Redis)\n", cfg.DataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark export: cannot open the store: %v\n", err)
		return 1
	}
	defer st.Close()
	doc, err := exportSubject(ctx, st, *pid, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(env.stderr, "waymark export: no participant %s\n", *pid)
		return 1
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "waymark export: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintf(env.stderr, "waymark export: %v\n", err)
		return 1
	}
	return 0
}

// exportStore is what a subject access export reads of one person, and the
// audit log it records the export in.
type exportStore interface {
	store.Sessions
	store.CheckIns
	store.Windows
	store.Appointments
	store.Audit
	GetParticipant(ctx context.Context, id string) (store.Participant, error)
	LinksOf(ctx context.Context, participantID string) ([]store.Link, error)
	AttentionOf(ctx context.Context, participantID string) ([]store.AttentionItem, error)
	DueOf(ctx context.Context, participantID string) ([]store.DueItem, error)
	OutboundOf(ctx context.Context, participantID string) ([]store.OutboundMessage, error)
}

// exportSubject gathers everything about one participant, then records in
// the audit log that it was exported.
func exportSubject(ctx context.Context, st exportStore, pid string, now time.Time) (subjectExport, error) {
	p, err := st.GetParticipant(ctx, pid)
	if err != nil {
		return subjectExport{}, err
	}
	if p.VoicePIN != "" {
		// Like a sealed number's bytes, the PIN's keyed digest means
		// nothing to the person; that they chose one does.
		p.VoicePIN = pinChosen
	}
	doc := subjectExport{ExportedAt: now.UTC(), Note: exportNote, Participant: p}
	links, err := st.LinksOf(ctx, pid)
	if err != nil {
		return doc, fmt.Errorf("links: %w", err)
	}
	doc.Channels = []exportedLink{}
	for _, l := range links {
		doc.Channels = append(doc.Channels, exportedLink{Channel: l.Channel, Address: l.Masked, Unreachable: l.Unreachable,
			Reason: l.Reason, LinkedAt: l.LinkedAt, LastSeenAt: l.LastSeenAt})
	}
	switch sess, err := st.GetSession(ctx, pid); {
	case err == nil:
		doc.Session = &sess
	case !errors.Is(err, store.ErrNotFound):
		return doc, fmt.Errorf("session: %w", err)
	}
	if doc.CheckIns, err = st.CheckInsOf(ctx, pid, time.Time{}); err != nil {
		return doc, fmt.Errorf("check-ins: %w", err)
	}
	if doc.Windows, err = st.WindowsOf(ctx, pid, time.Time{}); err != nil {
		return doc, fmt.Errorf("windows: %w", err)
	}
	if doc.Appointment, err = st.AppointmentsOf(ctx, pid); err != nil {
		return doc, fmt.Errorf("appointments: %w", err)
	}
	if doc.Scheduled, err = st.DueOf(ctx, pid); err != nil {
		return doc, fmt.Errorf("scheduled: %w", err)
	}
	if doc.Attention, err = st.AttentionOf(ctx, pid); err != nil {
		return doc, fmt.Errorf("attention: %w", err)
	}
	if doc.Messages, err = st.OutboundOf(ctx, pid); err != nil {
		return doc, fmt.Errorf("messages: %w", err)
	}
	if doc.Audit, err = st.ListAudit(ctx, pid, 0); err != nil {
		return doc, fmt.Errorf("audit: %w", err)
	}
	e := store.AuditEntry{ID: store.NewID("a_"), At: now, Actor: "cli", Action: "participant_exported", ParticipantID: pid}
	if err := st.AppendAudit(ctx, e); err != nil {
		return doc, fmt.Errorf("audit the export: %w", err)
	}
	return doc, nil
}
