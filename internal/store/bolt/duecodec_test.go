package bolt

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

var dueOpens = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// dueRecords are records as the store makes them: unclaimed, claimed,
// released after a claim, and with an item of another time zone.
func dueRecords() []dueRecord {
	return []dueRecord{
		{Item: store.DueItem{ID: "win:p_1:1799053200:open", ParticipantID: "p_1", Kind: "checkin_open", Ref: "win:p_1:1799053200",
			DueAt: dueOpens, Data: map[string]string{"opens": "2027-01-04T09:00:00Z", "closes": "2027-01-06T21:00:00Z"}}, Ready: dueOpens},
		{Item: store.DueItem{ID: "appt:a_1:1d", ParticipantID: "p_2", Kind: "appointment", DueAt: dueOpens.Add(time.Nanosecond)},
			Owner: "sched_x/3", Until: dueOpens.Add(2 * time.Minute), Ready: dueOpens.Add(2 * time.Minute)},
		{Item: store.DueItem{ID: "appt:a_1:7d", ParticipantID: "p_2", Kind: "appointment", DueAt: dueOpens},
			Owner: "sched_x/3", Ready: dueOpens},
		{Item: store.DueItem{ID: "x", ParticipantID: "p_3", Kind: "k", DueAt: dueOpens.In(time.FixedZone("", 3600)),
			Data: map[string]string{"place": "Centre d'accueil, Bâtiment B"}}, Ready: dueOpens},
	}
}

// dueRecordSeeds are records in the short form the store writes, in the
// long form it wrote before, and near misses of both that flatjson must
// leave to encoding/json. The first 2×len(dueRecords()) are the records
// of dueRecords in each form.
func dueRecordSeeds(t testing.TB) [][]byte {
	var short, long [][]byte
	for _, r := range dueRecords() {
		raw, err := encodeDueRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		short = append(short, raw)
		if raw, err = json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		long = append(long, raw)
	}
	return append(append(short, long...),
		// escaped by json.Marshal: left to encoding/json
		[]byte(`{"p":"p_1","k":"k","t":"2027-01-04T09:00:00Z","data":{"note":"a \"quoted\" \u003ctag\u003e \u0026 \\ back"}}`),
		[]byte(`{"item":{"id":"z","data":{"note":"a \"quoted\""}}}`),
		[]byte(`{"p":"a","P":"b","t":"2027-01-04T09:00:00Z"}`),
		[]byte(`{"p":"a","data":{"a":"1"},"data":{"b":"2"}}`),
		[]byte(`{"p":"a","t":""}`),
		[]byte(`{"p":"a","k":"k","rn":"1","t":"1799053200"}`),
		[]byte(`{"p":"a","k":"k","rn":"99","t":"1799053200"}`),
		[]byte(`{"p":"a","k":"k","r":"x","rn":"1","t":"1799053200.5"}`),
		[]byte(`{"p":"a","y":"0001-01-01T00:00:00Z","t":"2027-01-04T09:00:00Z"}`),
		[]byte(`{"p":"a","u":"2027-01-04T09:00:00+0100"}`),
		[]byte(`{"p":"a","item":{"id":"b"}}`),
		[]byte(`{"item":null,"p":"a"}`),
		[]byte(`{"p":null}`),
		[]byte(`{"p":"\u0061"}`),
		[]byte("{\"p\":\"\xff\"}"),
		[]byte(`{"item":{"id":"a","ID":"b"},"ready":"2027-01-04T09:00:00Z"}`),
		[]byte(`{"item":{"id":"a"},"item":{"kind":"k","data":{"a":"1"}},"item":{"data":{"b":"2"}}}`),
		[]byte(`{ "item":{"id":"a"}}`),
		[]byte(`{"item":{"id":"a","data":null}}`),
		[]byte(`{"item":{"id":"a","due_at":""}}`),
		[]byte(`{"owner":"o","item":{}}`),
		[]byte(`{}`),
		[]byte(`{"item":{"data":{"a":{"b":"c"}}}}`),
		[]byte(`{"item":{"id":"a"}}}`),
		[]byte(`{"p":"a",}`),
	)
}

// TestDueRecordsKeepWhatTheyHold: a record written short reads back as
// it was (its times in UTC), and one of the long form the store wrote
// before reads as it did.
func TestDueRecordsKeepWhatTheyHold(t *testing.T) {
	for _, r := range dueRecords() {
		id := []byte(r.Item.ID)
		raw, err := encodeDueRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeDueRecord(id, raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		want := r
		want.Item.ParticipantID = "" // the key holds it: getDue puts it back
		want.Item.DueAt, want.Until, want.Ready = r.Item.DueAt.UTC(), r.Until.UTC(), r.Ready.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nread  %#v\nwrote %#v", raw, got, want)
		}
		long, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = decodeDueRecord(id, long); err != nil || !got.Item.DueAt.Equal(r.Item.DueAt) || got.Item.ID != r.Item.ID || got.Owner != r.Owner || !got.Ready.Equal(r.Ready) {
			t.Errorf("the long form %s read as %#v, %v", long, got, err)
		}
	}
	// The short form leaves out the IDs (the key) and the claimable moment
	// while it is the due time, writes times as Unix seconds, a
	// reference that begins the ID as its length, and the scheduler's
	// kinds as codes.
	raw, _ := encodeDueRecord(dueRecords()[0])
	if want := `{"k":"1","rn":"18","t":"1799053200","data":{"closes":"2027-01-06T21:00:00Z","opens":"2027-01-04T09:00:00Z"}}`; string(raw) != want {
		t.Errorf("short form %s, want %s", raw, want)
	}
	// As the version before wrote it, with its times in RFC 3339.
	before := `{"p":"p_1","k":"checkin_open","r":"win:p_1:1799053200","t":"2027-01-04T09:00:00Z","y":"2027-01-04T09:02:00.5Z","o":"w1","u":"2027-01-04T09:02:00.5Z"}`
	got, err := decodeDueRecord([]byte("win:p_1:1799053200:open"), []byte(before))
	if err != nil || !got.Item.DueAt.Equal(dueOpens) || !got.Ready.Equal(dueOpens.Add(2*time.Minute+time.Second/2)) || !got.Until.Equal(got.Ready) || got.Owner != "w1" || got.Item.ParticipantID != "p_1" {
		t.Errorf("the short form as written before reads as %+v, %v", got, err)
	}
}

// TestDueRecordsReadAsEncodingJSONReadsThem: the records the store writes,
// and those it wrote before, are read by the fast paths, and every seed
// reads as encoding/json reads it.
func TestDueRecordsReadAsEncodingJSONReadsThem(t *testing.T) {
	seeds := dueRecordSeeds(t)
	n := len(dueRecords())
	for _, raw := range seeds[:n] {
		var d dueDoc
		if !readDueDoc(raw, &d) {
			t.Errorf("the fast path refused a record the store writes: %s", raw)
		}
	}
	for _, raw := range seeds[n : 2*n] {
		var r dueRecord
		if !readDueRecord(raw, &r) {
			t.Errorf("the fast path refused a record the store wrote before: %s", raw)
		}
	}
	for _, raw := range seeds {
		checkDueRecord(t, raw)
	}
}

func FuzzDueRecord(f *testing.F) {
	for _, raw := range dueRecordSeeds(f) {
		f.Add(raw)
	}
	f.Fuzz(checkDueRecord)
}

// checkDueRecord: decodeDueRecord answers as encoding/json does
// (decodeDueRecordJSON), an error for an error and the same record
// otherwise.
func checkDueRecord(t *testing.T, raw []byte) {
	id := []byte("the_key")
	want, wantErr := decodeDueRecordJSON(id, raw)
	got, err := decodeDueRecord(id, raw)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("%q: error %v, encoding/json's %v", raw, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\nread        %#v\nencoding/json %#v", raw, got, want)
	}
}
