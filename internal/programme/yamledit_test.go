package programme

import (
	"strings"
	"testing"
)

const sample = `# A programme.
organisation:
  name: "Example"   # as people know it
  in:
    ar: {hours: "9-17"}
languages: [en, ar]
checkin:
  grace_period: 1d
nodes:
  ask:
    choices:
      - label: info.choice.rights
        next: rights
`

// changed returns the lines of b that differ from a's, for files of the
// same length.
func changed(t *testing.T, a, b string) []string {
	t.Helper()
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x) != len(y) {
		t.Fatalf("the edit rewrote the file:\n%s", b)
	}
	var out []string
	for i := range x {
		if x[i] != y[i] {
			out = append(out, y[i])
		}
	}
	return out
}

func TestSetValueChangesOneLine(t *testing.T) {
	for _, tc := range []struct {
		path []string
		set  string
		want string
	}{
		{[]string{"checkin", "grace_period"}, "2d", "  grace_period: 2d"},
		{[]string{"organisation", "name"}, `Say "hi"`, `  name: "Say \"hi\"" # as people know it`},
		{[]string{"organisation", "in", "ar", "hours"}, "الأحد-الخميس", `    ar: {hours: "الأحد-الخميس"}`},
		{[]string{"nodes", "ask", "choices", "0", "next"}, "legal", "        next: legal"},
	} {
		out, err := SetValue(sample, tc.path, Number(tc.set))
		if strings.Contains(tc.set, " ") || strings.ContainsAny(tc.set, "\"") {
			out, err = SetValue(sample, tc.path, Scalar(tc.set))
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.path, err)
		}
		if got := changed(t, sample, out); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%v: changed lines %q, want [%q]", tc.path, got, tc.want)
		}
		if v, _ := Value(out, tc.path...); v != tc.set {
			t.Errorf("%v reads back %q", tc.path, v)
		}
	}
	out, err := SetValue(sample, []string{"languages"}, List("en", "ar", "ti"))
	if err != nil || strings.Join(changed(t, sample, out), "") != "languages: [en, ar, ti]" {
		t.Errorf("list: %v %q", err, out)
	}
}

func TestSetValueMakesWhatIsMissingAndKeepsComments(t *testing.T) {
	out, err := SetValue(sample, []string{"organisation", "in", "ti", "hours"}, Scalar("ሰኑይ"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Value(out, "organisation", "in", "ti", "hours"); !ok || v != "ሰኑይ" {
		t.Fatalf("new key reads %q:\n%s", v, out)
	}
	for _, keep := range []string{"# A programme.", "# as people know it", "grace_period: 1d", "ar: {hours: \"9-17\"}"} {
		if !strings.Contains(out, keep) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
	if _, err := SetValue("a: [1, 2]\n", []string{"a", "b"}, Scalar("x")); err == nil {
		t.Error("a key under a list was made")
	}
	if _, err := SetValue("a: [\n", []string{"a"}, Scalar("x")); err == nil {
		t.Error("a file that is not YAML was edited")
	}
}

func TestSetMessageMarksReviewAndAdds(t *testing.T) {
	src := "# Arabic.\n\ncommon.ok: \"حسنا\" # reviewed\nplural.days:\n  one: \"يوم\"\n  other: \"أيام\"\n"
	out, err := SetMessage(src, "common.ok", "", "تمام", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := changed(t, src, out); len(got) != 1 || got[0] != `common.ok: "تمام"` {
		t.Errorf("changed words lost their review mark wrongly: %q", got)
	}
	out, err = SetMessage(out, "plural.days", "one", "يوم واحد", true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "plural.days: # reviewed\n  one: \"يوم واحد\"\n  other: \"أيام\"") {
		t.Errorf("plural form:\n%s", out)
	}
	out, err = SetMessage(out, "info.new", "", "جديد \"مقتبس\"", false)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Value(out, "info.new"); !ok || v != "جديد \"مقتبس\"" || !strings.HasPrefix(out, "# Arabic.") {
		t.Errorf("added message reads %q:\n%s", v, out)
	}
}

func TestUnreviewedKeepsTheWords(t *testing.T) {
	src := "a.b: \"نعم\" # reviewed\nc.d:  # reviewed\n  one: \"x\"\n  other: \"y\"\ne.f: \"z\"\n"
	out, err := Unreviewed(src, "a.b")
	if err != nil || !strings.HasPrefix(out, "a.b: \"نعم\"\n") {
		t.Fatalf("scalar: %v\n%s", err, out)
	}
	out, err = Unreviewed(out, "c.d")
	if err != nil || !strings.Contains(out, "c.d:\n  one: \"x\"") {
		t.Fatalf("plural: %v\n%s", err, out)
	}
	if again, _ := Unreviewed(out, "e.f"); again != out {
		t.Error("a message without the mark changed")
	}
	if again, _ := Unreviewed(out, "missing.id"); again != out {
		t.Error("a missing message changed the file")
	}
}

// Repoint moves every way into a step, and DropStranded takes out what
// only a removed step led to, leaving steps that were unreached before.
func TestRepointAndDropStranded(t *testing.T) {
	src := `id: f
start: a
nodes:
  a:
    ask: m.a
    on_timeout: x
    choices:
      - label: m.one
        next: x
      - label: m.two
        next: b
  b:
    branch: participant.language
    cases:
      - value: en
        next: x
    default: c
  x:
    send: m.x
    next: y
  y:
    send: m.y
  c:
    send: m.c
  lost:
    send: m.lost
`
	out, err := Repoint(src, "x", "y")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"nodes", "a", "on_timeout"}, {"nodes", "a", "choices", "0", "next"}, {"nodes", "b", "cases", "0", "next"}} {
		if v, _ := Value(out, path...); v != "y" {
			t.Errorf("%v = %q, want y", path, v)
		}
	}
	if v, _ := Value(out, "nodes", "b", "default"); v != "c" {
		t.Errorf("default moved to %q", v)
	}
	ended, err := Repoint(src, "c", "")
	if err != nil || Exists(ended, "nodes", "b", "default") {
		t.Errorf("leading to c did not end: %v", err)
	}

	noB, err := DeleteValue(src, []string{"nodes", "a", "choices", "1"})
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped, err := DropStranded(src, noB)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(dropped, ",") != "b,c" || !Exists(kept, "nodes", "lost") || !Exists(kept, "nodes", "x") {
		t.Errorf("dropped %v; lost kept %v, x kept %v", dropped, Exists(kept, "nodes", "lost"), Exists(kept, "nodes", "x"))
	}
}
