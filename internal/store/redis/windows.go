package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/waymark-atd/waymark/internal/store"
)

// A participant's windows are one sorted set in their slot, each window
// whole in one member (windowMember), ordered by opening; turns write them
// (turn.lua), replacing the member of the same opening. A person has a few
// hundred at most, so GetWindow reads the set and finds the ref.

func (s *Store) WindowsOf(ctx context.Context, participantID string, since time.Time) ([]store.Window, error) {
	op := "windows of " + participantID
	members, err := s.rdb.ZRangeByLex(ctx, s.k.windows(participantID), &goredis.ZRangeBy{Min: "[" + timeKey(since), Max: "+"}).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.Window, 0, len(members))
	for _, m := range members {
		w, err := parseWindow(participantID, m)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b store.Window) int { return a.OpensAt.Compare(b.OpensAt) })
	return out, nil
}

func (s *Store) GetWindow(ctx context.Context, participantID, ref string) (store.Window, error) {
	all, err := s.WindowsOf(ctx, participantID, time.Time{})
	if err != nil {
		return store.Window{}, err
	}
	for _, w := range all {
		if w.Ref == ref {
			return w, nil
		}
	}
	return store.Window{}, fmt.Errorf("redis: window %s: %w", ref, store.ErrNotFound)
}

// PurgeWindows deletes the windows that closed before before: only
// windows that opened before it can have, so each participant's set is
// read up to there, a batch of participants per round trip.
func (s *Store) PurgeWindows(ctx context.Context, before time.Time) (int, error) {
	const op = "purge windows"
	pids, err := s.participantIDs(ctx)
	if err != nil {
		return 0, s.fail(op, err)
	}
	total := 0
	err = inBatches(pids, func(batch []string) error {
		reads := make([]*goredis.StringSliceCmd, len(batch))
		if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				reads[i] = p.ZRangeByLex(ctx, s.k.windows(pid), &goredis.ZRangeBy{Min: "-", Max: "(" + timeKey(before)})
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, pid := range batch {
				var doomed []any
				for _, m := range reads[i].Val() {
					w, err := parseWindow(pid, m)
					if err != nil {
						return err
					}
					if w.ClosesAt.Before(before) {
						doomed = append(doomed, m)
					}
				}
				if len(doomed) > 0 {
					p.ZRem(ctx, s.k.windows(pid), doomed...)
					total += len(doomed)
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return total, s.fail(op, err)
	}
	return total, nil
}

// A window is kept whole as one member of its participant's set, in a
// short form, since every participant has one a window for as long as
// check-ins are kept (a year of daily windows as JSON in a hash took 170
// KB a person; this form 74 KB):
//
//	<time key of OpensAt>|<":" and the ref after "win:<participant>:",
//	or "=" and the whole ref>
//	|<ClosesAt - OpensAt>|<GraceEndsAt - ClosesAt>|<outcome>
//	|<DecidedAt - OpensAt>|<CheckInID>|<AttentionID>
//	|<ReportedUnableAt - OpensAt>|<ExcusedAt - OpensAt>|<ExcusedBy>
//	|<UpdatedAt - OpensAt>
//
// Durations are nanoseconds in base 36, empty for a zero time; text is
// escaped as in check-ins. Times come back in UTC. A field added to
// store.Window must be added here too (the contract suite's round trip
// fails until it is).
func windowMember(w store.Window) string {
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
	fields := []string{
		timeKey(w.OpensAt), memberEscaper.Replace(ref),
		since(w.ClosesAt), strconv.FormatInt(int64(w.GraceEndsAt.Sub(w.ClosesAt)), 36), memberEscaper.Replace(string(w.Outcome)),
		since(w.DecidedAt), memberEscaper.Replace(w.CheckInID), memberEscaper.Replace(w.AttentionID),
		since(w.ReportedUnableAt), since(w.ExcusedAt), memberEscaper.Replace(w.ExcusedBy),
		since(w.UpdatedAt),
	}
	return strings.Join(fields, "|")
}

// windowPrefix is what every member of the window opening at opens starts
// with: turn.lua removes the members with it before adding the new one.
func windowPrefix(opens time.Time) string { return timeKey(opens) + "|" }

const windowFields = 12

func parseWindow(pid, m string) (store.Window, error) {
	f := strings.Split(m, "|")
	opens, ok := parseTimeKey(f[0])
	if !ok || len(f) != windowFields {
		return store.Window{}, errors.New("unreadable window")
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
	text := memberUnescaper.Replace
	ref := text(f[1])
	switch {
	case strings.HasPrefix(ref, ":"):
		ref = "win:" + pid + ref
	case strings.HasPrefix(ref, "="):
		ref = ref[1:]
	default:
		return store.Window{}, errors.New("unreadable window ref")
	}
	closes := at(f[2])
	w := store.Window{
		Ref: ref, ParticipantID: pid, OpensAt: opens, ClosesAt: closes, GraceEndsAt: closes.Add(dur(f[3])),
		Outcome: store.WindowOutcome(text(f[4])), DecidedAt: at(f[5]), CheckInID: text(f[6]), AttentionID: text(f[7]),
		ReportedUnableAt: at(f[8]), ExcusedAt: at(f[9]), ExcusedBy: text(f[10]), UpdatedAt: at(f[11]),
	}
	if bad != nil {
		return store.Window{}, fmt.Errorf("unreadable window: %w", bad)
	}
	return w, nil
}

// AttentionOf reads the participant's items from their slot.
func (s *Store) AttentionOf(ctx context.Context, participantID string) ([]store.AttentionItem, error) {
	op := "attention of " + participantID
	all, err := s.rdb.HGetAll(ctx, s.k.attention(participantID)).Result()
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make([]store.AttentionItem, 0, len(all))
	for _, doc := range all {
		var a store.AttentionItem
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.AttentionItem) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
