// Package compact encodes the records a person's state is made of (their
// participant record, links, appointments and session) as both stores
// keep them: JSON without what the record's key already says (the
// participant's ID, the link's blind index, the appointment's ID, the
// session's participant), without flags that are almost always false when
// they are false, and with their own times as Unix seconds (a
// participant's pauses, kept as a list, keep RFC 3339). That is 40 to 120 bytes
// a record, on records of 150 to 450. The decoders put the ID back from
// the key, and read records written before, which carry the ID and RFC
// 3339 times, to the same values.
//
// Each doc type embeds the store's type and shadows only the fields it
// writes differently (encoding/json prefers the shallower of two fields
// of a name), so that a field added to the store's type is kept without a
// change here; a test fills every field by reflection to hold that. The
// Redis store's Lua scripts read only fields kept as they were: a
// participant's rev, caseworker_id and child; a link's participant_id,
// unreachable and reason (and they write last_seen_at and those two); an
// appointment's participant_id.
package compact

import (
	"encoding/json"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

type participantDoc struct {
	store.Participant
	ID             string `json:"id,omitempty"`
	OptedOut       bool   `json:"opted_out,omitempty"`
	OptedOutAt     Time   `json:"opted_out_at,omitzero"`
	ExitedAt       Time   `json:"exited_at,omitzero"`
	CreatedAt      Time   `json:"created_at"`
	UpdatedAt      Time   `json:"updated_at"`
	ConsentedAt    Time   `json:"consented_at,omitzero"`
	ConsentAskedAt Time   `json:"consent_asked_at,omitzero"`
	SMSAgreedAt    Time   `json:"sms_agreed_at,omitzero"`
}

// EncodeParticipant is the stored form of p, kept under its ID.
func EncodeParticipant(p store.Participant) ([]byte, error) {
	return json.Marshal(participantDoc{Participant: p, OptedOut: p.OptedOut,
		OptedOutAt: Time(p.OptedOutAt), ExitedAt: Time(p.ExitedAt),
		CreatedAt: Time(p.CreatedAt), UpdatedAt: Time(p.UpdatedAt),
		ConsentedAt: Time(p.ConsentedAt), ConsentAskedAt: Time(p.ConsentAskedAt),
		SMSAgreedAt: Time(p.SMSAgreedAt)})
}

// DecodeParticipant reads the record kept under id.
func DecodeParticipant(id string, doc []byte) (store.Participant, error) {
	var d participantDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Participant{}, err
	}
	p := d.Participant
	p.ID, p.OptedOut = id, d.OptedOut
	p.OptedOutAt, p.ExitedAt = time.Time(d.OptedOutAt), time.Time(d.ExitedAt)
	p.CreatedAt, p.UpdatedAt = time.Time(d.CreatedAt), time.Time(d.UpdatedAt)
	p.ConsentedAt, p.ConsentAskedAt = time.Time(d.ConsentedAt), time.Time(d.ConsentAskedAt)
	p.SMSAgreedAt = time.Time(d.SMSAgreedAt)
	return p, nil
}

type linkDoc struct {
	store.Link
	Index       string `json:"index,omitempty"`
	Unreachable bool   `json:"unreachable,omitempty"`
	LinkedAt    Time   `json:"linked_at"`
	LastSeenAt  Time   `json:"last_seen_at,omitzero"`
}

// EncodeLink is the stored form of l, kept under its index.
func EncodeLink(l store.Link) ([]byte, error) {
	return json.Marshal(linkDoc{Link: l, Unreachable: l.Unreachable,
		LinkedAt: Time(l.LinkedAt), LastSeenAt: Time(l.LastSeenAt)})
}

// DecodeLink reads the record kept under index.
func DecodeLink(index string, doc []byte) (store.Link, error) {
	var d linkDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Link{}, err
	}
	l := d.Link
	l.Index, l.Unreachable = index, d.Unreachable
	l.LinkedAt, l.LastSeenAt = time.Time(d.LinkedAt), time.Time(d.LastSeenAt)
	return l, nil
}

// SeenAt is a link's last_seen_at as EncodeLink writes it (without the
// quotes), for a store that sets it alone.
func SeenAt(t time.Time) string {
	raw, err := Time(t).MarshalJSON()
	if err != nil { // a year RFC 3339 cannot write, at an offset
		return string(Time(t).append(nil))
	}
	return string(raw[1 : len(raw)-1])
}

type appointmentDoc struct {
	store.Appointment
	ID        string `json:"id,omitempty"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
}

// EncodeAppointment is the stored form of a, kept under its ID.
func EncodeAppointment(a store.Appointment) ([]byte, error) {
	return json.Marshal(appointmentDoc{Appointment: a, CreatedAt: Time(a.CreatedAt), UpdatedAt: Time(a.UpdatedAt)})
}

// DecodeAppointment reads the record kept under id.
func DecodeAppointment(id string, doc []byte) (store.Appointment, error) {
	var d appointmentDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Appointment{}, err
	}
	a := d.Appointment
	a.ID, a.CreatedAt, a.UpdatedAt = id, time.Time(d.CreatedAt), time.Time(d.UpdatedAt)
	return a, nil
}

type sessionDoc struct {
	store.Session
	ParticipantID string `json:"participant_id,omitempty"`
	WaitUntil     Time   `json:"wait_until,omitzero"`
	UpdatedAt     Time   `json:"updated_at"`
	ExpiresAt     Time   `json:"expires_at"`
}

// EncodeSession is the stored form of ss, kept under its participant's ID.
func EncodeSession(ss store.Session) ([]byte, error) {
	return json.Marshal(sessionDoc{Session: ss, WaitUntil: Time(ss.WaitUntil),
		UpdatedAt: Time(ss.UpdatedAt), ExpiresAt: Time(ss.ExpiresAt)})
}

// DecodeSession reads the session kept under pid.
func DecodeSession(pid string, doc []byte) (store.Session, error) {
	var d sessionDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Session{}, err
	}
	ss := d.Session
	ss.ParticipantID = pid
	ss.WaitUntil, ss.UpdatedAt, ss.ExpiresAt = time.Time(d.WaitUntil), time.Time(d.UpdatedAt), time.Time(d.ExpiresAt)
	return ss, nil
}
