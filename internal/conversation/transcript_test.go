package conversation_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/flow"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
	"github.com/waymark-atd/waymark/locales"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/transcripts")

// A transcript script is what a person types, one line each. "{code}" is
// the enrolment code; "/skip 3h" moves the clock and fires due timeouts.
type script struct {
	name  string
	lang  string
	lines []string
}

// The default flows, each walked through end to end, and check-in in every
// shipped language. The golden files are the reviewable record of what
// people actually receive.
var scripts = []script{
	{"enrolment_en", "en", []string{"JOIN {code}", "1", "1"}},
	{"enrolment_by_keyword_es", "es", []string{"unirse {code}", "sí", "español"}},
	{"enrolment_yes_en", "en", []string{"JOIN {code}", "YES", "English"}},
	{"enrolment_stop_at_consent_en", "en", []string{"JOIN {code}", "STOP"}},
	{"enrolment_decline_en", "en", []string{"JOIN {code}", "2", "hello", "START"}},
	{"checkin_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "1", "hello", "1"}},
	{"checkin_es", "es", []string{"JOIN {code}", "1", "2", "/start checkin", "1", "hola", "1"}},
	{"checkin_fr", "fr", []string{"JOIN {code}", "1", "3", "/start checkin", "1", "bonjour", "1"}},
	{"checkin_ar", "ar", []string{"JOIN {code}", "1", "4", "/start checkin", "١", "مرحبا", "١"}},
	{"checkin_uk", "uk", []string{"JOIN {code}", "1", "5", "/start checkin", "1", "привіт", "1"}},
	{"checkin_fa", "fa", []string{"JOIN {code}", "۱", "۶", "/start checkin", "۱", "سلام", "حاضرم"}},
	{"checkin_ps", "ps", []string{"JOIN {code}", "ho", "7", "/start checkin", "۱", "سلام", "حاضر"}},
	{"checkin_ti", "ti", []string{"JOIN {code}", "ewe", "፰", "/start checkin", "፩", "ሰላም", "ኣለኹ"}},
	{"checkin_am", "am", []string{"JOIN {code}", "እሺ", "9", "/start checkin", "፩", "ሰላም", "alehu"}},
	{"checkin_so", "so", []string{"JOIN {code}", "haa", "soomaali", "/start checkin", "1", "salaan", "joogaa"}},
	{"checkin_pt", "pt", []string{"JOIN {code}", "sim", "português", "/start checkin", "1", "olá", "presente"}},
	{"checkin_ru", "ru", []string{"JOIN {code}", "da", "русский", "/start checkin", "1", "привет", "tut"}},
	{"checkin_tr", "tr", []string{"JOIN {code}", "evet", "turkce", "/start checkin", "1", "merhaba", "buradayım"}},
	{"checkin_ur", "ur", []string{"JOIN {code}", "haan", "urdu", "/start checkin", "۱", "سلام", "hazir"}},
	{"checkin_bn", "bn", []string{"JOIN {code}", "ha", "bangla", "/start checkin", "১", "হ্যালো", "hajir"}},
	{"checkin_callback_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "2"}},
	{"checkin_cant_make_it_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "3"}},
	{"checkin_label_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "I can't make it"}},
	{"checkin_curly_apostrophe_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "can’t"}},
	{"checkin_short_forms_en", "en", []string{"JOIN {code}", "1", "1", "/start checkin", "I'm here", "/start checkin", "checking in"}},
	{"checkin_here_ar", "ar", []string{"JOIN {code}", "1", "4", "/start checkin", "هنا"}},
	{"reminder_confirm_en", "en", []string{"JOIN {code}", "1", "1", "/start reminder", "1"}},
	{"reminder_time_en", "en", []string{"JOIN {code}", "1", "1", "/start reminder", "8am"}},
	{"reminder_time_es", "es", []string{"JOIN {code}", "1", "2", "/start reminder", "a las 8"}},
	{"reminder_reschedule_en", "en", []string{"JOIN {code}", "1", "1", "/start reminder", "2"}},
	{"info_en", "en", []string{"JOIN {code}", "1", "1", "MENU", "3", "1", "INFO", "2", "INFO", "3", "INFO", "4", "INFO", "5", "INFO", "6"}},
	{"language_en_to_ar", "en", []string{"JOIN {code}", "1", "1", "LANGUAGE", "4", "MENU"}},
	{"stop_start_en", "en", []string{"JOIN {code}", "1", "1", "STOP", "hello", "/start checkin", "START", "hello"}},
	{"stop_localized_es", "es", []string{"JOIN {code}", "1", "2", "PARAR", "hola"}},
	{"not_understood_en", "en", []string{"JOIN {code}", "1", "1", "MENU", "banana", "9", "1"}},
	{"timeout_en", "en", []string{"JOIN {code}", "1", "1", "MENU", "/skip 3d", "hello"}},
	{"unknown_sender_en", "en", []string{"hello", "JOIN WRONG1", "JOIN {code}", "JOIN {code}"}},
}

// reminderVars is the template data of the appointment reminder scripts.
var reminderVars = map[string]string{"Count": "3", "Date": "Thursday 8 January", "Time": "10:00", "Place": "Community Support Centre"}

func TestTranscripts(t *testing.T) {
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t)
			_, code := h.enrol(sc.lang)
			const address = "+447700900123"
			var b strings.Builder
			for _, line := range sc.lines {
				fmt.Fprintf(&b, "> %s\n", line)
				var replies []string
				if f, ok := strings.CutPrefix(line, "/start "); ok {
					var vars map[string]string
					if f == "reminder" {
						vars = reminderVars
					}
					if err := h.conv.Start(h.ctx, mustParticipant(t, h, address), f, vars); err != nil {
						t.Fatal(err)
					}
					replies = h.drain()
				} else if d, ok := strings.CutPrefix(line, "/skip "); ok {
					dur, err := flow.ParseDuration(d)
					if err != nil {
						t.Fatal(err)
					}
					h.clock.Advance(dur)
					pid := mustParticipant(t, h, address)
					if err := h.conv.Tick(h.ctx, pid); err != nil {
						t.Fatal(err)
					}
					replies = h.drain()
				} else {
					replies = h.say(address, strings.ReplaceAll(line, "{code}", code))
				}
				for _, r := range replies {
					fmt.Fprintf(&b, "< %s\n", strings.ReplaceAll(r, "\n", "\n  "))
				}
			}
			testkit.Golden(t, filepath.Join("testdata", "transcripts", sc.name+".golden"), b.String(), *update, "run go test ./internal/conversation -update")
		})
	}
}

func mustParticipant(t *testing.T, h *harness, address string) string {
	t.Helper()
	l, err := h.store.GetLink(h.ctx, h.box.Index("sms", address))
	if err != nil {
		t.Fatalf("not enrolled: %v", err)
	}
	return l.ParticipantID
}

// A language the programme folds loses, by SMS only, the accents GSM-7
// cannot carry: one SMS instead of two for Spanish.
func TestForChannelFolds(t *testing.T) {
	c, problems := conversation.LoadContent(flows.FS, locales.FS)
	if c == nil {
		t.Fatal(problems)
	}
	text, _ := conversation.Render(c, "es", flow.Send{MessageID: "checkin.cant"})
	if got := conversation.ForChannel(c, "es", store.SMS, text); got != text {
		t.Errorf("folded with fold off: %q", got)
	}
	c.Flows.Programme.Fold = []string{"es"}
	folded := conversation.ForChannel(c, "es", store.SMS, text)
	if enc, n := sms.Segments(folded); enc != sms.GSM7 || n != 1 || strings.ContainsRune(folded, 'á') {
		t.Errorf("folded %q: %v, %d segments", folded, enc, n)
	}
	if _, n := sms.Segments(text); n != 2 {
		t.Errorf("unfolded %q: %d segments, want 2", text, n)
	}
	if got := conversation.ForChannel(c, "es", store.Telegram, text); got != text {
		t.Errorf("Telegram folded: %q", got)
	}
}
