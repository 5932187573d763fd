package redis

import (
	"encoding/json"

	"github.com/waymark-atd/waymark/internal/store"
)

// The records a person's state is made of (their participant record,
// links, appointments and session) are kept as JSON without what their key
// already says: the participant's ID, the link's blind index (64 bytes),
// the appointment's ID, the session's participant. Flags that are almost
// always false are left out when false. That is 27 to 95 bytes a record,
// enough on these short records for Redis to give each a smaller
// allocation; the readers put the ID back from the key. Records written
// before carry the ID, which is then the same as the key's.
//
// Each doc type embeds the store's type and shadows the fields it leaves
// out (encoding/json prefers the shallower field of a name), so that a
// field added to the store's type is kept without a change here. The Lua
// scripts read only fields these keep: a participant's rev, caseworker_id
// and child; a link's participant_id, unreachable, reason and
// last_seen_at; an appointment's participant_id.

type participantDoc struct {
	store.Participant
	ID       string `json:"id,omitempty"`
	OptedOut bool   `json:"opted_out,omitempty"`
}

func encodeParticipant(p store.Participant) ([]byte, error) {
	return json.Marshal(participantDoc{Participant: p, OptedOut: p.OptedOut})
}

func decodeParticipant(id, doc string) (store.Participant, error) {
	var d participantDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return store.Participant{}, err
	}
	p := d.Participant
	p.ID, p.OptedOut = id, d.OptedOut
	return p, nil
}

type linkDoc struct {
	store.Link
	Index       string `json:"index,omitempty"`
	Unreachable bool   `json:"unreachable,omitempty"`
}

func encodeLink(l store.Link) ([]byte, error) {
	return json.Marshal(linkDoc{Link: l, Unreachable: l.Unreachable})
}

func decodeLink(index, doc string) (store.Link, error) {
	var d linkDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return store.Link{}, err
	}
	l := d.Link
	l.Index, l.Unreachable = index, d.Unreachable
	return l, nil
}

type appointmentDoc struct {
	store.Appointment
	ID string `json:"id,omitempty"`
}

func encodeAppointment(a store.Appointment) ([]byte, error) {
	return json.Marshal(appointmentDoc{Appointment: a})
}

func decodeAppointment(id, doc string) (store.Appointment, error) {
	var d appointmentDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return store.Appointment{}, err
	}
	a := d.Appointment
	a.ID = id
	return a, nil
}

type sessionDoc struct {
	store.Session
	ParticipantID string `json:"participant_id,omitempty"`
}

func encodeSession(ss store.Session) ([]byte, error) {
	return json.Marshal(sessionDoc{Session: ss})
}

func decodeSession(pid, doc string) (store.Session, error) {
	var d sessionDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return store.Session{}, err
	}
	ss := d.Session
	ss.ParticipantID = pid
	return ss, nil
}
