package telegram

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessageUnits is the longest text one sendMessage takes. Telegram
// counts it in UTF-16 code units, so an emoji outside the Basic
// Multilingual Plane counts twice.
const MaxMessageUnits = 4096

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// splitText cuts text into parts of at most limit UTF-16 units, at the last
// line break that fits, else at the last space, else (one very long word)
// between two characters. The whitespace at a cut is dropped; nothing else
// is. A text that fits is returned whole.
func splitText(text string, limit int) []string {
	if utf16Len(text) <= limit {
		return []string{text}
	}
	var parts []string
	rest := text
	for utf16Len(rest) > limit {
		// end is the byte offset of the longest prefix within limit.
		end, units := 0, 0
		lastLine, lastSpace := -1, -1
		for i, r := range rest {
			if units+runeUnits(r) > limit {
				break
			}
			units += runeUnits(r)
			end = i + utf8.RuneLen(r)
			switch {
			case r == '\n':
				lastLine = i
			case unicode.IsSpace(r):
				lastSpace = i
			}
		}
		if end == 0 { // a limit below one character: never loop forever
			_, end = utf8.DecodeRuneInString(rest)
		}
		cut := end
		switch {
		case lastLine > 0:
			cut = lastLine
		case lastSpace > 0:
			cut = lastSpace
		}
		part := strings.TrimRightFunc(rest[:cut], unicode.IsSpace)
		if part == "" { // only whitespace before the cut: take the prefix as it is
			part, cut = rest[:end], end
		}
		parts = append(parts, part)
		rest = strings.TrimLeftFunc(rest[cut:], unicode.IsSpace)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return parts
}
