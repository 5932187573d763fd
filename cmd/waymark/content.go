package main

import (
	"io/fs"
	"os"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/locales"
)

// contentFS returns the flows and locales directories to use: the built-in
// ones unless a directory is given.
func contentFS(flowsDir, localesDir string) (fs.FS, fs.FS) {
	var f, l fs.FS = flows.FS, locales.FS
	if flowsDir != "" {
		f = os.DirFS(flowsDir)
	}
	if localesDir != "" {
		l = os.DirFS(localesDir)
	}
	return f, l
}

// loadContent loads and validates flows and locales together, as `waymark
// check` does; any error means the set must not be used.
func loadContent(flowsFS, localesFS fs.FS) (*conversation.Content, []diag.Problem) {
	return conversation.LoadContent(flowsFS, localesFS)
}
