package outbox

// Bell tells a dispatcher there is work: whatever queues a message rings
// it, and the dispatcher made with it looks at once instead of at its
// next poll. It is made before both, so that a channel that queues
// messages and the dispatcher that sends them through that channel need
// not exist in any order. Safe for concurrent use.
type Bell struct{ rung chan struct{} }

// NewBell returns a bell nobody has rung.
func NewBell() *Bell { return &Bell{rung: make(chan struct{}, 1)} }

// Ring never blocks: rings while the dispatcher is busy count as one, as
// its next pass reads everything queued by then.
func (b *Bell) Ring() {
	select {
	case b.rung <- struct{}{}:
	default:
	}
}
