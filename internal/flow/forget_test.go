package flow

import (
	"maps"
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

// A confirmed forget_me emits ForgetMe and then the messages after it; a
// declined one emits nothing but its reply.
func TestForgetMeRunsOnlyAfterConfirmation(t *testing.T) {
	set := deleteSet(t, nil)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st, effects := set.Step(State{}, Participant{Language: "en"}, Event{Kind: EventStart, Flow: "delete", Now: now}, nil)
	if len(effects) != 1 || !st.Active() {
		t.Fatalf("start: state %+v effects %+v, want the question alone", st, effects)
	}
	_, effects = set.Step(st, Participant{Language: "en"}, Event{Kind: EventText, Text: "1", Now: now}, nil)
	want := []Effect{ForgetMe{}, Send{MessageID: "delete.done"}}
	if !reflect.DeepEqual(effects, want) {
		t.Errorf("confirmed: %#v, want %#v", effects, want)
	}
	_, effects = set.Step(st, Participant{Language: "en"}, Event{Kind: EventText, Text: "2", Now: now}, nil)
	want = []Effect{Send{MessageID: "delete.kept"}}
	if !reflect.DeepEqual(effects, want) {
		t.Errorf("declined: %#v, want %#v", effects, want)
	}
}

// A person who has opted out cannot be asked to confirm, so DELETE from
// them runs no flow: it is passed on as a request, and nothing more. STOP
// and START still run their flows; other keywords ask for OptedOutHelp.
func TestOptedOutDeleteIsPassedOnUnconfirmed(t *testing.T) {
	set := deleteSet(t, fstest.MapFS{
		"start.yaml":    {Data: []byte("id: start\nstart: in\nnodes:\n  in:\n    do: opt_in\n    next: ok\n  ok:\n    send: start.ok\n")},
		"keywords.yaml": {Data: []byte("keywords:\n  keyword.start: start\n  keyword.delete: delete\n  keyword.menu: menu\n")},
	})
	words := mapWords{"en": {"keyword.start": {"start"}, "keyword.delete": {"delete", "forget me"}, "keyword.menu": {"menu"}}}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	out := Participant{Language: "en", OptedOut: true}
	for _, tc := range []struct {
		text string
		want []Effect
	}{
		{"DELETE", []Effect{RequestErasure{}}},
		{"forget me!", []Effect{RequestErasure{}}},
		{"menu", []Effect{OptedOutHelp{}}},
		{"start", []Effect{OptIn{}, Send{MessageID: "start.ok"}}},
		{"1", nil},
	} {
		st, effects := set.Step(State{}, out, Event{Kind: EventText, Text: tc.text, Now: now}, words)
		if !reflect.DeepEqual(effects, tc.want) || st.Active() {
			t.Errorf("%q from an opted-out person: state %+v effects %#v, want %#v", tc.text, st, effects, tc.want)
		}
	}
	// Not opted out, DELETE asks first, as ever.
	st, effects := set.Step(State{}, Participant{Language: "en"}, Event{Kind: EventText, Text: "delete", Now: now}, words)
	if !st.Active() || len(effects) != 1 || effects[0].(Send).MessageID != "delete.ask" {
		t.Errorf("DELETE: state %+v effects %#v, want the question", st, effects)
	}
}

// deleteSet loads the base flows, a delete flow that asks first, and more.
func deleteSet(t *testing.T, more fstest.MapFS) *Set {
	t.Helper()
	fsys := fstest.MapFS{"delete.yaml": {Data: []byte(`id: delete
start: ask
nodes:
  ask:
    ask: delete.ask
    choices:
      - label: choice.yes
        next: forget
      - label: choice.no
        next: kept
  forget:
    do: forget_me
    next: done
  done:
    send: delete.done
  kept:
    send: delete.kept
`)}}
	for _, m := range []fstest.MapFS{base, more} {
		maps.Copy(fsys, m)
	}
	set, problems := Load(fsys)
	if set == nil || len(problems) > 0 {
		t.Fatalf("load: %v", problems)
	}
	return set
}
