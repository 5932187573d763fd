package conversation_test

import (
	"runtime"
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/locales"
)

// BenchmarkLoadContent loads the shipped flows and locales, as a process
// does at start and at each publish, and reports the heap the loaded
// programme keeps (live_B, measured after a collection): every language's
// messages stay in memory for the life of the process, so this is what
// each new language or message costs a process that idles
// (docs/performance.md, "What the process holds when it starts").
//
//	go test -run '^$' -bench LoadContent -benchtime 20x ./internal/conversation/
func BenchmarkLoadContent(b *testing.B) {
	var before, after runtime.MemStats
	var kept *conversation.Content
	for b.Loop() {
		kept = nil // the last round's programme is not counted in this one's
		runtime.GC()
		runtime.ReadMemStats(&before)
		c, problems := conversation.LoadContent(flows.FS, locales.FS)
		if c == nil {
			b.Fatalf("the shipped content does not load: %v", problems)
		}
		kept = c
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "live_B")
	runtime.KeepAlive(kept)
}
