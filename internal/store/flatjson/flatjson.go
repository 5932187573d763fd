// Package flatjson reads the small JSON objects the stores write on their
// hottest paths (a due item is read three or four times each time it is
// handled) without encoding/json's reflection, which was a fifth of the
// scheduler's processor time on the embedded store.
//
// It reads only the plainest JSON: objects whose members are strings or
// objects, with no whitespace, no escapes and valid UTF-8, which is what
// json.Marshal writes for these records. Anything else it refuses, and
// the caller decodes with encoding/json, so a record it cannot read costs
// only the time of the attempt. Its callers' fuzz tests hold every record
// it reads to what encoding/json reads from the same bytes.
package flatjson

import "unicode/utf8"

// Members calls fn for each member of the object in raw, in order, with
// its key and its value: a string's content, or a nested object's whole
// text (isObject). It returns false when raw is not such an object or
// when fn returns false; fn may have been called for the members before.
func Members(raw []byte, fn func(key string, value []byte, isObject bool) bool) bool {
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return false
	}
	i := 1
	if raw[i] == '}' {
		return i == len(raw)-1
	}
	for {
		key, next, ok := plainString(raw, i)
		if !ok || next >= len(raw) || raw[next] != ':' {
			return false
		}
		i = next + 1
		if i >= len(raw) {
			return false
		}
		var value []byte
		isObject := raw[i] == '{'
		switch {
		case isObject:
			end, ok := objectEnd(raw, i)
			if !ok {
				return false
			}
			value, i = raw[i:end], end
		default:
			var s []byte
			s, i, ok = plainString(raw, i)
			if !ok {
				return false
			}
			value = s
		}
		if !fn(string(key), value, isObject) {
			return false
		}
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i++
		case '}':
			return i == len(raw)-1
		default:
			return false
		}
	}
}

// plainString reads the string that starts at raw[i]: its content, and
// the index after its closing quote. It refuses escapes, control
// characters and invalid UTF-8, which encoding/json would unescape or
// replace.
func plainString(raw []byte, i int) (content []byte, next int, ok bool) {
	if i >= len(raw) || raw[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			s := raw[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// objectEnd is the index after the object that starts at raw[i], found by
// counting braces outside strings. Its members are checked when it is
// read with Members.
func objectEnd(raw []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(raw); j++ {
		switch raw[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case '"':
			_, next, ok := plainString(raw, j)
			if !ok {
				return 0, false
			}
			j = next - 1
		}
	}
	return 0, false
}

// Strings reads an object whose members are all strings into *m, making
// the map when it is nil and adding to it otherwise, as encoding/json
// does. It returns false as Members does, or when a member is an object.
func Strings(raw []byte, m *map[string]string) bool {
	if *m == nil {
		*m = map[string]string{}
	}
	return Members(raw, func(key string, value []byte, isObject bool) bool {
		if isObject {
			return false
		}
		(*m)[key] = string(value)
		return true
	})
}
