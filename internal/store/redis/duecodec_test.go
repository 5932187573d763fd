package redis

import (
	"reflect"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// dueSeeds are records as PutDue writes them, records of the shards
// before (with "p", and one of the format before the short names), and
// near misses that must go to encoding/json.
func dueSeeds(t testing.TB) []string {
	opens := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	items := []store.DueItem{
		{ID: "win:p_1:1799053200:open", ParticipantID: "p_1", Kind: "checkin_open", Ref: "win:p_1:1799053200", DueAt: opens,
			Data: map[string]string{"opens": "2027-01-04T09:00:00Z", "closes": "2027-01-06T21:00:00Z"}},
		{ID: "appt:a_1:1d", ParticipantID: "p_2", Kind: "appointment", DueAt: opens.Add(time.Nanosecond),
			Data: map[string]string{"place": "Centre d'accueil, Bâtiment B"}},
		{ID: "x", ParticipantID: "p_3", Kind: "k", DueAt: opens, Data: map[string]string{"note": `"quoted" <tag>`}},
	}
	var seeds []string
	for _, d := range items {
		doc, err := encodeDue(d)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(doc))
	}
	return append(seeds,
		`{"p":"p_0","k":"k","t":"2027-01-04T09:00:00Z"}`,
		`{"id":"old","participant_id":"p_4","kind":"k","due_at":"2027-01-04T09:00:00Z"}`,
		`{"P":"p_5","k":"k","t":"2027-01-04T09:00:00Z"}`,
		`{"p":"","k":"k"}`,
		`{"p":"p_6","t":""}`,
		`{"p":"p_7","data":{"a":"1"},"data":{"b":"2"}}`,
		`{"p":"p_8","data":null}`,
		`{"p":"p_9"} `,
		`{"k":"k","rn":"1","t":"1799053200"}`,
		`{"k":"k","rn":"2","t":"1799053200"}`,
		`{"k":"k","r":"x","rn":"1","t":"1799053200"}`,
		`{"k":"k","rn":"01","t":"1799053200.5"}`,
	)
}

// TestDueRecordsReadAsEncodingJSONReadsThem: what PutDue writes is read
// by the fast path unless json.Marshal escaped something in it, and every
// seed reads as encoding/json reads it.
func TestDueRecordsReadAsEncodingJSONReadsThem(t *testing.T) {
	seeds := dueSeeds(t)
	for _, doc := range seeds[:2] {
		var r dueRecord
		if !readDueRecord([]byte(doc), &r) {
			t.Errorf("the fast path refused a record PutDue writes: %s", doc)
		}
	}
	for _, doc := range seeds {
		checkDue(t, doc)
	}
}

func FuzzDueRecord(f *testing.F) {
	for _, doc := range dueSeeds(f) {
		f.Add(doc)
	}
	f.Fuzz(checkDue)
}

// checkDue: decodeDue answers as decoding by encoding/json alone does.
func checkDue(t *testing.T, doc string) {
	want, wantErr := decodeDueSlowly("id", doc)
	got, err := decodeDue("id", doc)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("%q: error %v, encoding/json's %v", doc, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\nread          %#v\nencoding/json %#v", doc, got, want)
	}
}
