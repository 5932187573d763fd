package flow

import (
	"io/fs"
	"path"
	"strings"

	"github.com/waymark-atd/waymark/internal/diag"
)

// AudioDir is the folder of the flows directory that holds an
// organisation's recordings of its spoken messages, for people who cannot
// read and languages Twilio cannot speak: audio/<language>/<message ID>
// with one of AudioTypes' extensions, e.g. audio/ti/voice.menu.checkin.mp3.
const AudioDir = "audio"

// AudioTypes are the recording formats Twilio's <Play> takes, by
// extension, with their content types.
var AudioTypes = map[string]string{".mp3": "audio/mpeg", ".wav": "audio/wav"}

// Recording returns the path, in the flows directory, of the recording
// of message id in lang, or "" when there is none.
func (s *Set) Recording(lang, id string) string { return s.audio[lang][id] }

// Recorded reports whether lang has any recording.
func (s *Set) Recorded(lang string) bool { return len(s.audio[lang]) > 0 }

// AudioFS is the flows directory the recordings are read from.
func (s *Set) AudioFS() fs.FS { return s.audioFS }

// loadAudio indexes audio/<lang>/<id>.<ext>. Nothing is read but names.
func (s *Set) loadAudio(fsys fs.FS, problems *[]diag.Problem) {
	s.audioFS = fsys
	names, _ := fs.Glob(fsys, AudioDir+"/*/*")
	for _, name := range names {
		lang, file := path.Base(path.Dir(name)), path.Base(name)
		ext := path.Ext(file)
		if strings.HasPrefix(file, ".") {
			continue
		}
		if _, ok := AudioTypes[ext]; !ok {
			*problems = append(*problems, diag.Problem{File: name, Warning: true,
				Message: "ignored: a recording must be an .mp3 or .wav file named after its message, e.g. voice.menu.checkin.mp3"})
			continue
		}
		if !contains(s.Programme.Languages, lang) {
			*problems = append(*problems, diag.Problem{File: name, Warning: true,
				Message: "ignored: " + lang + " is not in programme.yaml languages"})
			continue
		}
		if s.audio == nil {
			s.audio = map[string]map[string]string{}
		}
		if s.audio[lang] == nil {
			s.audio[lang] = map[string]string{}
		}
		s.audio[lang][strings.TrimSuffix(file, ext)] = name
	}
}

// SpokenLanguages are the offered languages the telephone line can speak
// to, in the programme's order: those Twilio has a voice for, and those
// the organisation recorded the language choice in (voice.language.choice),
// so that they can be offered on the keypad.
func (s *Set) SpokenLanguages() []string {
	var out []string
	for _, l := range s.Programme.Languages {
		sp, ok := s.Programme.Voice.Speech[l]
		if ok && sp.Speaks() || s.Recording(l, "voice.language.choice") != "" {
			out = append(out, l)
		}
	}
	return out
}
