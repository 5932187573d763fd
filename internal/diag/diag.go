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
}

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
