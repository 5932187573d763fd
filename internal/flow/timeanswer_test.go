package flow

import "testing"

func TestIsTime(t *testing.T) {
	words := []string{"at", "around", "oclock", "in the morning", "a", "a las", "vers", "heures", "о", "الساعة", "yes"}
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"8am", true},
		{"8 am", true},
		{"8 a.m.", true},
		{"8 p. m.", true},
		{"12pm", true},
		{"8:30", true},
		{"08:30", true},
		{"8.30", true},
		{"08h30", true},
		{"8h", true},
		{"20h00", true},
		{"20:00", true},
		{"٨:٣٠", true},
		{"at 8", true},
		{"around 8:30", true},
		{"8 o'clock", true},
		{"a las 8", true},
		{"a las 8:30", true},
		{"à 8h", true},
		{"vers 8 heures", true},
		{"о 8", true},
		{"الساعة ٨", true},
		{"yes at 8 in the morning", true},

		{"8", false}, // a choice number
		{"08", false},
		{"830", false},
		{"2 weeks", false},
		{"at", false},
		{"am", false},
		{"25:00", false},
		{"24h", false},
		{"8:60", false},
		{"8:3", false},
		{"13pm", false},
		{"0am", false},
		{"at 8 please", false},
		{"i need a new time", false},
		{"", false},
	} {
		in, _ := normalize(tc.in)
		var ws []string
		for _, w := range words {
			ws = append(ws, normalizedWord(w))
		}
		if got := isTime(in, ws); got != tc.want {
			t.Errorf("isTime(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
