package schedule

import "time"

// childNight is when nothing is sent to a child (store.Participant.Child),
// whatever programme.yaml says: its quiet hours can add to this night but
// not shorten or remove it.
var childNight = quietHours{start: 21 * time.Hour, end: 8 * time.Hour}

// withChildNight is q with the child's night added.
func (q quietHours) withChildNight() quietHours {
	night := childNight
	q.also = &night
	return q
}
