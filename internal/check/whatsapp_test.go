package check

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/locales"
)

// shippedWith is the shipped flows with more lines at the end of
// programme.yaml.
func shippedWith(t *testing.T, programme string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(flows.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(flows.FS, path)
		if path == "programme.yaml" {
			b = append(b, programme...)
		}
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runReal(t *testing.T, flowsFS fs.FS) Report {
	t.Helper()
	return Run(Input{Flows: flowsFS, FlowsDir: "flows", Locales: locales.FS, LocalesDir: "locales",
		LoadLocales: func(fsys fs.FS) (Catalog, []diag.Problem) {
			b, p := locale.Load(fsys)
			if b == nil {
				return nil, p
			}
			return b, p
		}})
}

// The check lists every template the scheduled messages need on WhatsApp;
// once programme.yaml has a whatsapp section it warns of each missing one
// and of a template whose variables do not fit its message.
func TestCheckReportsWhatsAppTemplates(t *testing.T) {
	plain := runReal(t, flows.FS)
	if len(plain.WhatsApp) == 0 {
		t.Fatal("no WhatsApp templates listed for the shipped flows")
	}
	for _, p := range plain.Problems {
		if strings.Contains(p.Message, "whatsapp") {
			t.Errorf("warned without a whatsapp section: %s", p)
		}
	}

	r := runReal(t, shippedWith(t, `
whatsapp:
  fallback: sms
  templates:
    checkin.ask:
      en: {sid: HX0123456789abcdef0123456789abcdef}
      es: {sid: HX0123456789abcdef0123456789abcdee, variables: [Org]}
    consent.reask:
      en: {sid: HX0123456789abcdef0123456789abcded}
`))
	if !r.OK() {
		t.Fatalf("errors: %v", diag.Errors(r.Problems))
	}
	var out strings.Builder
	if err := r.Write(&out, Output{}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"flows/programme.yaml:", // every WhatsApp warning points into programme.yaml
		"whatsapp.templates.checkin.ask.es: the template fills 1 variable(s) [Org], but the message in es has 0 []",
		"whatsapp.templates.consent.reask.en: the template fills 0 variable(s) [], but the message in en has 1 [Org]: write variables: [Org]",
		"whatsapp: no template for checkin.missed in fr: to someone quiet for 24 hours it goes by SMS to people who agreed, and to no one else",
		"whatsapp: no template for reminder.upcoming in uk.few",
		"checkin.ask           en        HX0123456789abcdef0123456789abcdef  []                          ok",
		"checkin.ask           es        HX0123456789abcdef0123456789abcdee  []                          variables do not fit",
		"checkin.ask           fr        -                                   []                          missing",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "no template for checkin.ask in en") {
		t.Error("a configured template reported missing")
	}
}

// Bad values in the whatsapp section are errors at their lines.
func TestCheckRefusesBadWhatsAppSettings(t *testing.T) {
	r := runReal(t, shippedWith(t, `
whatsapp:
  fallback: email
  templates:
    checkin.ask:
      en: {sid: SM0123}
`))
	var got []string
	for _, p := range diag.Errors(r.Problems) {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{`whatsapp.fallback: "email" is not a choice`, `whatsapp.templates.checkin.ask.en: sid "SM0123" is not a Twilio Content template SID`} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
}

// Smart Encoding's saving is counted on the messages sent as SMS, and
// said when there is one.
func TestCheckMeasuresSmartEncoding(t *testing.T) {
	var s SmartSaving
	s.count(Cost{Lang: "es", ID: "a", Raw: Way{Segments: 2}}, []string{strings.Repeat("Responda con un número. ", 5)})
	s.count(Cost{Lang: "es", ID: "b", Raw: Way{Segments: 1}}, []string{"¿Sí?"})
	s.count(Cost{Lang: "uk", ID: "c", Raw: Way{Segments: 2}}, []string{strings.Repeat("Надішліть номер – ", 5)})
	if s.Messages != 3 || s.Multi != 2 || s.ToOne != 1 || s.Fewer != 1 || len(s.Examples) != 1 || s.Examples[0].ID != "a" {
		t.Errorf("saving %+v", s)
	}
	r := runReal(t, flows.FS)
	var out strings.Builder
	if err := r.Write(&out, Output{Costs: true}); err != nil { // the saving is a cost: said with --costs
		t.Fatal(err)
	}
	if r.Smart.ToOne == 0 || !strings.Contains(out.String(), "Smart Encoding (WAYMARK_TWILIO_SMART_ENCODED=true) makes") {
		t.Errorf("no Smart Encoding saving reported for the shipped Spanish: %+v", r.Smart)
	}
}
