package store

import (
	"testing"
	"time"
)

// A window's short form reads back as written, whatever its ref and
// times, zero times included.
func TestWindowMemberRoundTrip(t *testing.T) {
	opens := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	for _, w := range []Window{
		{Ref: "win:p_a:1772442000", ParticipantID: "p_a", OpensAt: opens, ClosesAt: opens.Add(8 * time.Hour),
			GraceEndsAt: opens.Add(32 * time.Hour), Outcome: WindowOpen, UpdatedAt: opens},
		{Ref: "odd|ref%:win", ParticipantID: "p_b", OpensAt: opens, ClosesAt: opens.Add(-time.Hour),
			GraceEndsAt: opens, Outcome: WindowExcused, DecidedAt: opens.Add(40 * time.Hour), CheckInID: "c_1",
			AttentionID: "n_1", ReportedUnableAt: opens.Add(time.Minute), ExcusedAt: opens.Add(50 * time.Hour),
			ExcusedBy: "acct|x", UpdatedAt: opens.Add(50 * time.Hour), Texts: 37},
		{Ref: ":leading", ParticipantID: "p_c", OpensAt: time.Time{}.UTC()},
	} {
		got, err := DecodeWindow(w.ParticipantID, EncodeWindow(w))
		if err != nil {
			t.Fatalf("%s: %v", w.Ref, err)
		}
		if got != w {
			t.Errorf("round trip of %s:\n got  %+v\n want %+v", w.Ref, got, w)
		}
	}
	// A record written before texts were counted reads as none.
	old := "000638744292000000000|:1772442000|2d6n8ppk|o3wbqte|on_time||c_1||||||"
	w, err := DecodeWindow("p_a", old[:len(old)-1])
	if err != nil || w.Texts != 0 || w.CheckInID != "c_1" || w.Ref != "win:p_a:1772442000" {
		t.Errorf("the earlier short form read as %+v, %v", w, err)
	}
	if _, err := DecodeWindow("p_a", "garbage"); err == nil {
		t.Error("a member of the wrong shape was read")
	}
}
