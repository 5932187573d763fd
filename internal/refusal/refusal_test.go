package refusal

import (
	"errors"
	"fmt"
	"testing"
)

func TestMessageIsWhatAPersonReads(t *testing.T) {
	weak := New("auth", "password not accepted")
	for _, tc := range []struct {
		name string
		err  error
		msg  string
		ok   bool
	}{
		{"a refusal", weak, "password not accepted", true},
		{"in more words", weak.Detail("use at least %d characters", 12), "password not accepted: use at least 12 characters", true},
		{"under the context of the call", fmt.Errorf("auth: change password of a_1: %w", weak), "password not accepted", true},
		{"the service's own trouble", fmt.Errorf("auth: account: %w", errors.New("store: backend unavailable")), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := Message(tc.err)
			if msg != tc.msg || ok != tc.ok {
				t.Errorf("Message = %q, %v; want %q, %v", msg, ok, tc.msg, tc.ok)
			}
		})
	}
}

func TestDetailIsStillItsRefusal(t *testing.T) {
	weak := New("auth", "password not accepted")
	err := fmt.Errorf("auth: set password: %w", weak.Detail("use at most %d characters", 256))
	if !errors.Is(err, weak) {
		t.Error("errors.Is does not find the refusal a detail says more of")
	}
	if errors.Is(err, New("auth", "password not accepted")) {
		t.Error("errors.Is matched another refusal with the same words: sentinels are told apart by identity")
	}
	if got, want := err.Error(), "auth: set password: auth: password not accepted: use at most 256 characters"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
