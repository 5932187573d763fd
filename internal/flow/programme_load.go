package flow

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var durationType = reflect.TypeFor[Duration]()

// loadProgramme decodes programme.yaml over the defaults already in
// s.Programme: a field left out keeps its default. It walks the struct by
// its yaml tags rather than using yaml's own decoder so that every unknown
// field and bad value is reported with its line, all at once.
func (s *Set) loadProgramme(f *yamlFile, top *yaml.Node) {
	s.progFile = f.name
	s.decodeInto(f, top, reflect.ValueOf(&s.Programme).Elem(), "")
	p := &s.Programme
	clock := func(path, v string) {
		if _, err := ParseClock(v); err != nil {
			f.errorf(s.progLines[path], "%s: %v", path, err)
		}
	}
	clock("reminders.appointment_hour", p.Reminders.AppointmentHour)
	clock("quiet_hours.start", p.QuietHours.Start)
	clock("quiet_hours.end", p.QuietHours.End)

	positive := map[string]Duration{
		"session_timeout":                    p.SessionTimeout,
		"retention.checkins":                 p.Retention.CheckIns,
		"retention.audit":                    p.Retention.Audit,
		"retention.exited_participants":      p.Retention.ExitedAfter,
		"retention.dedupe_keys":              p.Retention.DedupeKeys,
		"retention.enrolment_codes":          p.Retention.EnrolmentCodeTTL,
		"retention.sent_messages":            p.Retention.SentMessages,
		"retention.resolved_attention":       p.Retention.ResolvedAttention,
		"retention.unconfirmed_message_text": p.Retention.UnconfirmedText,
	}
	for path, d := range positive {
		if line, given := s.progLines[path]; given && d <= 0 {
			f.errorf(line, "%s must be longer than zero", path)
		}
	}
	for name, list := range map[string][]Duration{"reminders.before_close": p.Reminders.BeforeClose, "reminders.appointment": p.Reminders.Appointment} {
		for i, d := range list {
			if d <= 0 {
				f.errorf(s.progLines[name+"["+strconv.Itoa(i)+"]"], "%s: a reminder offset must be longer than zero", name)
			}
		}
	}
	seen := map[string]bool{}
	for i, l := range p.Languages {
		line := s.progLines["languages["+strconv.Itoa(i)+"]"]
		if seen[l] {
			f.errorf(line, "languages: %s is listed twice", l)
		}
		seen[l] = true
	}
	if line, given := s.progLines["languages"]; given && len(p.Languages) == 0 {
		f.errorf(line, "languages is empty: offer at least one language")
	}
	if line, given := s.progLines["report.min_people"]; given && p.Report.MinPeople < 2 {
		f.errorf(line, "report.min_people must be 2 or more: a figure about one person identifies them")
	}
	if line, given := s.progLines["report.sms_segment_price"]; given && p.Report.SegmentPrice < 0 {
		f.errorf(line, "report.sms_segment_price cannot be below zero")
	}
	if line, given := s.progLines["report.short_window"]; given && p.Report.ShortWindow < 0 {
		f.errorf(line, "report.short_window cannot be below zero")
	}
	s.checkOrganisationWords(f)
	for i, l := range p.Fold {
		if !contains(p.Languages, l) {
			f.warnf(s.progLines["fold["+strconv.Itoa(i)+"]"], "fold: %s is not in languages, so nothing is folded for it", l)
		}
	}
	s.checkVoice(f)
	s.checkWhatsApp(f)
}

// checkWhatsApp validates the WhatsApp section's own values; which
// messages lack a template is `waymark check`'s report, since it needs the
// locale files.
func (s *Set) checkWhatsApp(f *yamlFile) {
	w := &s.Programme.WhatsApp
	if w.Fallback != FallbackNone && w.Fallback != FallbackSMS {
		f.errorf(s.progLines["whatsapp.fallback"], "whatsapp.fallback: %q is not a choice: write %s (nothing is sent and the caseworker sees why) or %s (the same words by SMS, to people who agreed when they joined)",
			w.Fallback, FallbackNone, FallbackSMS)
	}
	for _, id := range sortedKeys(w.Templates) {
		for _, lang := range sortedKeys(w.Templates[id]) {
			path := "whatsapp.templates." + id + "." + lang
			t := w.Templates[id][lang]
			if !strings.HasPrefix(t.SID, "HX") || len(t.SID) != 34 || !isAlnum(t.SID) {
				f.errorf(s.progLines[path], "%s: sid %q is not a Twilio Content template SID: it starts with HX and has 34 letters and digits (Twilio Console, Content Template Builder)", path, t.SID)
			}
			if !contains(s.Programme.Languages, lang) {
				f.warnf(s.progLines[path], "%s: %s is not in languages, so nobody will get it", path, lang)
			}
		}
	}
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// checkOrganisationWords warns about hours with no words in a language
// people read: they would get the default language's inside their own.
func (s *Set) checkOrganisationWords(f *yamlFile) {
	o := s.Programme.Organisation
	for _, lang := range sortedKeys(o.In) {
		if !contains(s.Programme.Languages, lang) {
			f.warnf(s.progLines["organisation.in."+lang], "organisation.in.%s: %s is not in languages, so nobody reads it", lang, lang)
		}
	}
	if o.Hours == "" {
		return
	}
	line, given := s.progLines["organisation.hours"]
	if !given {
		return
	}
	var missing []string
	for _, lang := range s.Programme.Languages {
		if lang != s.Programme.DefaultLanguage && o.In[lang].Hours == "" {
			missing = append(missing, lang)
		}
	}
	if len(missing) > 0 {
		f.warnf(line, "organisation.hours has no words in %s: people reading them get %q; add organisation.in.<language>.hours",
			strings.Join(missing, ", "), o.Hours)
	}
}

// checkVoice validates the telephone line's policy.
func (s *Set) checkVoice(f *yamlFile) {
	v := &s.Programme.Voice
	for _, pol := range []struct {
		path string
		val  string
	}{{"voice.outside_window", v.OutsideWindow}, {"voice.unknown_caller", v.UnknownCaller}, {"voice.opted_out", v.OptedOut}} {
		if pol.val != VoiceReject && pol.val != VoiceMenu {
			f.errorf(s.progLines[pol.path], "%s: %q is not a choice: write %s (the call is not answered, so it costs the caller nothing) or %s (answer with the keypad menu)",
				pol.path, pol.val, VoiceReject, VoiceMenu)
		}
	}
	if v.MenuAccess != MenuAccessPIN && v.MenuAccess != MenuAccessCallerID {
		f.errorf(s.progLines["voice.menu_access"], "voice.menu_access: %q is not a choice: write %s (the caller enters the PIN the person chose by text) or %s (the caller ID alone, which anyone can fake)",
			v.MenuAccess, MenuAccessPIN, MenuAccessCallerID)
	}
	if v.UnverifiedCalls != UnverifiedCount && v.UnverifiedCalls != UnverifiedAsk {
		f.errorf(s.progLines["voice.unverified_calls"], "voice.unverified_calls: %q is not a choice: write %s (a missed call counts, marked unverified) or %s (nothing is recorded; the person is asked by text to reply 1)",
			v.UnverifiedCalls, UnverifiedCount, UnverifiedAsk)
	}
	if v.Menu() && v.MenuAccess == MenuAccessCallerID {
		f.warnf(s.progLines["voice.menu_access"], "voice.menu_access: caller_id lets anyone who fakes a person's number use the keypad menu as them (check them in, ask for a call back, change their language); pin asks for the PIN the person chose by text")
	}
	for _, lang := range sortedKeys(v.Speech) {
		path := "voice.speech." + lang
		line, given := s.progLines[path]
		if !given {
			continue // a built-in default: only what the file says is checked
		}
		if strings.TrimSpace(v.Speech[lang].Language) == "" {
			f.errorf(line, "%s: language is empty: give Twilio's text-to-speech language, e.g. language: en-GB", path)
		}
		if !contains(s.Programme.Languages, lang) {
			f.warnf(line, "%s: %s is not in languages, so nobody will hear it", path, lang)
		}
	}
	if !v.Enabled {
		return
	}
	for _, lang := range s.Programme.Languages {
		if _, ok := v.Speech[lang]; !ok {
			f.warnf(s.progLines["voice"], "voice.speech has no entry for %s: the telephone menu will speak to %s readers in %s; add voice.speech.%s if Twilio can speak it",
				lang, lang, s.Programme.DefaultLanguage, lang)
		}
	}
	menu := v.OutsideWindow == VoiceMenu || v.OptedOut == VoiceMenu
	if spoken := s.Programme.SpokenLanguages(); menu && len(spoken) > 9 {
		f.warnf(s.progLines["languages"], "the telephone menu offers only the first 9 of the %d languages Twilio speaks (%s): a key press picks one",
			len(spoken), strings.Join(spoken, ", "))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeInto sets v (a struct, string, bool, Duration or a slice of
// those) from n, recording the line of every field path it meets.
func (s *Set) decodeInto(f *yamlFile, n *yaml.Node, v reflect.Value, path string) {
	n = deref(n)
	if n == nil {
		return
	}
	where := path
	if where == "" {
		where = ProgrammeFile
	}
	switch {
	case v.Type() == durationType:
		if d, ok := f.duration(n, where); ok {
			v.SetInt(int64(d))
		}
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			f.errorf(n.Line, "%s must be a single value, found %s", where, describe(n))
			return
		}
		if n.Tag == "!!null" {
			v.SetString("")
			return
		}
		v.SetString(strings.TrimSpace(n.Value))
	case v.Kind() == reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			f.errorf(n.Line, "%s must be a whole number, found %s", where, describe(n))
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Float64:
		var x float64
		if n.Kind != yaml.ScalarNode || n.Decode(&x) != nil {
			f.errorf(n.Line, "%s must be a number like 0.04, found %s", where, describe(n))
			return
		}
		v.SetFloat(x)
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			f.errorf(n.Line, "%s must be true or false, found %s", where, describe(n))
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			f.errorf(n.Line, "%s must be a list, e.g. [a, b], found %s", where, describe(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			s.progLines[p] = deref(item).Line
			s.decodeInto(f, item, out.Index(i), p)
		}
		v.Set(out)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		// A map by code (voice.speech.ar): each entry is merged over the
		// default of that key, if there is one, field by field.
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for _, fd := range f.fields(n, where, nil) {
			p := where + "." + fd.key
			s.progLines[p] = fd.line
			key := reflect.ValueOf(fd.key).Convert(v.Type().Key())
			elem := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(key); old.IsValid() {
				elem.Set(old)
			}
			s.decodeInto(f, fd.val, elem, p)
			v.SetMapIndex(key, elem)
		}
	case v.Kind() == reflect.Struct:
		t := v.Type()
		var names []string
		index := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if tag != "" && tag != "-" {
				names = append(names, tag)
				index[tag] = i
			}
		}
		for _, fd := range f.fields(n, where, names) {
			p := fd.key
			if path != "" {
				p = path + "." + fd.key
			}
			s.progLines[p] = fd.line
			s.decodeInto(f, fd.val, v.Field(index[fd.key]), p)
		}
	}
}
