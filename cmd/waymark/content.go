package main

import (
	"io/fs"
	"os"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
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
	set, problems := flow.Load(flowsFS)
	bundle, lp := locale.Load(localesFS)
	problems = append(problems, lp...)
	if set != nil && bundle != nil {
		problems = append(problems, set.CheckMessages(bundle)...)
	}
	if len(diag.Errors(problems)) > 0 || set == nil || bundle == nil {
		return nil, problems
	}
	bundle.SetDefault(set.Programme.DefaultLanguage)
	return &conversation.Content{Flows: set, Locale: bundle}, problems
}
