package redis

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/compact"
	"github.com/waymark-atd/waymark/internal/store/flatjson"
)

// decodeDue reads the record of item id; the caller knows whose it is.
// The plain form json.Marshal writes is read by flatjson, without
// reflection: a person's items are read with every turn and every item
// handled. Anything else goes to encoding/json. FuzzDueRecord holds the
// two paths to the same result.
func decodeDue(id, doc string) (store.DueItem, error) {
	var r dueRecord
	if readDueRecord([]byte(doc), &r) {
		return r.item(id)
	}
	return decodeDueSlowly(id, doc)
}

// decodeDueSlowly is decodeDue by encoding/json alone.
func decodeDueSlowly(id, doc string) (store.DueItem, error) {
	var r dueRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return store.DueItem{}, err
	}
	return r.item(id)
}

func (r dueRecord) item(id string) (store.DueItem, error) {
	ref, err := compact.Ref(id, r.Ref, r.RefLen)
	kind, kerr := compact.Kind(r.Kind)
	return store.DueItem{ID: id, ParticipantID: r.ParticipantID, Kind: kind, Ref: ref, DueAt: time.Time(r.DueAt), Data: r.Data}, errors.Join(err, kerr)
}

func readDueRecord(raw []byte, r *dueRecord) bool {
	return flatjson.Members(raw, func(key string, v []byte, isObject bool) bool {
		if isObject {
			return key == "data" && flatjson.Strings(v, &r.Data)
		}
		switch key {
		case "p":
			r.ParticipantID = string(v)
		case "k":
			r.Kind = string(v)
		case "r":
			r.Ref = string(v)
		case "rn":
			r.RefLen = string(v)
		case "t":
			return r.DueAt.UnmarshalText(v) == nil
		default:
			return false
		}
		return true
	})
}
