// Package diag holds the problems that validation of flows, the programme
// and locales reports, each pointing at a file and line.
package diag

import "fmt"

// Problem is one finding of validation.
type Problem struct {
	File    string
	Line    int // 0 when the problem concerns the whole file
	Message string
	Warning bool // a warning does not fail `waymark check`
	// Key names the fact behind the problem where two checks find the same
	// one (a message missing in a language: its locale file lacks it and
	// each flow that names it), so that `waymark check` reports it once.
	Key string
}

// MissingKey is the Key of "message id is missing in lang".
func MissingKey(lang, id string) string { return "missing " + lang + " " + id }

func (p Problem) String() string {
	kind := "error"
	if p.Warning {
		kind = "warning"
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, kind, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, kind, p.Message)
}

// Errors returns the problems that are not warnings.
func Errors(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}
