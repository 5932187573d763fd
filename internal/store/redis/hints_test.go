package redis

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestMovedAndDeletedRecordsTakeTheirHints: a link or appointment that
// moves to another person, or is deleted, leaves no hint behind in the
// person hash it left, whether it was written in the compact form or as
// records were written before (long names): a stale link hint would keep
// the blind index of an address the person deleted. On a single Redis and
// on a cluster.
func TestMovedAndDeletedRecordsTakeTheirHints(t *testing.T) {
	onSingleAndCluster(t, func(t *testing.T, o Options) {
		s := openTest(t, o)
		ctx := t.Context()
		now := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
		hints := func(pid string) []string {
			var out []string
			for _, f := range s.rdb.HKeys(ctx, s.k.person(pid)).Val() {
				if f != recordField {
					out = append(out, f)
				}
			}
			slices.Sort(out)
			return out
		}
		for _, before := range []bool{false, true} {
			l := store.Link{Index: "ix_1", Channel: store.SMS, ParticipantID: "p_a", Sealed: []byte("x"), Masked: "x", LinkedAt: now}
			a := store.Appointment{ID: "ap_1", ParticipantID: "p_a", Kind: "hearing", Date: "2026-03-10", Time: "10:00",
				Status: store.AppointmentScheduled, CreatedAt: now, UpdatedAt: now}
			mustDo(t, s.PutLink(ctx, l))
			mustDo(t, s.PutAppointment(ctx, a))
			if before {
				for key, v := range map[string]any{s.k.link(l.Index): l, s.k.appointment(a.ID): a} {
					doc, err := json.Marshal(v)
					mustDo(t, err)
					mustDo(t, s.rdb.Set(ctx, key, doc, 0).Err())
				}
			}
			l.ParticipantID, a.ParticipantID = "p_b", "p_b"
			mustDo(t, s.PutLink(ctx, l))
			mustDo(t, s.PutAppointment(ctx, a))
			if got := hints("p_a"); len(got) != 0 {
				t.Errorf("written before %v: p_a keeps %q after both moved to p_b", before, got)
			}
			if got := hints("p_b"); !slices.Equal(got, []string{"a:ap_1", "l:ix_1"}) {
				t.Errorf("written before %v: p_b's hints are %q", before, got)
			}
			if before {
				for key, v := range map[string]any{s.k.link(l.Index): l, s.k.appointment(a.ID): a} {
					doc, err := json.Marshal(v)
					mustDo(t, err)
					mustDo(t, s.rdb.Set(ctx, key, doc, 0).Err())
				}
			}
			mustDo(t, s.DeleteLink(ctx, l.Index))
			mustDo(t, s.DeleteAppointment(ctx, a.ID))
			if got := hints("p_b"); len(got) != 0 {
				t.Errorf("written before %v: p_b keeps %q after both were deleted", before, got)
			}
		}
	})
}
