package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestItemFieldsNameEveryID: an item's field in the person hash gives its
// ID back, begins "w" or "i" (so it is never the record's field or a
// hint's), and leaves out the person only for their own window's items.
func TestItemFieldsNameEveryID(t *testing.T) {
	const pid = "p_a"
	for id, want := range map[string]string{
		"win:p_a:1772524800:open":     "w1772524800:open",
		"win:p_a:1772524800:close:6h": "w1772524800:close:6h",
		"win:p_b:1772524800:open":     "iwin:p_b:1772524800:open", // another person's window
		"appt:ap_1:7d":                "iappt:ap_1:7d",
		"r":                           "ir",
		"l:ix_1":                      "il:ix_1",
		"win:p_a:":                    "w",
		"w":                           "iw",
	} {
		f := itemField(pid, id)
		if f != want {
			t.Errorf("itemField(%q) = %q; want %q", id, f, want)
		}
		if got, ok := itemID(pid, f); !ok || got != id {
			t.Errorf("itemID(%q) = %q, %v; want %q", f, got, ok, id)
		}
	}
	for _, f := range []string{recordField, "l:ix_1", "a:ap_1", ""} {
		if id, ok := itemID(pid, f); ok {
			t.Errorf("field %q read as item %q", f, id)
		}
	}
}

// TestRestingKeyIsReadAsTheScriptsReadIt: for records of every form a due
// item has had, and some no store writes, restingKey (Go) and pdue_rest
// (the scripts) agree, and where they read a time it is the item's.
func TestRestingKeyIsReadAsTheScriptsReadIt(t *testing.T) {
	s := openTest(t, testOptions(t))
	lib, err := luaFiles.ReadFile("lua/lib/pdue.lua")
	mustDo(t, err)
	script := string(lib) + "\nreturn pdue_rest(ARGV[1]) or ''\n"
	at := time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)
	var records []string
	for _, d := range []store.DueItem{
		{ID: "a", Kind: "k", DueAt: at},
		{ID: "a", Kind: "k", DueAt: at.Add(123456789)},
		{ID: "a", Kind: "k", DueAt: at.Add(500 * time.Millisecond), Data: map[string]string{"t": "1", "x": `"t":"2"`}},
		{ID: "win:p_a:1:open", Kind: "k", Ref: "win:p_a:1", DueAt: at},
		{ID: "a", Kind: "k", DueAt: time.Date(1969, time.July, 20, 20, 17, 0, 0, time.UTC)},
		{ID: "a", Kind: "k", DueAt: time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "a", Kind: "k", DueAt: at.In(time.FixedZone("x", 3600))},
	} {
		rec, err := encodeDue(d)
		mustDo(t, err)
		records = append(records, string(rec))
		if k, ok := restingKey(string(rec)); ok && k != timeKey(d.DueAt) {
			t.Errorf("%s read as %s; its due time's key is %s", rec, k, timeKey(d.DueAt))
		}
	}
	records = append(records,
		`{"k":"k","t":"2026-03-03T09:00:00Z"}`, // RFC 3339, as older records have it
		`{"k":"k","t":"1772528400.1234567891"}`,
		`{"k":"k","t":"1772528400x"}`,
		`{"k":"k","t":""}`,
		`{"k":"k"}`,
		`{"k":"k","t":"1234567890123"}`,
		`{"k":"k","t":"999999999999"}`, // twelve digits: neither reads it
		`{"k":"k","t":"99999999999.5"}`,
		`{"k":"k","t":"+1772528400"}`,
		`{"k":"k","t":"00001772528400"}`,
		`{"k":"k","t":".5"}`,
		`{"k":"k","data":{"t":"1772528400"}}`,
	)
	for _, rec := range records {
		got, err := s.rdb.Eval(context.Background(), script, nil, rec).Text()
		mustDo(t, err)
		want, _ := restingKey(rec)
		if got != want {
			t.Errorf("%s: the scripts read %q, Go %q", rec, got, want)
		}
	}
}

// TestDueValuesAtRestAreTheirRecord: an item nobody has claimed since it
// was put is kept as its record alone; a claim puts its lease's end and
// owner in front, and a release takes them away again. An item whose due
// time the short form cannot give (before 1970) keeps them, and is
// claimed all the same. On a single Redis and on a cluster.
func TestDueValuesAtRestAreTheirRecord(t *testing.T) {
	onSingleAndCluster(t, func(t *testing.T, o Options) {
		s := openTest(t, o)
		ctx := t.Context()
		now := time.Now().UTC().Round(0)
		items := []store.DueItem{
			{ID: "win:p_a:1772524800:open", ParticipantID: "p_a", Kind: "checkin_open", Ref: "win:p_a:1772524800", DueAt: now.Add(-time.Minute),
				Data: map[string]string{"t": "9"}},
			{ID: "appt:ap_1:7d", ParticipantID: "p_a", Kind: "appointment_reminder", Ref: "ap_1", DueAt: now.Add(-2 * time.Minute)},
			{ID: "moon", ParticipantID: "p_a", Kind: "k", DueAt: time.Date(1969, time.July, 20, 20, 17, 0, 0, time.UTC)},
		}
		mustDo(t, s.PutDue(ctx, items...))
		value := func(id string) string {
			v, err := s.rdb.HGet(ctx, s.k.person("p_a"), itemField("p_a", id)).Result()
			mustDo(t, err)
			return v
		}
		for _, d := range items[:2] {
			if v := value(d.ID); !strings.HasPrefix(v, "{") {
				t.Errorf("%s, just put, is kept as %.40q; want its record alone", d.ID, v)
			}
		}
		if v := value("moon"); strings.HasPrefix(v, "{") {
			t.Errorf("an item due before 1970 is kept as its record alone: %q", v)
		}

		claimed, err := s.ClaimDue(ctx, "sched", now, time.Minute, 10)
		mustDo(t, err)
		if len(claimed) != 3 || claimed[0].ID != "moon" || claimed[1].ID != "appt:ap_1:7d" || claimed[2].ID != items[0].ID {
			t.Fatalf("claimed %+v; want the three, earliest first", claimed)
		}
		for _, d := range items {
			if v := value(d.ID); !strings.Contains(v[:min(len(v), 40)], "005sched") {
				t.Errorf("%s, claimed, is kept as %.40q; want its lease and owner in front", d.ID, v)
			}
		}
		mustDo(t, s.ReleaseDue(ctx, "p_a", items[0].ID, "sched"))
		if v := value(items[0].ID); !strings.HasPrefix(v, "{") {
			t.Errorf("released, %s is kept as %.40q; want its record alone", items[0].ID, v)
		}
		again, err := s.ClaimDue(ctx, "other", now, time.Minute, 10)
		mustDo(t, err)
		if len(again) != 1 || again[0].ID != items[0].ID || again[0].Data["t"] != "9" {
			t.Fatalf("after the release, claimed %+v; want %s whole", again, items[0].ID)
		}
		got, err := s.DueOf(ctx, "p_a")
		mustDo(t, err)
		if len(got) != 3 {
			t.Errorf("DueOf = %+v; want the three items", got)
		}
	})
}
