package store

import "testing"

// Every channel a check-in can carry has a name a caseworker can read, and
// a code the store has never heard of is still shown rather than hidden.
func TestChannelLabel(t *testing.T) {
	for c, want := range map[Channel]string{
		SMS: "SMS", WhatsApp: "WhatsApp", Telegram: "Telegram", Simulator: "Simulator",
		MissedCall: "Missed call", Keypad: "Phone keypad", "carrier_pigeon": "carrier_pigeon",
	} {
		if got := c.Label(); got != want {
			t.Errorf("%q.Label() = %q, want %q", c, got, want)
		}
	}
}
