// Package locales holds the words of every message, one go-i18n YAML file
// per language, embedded so that `waymark serve` runs with no files beside
// it. English (en.yaml) is the reference every other file is checked
// against.
package locales

import "embed"

// FS holds every <lang>.yaml file of this directory at its root.
//
//go:embed *.yaml
var FS embed.FS
