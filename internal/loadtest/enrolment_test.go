package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// Enrolment's reply counts are the shipped flows' own: a count that falls
// behind a flow shows up in a load run as replies missing or unexpected.
func TestEnrolmentRepliesMatchTheShippedFlows(t *testing.T) {
	ctx := context.Background()
	content, err := ShippedContent()
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	conv := conversation.New(st, box, conversation.NewLive(content), clock.System{}, slog.New(slog.DiscardHandler), nil)
	now := time.Now()
	p := store.Participant{ID: "p_load", Language: "en", TimeZone: "UTC", Status: store.Active, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateParticipant(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: "LOADCODE", ParticipantID: p.ID, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i, step := range Enrolment {
		in := conversation.Inbound{Channel: store.SMS, Address: "+447990000001", Text: step.Text}
		if strings.Contains(step.Text, "%s") {
			in.Text = fmt.Sprintf(step.Text, "LOADCODE")
		}
		if _, err := conv.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		msgs := testkit.Delivered(t, st, time.Now())
		if len(msgs) != step.Replies {
			t.Errorf("step %d (%q): %d replies, Enrolment says %d", i+1, step.Text, len(msgs), step.Replies)
		}
	}
}
