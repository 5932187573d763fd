package bolt

import (
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/flatjson"
)

// decodeDueRecord reads a due item's record. The plain form json.Marshal
// writes is read by flatjson, without reflection, since a record is read
// three or four times each time its item is handled; anything else, by
// encoding/json. FuzzDueRecord holds the two to the same result.
func decodeDueRecord(raw []byte) (dueRecord, error) {
	var r dueRecord
	if readDueRecord(raw, &r) {
		return r, nil
	}
	r = dueRecord{}
	err := unmarshal(raw, &r)
	return r, err
}

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
