package store

import (
	"cmp"
	"slices"
)

// InOrderMade puts each person's messages among msgs in the order they were
// made (CreatedAt, then ID), in the places the person's messages already
// hold, and leaves everyone else's where they are. A claim hands messages
// out earliest due first; a message that waited for an earlier one of its
// person (ClaimOutbound) may come due after a later one, and must still
// leave first.
func InOrderMade(msgs []OutboundMessage) {
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
		slices.SortStableFunc(mine, func(a, b OutboundMessage) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		for j, i := range at {
			msgs[i] = mine[j]
		}
	}
}
