package twilio

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/diag"
	"github.com/waymark-atd/waymark/internal/flow"
)

// An organisation's recordings in flows/audio/<lang>/ are played instead
// of a voice for the messages they record, in a language Twilio cannot
// speak (Tigrinya); what is not recorded, or carries this call's date,
// is said in the default language; recording the language choice puts
// the language on the keypad; and only indexed recordings are served.
func TestRecordedMessages(t *testing.T) {
	h := newVoiceHarness(t)
	fl := fstest.MapFS{}
	names, _ := fs.Glob(flows.FS, "*.yaml")
	for _, name := range names {
		data, _ := fs.ReadFile(flows.FS, name)
		fl[name] = &fstest.MapFile{Data: data}
	}
	for _, id := range []string{"voice.menu.hello", "voice.menu.checkin", "voice.language.choice"} {
		fl["audio/ti/"+id+".mp3"] = &fstest.MapFile{Data: []byte("ID3 " + id)}
	}
	fl["audio/ti/notes.txt"] = &fstest.MapFile{Data: []byte("not audio")}
	set, problems := flow.Load(fl)
	if !strings.Contains(problemLines(problems), "audio/ti/notes.txt: warning: ignored") {
		t.Errorf("a file that is not a recording is not warned about:\n%s", problemLines(problems))
	}
	h.content.Flows = set
	v := &Voice{Hooks: &Webhooks{PublicURL: voicePublic + "/"}, Calls: h.conv}

	sp := v.speaker(h.content, "ti")
	if got := sp.say("voice.menu.hello", nil); got.Play != voicePublic+"/audio/ti/voice.menu.hello.mp3" {
		t.Errorf("voice.menu.hello: %+v, want the recording played", got)
	}
	if got := sp.say("voice.menu.checkin", map[string]any{"Key": "1"}); got.Play == "" {
		t.Errorf("a menu key is the same on every call: %+v", got)
	}
	en := h.content.Flows.Programme.Voice.Speech["en"].Language
	for _, tc := range []struct {
		id   string
		vars map[string]any
	}{{"voice.goodbye", nil}, {"voice.menu.checkin", map[string]any{"Key": "1", "Date": "Friday"}}} {
		if got := sp.say(tc.id, tc.vars); got.Play != "" || got.Language != en {
			t.Errorf("%s: %+v, want said in %s", tc.id, got, en)
		}
	}
	b := (&twiml{verbs: []any{sp.say("voice.menu.hello", nil)}}).bytes()
	if !strings.Contains(string(b), "<Play>"+voicePublic+"/audio/ti/voice.menu.hello.mp3</Play>") {
		t.Errorf("TwiML: %s", b)
	}
	langs := offeredLanguages(h.content)
	if !strings.Contains(strings.Join(langs, " "), "ti") || strings.Contains(strings.Join(langs, " "), "fa") {
		t.Errorf("keypad languages %v: want ti (recorded) and not fa (neither voice nor recording)", langs)
	}

	e := h.echo
	e.GET(AudioRoute, v.HandleAudio)
	for path, want := range map[string]int{
		"/audio/ti/voice.menu.hello.mp3": http.StatusOK,
		"/audio/ti/notes.txt":            http.StatusNotFound,
		"/audio/ti/voice.goodbye.mp3":    http.StatusNotFound,
		"/audio/ti/..%2Fprogramme.yaml":  http.StatusNotFound,
		"/audio/en/voice.menu.hello.mp3": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
		if want == http.StatusOK && (rec.Header().Get("Content-Type") != "audio/mpeg" || rec.Body.String() != "ID3 voice.menu.hello") {
			t.Errorf("GET %s: %s %q", path, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	}
}

func problemLines(ps []diag.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}
