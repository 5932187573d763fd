package compact

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// unixTime is a time written as a JSON string of its Unix seconds, with
// the nanoseconds into that second as a fraction when there are any:
// "1772524800", "1772524800.25". That is ten bytes fewer than RFC 3339
// ("2026-03-03T08:00:00Z"), with or without a fraction. It is a string, not
// a number, so that a Lua script that decodes and encodes the record (as
// a double) leaves it exact. A time at an offset other than UTC's is
// written as RFC 3339, keeping its offset; either form is read.
type unixTime time.Time

func (t unixTime) IsZero() bool { return time.Time(t).IsZero() }

func (t unixTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if _, offset := tt.Zone(); offset != 0 {
		return tt.MarshalJSON()
	}
	b := append(make([]byte, 0, 24), '"')
	return append(t.append(b), '"'), nil
}

// append adds the Unix form of t to b.
func (t unixTime) append(b []byte) []byte {
	tt := time.Time(t)
	b = strconv.AppendInt(b, tt.Unix(), 10)
	if ns := tt.Nanosecond(); ns != 0 {
		frac := strconv.AppendInt(nil, int64(ns)+1e9, 10)[1:] // nine digits
		b = append(append(b, '.'), bytes.TrimRight(frac, "0")...)
	}
	return b
}

func (t *unixTime) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return errors.New("compact: a time is not a string")
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, 'T') >= 0 { // RFC 3339, as written before or at an offset
		var tt time.Time
		err := tt.UnmarshalJSON(raw)
		*t = unixTime(tt)
		return err
	}
	whole, frac, _ := bytes.Cut(s, []byte("."))
	sec, err := strconv.ParseInt(string(whole), 10, 64)
	if err != nil {
		return errors.New("compact: a time is neither Unix seconds nor RFC 3339")
	}
	var ns int64
	if len(frac) > 0 {
		if len(frac) > 9 {
			return errors.New("compact: a time has more than nine decimals")
		}
		padded := append(append([]byte{}, frac...), bytes.Repeat([]byte("0"), 9-len(frac))...)
		if ns, err = strconv.ParseInt(string(padded), 10, 64); err != nil || ns < 0 {
			return errors.New("compact: a time's fraction is not digits")
		}
	}
	*t = unixTime(time.Unix(sec, ns).UTC())
	return nil
}
