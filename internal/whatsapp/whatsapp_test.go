package whatsapp_test

import (
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/whatsapp"
	"github.com/waymark-atd/waymark/locales"
)

func TestShipped(t *testing.T) {
	c, problems := conversation.LoadContent(flows.FS, locales.FS)
	if c == nil {
		t.Fatal(problems)
	}
	for _, m := range whatsapp.Scheduled(c.Flows) {
		t.Log(m)
	}
	for _, n := range whatsapp.Needs(c.Flows, c.Locale) {
		t.Logf("%s %s %q %v\n%s", n.Message, n.Key(), n.Form, n.Vars, n.Body)
	}
}
