package store

import (
	"cmp"
	"slices"
)

// InSendOrder puts each person's messages among msgs in their send order
// (rank: lower goes first), in the places that person's messages already
// hold, and leaves everyone else's where they are. A claim hands messages
// out earliest due first, and one person's may be due in another order
// than they were made; they must still leave in the order made.
func InSendOrder(msgs []OutboundMessage, rank func(OutboundMessage) int) {
	places := map[string][]int{}
	for i, m := range msgs {
		places[m.ParticipantID] = append(places[m.ParticipantID], i)
	}
	for _, at := range places {
		if len(at) < 2 {
			continue
		}
		mine := make([]OutboundMessage, len(at))
		for j, i := range at {
			mine[j] = msgs[i]
		}
		slices.SortStableFunc(mine, func(a, b OutboundMessage) int { return cmp.Compare(rank(a), rank(b)) })
		for j, i := range at {
			msgs[i] = mine[j]
		}
	}
}
