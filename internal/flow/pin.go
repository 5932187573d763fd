package flow

import "strings"

// PINKeyword is the message whose words (keyword.pin) begin a text that
// sets the PIN of the telephone menu: "PIN 4821".
const PINKeyword = "keyword.pin"

// The length a PIN may have: enough that three tries a day guess it
// once in thousands of days, few enough to remember.
const (
	MinPIN = 4
	MaxPIN = 8
)

// PINCommand reads text as the setting of a PIN: one of the keyword.pin
// words of any of langs, then the PIN (digits of any script, spaces
// between them allowed). ok is false when the text does not start with
// the keyword; pin is "" when what follows is not MinPIN to MaxPIN digits.
func PINCommand(text string, words Words, langs []string) (pin string, ok bool) {
	norm, fine := normalize(text)
	if !fine || norm == "" {
		return "", false
	}
	for _, lang := range langs {
		for _, w := range words.Words(lang, PINKeyword) {
			nw := normalizedWord(w)
			rest, found := strings.CutPrefix(norm, nw)
			if !found || rest != "" && rest[0] != ' ' {
				continue
			}
			digits := strings.ReplaceAll(rest, " ", "")
			if len(digits) < MinPIN || len(digits) > MaxPIN || strings.Trim(digits, "0123456789") != "" {
				return "", true
			}
			return digits, true
		}
	}
	return "", false
}
