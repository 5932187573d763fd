package bolt

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// dueRecordSeeds are records as the store writes them, and near misses
// that flatjson must leave to encoding/json.
func dueRecordSeeds(t testing.TB) [][]byte {
	opens := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	records := []dueRecord{
		{Item: store.DueItem{ID: "win:p_1:1799053200:open", ParticipantID: "p_1", Kind: "checkin_open", Ref: "win:p_1:1799053200",
			DueAt: opens, Data: map[string]string{"opens": "2027-01-04T09:00:00Z", "closes": "2027-01-06T21:00:00Z"}}, Ready: opens},
		{Item: store.DueItem{ID: "appt:a_1:1d", ParticipantID: "p_2", Kind: "appointment", DueAt: opens.Add(time.Nanosecond)},
			Owner: "sched_x/3", Until: opens.Add(2 * time.Minute), Ready: opens.Add(2 * time.Minute)},
		{Item: store.DueItem{ID: "x", ParticipantID: "p_3", Kind: "k", DueAt: opens.In(time.FixedZone("", 3600)),
			Data: map[string]string{"place": "Centre d'accueil, Bâtiment B"}}, Ready: opens},
		{Item: store.DueItem{ID: "y", Data: map[string]string{}}},
		// escaped by json.Marshal: left to encoding/json
		{Item: store.DueItem{ID: "z", Data: map[string]string{"note": `a "quoted" <tag> & \ back`}}},
	}
	var seeds [][]byte
	for _, r := range records {
		raw, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, raw)
	}
	return append(seeds,
		[]byte(`{"item":{"id":"a","ID":"b"},"ready":"2027-01-04T09:00:00Z"}`),
		[]byte(`{"item":{"id":"a"},"item":{"kind":"k","data":{"a":"1"}},"item":{"data":{"b":"2"}}}`),
		[]byte(`{ "item":{"id":"a"}}`),
		[]byte(`{"item":{"id":"a","data":null}}`),
		[]byte(`{"item":{"id":"a","due_at":""}}`),
		[]byte(`{"item":{"id":"a","due_at":"2027-01-04T09:00:00+0100"}}`),
		[]byte(`{"item":{"id":"\u0061"}}`),
		[]byte("{\"item\":{\"id\":\"\xff\"}}"),
		[]byte(`{"owner":"o","item":{}}`),
		[]byte(`{}`),
		[]byte(`{"item":{"data":{"a":{"b":"c"}}}}`),
		[]byte(`{"item":{"id":"a"}}}`),
		[]byte(`{"item":{"id":"a"},}`),
	)
}

// TestDueRecordsReadAsEncodingJSONReadsThem: the records the store writes
// are read by the fast path unless json.Marshal escaped something in
// them, and every seed reads as encoding/json reads it.
func TestDueRecordsReadAsEncodingJSONReadsThem(t *testing.T) {
	seeds := dueRecordSeeds(t)
	for _, raw := range seeds[:4] {
		var r dueRecord
		if !readDueRecord(raw, &r) {
			t.Errorf("the fast path refused a record the store writes: %s", raw)
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

// checkDueRecord: decodeDueRecord answers as encoding/json does, an error
// for an error and the same record otherwise.
func checkDueRecord(t *testing.T, raw []byte) {
	var want dueRecord
	wantErr := json.Unmarshal(raw, &want)
	got, err := decodeDueRecord(raw)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("%q: error %v, encoding/json's %v", raw, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\nread        %#v\nencoding/json %#v", raw, got, want)
	}
}
