package compact

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// TestRecordsKeepEveryFieldButTheKeys fills every field of each record
// kept without its ID (so that a field added to the store's type is
// covered without a change here), and checks that the stored form leaves
// out what the key says, that it reads back whole, flags true and false,
// and that a record of the format before, which carried its ID, reads
// back the same.
func TestRecordsKeepEveryFieldButTheKeys(t *testing.T) {
	var p store.Participant
	fill(reflect.ValueOf(&p).Elem(), "p")
	var l store.Link
	fill(reflect.ValueOf(&l).Elem(), "l")
	var a store.Appointment
	fill(reflect.ValueOf(&a).Elem(), "a")
	var ss store.Session
	fill(reflect.ValueOf(&ss).Elem(), "ss")

	checkRecord(t, "participant", p, p.ID, `"id"`, EncodeParticipant, DecodeParticipant)
	p.OptedOut = false
	checkRecord(t, "participant, not opted out", p, p.ID, `"opted_out"`, EncodeParticipant, DecodeParticipant)
	checkRecord(t, "link", l, l.Index, `"index"`, EncodeLink, DecodeLink)
	l.Unreachable = false
	checkRecord(t, "link, reachable", l, l.Index, `"unreachable"`, EncodeLink, DecodeLink)
	checkRecord(t, "appointment", a, a.ID, `"id"`, EncodeAppointment, DecodeAppointment)
	checkRecord(t, "session", ss, ss.ParticipantID, `"participant_id"`, EncodeSession, DecodeSession)
}

// readByScripts are the names the Redis store's Lua scripts read or write
// in these records, which keep their long form.
var readByScripts = map[string]bool{"rev": true, "child": true, "unreachable": true, "reason": true}

func checkRecord[T any](t *testing.T, what string, want T, id, left string, encode func(T) ([]byte, error), decode func(id string, doc []byte) (T, error)) {
	t.Helper()
	doc, err := encode(want)
	must(t, err)
	if strings.Contains(string(doc), id) {
		t.Errorf("%s: the stored form holds the key's ID: %s", what, doc)
	}
	if strings.Contains(string(doc), left+":") {
		t.Errorf("%s: the stored form holds %s: %s", what, left, doc)
	}
	var names map[string]json.RawMessage
	must(t, json.Unmarshal(doc, &names))
	for name := range names {
		if len(name) > 3 && !readByScripts[name] {
			t.Errorf("%s: the stored form writes the long name %q: %s", what, name, doc)
		}
	}
	got, err := decode(id, doc)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: read back\n%+v\nwant\n%+v", what, got, want)
	}
	before, err := json.Marshal(want)
	must(t, err)
	if got, err := decode(id, before); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s of the format before: read back\n%+v, %v\nwant\n%+v", what, got, err, want)
	}
}

// TestRecordsWithLongNamesRead: records as the store wrote them with long
// names and Unix times (before the names were shortened) read to the same
// values.
func TestRecordsWithLongNamesRead(t *testing.T) {
	at := func(unix int64) time.Time { return time.Unix(unix, 0).UTC() }
	p, err := DecodeParticipant("p_1", []byte(`{"rev":3,"label":"case 0007","language":"es","time_zone":"Europe/Madrid","caseworker_id":"acct_1","status":"paused","opted_out":true,"last_link":"ix_1","schedule":{"from":"2026-01-05","every":{"days":1,"open_time":"09:00","length":"12h"}},"consent_version":"es:5675","created_at":"1767344400","updated_at":"1772528400","consented_at":"1767344400","pauses":[{"from":"2026-03-01T10:00:00Z"}],"texts_in_window":2}`))
	must(t, err)
	want := store.Participant{Revision: 3, ID: "p_1", Label: "case 0007", Language: "es", TimeZone: "Europe/Madrid", CaseworkerID: "acct_1",
		Status: store.Paused, OptedOut: true, LastLink: "ix_1",
		Schedule:       &store.CheckInSchedule{From: "2026-01-05", Every: &store.EveryDays{Days: 1, OpenTime: "09:00", Length: "12h"}},
		ConsentVersion: "es:5675", CreatedAt: at(1767344400), UpdatedAt: at(1772528400), ConsentedAt: at(1767344400),
		Pauses: []store.Pause{{From: at(1772359200)}}, TextsInWindow: 2}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("participant read as\n%+v\nwant\n%+v", p, want)
	}
	l, err := DecodeLink("ix_1", []byte(`{"channel":"sms","participant_id":"p_1","sealed":"AQI=","masked":"+34 6***","linked_at":"1767344400","last_seen_at":"1772442000"}`))
	must(t, err)
	if wantL := (store.Link{Index: "ix_1", Channel: store.SMS, ParticipantID: "p_1", Sealed: []byte{1, 2}, Masked: "+34 6***", LinkedAt: at(1767344400), LastSeenAt: at(1772442000)}); !reflect.DeepEqual(l, wantL) {
		t.Errorf("link read as\n%+v\nwant\n%+v", l, wantL)
	}
	a, err := DecodeAppointment("ap_1", []byte(`{"participant_id":"p_1","kind":"hearing","place":"Room 2","date":"2026-03-13","time":"10:30","status":"scheduled","created_at":"1767344400","updated_at":"1767344400"}`))
	must(t, err)
	if wantA := (store.Appointment{ID: "ap_1", ParticipantID: "p_1", Kind: "hearing", Place: "Room 2", Date: "2026-03-13", Time: "10:30", Status: store.AppointmentScheduled, CreatedAt: at(1767344400), UpdatedAt: at(1767344400)}); !reflect.DeepEqual(a, wantA) {
		t.Errorf("appointment read as\n%+v\nwant\n%+v", a, wantA)
	}
	ss, err := DecodeSession("p_1", []byte(`{"flow":"checkin","node":"ask","vars":{"Time":"21:00"},"updated_at":"1772528400","expires_at":"1796663443.5"}`))
	must(t, err)
	if wantS := (store.Session{ParticipantID: "p_1", Flow: "checkin", Node: "ask", Vars: map[string]string{"Time": "21:00"}, UpdatedAt: at(1772528400), ExpiresAt: time.Unix(1796663443, 5e8).UTC()}); !reflect.DeepEqual(ss, wantS) {
		t.Errorf("session read as\n%+v\nwant\n%+v", ss, wantS)
	}
}

// TestRecordsWithScriptNamesRead: records as the store wrote them when
// the names the Lua scripts read were still long (the participant's
// caseworker_id, a link's and an appointment's participant_id, a link's
// last_seen_at), and a sealed number with its base64 padding, read to the
// same values.
func TestRecordsWithScriptNamesRead(t *testing.T) {
	at := func(unix int64) time.Time { return time.Unix(unix, 0).UTC() }
	p, err := DecodeParticipant("p_1", []byte(`{"rev":1,"caseworker_id":"acct_1","lb":"case 0007","lg":"es","tz":"Europe/Madrid","st":"active","ca":"1767344400"}`))
	must(t, err)
	if want := (store.Participant{Revision: 1, ID: "p_1", CaseworkerID: "acct_1", Label: "case 0007", Language: "es", TimeZone: "Europe/Madrid", Status: store.Active, CreatedAt: at(1767344400)}); !reflect.DeepEqual(p, want) {
		t.Errorf("participant read as\n%+v\nwant\n%+v", p, want)
	}
	l, err := DecodeLink("ix_1", []byte(`{"participant_id":"p_1","c":"sms","s":"AQI=","m":"+34 6***","la":"1767344400","last_seen_at":"1772442000"}`))
	must(t, err)
	if want := (store.Link{Index: "ix_1", Channel: store.SMS, ParticipantID: "p_1", Sealed: []byte{1, 2}, Masked: "+34 6***", LinkedAt: at(1767344400), LastSeenAt: at(1772442000)}); !reflect.DeepEqual(l, want) {
		t.Errorf("link read as\n%+v\nwant\n%+v", l, want)
	}
	a, err := DecodeAppointment("ap_1", []byte(`{"participant_id":"p_1","k":"hearing","d":"2026-03-13","st":"scheduled"}`))
	must(t, err)
	if want := (store.Appointment{ID: "ap_1", ParticipantID: "p_1", Kind: "hearing", Date: "2026-03-13", Status: store.AppointmentScheduled}); !reflect.DeepEqual(a, want) {
		t.Errorf("appointment read as\n%+v\nwant\n%+v", a, want)
	}
}

// TestSealedNumbersReadWithOrWithoutPadding: a sealed number of every
// length modulo three is written without base64's padding and reads back,
// as does the padded form json.Marshal wrote; anything not base64 is an
// error.
func TestSealedNumbersReadWithOrWithoutPadding(t *testing.T) {
	for n := range 7 {
		in := sealed(make([]byte, n))
		for i := range in {
			in[i] = byte(0xf0 + i)
		}
		raw, err := json.Marshal(in)
		must(t, err)
		if strings.Contains(string(raw), "=") {
			t.Errorf("%d bytes written as %s, with padding", n, raw)
		}
		padded, err := json.Marshal([]byte(in))
		must(t, err)
		for _, form := range [][]byte{raw, padded} {
			var got sealed
			if err := json.Unmarshal(form, &got); err != nil || string(got) != string(in) {
				t.Errorf("%s read as %x, %v; want %x", form, got, err, in)
			}
		}
	}
	for _, bad := range []string{`"**"`, `7`, `"AQ=I"`} {
		var got sealed
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s read as %x; want an error", bad, got)
		}
	}
}

// fill sets every exported field of v to a value that is not its zero,
// each string its own, made from name and the fields' names.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, time.March, 3, 9, 0, 0, 123456789, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), name+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name+"[0]")
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name+".key")
		fill(e, name+".value")
		v.SetMapIndex(k, e)
	case reflect.Uint8:
		v.SetUint(1)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnixTimeKeepsEveryInstant writes times as the records hold them and
// reads them back: to the nanosecond, UTC as UTC, an offset kept, the zero
// time, before 1970; and reads RFC 3339 as records written before hold
// it. What is not a time is an error, not a zero.
func TestUnixTimeKeepsEveryInstant(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, time.March, 3, 8, 0, 0, 0, time.UTC), `"1772524800"`},
		{time.Date(2026, time.March, 3, 8, 0, 0, 250_000_000, time.UTC), `"1772524800.25"`},
		{time.Date(2026, time.March, 3, 8, 0, 0, 1, time.UTC), `"1772524800.000000001"`},
		{time.Date(2026, time.March, 3, 8, 0, 0, 123456789, time.UTC), `"1772524800.123456789"`},
		{time.Date(1969, time.December, 31, 23, 59, 59, 500_000_000, time.UTC), `"-1.5"`},
		{time.Time{}, `"-62135596800"`},
		{time.Date(2026, time.March, 3, 9, 0, 0, 7, madrid), `"2026-03-03T09:00:00.000000007+01:00"`},
	} {
		raw, err := json.Marshal(Time(c.in))
		must(t, err)
		if string(raw) != c.want {
			t.Errorf("%v written as %s; want %s", c.in, raw, c.want)
		}
		var got Time
		must(t, json.Unmarshal(raw, &got))
		if !time.Time(got).Equal(c.in) {
			t.Errorf("%s read as %v; want %v", raw, time.Time(got), c.in)
		}
		if _, off := c.in.Zone(); off == 0 && time.Time(got) != c.in.UTC() {
			t.Errorf("%s read as %#v; want the UTC time %#v", raw, time.Time(got), c.in.UTC())
		}
		if _, off := time.Time(got).Zone(); off != func() int { _, o := c.in.Zone(); return o }() {
			t.Errorf("%s lost its offset", raw)
		}
		before, err := json.Marshal(c.in) // as records written before hold it
		must(t, err)
		var old Time
		if err := json.Unmarshal(before, &old); err != nil || !time.Time(old).Equal(c.in) {
			t.Errorf("RFC 3339 %s read as %v, %v", before, time.Time(old), err)
		}
	}
	// A link's last_seen_at, set alone, is written as EncodeLink writes it.
	for _, at := range []time.Time{time.Date(2026, time.March, 3, 8, 0, 0, 5, time.UTC), time.Date(2026, time.March, 3, 9, 0, 0, 0, madrid)} {
		raw, err := json.Marshal(Time(at))
		must(t, err)
		if got := `"` + TimeText(at) + `"`; got != string(raw) {
			t.Errorf("TimeText(%v) = %s; EncodeLink writes %s", at, got, raw)
		}
	}
	for _, bad := range []string{`1772524800`, `""`, `"soon"`, `"1772524800.1234567890"`, `"1772524800.-5"`, `"1772524800.+5"`, `"1772524800."`, `"17725x"`, `null`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s read as %v; want an error", bad, time.Time(got))
		}
	}
}

// TestRefLenKeepsEveryReference: a reference that begins its item's ID is
// written as its length, any other as it is, and both read back; a length
// that does not fit the ID is an error.
func TestRefLenKeepsEveryReference(t *testing.T) {
	for _, c := range []struct {
		id, ref string
		short   bool
	}{
		{"win:p_a:1772524800:open", "win:p_a:1772524800", true},
		{"appt:ap_1:7d", "ap_1", false},
		{"x", "", false},
		{"win:p_a:1", "win:p_a:1", false}, // the whole ID: written as it is
		{"ab", "a", true},
	} {
		text, n := RefLen(c.id, c.ref)
		if (n != "") != c.short || n != "" && text != "" {
			t.Errorf("RefLen(%q, %q) = %q, %q", c.id, c.ref, text, n)
		}
		got, err := Ref(c.id, text, n)
		if err != nil || got != c.ref {
			t.Errorf("Ref(%q, %q, %q) = %q, %v; want %q", c.id, text, n, got, err, c.ref)
		}
	}
	for _, bad := range []struct{ id, text, n string }{
		{"abc", "", "3"}, {"abc", "", "9"}, {"abc", "", "-1"}, {"abc", "", "0"}, {"abc", "", "01"}, {"abc", "", "+1"}, {"abc", "", "x"}, {"abc", "a", "1"},
	} {
		if got, err := Ref(bad.id, bad.text, bad.n); err == nil {
			t.Errorf("Ref(%q, %q, %q) = %q; want an error", bad.id, bad.text, bad.n, got)
		}
	}
}

// TestKindCodesReadBack: every coded kind is written short and reads
// back, any other kind is written and read as it is, and a code no kind
// has is an error.
func TestKindCodesReadBack(t *testing.T) {
	for _, k := range append(append([]string{}, kinds...), "k", "custom_kind", "") {
		code := KindCode(k)
		if _, coded := kindCodes[k]; coded == (code == k) {
			t.Errorf("KindCode(%q) = %q", k, code)
		}
		if got, err := Kind(code); err != nil || got != k {
			t.Errorf("Kind(%q) = %q, %v; want %q", code, got, err, k)
		}
	}
	for _, bad := range []string{"0", "99", "01", "1x", "-1"} {
		if got, err := Kind(bad); err == nil && bad[0] >= '0' && bad[0] <= '9' {
			t.Errorf("Kind(%q) = %q; want an error", bad, got)
		}
	}
}
