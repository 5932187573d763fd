package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// TestExportShowsEverythingMasked enrols a person by SMS, has them check
// in and ask for a call, and exports them: every kind of record is there,
// the address only masked, and the export is audited.
func TestExportShowsEverythingMasked(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		st := b.open(t)
		ctx := t.Context()
		pid, code := enrolParticipant(t, st, "en")
		key, _ := seal.ParseKey(seal.NewKey())
		box, _ := seal.New(key)
		content, problems := loadContent(contentFS("", ""))
		if content == nil {
			t.Fatal(problems)
		}
		conv := conversation.New(st, box, conversation.NewLive(content), clock.System{}, discardLog(), nil)
		for _, text := range []string{"JOIN " + code, "1", "1", "MENU", "1", "MENU", "2"} {
			if _, err := conv.Handle(ctx, conversation.Inbound{Channel: store.SMS, Address: testPhone, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		// A telephone PIN, as the conversation keeps it.
		p, err := st.GetParticipant(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		p.VoicePIN = conversation.PINDigest(box.Index, pid, "4821")
		if err := st.UpdateParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
		// A window of the ledger, as the scheduler records it.
		opens := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
		if err := st.ApplyTurn(ctx, store.Turn{ParticipantID: pid, Windows: []store.Window{{Ref: "win:" + pid + ":1", ParticipantID: pid,
			OpensAt: opens, ClosesAt: opens.Add(time.Hour), GraceEndsAt: opens.Add(25 * time.Hour), Outcome: store.WindowNotDelivered}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutAppointment(ctx, store.Appointment{ID: "ap_1", ParticipantID: pid, Kind: "hearing", Place: "Court 2",
			Date: "2031-01-02", Time: "10:00", Status: store.AppointmentScheduled, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		st.Close()

		code2, out, errs := b.cli(t, map[string]string{"WAYMARK_SECRET_KEY": seal.NewKey()}, "export", "--participant", pid)
		if code2 != 0 {
			t.Fatalf("export: exit %d %s", code2, errs)
		}
		var doc subjectExport
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("export is not JSON: %v\n%s", err, out)
		}
		if doc.Participant.VoicePIN != pinChosen || strings.Contains(out, p.VoicePIN) {
			t.Errorf("the export shows the PIN's digest: %q", doc.Participant.VoicePIN)
		}
		if doc.Participant.ID != pid || len(doc.Channels) != 1 || doc.Channels[0].Address != seal.Mask(testPhone) {
			t.Errorf("participant %q channels %+v", doc.Participant.ID, doc.Channels)
		}
		if len(doc.CheckIns) != 1 || len(doc.Windows) != 1 || len(doc.Appointment) != 1 || len(doc.Messages) == 0 || len(doc.Audit) == 0 {
			t.Errorf("export lacks records: %d check-ins, %d windows, %d appointments, %d messages, %d audit entries",
				len(doc.CheckIns), len(doc.Windows), len(doc.Appointment), len(doc.Messages), len(doc.Audit))
		}
		var callback bool
		for _, it := range doc.Attention {
			callback = callback || it.Kind == store.AttentionCallback
		}
		if !callback {
			t.Errorf("export lacks the call request: %+v", doc.Attention)
		}
		for _, leak := range []string{testPhone, "447700900123", `"sealed"`, `"index"`} {
			if strings.Contains(out, leak) {
				t.Errorf("export shows %s", leak)
			}
		}

		st = b.open(t)
		defer st.Close()
		audit, _ := st.ListAudit(ctx, pid, 1)
		if len(audit) != 1 || audit[0].Action != "participant_exported" {
			t.Errorf("the export was not audited: %+v", audit)
		}
		st.Close()

		if code, _, errs := b.cli(t, map[string]string{"WAYMARK_SECRET_KEY": seal.NewKey()}, "export", "--participant", "p_nobody"); code != 1 || !strings.Contains(errs, "no participant p_nobody") {
			t.Errorf("unknown participant: exit %d %q", code, errs)
		}
		if code, _, _ := b.cli(t, nil, "export"); code != 2 {
			t.Errorf("no --participant: exit %d, want 2", code)
		}
	})
}
