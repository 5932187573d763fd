package flatjson

import (
	"fmt"
	"strings"
	"testing"
)

// members lists what Members reports of raw, or "refused".
func members(raw string) string {
	var got []string
	ok := Members([]byte(raw), func(key string, value []byte, isObject bool) bool {
		got = append(got, fmt.Sprintf("%s=%s/%v", key, value, isObject))
		return true
	})
	if !ok {
		return "refused"
	}
	return strings.Join(got, " ")
}

func TestMembers(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`{}`, ""},
		{`{"a":"1","b":""}`, "a=1/false b=/false"},
		{`{"a":{"b":"}{\""}}`, "refused"}, // an escape, even nested
		{`{"a":{"b":"}{"},"c":"2"}`, `a={"b":"}{"}/true c=2/false`},
		{`{"a":"é"}`, "a=é/false"},
		{"{\"a\":\"\xff\"}", "refused"}, // invalid UTF-8: encoding/json would replace it
		{"{\"a\":\"\x01\"}", "refused"},
		{`{"a":"x\"y"}`, "refused"},
		{`{ "a":"1"}`, "refused"},
		{`{"a": "1"}`, "refused"},
		{`{"a":1}`, "refused"},
		{`{"a":null}`, "refused"},
		{`{"a":["1"]}`, "refused"},
		{`{"a":"1",}`, "refused"},
		{`{"a":"1"}}`, "refused"},
		{`{"a":"1"`, "refused"},
		{`{"a":{"b":"1"}`, "refused"},
		{`{"a"}`, "refused"},
		{`{`, "refused"},
		{``, "refused"},
		{`"a"`, "refused"},
	} {
		if got := members(c.raw); got != c.want {
			t.Errorf("%q: got %s, want %s", c.raw, got, c.want)
		}
	}
}

func TestMembersStopsWhenTold(t *testing.T) {
	n := 0
	ok := Members([]byte(`{"a":"1","b":"2"}`), func(string, []byte, bool) bool { n++; return false })
	if ok || n != 1 {
		t.Errorf("ok %v after %d members, want false after 1", ok, n)
	}
}

func TestStrings(t *testing.T) {
	m := map[string]string{"kept": "1"}
	if !Strings([]byte(`{"a":"x","a":"y"}`), &m) || len(m) != 2 || m["a"] != "y" || m["kept"] != "1" {
		t.Errorf("got %v, want a=y added to kept=1 (the last of a repeated key, as encoding/json)", m)
	}
	var made map[string]string
	if !Strings([]byte(`{}`), &made) || made == nil {
		t.Error("an empty object gives an empty map, not nil")
	}
	if Strings([]byte(`{"a":{}}`), &made) {
		t.Error("a member that is an object is refused")
	}
}
