// Package compact encodes the records a person's state is made of (their
// participant record, links, appointments and session) as both stores
// keep them: JSON without what the record's key already says (the
// participant's ID, the link's blind index, the appointment's ID, the
// session's participant), without flags that are almost always false when
// they are false, with times as Unix seconds, and with names of one to
// three letters. That is about a third of each record. The decoders put
// the ID back from the key, and read records of every earlier form (the
// ID, RFC 3339 times, long names) to the same values.
//
// Each doc type embeds the store's type and shadows the fields it writes
// differently (encoding/json prefers the shallower of two fields of a
// name), so that a field added to the store's type is kept, under its
// long name, without a change here; a test fills every field by
// reflection to hold that. Each shadowed name also has a read-only field
// of its long name ("Was..."), left zero when writing, so that a record
// of the form before is read in the same pass. The Redis store's Lua
// scripts read a participant's rev, cw (its caseworker) and child, a
// link's p (its participant), unreachable and reason, and an
// appointment's p, and write a link's ls (last seen), unreachable and
// reason; they read the long names too, as records written before hold
// them. rev, child, unreachable and reason keep their long names: the
// last three are written only when set, and turn.lua finds rev at the
// record's start.
package compact

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

type participantDoc struct {
	store.Participant
	ID             string                  `json:"id,omitempty"`
	Label          string                  `json:"lb,omitempty"`
	Language       string                  `json:"lg,omitempty"`
	TimeZone       string                  `json:"tz,omitempty"`
	CaseworkerID   string                  `json:"cw,omitempty"`
	Status         store.ParticipantStatus `json:"st,omitempty"`
	OptedOut       bool                    `json:"oo,omitempty"`
	OptedOutAt     Time                    `json:"ooa,omitzero"`
	ExitedAt       Time                    `json:"xa,omitzero"`
	LastLink       string                  `json:"ll,omitempty"`
	CreatedAt      Time                    `json:"ca,omitzero"`
	UpdatedAt      Time                    `json:"ua,omitzero"`
	Schedule       *scheduleDoc            `json:"sc,omitempty"`
	ConsentedAt    Time                    `json:"co,omitzero"`
	ConsentVersion string                  `json:"cv,omitempty"`
	ConsentAskedAt Time                    `json:"cq,omitzero"`
	ConsentAsks    int                     `json:"cn,omitempty"`
	SMSAgreedAt    Time                    `json:"sa,omitzero"`
	Pauses         []pauseDoc              `json:"ps,omitempty"`
	VoicePIN       string                  `json:"vp,omitempty"`
	TextsWindow    string                  `json:"tw,omitempty"`
	TextsInWindow  int                     `json:"tn,omitempty"`

	// Read only: the long names, as records written before have them.
	// Encoding leaves them zero, so they are never written.
	WasLabel          string                  `json:"label,omitempty"`
	WasLanguage       string                  `json:"language,omitempty"`
	WasTimeZone       string                  `json:"time_zone,omitempty"`
	WasCaseworkerID   string                  `json:"caseworker_id,omitempty"`
	WasStatus         store.ParticipantStatus `json:"status,omitempty"`
	WasOptedOut       bool                    `json:"opted_out,omitempty"`
	WasOptedOutAt     Time                    `json:"opted_out_at,omitzero"`
	WasExitedAt       Time                    `json:"exited_at,omitzero"`
	WasLastLink       string                  `json:"last_link,omitempty"`
	WasCreatedAt      Time                    `json:"created_at,omitzero"`
	WasUpdatedAt      Time                    `json:"updated_at,omitzero"`
	WasSchedule       *store.CheckInSchedule  `json:"schedule,omitempty"`
	WasConsentedAt    Time                    `json:"consented_at,omitzero"`
	WasConsentVersion string                  `json:"consent_version,omitempty"`
	WasConsentAskedAt Time                    `json:"consent_asked_at,omitzero"`
	WasConsentAsks    int                     `json:"consent_asks,omitempty"`
	WasSMSAgreedAt    Time                    `json:"sms_agreed_at,omitzero"`
	WasPauses         []store.Pause           `json:"pauses,omitempty"`
	WasVoicePIN       string                  `json:"voice_pin,omitempty"`
	WasTextsWindow    string                  `json:"texts_window,omitempty"`
	WasTextsInWindow  int                     `json:"texts_in_window,omitempty"`
}

// EncodeParticipant is the stored form of p, kept under its ID.
func EncodeParticipant(p store.Participant) ([]byte, error) {
	return json.Marshal(participantDoc{Participant: p,
		Label: p.Label, Language: p.Language, TimeZone: p.TimeZone, CaseworkerID: p.CaseworkerID, Status: p.Status,
		OptedOut: p.OptedOut, OptedOutAt: Time(p.OptedOutAt), ExitedAt: Time(p.ExitedAt),
		LastLink: p.LastLink, CreatedAt: Time(p.CreatedAt), UpdatedAt: Time(p.UpdatedAt),
		Schedule:    encodeSchedule(p.Schedule),
		ConsentedAt: Time(p.ConsentedAt), ConsentVersion: p.ConsentVersion,
		ConsentAskedAt: Time(p.ConsentAskedAt), ConsentAsks: p.ConsentAsks,
		SMSAgreedAt: Time(p.SMSAgreedAt), Pauses: encodePauses(p.Pauses), VoicePIN: p.VoicePIN,
		TextsWindow: p.TextsWindow, TextsInWindow: p.TextsInWindow})
}

// DecodeParticipant reads the record kept under id.
func DecodeParticipant(id string, doc []byte) (store.Participant, error) {
	var d participantDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Participant{}, err
	}
	p := d.Participant
	p.ID = id
	p.Label, p.Language = cmp.Or(d.Label, d.WasLabel), cmp.Or(d.Language, d.WasLanguage)
	p.TimeZone, p.Status = cmp.Or(d.TimeZone, d.WasTimeZone), cmp.Or(d.Status, d.WasStatus)
	p.CaseworkerID = cmp.Or(d.CaseworkerID, d.WasCaseworkerID)
	p.OptedOut, p.OptedOutAt = d.OptedOut || d.WasOptedOut, either(d.OptedOutAt, d.WasOptedOutAt)
	p.ExitedAt, p.LastLink = either(d.ExitedAt, d.WasExitedAt), cmp.Or(d.LastLink, d.WasLastLink)
	p.CreatedAt, p.UpdatedAt = either(d.CreatedAt, d.WasCreatedAt), either(d.UpdatedAt, d.WasUpdatedAt)
	p.Schedule = d.WasSchedule
	if d.Schedule != nil {
		p.Schedule = d.Schedule.decode()
	}
	p.ConsentedAt, p.ConsentVersion = either(d.ConsentedAt, d.WasConsentedAt), cmp.Or(d.ConsentVersion, d.WasConsentVersion)
	p.ConsentAskedAt, p.ConsentAsks = either(d.ConsentAskedAt, d.WasConsentAskedAt), cmp.Or(d.ConsentAsks, d.WasConsentAsks)
	p.SMSAgreedAt, p.VoicePIN = either(d.SMSAgreedAt, d.WasSMSAgreedAt), cmp.Or(d.VoicePIN, d.WasVoicePIN)
	p.Pauses = d.WasPauses
	if d.Pauses != nil {
		p.Pauses = decodePauses(d.Pauses)
	}
	p.TextsWindow, p.TextsInWindow = cmp.Or(d.TextsWindow, d.WasTextsWindow), cmp.Or(d.TextsInWindow, d.WasTextsInWindow)
	return p, nil
}

// either is the time written under the short name, or else the one under
// the long name.
func either(short, long Time) time.Time {
	if !short.IsZero() {
		return time.Time(short)
	}
	return time.Time(long)
}

type scheduleDoc struct {
	From   string      `json:"f,omitempty"`
	Weekly []weeklyDoc `json:"w,omitempty"`
	Every  *everyDoc   `json:"e,omitempty"`
}

type weeklyDoc struct {
	OpenDay   string `json:"od"`
	OpenTime  string `json:"ot"`
	CloseDay  string `json:"cd"`
	CloseTime string `json:"ct"`
}

type everyDoc struct {
	Days     int    `json:"d"`
	OpenTime string `json:"o"`
	Length   string `json:"l"`
}

func encodeSchedule(s *store.CheckInSchedule) *scheduleDoc {
	if s == nil {
		return nil
	}
	d := &scheduleDoc{From: s.From}
	for _, w := range s.Weekly {
		d.Weekly = append(d.Weekly, weeklyDoc(w))
	}
	if s.Every != nil {
		e := everyDoc(*s.Every)
		d.Every = &e
	}
	return d
}

func (d *scheduleDoc) decode() *store.CheckInSchedule {
	s := &store.CheckInSchedule{From: d.From}
	for _, w := range d.Weekly {
		s.Weekly = append(s.Weekly, store.WeeklyWindow(w))
	}
	if d.Every != nil {
		e := store.EveryDays(*d.Every)
		s.Every = &e
	}
	return s
}

type pauseDoc struct {
	From  Time `json:"f"`
	Until Time `json:"u,omitzero"`
}

func encodePauses(ps []store.Pause) []pauseDoc {
	if ps == nil {
		return nil
	}
	out := make([]pauseDoc, len(ps))
	for i, p := range ps {
		out[i] = pauseDoc{From: Time(p.From), Until: Time(p.Until)}
	}
	return out
}

func decodePauses(ds []pauseDoc) []store.Pause {
	out := make([]store.Pause, len(ds))
	for i, d := range ds {
		out[i] = store.Pause{From: time.Time(d.From), Until: time.Time(d.Until)}
	}
	return out
}

type linkDoc struct {
	store.Link
	Index         string        `json:"index,omitempty"`
	Channel       store.Channel `json:"c,omitempty"`
	ParticipantID string        `json:"p,omitempty"`
	Sealed        sealed        `json:"s,omitempty"`
	Masked        string        `json:"m,omitempty"`
	Unreachable   bool          `json:"unreachable,omitempty"`
	LinkedAt      Time          `json:"la,omitzero"`
	LastSeenAt    Time          `json:"ls,omitzero"`

	// Read only, as in participantDoc.
	WasChannel       store.Channel `json:"channel,omitempty"`
	WasParticipantID string        `json:"participant_id,omitempty"`
	WasSealed        []byte        `json:"sealed,omitempty"`
	WasMasked        string        `json:"masked,omitempty"`
	WasLinkedAt      Time          `json:"linked_at,omitzero"`
	WasLastSeenAt    Time          `json:"last_seen_at,omitzero"`
}

// sealed is a sealed phone number, written in base64 without the padding
// that carries nothing; it reads padded base64 too, as json.Marshal wrote
// a []byte before.
type sealed []byte

func (b sealed) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, base64.RawStdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.RawStdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

func (b *sealed) UnmarshalJSON(raw []byte) error {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return err
	}
	out, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return err
	}
	*b = out
	return nil
}

// EncodeLink is the stored form of l, kept under its index.
func EncodeLink(l store.Link) ([]byte, error) {
	return json.Marshal(linkDoc{Link: l, Channel: l.Channel, ParticipantID: l.ParticipantID, Sealed: l.Sealed, Masked: l.Masked,
		Unreachable: l.Unreachable, LinkedAt: Time(l.LinkedAt), LastSeenAt: Time(l.LastSeenAt)})
}

// DecodeLink reads the record kept under index.
func DecodeLink(index string, doc []byte) (store.Link, error) {
	var d linkDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Link{}, err
	}
	l := d.Link
	l.Index, l.Unreachable = index, d.Unreachable
	l.Channel, l.Masked = cmp.Or(d.Channel, d.WasChannel), cmp.Or(d.Masked, d.WasMasked)
	l.ParticipantID = cmp.Or(d.ParticipantID, d.WasParticipantID)
	l.Sealed = d.Sealed
	if l.Sealed == nil {
		l.Sealed = d.WasSealed
	}
	l.LinkedAt, l.LastSeenAt = either(d.LinkedAt, d.WasLinkedAt), either(d.LastSeenAt, d.WasLastSeenAt)
	return l, nil
}

// TimeText is t as a Time writes it, without the quotes: for a time a
// store sets alone (a link's last seen time, by a Lua script) or keeps in a
// string of its own (a window item's closing).
func TimeText(t time.Time) string {
	raw, err := Time(t).MarshalJSON()
	if err != nil { // a year RFC 3339 cannot write, at an offset
		return string(Time(t).append(nil))
	}
	return string(raw[1 : len(raw)-1])
}

// ParseTimeText reads what TimeText writes, or RFC 3339.
func ParseTimeText(s string) (time.Time, error) {
	var t Time
	err := t.UnmarshalText([]byte(s))
	return time.Time(t), err
}

type appointmentDoc struct {
	store.Appointment
	ID            string                  `json:"id,omitempty"`
	ParticipantID string                  `json:"p,omitempty"`
	Kind          string                  `json:"k,omitempty"`
	Place         string                  `json:"pl,omitempty"`
	Date          string                  `json:"d,omitempty"`
	Time          string                  `json:"tm,omitempty"`
	Status        store.AppointmentStatus `json:"st,omitempty"`
	CreatedAt     Time                    `json:"ca,omitzero"`
	UpdatedAt     Time                    `json:"ua,omitzero"`

	// Read only, as in participantDoc.
	WasParticipantID string                  `json:"participant_id,omitempty"`
	WasKind          string                  `json:"kind,omitempty"`
	WasPlace         string                  `json:"place,omitempty"`
	WasDate          string                  `json:"date,omitempty"`
	WasTime          string                  `json:"time,omitempty"`
	WasStatus        store.AppointmentStatus `json:"status,omitempty"`
	WasCreatedAt     Time                    `json:"created_at,omitzero"`
	WasUpdatedAt     Time                    `json:"updated_at,omitzero"`
}

// EncodeAppointment is the stored form of a, kept under its ID.
func EncodeAppointment(a store.Appointment) ([]byte, error) {
	return json.Marshal(appointmentDoc{Appointment: a, ParticipantID: a.ParticipantID, Kind: a.Kind, Place: a.Place, Date: a.Date, Time: a.Time,
		Status: a.Status, CreatedAt: Time(a.CreatedAt), UpdatedAt: Time(a.UpdatedAt)})
}

// DecodeAppointment reads the record kept under id.
func DecodeAppointment(id string, doc []byte) (store.Appointment, error) {
	var d appointmentDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Appointment{}, err
	}
	a := d.Appointment
	a.ID, a.Kind, a.Place = id, cmp.Or(d.Kind, d.WasKind), cmp.Or(d.Place, d.WasPlace)
	a.ParticipantID = cmp.Or(d.ParticipantID, d.WasParticipantID)
	a.Date, a.Time, a.Status = cmp.Or(d.Date, d.WasDate), cmp.Or(d.Time, d.WasTime), cmp.Or(d.Status, d.WasStatus)
	a.CreatedAt, a.UpdatedAt = either(d.CreatedAt, d.WasCreatedAt), either(d.UpdatedAt, d.WasUpdatedAt)
	return a, nil
}

type sessionDoc struct {
	store.Session
	ParticipantID string            `json:"participant_id,omitempty"`
	Flow          string            `json:"f,omitempty"`
	Node          string            `json:"n,omitempty"`
	Vars          map[string]string `json:"v,omitempty"`
	WaitUntil     Time              `json:"wu,omitzero"`
	UpdatedAt     Time              `json:"ua,omitzero"`
	ExpiresAt     Time              `json:"ex,omitzero"`

	// Read only, as in participantDoc.
	WasFlow      string            `json:"flow,omitempty"`
	WasNode      string            `json:"node,omitempty"`
	WasVars      map[string]string `json:"vars,omitempty"`
	WasWaitUntil Time              `json:"wait_until,omitzero"`
	WasUpdatedAt Time              `json:"updated_at,omitzero"`
	WasExpiresAt Time              `json:"expires_at,omitzero"`
}

// EncodeSession is the stored form of ss, kept under its participant's ID.
func EncodeSession(ss store.Session) ([]byte, error) {
	return json.Marshal(sessionDoc{Session: ss, Flow: ss.Flow, Node: ss.Node, Vars: ss.Vars,
		WaitUntil: Time(ss.WaitUntil), UpdatedAt: Time(ss.UpdatedAt), ExpiresAt: Time(ss.ExpiresAt)})
}

// DecodeSession reads the session kept under pid.
func DecodeSession(pid string, doc []byte) (store.Session, error) {
	var d sessionDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return store.Session{}, err
	}
	ss := d.Session
	ss.ParticipantID = pid
	ss.Flow, ss.Node = cmp.Or(d.Flow, d.WasFlow), cmp.Or(d.Node, d.WasNode)
	ss.Vars = d.Vars
	if ss.Vars == nil {
		ss.Vars = d.WasVars
	}
	ss.WaitUntil, ss.UpdatedAt = either(d.WaitUntil, d.WasWaitUntil), either(d.UpdatedAt, d.WasUpdatedAt)
	ss.ExpiresAt = either(d.ExpiresAt, d.WasExpiresAt)
	return ss, nil
}
