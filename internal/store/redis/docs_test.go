package redis

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

	checkRecord(t, "participant", p, p.ID, `"id"`, encodeParticipant, decodeParticipant)
	p.OptedOut = false
	checkRecord(t, "participant, not opted out", p, p.ID, `"opted_out"`, encodeParticipant, decodeParticipant)
	checkRecord(t, "link", l, l.Index, `"index"`, encodeLink, decodeLink)
	l.Unreachable = false
	checkRecord(t, "link, reachable", l, l.Index, `"unreachable"`, encodeLink, decodeLink)
	checkRecord(t, "appointment", a, a.ID, `"id"`, encodeAppointment, decodeAppointment)
	checkRecord(t, "session", ss, ss.ParticipantID, `"participant_id"`, encodeSession, decodeSession)
}

func checkRecord[T any](t *testing.T, what string, want T, id, left string, encode func(T) ([]byte, error), decode func(id, doc string) (T, error)) {
	t.Helper()
	doc, err := encode(want)
	mustDo(t, err)
	if strings.Contains(string(doc), id) {
		t.Errorf("%s: the stored form holds the key's ID: %s", what, doc)
	}
	if strings.Contains(string(doc), left+":") {
		t.Errorf("%s: the stored form holds %s: %s", what, left, doc)
	}
	got, err := decode(id, string(doc))
	mustDo(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: read back\n%+v\nwant\n%+v", what, got, want)
	}
	before, err := json.Marshal(want)
	mustDo(t, err)
	if got, err := decode(id, string(before)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s of the format before: read back\n%+v, %v\nwant\n%+v", what, got, err, want)
	}
}

// fill sets every exported field of v to a value that is not its zero,
// each string its own, made from name and the fields' names.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, time.March, 3, 9, 0, 0, 0, time.UTC)))
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
