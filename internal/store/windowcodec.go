package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeKey encodes t as 21 digits that sort as the instants do: seconds
// since 0001-01-01 UTC (12 digits) then nanoseconds (9 digits). Instants
// outside years 1-9999 are clamped. Backends use it where text must sort
// by time (Redis lex ranges, the short form of a window).
func TimeKey(t time.Time) string {
	const maxSec = 999999999999
	sec, nsec := t.Unix()+toYear1, t.Nanosecond()
	switch {
	case sec < 0:
		sec, nsec = 0, 0
	case sec > maxSec:
		sec, nsec = maxSec, 999999999
	}
	return fmt.Sprintf("%012d%09d", sec, nsec)
}

// TimeKeyLen is the length of a TimeKey.
const TimeKeyLen = 21

const toYear1 = 62135596800 // seconds from 0001-01-01 to 1970-01-01

// ParseTimeKey reads the instant at the start of s, in UTC.
func ParseTimeKey(s string) (time.Time, bool) {
	if len(s) < TimeKeyLen {
		return time.Time{}, false
	}
	sec, err1 := strconv.ParseInt(s[:12], 10, 64)
	nsec, err2 := strconv.ParseInt(s[12:TimeKeyLen], 10, 64)
	if err1 != nil || err2 != nil || sec < 0 || nsec < 0 {
		return time.Time{}, false
	}
	return time.Unix(sec-toYear1, nsec).UTC(), true
}

// A window of the ledger is kept by both backends in a short form, since
// every participant has one a window for as long as check-ins are kept: as
// JSON a year of daily windows took 170 KB a person in Redis, and reading
// a year of a programme's windows spent half its time decoding JSON.
//
//	<TimeKey of OpensAt>|<":" and the ref after "win:<participant>:",
//	or "=" and the whole ref>|<ClosesAt - OpensAt>|<GraceEndsAt - ClosesAt>
//	|<outcome>|<DecidedAt - OpensAt>|<CheckInID>|<AttentionID>
//	|<ReportedUnableAt - OpensAt>|<ExcusedAt - OpensAt>|<ExcusedBy>
//	|<UpdatedAt - OpensAt>|<Texts, base 36, empty for none>
//
// Durations are nanoseconds in base 36, empty for a zero time; text has
// "%" and "|" escaped. It sorts by opening. Times come back in UTC. A field
// added to Window must be added here too (the contract suite's round trip
// fails until it is). Records written before Texts was counted have one
// field fewer and read as no texts.

var (
	fieldEscaper   = strings.NewReplacer("%", "%25", "|", "%7C")
	fieldUnescaper = strings.NewReplacer("%7C", "|", "%25", "%")
)

const windowFields = 13

// EncodeWindow writes w in the short form.
func EncodeWindow(w Window) string {
	since := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(int64(t.Sub(w.OpensAt)), 36)
	}
	ref := "=" + w.Ref // as it is
	if tail, ok := strings.CutPrefix(w.Ref, "win:"+w.ParticipantID+":"); ok {
		ref = ":" + tail // the participant's prefix cut
	}
	return strings.Join([]string{
		TimeKey(w.OpensAt), fieldEscaper.Replace(ref),
		since(w.ClosesAt), strconv.FormatInt(int64(w.GraceEndsAt.Sub(w.ClosesAt)), 36), fieldEscaper.Replace(string(w.Outcome)),
		since(w.DecidedAt), fieldEscaper.Replace(w.CheckInID), fieldEscaper.Replace(w.AttentionID),
		since(w.ReportedUnableAt), since(w.ExcusedAt), fieldEscaper.Replace(w.ExcusedBy),
		since(w.UpdatedAt), countField(w.Texts),
	}, "|")
}

// countField writes n in base 36, empty for zero.
func countField(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(int64(n), 36)
}

// WindowPrefix is what the short form of every window opening at opens
// starts with.
func WindowPrefix(opens time.Time) string { return TimeKey(opens) + "|" }

// DecodeWindow reads the short form of a window of participant pid.
func DecodeWindow(pid, s string) (Window, error) {
	f := strings.Split(s, "|")
	opens, ok := ParseTimeKey(f[0])
	if len(f) == windowFields-1 {
		f = append(f, "") // written before Texts was counted
	}
	if !ok || len(f) != windowFields {
		return Window{}, errors.New("unreadable window")
	}
	var bad error
	dur := func(s string) time.Duration {
		n, err := strconv.ParseInt(s, 36, 64)
		bad = errors.Join(bad, err)
		return time.Duration(n)
	}
	at := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		return opens.Add(dur(s))
	}
	text := fieldUnescaper.Replace
	ref := text(f[1])
	switch {
	case strings.HasPrefix(ref, ":"):
		ref = "win:" + pid + ref
	case strings.HasPrefix(ref, "="):
		ref = ref[1:]
	default:
		return Window{}, errors.New("unreadable window ref")
	}
	closes := at(f[2])
	w := Window{
		Ref: ref, ParticipantID: pid, OpensAt: opens, ClosesAt: closes, GraceEndsAt: closes.Add(dur(f[3])),
		Outcome: WindowOutcome(text(f[4])), DecidedAt: at(f[5]), CheckInID: text(f[6]), AttentionID: text(f[7]),
		ReportedUnableAt: at(f[8]), ExcusedAt: at(f[9]), ExcusedBy: text(f[10]), UpdatedAt: at(f[11]),
	}
	if f[12] != "" {
		w.Texts = int(dur(f[12]))
	}
	if bad != nil {
		return Window{}, fmt.Errorf("unreadable window: %w", bad)
	}
	return w, nil
}
