package programme

import (
	"testing"

	"github.com/waymark-atd/waymark/flows"
)

// What following the live version costs a process: a poll that finds
// nothing new (one small read, every WAYMARK_PROGRAMME_POLL), and loading
// a new version once it is published (the shipped fifteen languages).

func BenchmarkPollUnchanged(b *testing.B) {
	st, err := openBench(b)
	if err != nil {
		b.Fatal(err)
	}
	s := New(st, Options{Files: (&folders{files: shippedB(b)}).read, FlowsBase: flows.FS})
	if _, err := s.Sync(b.Context()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Poll(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadVersion(b *testing.B) {
	files := shippedB(b)
	for b.Loop() {
		if c, _ := files.Load(flows.FS); c == nil {
			b.Fatal("the shipped files do not load")
		}
	}
}

func BenchmarkCheckDraft(b *testing.B) {
	files := shippedB(b)
	for b.Loop() {
		if r := files.Check(flows.FS); !r.OK() {
			b.Fatal("the shipped files do not pass the check")
		}
	}
}
