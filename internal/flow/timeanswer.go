package flow

import "strings"

// AcceptTime is the value of a choice's `accepts:` that lets a time of day
// ("8am", "8:30", "08h30", "a las 8") pick it. The appointment reminder's
// "I will be there" takes it: someone who answers with the time they will
// leave is going, and refusing that answer would cost them another text.
const AcceptTime = "time"

// TimeWords is the message holding, in each language, the words that may
// stand before or after a time in such an answer: "at", "a las", "vers",
// "о", "الساعة", "o'clock"… They make a bare hour a time ("at 8"), where "8"
// alone would be a choice number.
const TimeWords = "keyword.time"

// isTime reports whether text, normalized, is a time of day: a clock time
// ("8:30", "8.30", "08h30", "8h", "8am", "8 p.m"), or an hour with one of
// words around it ("a las 8", "8 heures"). A clock time may have words
// around it too ("at 8:30", "الساعة ٨"), and nothing else may: "2 weeks"
// is not a time.
func isTime(text string, words []string) bool {
	said := false
	// Each pass takes off the longest word at either end ("a las" before
	// "a"); a few passes are enough for "yes at 8 in the morning", and
	// the bound keeps a long text cheap.
	for range 4 {
		var front, back string
		for _, w := range words {
			if len(w) > len(front) && strings.HasPrefix(text, w+" ") {
				front = w
			}
			if len(w) > len(back) && strings.HasSuffix(text, " "+w) {
				back = w
			}
		}
		if front == "" && back == "" {
			break
		}
		if front != "" {
			text = text[len(front)+1:]
		}
		if back != "" && strings.HasSuffix(text, " "+back) {
			text = text[:len(text)-len(back)-1]
		}
		said = true
	}
	return clockTime(text, said)
}

// clockTime reads "H", "HH", each optionally followed by ":MM", ".MM",
// "hMM" or "h", and by am or pm. A bare hour counts only when a word
// around it said it is a time.
func clockTime(s string, said bool) bool {
	s, meridiem := cutMeridiem(s)
	n := 0
	for n < len(s) && n < 2 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return false
	}
	hour := atoi(s[:n])
	switch rest := s[n:]; {
	case rest == "":
		if !said && !meridiem {
			return false // "8" alone is a choice number, not a time
		}
	case rest == "h":
	case len(rest) == 3 && strings.ContainsRune(":.h", rune(rest[0])) && isDigits(rest[1:]):
		if atoi(rest[1:]) > 59 {
			return false
		}
	default:
		return false
	}
	if meridiem {
		return hour >= 1 && hour <= 12
	}
	return hour <= 23
}

// cutMeridiem takes "am" or "pm" (also written "a.m" or "a m") off the end
// of s, with or without a space before it.
func cutMeridiem(s string) (string, bool) {
	for _, m := range []string{"am", "pm", "a.m", "p.m", "a m", "p m"} {
		if rest, ok := strings.CutSuffix(s, m); ok && rest != "" {
			return strings.TrimSuffix(rest, " "), true
		}
	}
	return s, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// atoi reads a string of at most a few ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
