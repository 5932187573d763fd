package flow

import (
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

// A confirmed forget_me emits ForgetMe and then the messages after it; a
// declined one emits nothing but its reply.
func TestForgetMeRunsOnlyAfterConfirmation(t *testing.T) {
	fsys := fstest.MapFS{}
	for k, v := range base {
		fsys[k] = v
	}
	fsys["delete.yaml"] = &fstest.MapFile{Data: []byte(`id: delete
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
`)}
	set, problems := Load(fsys)
	if set == nil || len(problems) > 0 {
		t.Fatalf("load: %v", problems)
	}
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
