// Package flows holds the default conversation flows and programme.yaml,
// embedded so that `waymark serve` runs with no files beside it. An
// organisation edits copies of these files and points Waymark at them.
package flows

import "embed"

// FS holds every *.yaml file of this directory at its root.
//
//go:embed *.yaml
var FS embed.FS
