package main

import (
	"fmt"

	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/whatsapp"
)

// whatsappTemplates prints, as Markdown, the WhatsApp templates the
// programme's scheduled messages need: the text to submit to Twilio for
// each language, made from the locale files so the two never drift, and
// the programme.yaml line for each once it is approved.
func whatsappTemplates(env cmdEnv, args []string) int {
	flowsDir, localesDir, ok := contentFlags(env, "whatsapp-templates", args)
	if !ok {
		return 2
	}
	c, problems := loadContent(contentFS(*flowsDir, *localesDir))
	if c == nil {
		for _, p := range diag.Errors(problems) {
			fmt.Fprintln(env.stderr, p.String())
		}
		fmt.Fprintln(env.stderr, "waymark whatsapp-templates: the flows or locales have errors; run waymark check")
		return 1
	}
	needs := whatsapp.Needs(c.Flows, c.Locale)
	fmt.Fprint(env.stdout, whatsapp.Markdown(needs, whatsapp.Choices(c.Flows)))
	return 0
}
