package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/locale"
	"github.com/waymark-atd/waymark/internal/programme"
)

// The Settings page: programme.yaml as a form. A save is checked as
// `waymark check` checks the file, and refused with its plain words, the
// form keeping what was typed.

// setting is one field of programme.yaml the form edits.
type setting struct {
	Path  string // dotted, e.g. checkin.grace_period
	Label string
	Help  string
	Kind  string // "text", "duration", "number", "list" (comma separated)
}

var settings = []setting{
	{"organisation.name", "Organisation name", "As people know it; it appears in messages as {{.Org}}.", "text"},
	{"organisation.phone", "Help phone", "The number people can call for help ({{.HelpPhone}}).", "text"},
	{"organisation.hours", "Help hours", "When someone answers that phone, in English ({{.HelpHours}}).", "text"},
	{"default_language", "Default language", "Used when a message has no words in the person's language.", "text"},
	{"checkin.grace_period", "Grace period", "After a check-in window closes, how long before it counts as missed; a check-in in it is late, and welcome. Like 1d or 36h.", "duration"},
	{"checkin.consent_reask", "Ask again about messages after", "When a person does not answer whether they agree to messages. Like 2d.", "duration"},
	{"reminders.before_close", "Reminders before a check-in closes", "How long before the end, for people who have not checked in: like 6h, 1h.", "list"},
	{"reminders.appointment", "Appointment reminders", "Days before an appointment: like 7d, 3d, 1d.", "list"},
	{"reminders.appointment_hour", "Appointment reminders go out at", "Local time, 24-hour clock, like 09:00.", "text"},
	{"quiet_hours.start", "Quiet hours start", "No reminders from this local time (24-hour clock, like 21:00)…", "text"},
	{"quiet_hours.end", "Quiet hours end", "…until this one (like 08:00).", "text"},
	{"session_timeout", "Forget an unanswered question after", "Then a reply starts the main menu again. Like 2h.", "duration"},
	{"retention.checkins", "Keep check-in times for", "People are told this period. Like 365d.", "duration"},
	{"retention.audit", "Keep the audit log for", "People are told this period. Like 730d.", "duration"},
	{"retention.exited_participants", "Delete everything about a person who left after", "People are told this period. Like 30d.", "duration"},
	{"retention.sent_messages", "Keep the record of a sent message for", "People are told this period; the words go as soon as it is delivered. Like 7d.", "duration"},
	{"retention.resolved_attention", "Keep dealt-with attention items for", "People are told this period. Like 365d.", "duration"},
	{"report.sms_segment_price", "Price of one SMS segment", "For the estimated cost on the report and the Words page, like 0.04.", "number"},
	{"report.currency", "Currency", "Like GBP or EUR.", "text"},
}

type settingRow struct {
	setting
	Name, Value, Error string
}

type settingsView struct {
	page
	Rows      []settingRow
	Hours     []settingRow // the help hours in each other language
	Languages []languageOption
	Offered   []string
	CanEdit   bool
	Problems  []diag.Problem
}

func fieldName(path string) string { return strings.ReplaceAll(path, ".", "__") }

func (s *Server) settingsPage(c echo.Context) error {
	return s.renderSettings(c, http.StatusOK, nil, nil)
}

// renderSettings shows the form: the draft's values, or typed (field name
// to value) when a save was refused, with the problems of the check.
func (s *Server) renderSettings(c echo.Context, status int, typed map[string]string, problems []diag.Problem) error {
	d, err := s.deps.Programmes.Draft(c.Request().Context())
	if err != nil {
		return err
	}
	files := programme.Files(d.Files)
	src := files[programme.ProgrammeFile]
	v := settingsView{page: s.page(c, "Settings · Programme editor", "programme"), CanEdit: s.canEdit(c), Problems: problems}
	v.Notice = editorNotices[c.QueryParam("done")]
	if len(problems) > 0 {
		v.Error = "Not saved: correct what is said below. Nothing you typed is lost."
	}
	value := func(name, path string, list bool) string {
		if t, ok := typed[name]; ok {
			return t
		}
		if list {
			return strings.Join(programme.Values(src, strings.Split(path, ".")...), ", ")
		}
		val, _ := programme.Value(src, strings.Split(path, ".")...)
		return val
	}
	for _, st := range settings {
		name := fieldName(st.Path)
		r := settingRow{setting: st, Name: name, Value: value(name, st.Path, st.Kind == "list")}
		r.Error = problemAt(problems, st.Path)
		v.Rows = append(v.Rows, r)
	}
	offered := programme.Values(src, "languages")
	if t, ok := typed["languages"]; ok {
		offered = strings.Fields(t)
	}
	v.Offered = offered
	for _, name := range files.Names() {
		lang, ok := strings.CutPrefix(name, programme.LocalesDir+"/")
		if !ok {
			continue
		}
		lang = strings.TrimSuffix(lang, ".yaml")
		v.Languages = append(v.Languages, languageOption{Code: lang, Name: locale.Name(lang), Selected: slices.Contains(offered, lang)})
		if lang == locale.English || !slices.Contains(offered, lang) {
			continue
		}
		path := "organisation.in." + lang + ".hours"
		name := fieldName(path)
		v.Hours = append(v.Hours, settingRow{
			setting: setting{Path: path, Label: locale.Name(lang), Kind: "text"},
			Name:    name, Value: value(name, path, false), Error: problemAt(problems, path),
		})
	}
	return s.render(c, status, "editor_settings", v)
}

// problemAt returns the first problem naming a setting, in check's words.
func problemAt(ps []diag.Problem, path string) string {
	last := path[strings.LastIndex(path, ".")+1:]
	for _, p := range ps {
		if strings.Contains(p.Message, path) || strings.Contains(p.Message, last+":") || strings.Contains(p.Message, last+" ") {
			return p.Message
		}
	}
	return ""
}

func (s *Server) settingsSave(c echo.Context) error {
	// A field the form did not send stays as it is.
	form, _ := c.FormParams()
	typed := map[string]string{}
	for _, st := range settings {
		if v, ok := form[fieldName(st.Path)]; ok {
			typed[fieldName(st.Path)] = strings.TrimSpace(v[0])
		}
	}
	langs := form["language"]
	if len(langs) > 0 || c.FormValue("languages_shown") == "1" {
		typed["languages"] = strings.Join(langs, " ")
	}
	for _, l := range langs {
		p := "organisation.in." + l + ".hours"
		if v, ok := form[fieldName(p)]; ok {
			typed[fieldName(p)] = strings.TrimSpace(v[0])
		}
	}
	var problems []diag.Problem
	var changed []string
	err := s.editDraft(c, programme.ProgrammeFile, func(f programme.Files) error {
		src, was := f[programme.ProgrammeFile], f[programme.ProgrammeFile]
		changed = changed[:0]
		set := func(path string, value *yaml.Node) error {
			out, err := programme.SetValue(src, strings.Split(path, "."), value)
			if err == nil {
				src = out
				changed = append(changed, path)
			}
			return err
		}
		for _, st := range settings {
			path, raw := st.Path, typed[fieldName(st.Path)]
			if _, sent := typed[fieldName(st.Path)]; !sent {
				continue
			}
			cur, _ := programme.Value(src, strings.Split(path, ".")...)
			if st.Kind == "list" {
				cur = strings.Join(programme.Values(src, strings.Split(path, ".")...), ", ")
			}
			if raw == cur || raw == "" && st.Kind != "text" {
				continue
			}
			if err := set(path, settingValue(st.Kind, raw)); err != nil {
				return err
			}
		}
		// The checkboxes count only when the form showed them: a form
		// without them leaves the languages as they are.
		shown := c.FormValue("languages_shown") == "1"
		if shown && len(langs) == 0 {
			problems = append(problems, diag.Problem{Message: "languages: offer at least one language"})
			return errRefused
		}
		if shown && strings.Join(programme.Values(src, "languages"), " ") != typed["languages"] {
			if err := set("languages", programme.List(langs...)); err != nil {
				return err
			}
		}
		for _, l := range langs {
			p := "organisation.in." + l + ".hours"
			raw, ok := typed[fieldName(p)]
			if cur, _ := programme.Value(src, strings.Split(p, ".")...); !ok || raw == cur || l == locale.English {
				continue
			}
			if err := set(p, programme.Scalar(raw)); err != nil {
				return err
			}
		}
		if src == was {
			return nil
		}
		f[programme.ProgrammeFile] = src
		// The same check as `waymark check`, on the draft as a whole: only
		// the problems of programme.yaml refuse the save here.
		report := f.Check(s.deps.Programmes.FlowsBase())
		for _, p := range diag.Errors(report.Problems) {
			if strings.HasPrefix(p.File, programme.ProgrammeFile) {
				problems = append(problems, p)
			}
		}
		if len(problems) > 0 {
			return errRefused
		}
		return nil
	})
	if errors.Is(err, errRefused) {
		return s.renderSettings(c, http.StatusUnprocessableEntity, typed, problems)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/programme/editor/settings?done=saved")
}

// errRefused stops a draft edit that the check refused.
var errRefused = errors.New("refused by the check")

// settingValue is what a typed setting is written as in programme.yaml.
func settingValue(kind, raw string) *yaml.Node {
	switch kind {
	case "duration", "number":
		return programme.Number(raw)
	case "list":
		return programme.List(strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return programme.Scalar(raw)
}
