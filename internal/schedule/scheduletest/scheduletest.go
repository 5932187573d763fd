// Package scheduletest makes, for a test, the conversation as `waymark
// serve` makes it: the shipped programme in use, the check-in windows'
// ledger and the conversation service that asks it, over the test's store
// and clock, logging at debug level into a log the test reads.
package scheduletest

import (
	"log/slog"
	"testing"

	"github.com/waymark-atd/waymark/internal/clock"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/testkit"
)

// Store is what the conversation and its ledger use.
type Store interface {
	conversation.Store
	schedule.Store
}

// Conversation is the conversation service and what it was made of.
type Conversation struct {
	Content *conversation.Content // testkit.Shipped: shared, never to be changed
	Live    *conversation.Live
	Ledger  *schedule.Ledger
	Service *conversation.Service
	Logs    *testkit.Logs
	Log     *slog.Logger
}

// New makes the conversation service over st on clk, sealing with box.
func New(tb testing.TB, st Store, box *seal.Box, clk clock.Clock) Conversation {
	tb.Helper()
	c := Conversation{Content: testkit.Shipped(tb), Logs: &testkit.Logs{}}
	c.Log = slog.New(slog.NewTextHandler(c.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c.Live = conversation.NewLive(c.Content)
	c.Ledger = schedule.NewLedger(st, c.Live, clk, c.Log)
	c.Service = conversation.New(st, box, c.Live, clk, c.Log, c.Ledger)
	return c
}
