package store

import (
	"slices"
	"strings"
	"time"
)

// Page cursors. A cursor names the last record of the page before, so a
// page starts where the last one ended whatever was added or removed
// meanwhile: the same record is never shown twice nor skipped. Cursors
// are plain text; the API hands them on unchanged and they are not
// secret (they hold only IDs and times a caller could list).

// TimeCursor is the cursor after a record of a newest-first list ordered
// by time and then ID.
func TimeCursor(t time.Time, id string) string { return TimeKey(t) + "|" + id }

// ParseTimeCursor reads a TimeCursor; ErrBadCursor if c is not one.
func ParseTimeCursor(c string) (time.Time, string, error) {
	at, ok := ParseTimeKey(c)
	if !ok || len(c) < TimeKeyLen+2 || c[TimeKeyLen] != '|' || TimeKey(at) != c[:TimeKeyLen] {
		return time.Time{}, "", ErrBadCursor
	}
	id := c[TimeKeyLen+1:]
	if strings.ContainsAny(id, "|\x00") {
		return time.Time{}, "", ErrBadCursor
	}
	return at, id, nil
}

// CheckIDCursor checks the cursor of a list ordered by ID (the ID itself):
// ErrBadCursor if it cannot be an ID.
func CheckIDCursor(c string) error {
	if len(c) > 200 || strings.ContainsAny(c, "|\x00\n") {
		return ErrBadCursor
	}
	return nil
}

// After reports whether the record at (t, id) comes after the cursor's
// record in a newest-first list, i.e. belongs on a later page.
func After(t time.Time, id string, ct time.Time, cid string) bool {
	if c := t.Compare(ct); c != 0 {
		return c < 0
	}
	return id < cid
}

// SortNewestFirst orders attention items as the queue lists them: by
// CreatedAt, then ID, both descending.
func SortNewestFirst(items []AttentionItem) {
	slices.SortFunc(items, func(a, b AttentionItem) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}
