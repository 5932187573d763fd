package flow

import (
	"strings"
	"testing"
)

// The organisation's hours in each language: given ones are used, a
// language without them falls back to the hours as written and is warned
// about, and a language not offered is warned about too.
func TestOrganisationWordsPerLanguage(t *testing.T) {
	s, problems := Load(overlayMap(map[string]string{"programme.yaml": `languages: [en, es, ar]
flows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}
organisation:
  name: "Example Community Support"
  hours: "Mon-Fri 9am-5pm"
  in:
    es: {hours: "lun-vie 9-17 h", name: "Apoyo Comunitario"}
    uk: {hours: "пн-пт 9:00-17:00"}
`}))
	o := s.Programme.Organisation
	if o.HoursIn("es") != "lun-vie 9-17 h" || o.NameIn("es") != "Apoyo Comunitario" {
		t.Errorf("es: %q, %q", o.HoursIn("es"), o.NameIn("es"))
	}
	if o.HoursIn("ar") != "Mon-Fri 9am-5pm" || o.NameIn("ar") != "Example Community Support" {
		t.Errorf("ar falls back to the hours as written: %q, %q", o.HoursIn("ar"), o.NameIn("ar"))
	}
	got := problemLines(problems)
	for _, want := range []string{
		`programme.yaml:5: warning: organisation.hours has no words in ar: people reading them get "Mon-Fri 9am-5pm"`,
		"organisation.in.uk: uk is not in languages",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "no words in es") || strings.Contains(got, "in en,") {
		t.Errorf("es has its hours and en is the default:\n%s", got)
	}
}

// fold names offered languages only.
func TestFoldNamesOfferedLanguages(t *testing.T) {
	s, problems := Load(overlayMap(map[string]string{"programme.yaml": `languages: [en, es]
flows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}
fold: [es, pt]
`}))
	if !s.Programme.Folds("es") || s.Programme.Folds("en") {
		t.Errorf("fold = %v", s.Programme.Fold)
	}
	if got := problemLines(problems); !strings.Contains(got, "fold: pt is not in languages") {
		t.Errorf("problems:\n%s", got)
	}
}
