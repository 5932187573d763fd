package conversation

import (
	"io/fs"

	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/locale"
)

// LoadContent loads and validates flows and locales together, as `waymark
// check` does. Any error means the set must not be used, and nil comes
// back with the problems; warnings come back with the content.
func LoadContent(flowsFS, localesFS fs.FS) (*Content, []diag.Problem) {
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
	return &Content{Flows: set, Locale: bundle}, problems
}
