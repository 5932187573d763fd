package sms

import "testing"

func TestFoldGSM(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		before   int // segments before folding
	}{
		// Spanish: one á made the whole message UCS-2.
		{"Su cita es mañana a las 10. ¿Estará allí? Responda con un número para confirmar o cambiar la hora, por favor.", "Su cita es mañana a las 10. ¿Estara alli? Responda con un numero para confirmar o cambiar la hora, por favor.", 2},
		// Portuguese and Turkish.
		{"Não posso ir, obrigação às três", "Nao posso ir, obrigacao às tres", 1},
		{"Buradayım, teşekkürler, değil", "Buradayim, tesekkürler, degil", 1},
		// Typography.
		{"I can’t – “really”…", `I can't - "really"...`, 1},
		// Other scripts are left alone.
		{"مرحبا, привіт", "مرحبا, привіт", 1},
	} {
		got := FoldGSM(tc.in)
		if got != tc.want {
			t.Errorf("FoldGSM(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, n := Segments(tc.in); n != tc.before {
			t.Errorf("%q: %d segments before folding, want %d", tc.in, n, tc.before)
		}
		if enc, _ := Segments(got); enc != GSM7 && tc.want[0] < 0x80 {
			t.Errorf("%q still UCS-2 after folding: %q", got, NotGSM(got, 5))
		}
	}
}

// Every character the table produces is GSM-7, and every character it
// folds is not: the table never makes a text worse or folds for nothing.
func TestFoldTable(t *testing.T) {
	for r, s := range gsmFold {
		if gsmWidth(r) != 0 {
			t.Errorf("%q is GSM-7 already: folding it loses a letter for nothing", r)
		}
		if enc, _ := Segments(s); enc != GSM7 {
			t.Errorf("%q folds to %q, which is not GSM-7", r, s)
		}
	}
}

func TestNotGSM(t *testing.T) {
	if got := string(NotGSM("¿Está allí? Sí, está", 3)); got != "áí" {
		t.Errorf("NotGSM = %q, want áí", got)
	}
	if got := NotGSM("plain text", 3); got != nil {
		t.Errorf("NotGSM of GSM text = %q", got)
	}
}
