package bolt

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
	"github.com/waymark-atd/waymark/internal/store/flatjson"
)

// A due item's record, as the due bucket keeps it under the item's ID.
//
// The store writes it short (dueDoc): the person's and the item's IDs are
// the key, so they are not repeated, the names are a letter, and the
// moment it may be claimed is written only when it is not the due time
// (while a claim holds it). A
// person has about four items at any time and every handling rewrites
// one, so the bytes count twice: in the file, and in each commit. Records
// of the earlier, long form ({"item": {...}, "owner", "until", "ready"})
// are still read, and each is written short the next time it changes.

// dueDoc is the short form.
type dueDoc struct {
	P    string            `json:"p,omitempty"` // read only: the key holds it, and records written before repeat it
	K    string            `json:"k"`
	R    string            `json:"r,omitempty"`
	RN   string            `json:"rn,omitempty"`   // R as the length of the ID it begins (compact.RefLen)
	T    compact.Time      `json:"t"`              // due, in UTC, as Unix seconds
	Data map[string]string `json:"data,omitempty"` // named as docs/privacy.md's walk expects of a map of variables
	O    string            `json:"o,omitempty"`    // the owner of the current or last claim
	U    compact.Time      `json:"u,omitzero"`     // that claim's lease end
	Y    compact.Time      `json:"y,omitzero"`     // claimable from, when not T
}

func encodeDueRecord(r dueRecord) ([]byte, error) {
	ref, n := compact.RefLen(r.Item.ID, r.Item.Ref)
	d := dueDoc{K: compact.KindCode(r.Item.Kind), R: ref, RN: n, T: compact.Time(r.Item.DueAt.UTC()), Data: r.Item.Data,
		O: r.Owner, U: compact.Time(r.Until.UTC())}
	if !r.Ready.Equal(r.Item.DueAt) {
		d.Y = compact.Time(r.Ready.UTC())
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return raw, nil
}

// record is the due record d keeps for the item with ID id.
func (d dueDoc) record(id []byte) (dueRecord, error) {
	ref, err := compact.Ref(string(id), d.R, d.RN)
	kind, kerr := compact.Kind(d.K)
	err = errors.Join(err, kerr)
	r := dueRecord{
		Item:  store.DueItem{ID: string(id), ParticipantID: d.P, Kind: kind, Ref: ref, DueAt: time.Time(d.T), Data: d.Data},
		Owner: d.O, Until: time.Time(d.U), Ready: time.Time(d.Y),
	}
	if d.Y.IsZero() {
		r.Ready = time.Time(d.T)
	}
	return r, err
}

// decodeDueRecord reads the record of the item with ID id, in either
// form. The plain text json.Marshal writes is read by flatjson, without
// reflection, since a record is read three or four times each time its
// item is handled; anything else by encoding/json (decodeDueRecordJSON).
// FuzzDueRecord holds the two to the same result.
func decodeDueRecord(id, raw []byte) (dueRecord, error) {
	var d dueDoc
	if readDueDoc(raw, &d) {
		return d.record(id)
	}
	var r dueRecord
	if readDueRecord(raw, &r) {
		return r, nil
	}
	return decodeDueRecordJSON(id, raw)
}

// decodeDueRecordJSON reads a record of either form with encoding/json.
// A record with any member of the long form is of the long form, as the
// fast paths tell them apart: readDueDoc refuses those members.
func decodeDueRecordJSON(id, raw []byte) (dueRecord, error) {
	var either struct {
		dueDoc
		Item  *store.DueItem `json:"item"`
		Owner *string        `json:"owner"`
		Until *time.Time     `json:"until"`
		Ready *time.Time     `json:"ready"`
	}
	if err := unmarshal(raw, &either); err != nil {
		return dueRecord{}, err
	}
	if either.Item == nil && either.Owner == nil && either.Until == nil && either.Ready == nil {
		return either.dueDoc.record(id)
	}
	var r dueRecord
	if either.Item != nil {
		r.Item = *either.Item
	}
	if either.Owner != nil {
		r.Owner = *either.Owner
	}
	if either.Until != nil {
		r.Until = *either.Until
	}
	if either.Ready != nil {
		r.Ready = *either.Ready
	}
	return r, nil
}

// readDueDoc reads the short form as json.Marshal writes it.
func readDueDoc(raw []byte, d *dueDoc) bool {
	return flatjson.Members(raw, func(key string, v []byte, isObject bool) bool {
		if isObject {
			return key == "data" && flatjson.Strings(v, &d.Data)
		}
		switch key {
		case "p":
			d.P = string(v)
		case "k":
			d.K = string(v)
		case "r":
			d.R = string(v)
		case "rn":
			d.RN = string(v)
		case "o":
			d.O = string(v)
		case "t":
			return d.T.UnmarshalText(v) == nil
		case "u":
			return d.U.UnmarshalText(v) == nil
		case "y":
			return d.Y.UnmarshalText(v) == nil
		default:
			return false
		}
		return true
	})
}

// readDueRecord reads the long form as json.Marshal wrote it.
func readDueRecord(raw []byte, r *dueRecord) bool {
	return flatjson.Members(raw, func(key string, v []byte, isObject bool) bool {
		switch {
		case key == "item" && isObject:
			return readDueItem(v, &r.Item)
		case key == "owner" && !isObject:
			r.Owner = string(v)
			return true
		case key == "until" && !isObject:
			return r.Until.UnmarshalText(v) == nil
		case key == "ready" && !isObject:
			return r.Ready.UnmarshalText(v) == nil
		}
		return false
	})
}

// readDueItem reads a store.DueItem as its JSON names have it.
func readDueItem(raw []byte, d *store.DueItem) bool {
	return flatjson.Members(raw, func(key string, v []byte, isObject bool) bool {
		if isObject {
			return key == "data" && flatjson.Strings(v, &d.Data)
		}
		switch key {
		case "id":
			d.ID = string(v)
		case "participant_id":
			d.ParticipantID = string(v)
		case "kind":
			d.Kind = string(v)
		case "ref":
			d.Ref = string(v)
		case "due_at":
			return d.DueAt.UnmarshalText(v) == nil
		default:
			return false
		}
		return true
	})
}
