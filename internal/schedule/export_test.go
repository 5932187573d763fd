package schedule

// StoreEveryItem makes l store every item Plan lists, as the scheduler
// did before it kept only the next of each kind: what the tests compare
// the kept plan with.
func StoreEveryItem(l *Ledger) { l.keepAll = true }
