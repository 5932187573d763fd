package main

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/flows"
	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// Approved templates of the test programme, one SID per message.
var waTemplates = map[string]string{
	"checkin.ask":          "HX00000000000000000000000000000001",
	"checkin.closing_soon": "HX00000000000000000000000000000002",
	"checkin.missed":       "HX00000000000000000000000000000003",
	"consent.reask":        "HX00000000000000000000000000000004",
}

// waFlows is the shipped flows with English and Spanish offered, SMS as the
// fallback, and templates in Spanish only.
// languagesLine is programme.yaml's list of languages offered.
var languagesLine = regexp.MustCompile(`(?m)^languages: \[[^\]]*\]`)

func waFlows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(flows.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(flows.FS, path)
		if err != nil {
			return err
		}
		if path == "programme.yaml" {
			s := languagesLine.ReplaceAllString(string(b), "languages: [en, es]")
			s += "\nwhatsapp:\n  fallback: sms\n  templates:\n"
			for _, id := range []string{"checkin.ask", "checkin.closing_soon", "checkin.missed"} {
				s += fmt.Sprintf("    %s:\n      es: {sid: %s}\n", id, waTemplates[id])
			}
			s += fmt.Sprintf("    consent.reask:\n      es: {sid: %s, variables: [Org]}\n", waTemplates["consent.reask"])
			b = []byte(s)
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// WhatsApp that reaches people, end to end through the real twilio-go
// client, in a Monday 09:00-21:00 window in London. Everyone joined by
// WhatsApp on Saturday morning:
//
//   - Dana (Spanish) is quiet since: the prompt, "closing soon" and the
//     note after her miss go as their Spanish templates.
//   - Eli (English) wrote an hour before the prompt: it goes as free text,
//     and he taps its "1" button: on time.
//   - Fay (English, agreed to SMS) is quiet and English has no templates:
//     every message goes to her number by SMS.
//   - Gil (English, said no to SMS) is quiet: nothing can reach him. Not
//     delivered, "no approved template" for the caseworker, never missed.
//   - Hana (Spanish, said no to SMS) wrote an hour before; Twilio fails
//     the free text with 63016 anyway and then her template too: one try
//     each, then nothing. Not delivered, never missed.
//   - Ivo (Spanish) never answered whether he agrees: the re-ask two days
//     on goes as its template, with the organisation's name filled in.
func TestWhatsAppTemplatesEndToEnd(t *testing.T) { onBothStores(t, whatsappRecord) }

func whatsappRecord(t *testing.T, st store.Store) {
	fake := twiliotest.New(t, testAccount, testToken)
	s := startServiceEnv(t, st, fake, seal.NewKey(), map[string]string{"WAYMARK_FLOWS_DIR": waFlows(t)})
	defer s.stop()
	ctx := context.Background()
	saturday := time.Date(2030, time.January, 5, 8, 50, 0, 0, time.UTC)
	s.clock.Advance(time.Until(saturday))

	window := &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "monday", CloseTime: "21:00"}}}
	type person struct {
		name, from, lang, sms string
		id                    string
	}
	people := []*person{
		{name: "Dana", from: "whatsapp:+447700900301", lang: "español", sms: "1"},
		{name: "Eli", from: "whatsapp:+447700900302", lang: "english", sms: "2"},
		{name: "Fay", from: "whatsapp:+447700900303", lang: "english", sms: "1"},
		{name: "Gil", from: "whatsapp:+447700900304", lang: "english", sms: "2"},
		{name: "Hana", from: "whatsapp:+447700900305", lang: "español", sms: "2"},
		{name: "Ivo", from: "whatsapp:+447700900306"},
	}
	dana, eli, fay, gil, hana, ivo := people[0], people[1], people[2], people[3], people[4], people[5]
	sid := 0
	post := func(from, body string, extra url.Values) {
		t.Helper()
		sid++
		form := url.Values{
			"MessageSid": {fmt.Sprintf("SM%032x", 1000+sid)}, "AccountSid": {testAccount}, "From": {from}, "To": {"whatsapp:" + testFrom},
			"Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		}
		maps.Copy(form, extra)
		if code, answer := s.inbound(form); code != http.StatusOK {
			t.Fatalf("%q answered %d %q", body, code, answer)
		}
	}
	// to lists what the fake accepted for a person since mark (by index).
	to := func(p *person, mark int) []twiliotest.Request {
		var out []twiliotest.Request
		for _, r := range fake.Requests()[mark:] {
			if r.To == p.from || r.To == strings.TrimPrefix(p.from, "whatsapp:") {
				out = append(out, r)
			}
		}
		return out
	}
	sent := func() int { return len(fake.Requests()) }
	for _, p := range people {
		now := s.clock.Now()
		p.id = store.NewID("p_")
		code := "WA" + strings.ToUpper(store.NewID("")[:6])
		lang := "en"
		if p == ivo {
			lang = "es" // as the caseworker enrolled him
		}
		must(t, st.CreateParticipant(ctx, store.Participant{ID: p.id, Label: p.name, Language: lang, TimeZone: "Europe/London",
			Status: store.Active, Schedule: window, CreatedAt: now, UpdatedAt: now}))
		must(t, st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: p.id, ExpiresAt: now.Add(time.Hour)}))
		mark := sent()
		post(p.from, "JOIN "+code, nil)
		waitFor(t, p.name+"'s welcome", func() bool { return len(to(p, mark)) == 5 })
		if p.lang == "" {
			continue // Ivo never answers
		}
		for i, answer := range []string{"yes", p.lang, p.sms} {
			mark = sent()
			post(p.from, answer, nil)
			waitFor(t, fmt.Sprintf("%s's answer %d", p.name, i), func() bool { return len(to(p, mark)) == 1 })
			if i == 1 && !strings.Contains(to(p, mark)[0].Body, "SMS") {
				t.Errorf("%s was not asked about SMS: %q", p.name, to(p, mark)[0].Body)
			}
		}
		got, _ := st.GetParticipant(ctx, p.id)
		if agreed := !got.SMSAgreedAt.IsZero(); agreed != (p.sms == "1") {
			t.Errorf("%s answered %s about SMS; agreement recorded: %v", p.name, p.sms, agreed)
		}
	}
	if got, _ := st.GetParticipant(ctx, dana.id); got.Language != "es" {
		t.Fatalf("Dana's language %q", got.Language)
	}

	// Statuses, as Twilio would post them: Hana's every WhatsApp message
	// fails with 63016; everything else is delivered.
	var mu sync.Mutex
	settled := sent()
	var pids []string
	for _, p := range people {
		pids = append(pids, p.id)
	}
	settle := func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for {
			// Everything due by now handled and sent; and, after a
			// refusal, its copy by another route, queued before the
			// refusal's status was answered.
			awaitQuiet(t, st, s.clock, pids...)
			reqs := fake.Accepted()
			if len(reqs) == settled {
				return
			}
			for _, r := range reqs[settled:] {
				status, code := "delivered", ""
				if r.To == hana.from {
					status, code = "failed", "63016"
				}
				if resp, err := fake.SendStatus(ctx, r, status, code); err != nil || resp.StatusCode != http.StatusNoContent {
					t.Fatalf("status callback: %v %v", resp, err)
				}
			}
			settled = len(reqs)
		}
	}
	settle()
	enrolled := sent()

	// Monday 08:00: Eli and Hana write; 08:50 Ivo is asked once more.
	s.clock.Advance(47*time.Hour + 10*time.Minute)
	post(eli.from, "hello", nil)
	post(hana.from, "hola", nil)
	settle()
	beforePrompts := sent()
	s.clock.Advance(50 * time.Minute)
	waitFor(t, "Ivo's re-ask", func() bool { return len(to(ivo, enrolled)) == 1 })
	if r := to(ivo, enrolled)[0]; r.ContentSid != waTemplates["consent.reask"] || r.Body != "" || r.ContentVariables["1"] != "Example Community Support" {
		t.Errorf("Ivo's re-ask: %+v", r)
	}

	// 09:00: the prompts.
	s.clock.Advance(11 * time.Minute)
	waitFor(t, "the prompts", func() bool {
		return len(to(dana, beforePrompts)) == 1 && len(to(eli, beforePrompts)) == 1 && len(to(fay, beforePrompts)) == 1 && len(to(hana, beforePrompts)) == 1
	})
	settle()
	if r := to(dana, beforePrompts)[0]; r.ContentSid != waTemplates["checkin.ask"] || r.Body != "" || len(r.ContentVariables) != 0 {
		t.Errorf("Dana's prompt: %+v", r)
	}
	if r := to(eli, beforePrompts)[0]; r.ContentSid != "" || !strings.Contains(r.Body, "1 - Check in") {
		t.Errorf("Eli's prompt: %+v", r)
	}
	if r := to(fay, beforePrompts)[0]; r.To != strings.TrimPrefix(fay.from, "whatsapp:") || r.ContentSid != "" || !strings.Contains(r.Body, "1 - Check in") {
		t.Errorf("Fay's prompt did not go by SMS: %+v", r)
	}
	if rs := to(gil, beforePrompts); len(rs) != 0 {
		t.Errorf("something went to Gil: %+v", rs)
	}
	if rs := to(hana, beforePrompts); len(rs) != 2 || rs[0].ContentSid != "" || rs[1].ContentSid != waTemplates["checkin.ask"] {
		t.Errorf("Hana's prompt: want free text, then after 63016 its template once; got %+v", rs)
	}

	// 12:00: Eli taps the prompt's "Check in" button.
	s.clock.Advance(3 * time.Hour)
	mark := sent()
	post(eli.from, "Check in", url.Values{"ButtonText": {"Check in"}, "ButtonPayload": {"1"}, "MessageType": {"button"}})
	waitFor(t, "Eli's thanks", func() bool { return len(to(eli, mark)) == 1 })
	if r := to(eli, mark)[0]; !strings.Contains(r.Body, "checked in") {
		t.Errorf("after the button: %q", r.Body)
	}
	settle()

	// 15:00: closing soon.
	mark = sent()
	s.clock.Advance(3 * time.Hour)
	waitFor(t, "closing soon", func() bool { return len(to(dana, mark)) == 1 && len(to(fay, mark)) == 1 })
	settle()
	if r := to(dana, mark)[0]; r.ContentSid != waTemplates["checkin.closing_soon"] {
		t.Errorf("Dana's closing soon: %+v", r)
	}
	if r := to(fay, mark)[0]; r.To != strings.TrimPrefix(fay.from, "whatsapp:") {
		t.Errorf("Fay's closing soon did not go by SMS: %+v", r)
	}
	if rs := to(hana, mark); len(rs) != 2 || rs[1].ContentSid != waTemplates["checkin.closing_soon"] {
		t.Errorf("Hana's closing soon: %+v", rs)
	}
	if rs := to(eli, mark); len(rs) != 0 {
		t.Errorf("closing soon went to Eli, who checked in: %+v", rs)
	}

	// Wednesday 08:05: the windows are decided; the misses are told.
	mark = sent()
	s.clock.Advance(41*time.Hour + 5*time.Minute)
	outcome := func(pid string) store.WindowOutcome { return onlyOutcome(ctx, st, pid) }
	waitFor(t, "every window decided", func() bool {
		for _, p := range people {
			if outcome(p.id) == "" {
				return false
			}
		}
		return true
	})
	for p, want := range map[*person]store.WindowOutcome{
		dana: store.WindowMissed, eli: store.WindowOnTime, fay: store.WindowMissed,
		gil: store.WindowNotDelivered, hana: store.WindowNotDelivered, ivo: store.WindowNotConsented,
	} {
		if got := outcome(p.id); got != want {
			t.Errorf("%s's window: %s, want %s", p.name, got, want)
		}
	}
	waitFor(t, "the notes after a miss", func() bool { return len(to(dana, mark)) == 1 && len(to(fay, mark)) == 1 })
	settle()
	if r := to(dana, mark)[0]; r.ContentSid != waTemplates["checkin.missed"] {
		t.Errorf("Dana's note after the miss: %+v", r)
	}
	if r := to(fay, mark)[0]; r.To != strings.TrimPrefix(fay.from, "whatsapp:") || !strings.Contains(r.Body, "check in late") {
		t.Errorf("Fay's note after the miss: %+v", r)
	}
	items, err := st.ListAttention(ctx, true)
	must(t, err)
	var open []string
	for _, it := range items {
		open = append(open, it.ParticipantID+" "+string(it.Kind)+" "+it.Reason)
	}
	for _, p := range []*person{gil, hana} {
		if !slices.Contains(open, p.id+" cant_reach whatsapp:no_template") {
			t.Errorf("open items %q, want %s's can't reach (no approved template)", open, p.name)
		}
		if slices.Contains(open, p.id+" missed ") {
			t.Errorf("%s, never reached, has a missed check-in", p.name)
		}
	}
	// Hana: each prompt tried once as free text and once as its template,
	// nothing by SMS, nothing more.
	if rs := to(hana, beforePrompts); len(rs) != 4 {
		t.Errorf("Hana got %d messages after writing, want 4 (two prompts, each twice)", len(rs))
	}
	// Nobody's number or words in the logs.
	logs := s.logs.String()
	for _, p := range people {
		if strings.Contains(logs, strings.TrimPrefix(p.from, "whatsapp:+")) {
			t.Errorf("%s's number is in the logs", p.name)
		}
	}
	if strings.Contains(logs, "Example Community Support") {
		t.Error("a template's variable is in the logs")
	}
}

// waymark whatsapp-templates prints the templates of the programme's own
// files: with --flows, the organisation's languages only.
func TestWhatsAppTemplatesCommand(t *testing.T) {
	t.Parallel() // no service in this process: see TestMain
	var out, errb strings.Builder
	dir := waFlows(t)
	code := run(context.Background(), []string{"waymark", "whatsapp-templates", "--flows", dir}, func(string) string { return "" }, nil, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	for _, want := range []string{"### checkin.ask", "**es**", "Hola, es hora de registrarse.", "1 - Registrarme",
		"`es: {sid: HX..., variables: []}`", "`es.other: {sid: HX..., variables: [Count, Date, Time, Place]}`"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "**fr**") {
		t.Error("French listed, though the programme does not offer it")
	}
	if code := run(context.Background(), []string{"waymark", "whatsapp-templates", "--nope"}, func(string) string { return "" }, nil, strings.NewReader(""), &out, &errb); code != 2 {
		t.Errorf("a bad flag exits %d, want 2", code)
	}
}
