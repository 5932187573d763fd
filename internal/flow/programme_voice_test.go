package flow

import (
	"strings"
	"testing"
)

// Without a voice section the line is on, rejects every call that is not
// a check-in (so no call ever costs a caller money), confirms by message,
// and speaks each shipped language.
func TestVoiceDefaults(t *testing.T) {
	s, problems := Load(overlayMap(nil))
	if len(problems) > 0 {
		t.Fatalf("problems: %s", problemLines(problems))
	}
	v := s.Programme.Voice
	if !v.Enabled || v.OutsideWindow != VoiceReject || v.UnknownCaller != VoiceReject || v.OptedOut != VoiceReject || !v.ConfirmByMessage {
		t.Errorf("defaults = %+v", v)
	}
	for _, lang := range []string{"en", "es", "fr", "ar", "uk"} {
		if v.Speech[lang].Language == "" {
			t.Errorf("no default speech for %s", lang)
		}
	}
	// Each load has its own map: editing one programme's speech must not
	// change the defaults of the next.
	v.Speech["en"] = Speech{Language: "xx"}
	if DefaultProgramme().Voice.Speech["en"].Language != "en-GB" {
		t.Error("the default speech table is shared between programmes")
	}
}

// A speech entry in the file is merged over the built-in one field by
// field, and the other languages keep theirs.
func TestVoiceSpeechMerges(t *testing.T) {
	s, problems := Load(overlayMap(map[string]string{"programme.yaml": `languages: [en, es, ar]
flows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}
voice:
  outside_window: menu
  unknown_caller: menu
  opted_out: reject
  confirm_by_message: false
  speech:
    es: {language: es-MX}
    ar: {voice: Polly.Hala}
`}))
	if len(problems) > 0 {
		t.Fatalf("problems: %s", problemLines(problems))
	}
	v := s.Programme.Voice
	if v.OutsideWindow != VoiceMenu || v.UnknownCaller != VoiceMenu || v.OptedOut != VoiceReject || v.ConfirmByMessage {
		t.Errorf("policy = %+v", v)
	}
	want := map[string]Speech{
		"en": {Language: "en-GB"},
		"es": {Language: "es-MX"},
		"ar": {Language: "arb", Voice: "Polly.Hala"},
	}
	for lang, sp := range want {
		if v.Speech[lang] != sp {
			t.Errorf("speech %s = %+v, want %+v", lang, v.Speech[lang], sp)
		}
	}
}

// A language offered with no way to speak it is a warning, not an error:
// its readers hear the default language.
func TestVoiceLanguageWithoutSpeech(t *testing.T) {
	_, problems := Load(overlayMap(map[string]string{"programme.yaml": `languages: [en, ti]
flows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}
`}))
	got := problemLines(problems)
	if len(problems) != 1 || !problems[0].Warning || !strings.Contains(got, "no entry for ti") {
		t.Errorf("problems = %q, want one warning about ti", got)
	}
	// Switched off, the line speaks nothing, so there is nothing to warn of.
	_, problems = Load(overlayMap(map[string]string{"programme.yaml": `languages: [en, ti]
flows: {default: menu, enrolment: menu, checkin: menu, reminder: menu}
voice: {enabled: false}
`}))
	if len(problems) != 0 {
		t.Errorf("problems with voice off: %s", problemLines(problems))
	}
}
