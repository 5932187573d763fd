package compact

import (
	"errors"
	"strconv"
	"strings"
)

// A due item's reference most often begins its ID: a window's items are
// "win:<person>:<opening>:open" and the like, about "win:<person>:<opening>".
// Such a reference is written as its length, in a string as the records'
// other members are, instead of its text: some 30 bytes an item.

// RefLen is what a due record writes of ref, the reference of item id:
// ref itself, or its length when ref begins id ("" when it does not).
func RefLen(id, ref string) (text, n string) {
	if ref != "" && len(ref) < len(id) && strings.HasPrefix(id, ref) {
		return "", strconv.Itoa(len(ref))
	}
	return ref, ""
}

// Ref reads back what RefLen wrote for item id.
func Ref(id, text, n string) (string, error) {
	if n == "" {
		return text, nil
	}
	l, err := strconv.Atoi(n)
	if err != nil || text != "" || l <= 0 || l >= len(id) || strconv.Itoa(l) != n {
		return "", errors.New("compact: a reference's length does not fit its item's ID")
	}
	return id[:l], nil
}
