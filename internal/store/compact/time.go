package compact

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Time is a time written as a JSON string of its Unix seconds, with
// the nanoseconds into that second as a fraction when there are any:
// "1772524800", "1772524800.25". That is ten bytes fewer than RFC 3339
// ("2026-03-03T08:00:00Z"), with or without a fraction. It is a string, not
// a number, so that a Lua script that decodes and encodes the record (as
// a double) leaves it exact. A time at an offset other than UTC's is
// written as RFC 3339, keeping its offset; either form is read.
type Time time.Time

func (t Time) IsZero() bool { return time.Time(t).IsZero() }

func (t Time) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if _, offset := tt.Zone(); offset != 0 {
		return tt.MarshalJSON()
	}
	b := append(make([]byte, 0, 24), '"')
	return append(t.append(b), '"'), nil
}

// append adds the Unix form of t to b.
func (t Time) append(b []byte) []byte {
	tt := time.Time(t)
	b = strconv.AppendInt(b, tt.Unix(), 10)
	if ns := tt.Nanosecond(); ns != 0 {
		frac := strconv.AppendInt(nil, int64(ns)+1e9, 10)[1:] // nine digits
		b = append(append(b, '.'), bytes.TrimRight(frac, "0")...)
	}
	return b
}

func (t *Time) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return errors.New("compact: a time is not a string")
	}
	return t.UnmarshalText(raw[1 : len(raw)-1])
}

// UnmarshalText reads a time's string without its quotes, as a reader of
// JSON that does without reflection has it.
func (t *Time) UnmarshalText(s []byte) error {
	if bytes.IndexByte(s, 'T') >= 0 { // RFC 3339, as written before or at an offset
		var tt time.Time
		err := tt.UnmarshalText(s)
		*t = Time(tt)
		return err
	}
	whole, frac, dot := bytes.Cut(s, []byte("."))
	sec, err := strconv.ParseInt(string(whole), 10, 64)
	if err != nil {
		return errors.New("compact: a time is neither Unix seconds nor RFC 3339")
	}
	var ns int64
	if dot {
		if len(frac) == 0 || len(frac) > 9 {
			return errors.New("compact: a time has no decimals after its point, or more than nine")
		}
		for _, c := range frac {
			if c < '0' || c > '9' {
				return errors.New("compact: a time's fraction is not digits")
			}
			ns = ns*10 + int64(c-'0')
		}
		for range 9 - len(frac) {
			ns *= 10
		}
	}
	*t = Time(time.Unix(sec, ns).UTC())
	return nil
}
