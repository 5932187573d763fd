package schedule_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/fair")

// words are what a person types in their own language in the fair-record
// transcripts: the localized words people naturally use, never numbers
// only.
type words struct {
	agree, language, here, cant, delete string
}

var wordsOf = map[string]words{
	"en": {agree: "yes", language: "1", here: "I'm here", cant: "I can’t make it", delete: "DELETE"},
	"es": {agree: "sí", language: "2", here: "aquí estoy", cant: "no puedo", delete: "BORRAR"},
	"fr": {agree: "oui", language: "3", here: "je suis là", cant: "je ne peux pas", delete: "SUPPRIMER"},
	"ar": {agree: "نعم", language: "٤", here: "هنا", cant: "لا أستطيع", delete: "حذف"},
	"uk": {agree: "так", language: "5", here: "я тут", cant: "не можу", delete: "ВИДАЛИТИ"},
	"fa": {agree: "bale", language: "۶", here: "اینجا هستم", cant: "نمیتونم", delete: "حذف"},
	"ps": {agree: "هو", language: "۷", here: "دلته یم", cant: "نشم", delete: "ړنګ"},
	"ti": {agree: "እወ", language: "፰", here: "ኣለኹ", cant: "ኣይክእልን", delete: "ደምስስ"},
	"am": {agree: "awo", language: "9", here: "አለሁ", cant: "አልችልም", delete: "አጥፋ"},
	"so": {agree: "haa", language: "10", here: "waan joogaa", cant: "ma imaan karo", delete: "TIRTIR"},
	"pt": {agree: "sim", language: "11", here: "estou aqui", cant: "não posso", delete: "APAGAR"},
	"ru": {agree: "da", language: "12", here: "я здесь", cant: "не могу", delete: "УДАЛИТЬ"},
	"tr": {agree: "evet", language: "13", here: "buradayim", cant: "gelemiyorum", delete: "SİL"},
	"ur": {agree: "جی ہاں", language: "۱۴", here: "hazir", cant: "nahi aa sakta", delete: "مٹائیں"},
	"bn": {agree: "হ্যাঁ", language: "১৫", here: "hajir", cant: "পারব না", delete: "মুছুন"},
}

// The fair-record cases, each in every shipped language. A line is what
// the person types, or a step of the world:
//
//	/at TIME      the clock moves to TIME (UTC; London is on UTC in
//	              January) and the scheduler runs; what it queued is
//	              delivered, or fails while /fail is in force
//	/fail CODE    from now on, messages fail with the provider's CODE
//	/call         a missed call from the person's phone (free: rejected)
//
// {agree}, {here}, {cant}, {delete} and {language} are the person's words
// (wordsOf). The window is Monday 09:00 to Wednesday 21:00 with a day's
// grace; its miss check waits for the end of the quiet hours, Friday 08:00.
var fairScripts = []struct {
	name  string
	lines []string
}{
	// 1. Silence is never consent: no prompt before agreeing, one re-ask,
	// then the caseworker is told; the window is "not consented".
	{"silence_is_not_consent", []string{"JOIN {code}", "/at 2026-01-05T09:00:00Z", "/at 2026-01-06T13:00:00Z",
		"/at 2026-01-08T14:00:00Z", "/at 2026-01-09T08:00:00Z", "{agree}"}},
	// 2. "Reply 1" works three hours after the prompt, past the session
	// timeout, while the window is open.
	{"reply_after_hours", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z",
		"/at 2026-01-05T12:00:00Z", "1", "/at 2026-01-07T15:00:00Z", "/at 2026-01-09T08:00:00Z"}},
	// 2b. The closing-soon reminder is a question: its choices work.
	{"closing_soon_is_a_question", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z",
		"/at 2026-01-07T15:00:00Z", "{here}", "/at 2026-01-09T08:00:00Z"}},
	// 3. "I can't make it" is reported for the window: no closing-soon,
	// no missed message, no missed item.
	{"cant_make_it", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z",
		"{cant}", "/at 2026-01-07T15:00:00Z", "/at 2026-01-09T08:00:00Z"}},
	// 4. A failed delivery (WhatsApp outside its 24 hours) is "not
	// delivered", never a miss, and nothing more is sent.
	{"failed_delivery", []string{"JOIN {code}", "{agree}", "{language}", "/fail 63016", "/at 2026-01-05T09:00:00Z",
		"/at 2026-01-07T15:00:00Z", "/at 2026-01-09T08:00:00Z"}},
	// 5. A late check-in moves "missed" to "late" and closes the item;
	// START closes the opt-out.
	{"late_checkin_closes_the_miss", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z",
		"/at 2026-01-07T15:00:00Z", "/at 2026-01-09T08:00:00Z", "1", "STOP", "START"}},
	// 6. A missed call in the grace period is a late check-in.
	{"missed_call_in_grace", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z",
		"/at 2026-01-07T15:00:00Z", "/at 2026-01-08T10:00:00Z", "/call", "/at 2026-01-09T08:00:00Z"}},
	// 7. Natural answers: the person's own words check in.
	{"natural_answers", []string{"JOIN {code}", "{agree}", "{language}", "/at 2026-01-05T09:00:00Z", "{here}",
		"/at 2026-01-12T09:00:00Z", "{cant}"}},
	// "1" with no window open and no question waiting is the main menu's
	// "check in": recorded at once as outside any window, counted against
	// no one, and no second text is needed to see the menu first.
	{"one_with_no_window_open", []string{"JOIN {code}", "{agree}", "{language}", "1", "/at 2026-01-05T09:00:00Z", "{here}"}},
	// 8. After STOP, DELETE is never ignored: an erasure request for the
	// caseworker, and nothing sent.
	{"delete_after_stop", []string{"JOIN {code}", "{agree}", "{language}", "STOP", "{delete}", "{delete}"}},
}

// shippedLanguages are the languages programme.yaml offers, in its
// order; each must have its words in wordsOf.
func shippedLanguages(t *testing.T) []string {
	t.Helper()
	langs := testkit.Shipped(t).Flows.Programme.Languages
	for _, lang := range langs {
		if _, ok := wordsOf[lang]; !ok {
			t.Fatalf("wordsOf has no words for %s, which programme.yaml offers", lang)
		}
	}
	return langs
}

func TestFairRecordTranscripts(t *testing.T) {
	for _, sc := range fairScripts {
		for _, lang := range shippedLanguages(t) {
			t.Run(sc.name+"_"+lang, func(t *testing.T) {
				t.Parallel() // each on a store and clock of its own
				got := runFair(t, lang, sc.lines)
				testkit.Golden(t, filepath.Join("testdata", "fair", sc.name+"_"+lang+".golden"), got, *update, "run go test ./internal/schedule -run TestFairRecordTranscripts -update")
			})
		}
	}
}

// runFair plays one script for a person who joins by SMS, and returns the
// transcript: what they typed, what reached them, and at the end the
// ledger and the caseworker's items.
func runFair(t *testing.T, lang string, lines []string) string {
	h := newHarness(t)
	const phone = "+447700900999"
	h.addrs = append(h.addrs, phone)
	pid := store.NewID("p_")
	now := h.clock.Now()
	h.must(h.st.CreateParticipant(h.ctx, store.Participant{ID: pid, Label: "Transcript", Language: lang, TimeZone: "Europe/London",
		Status: store.Active, Schedule: mondayToWednesday(), CreatedAt: now, UpdatedAt: now}))
	const code = "FAIRCODE"
	h.must(h.st.PutEnrolmentCode(h.ctx, store.EnrolmentCode{Code: code, ParticipantID: pid, ExpiresAt: now.Add(24 * time.Hour)}))
	h.must(h.sched.Replan(h.ctx, pid))

	w := wordsOf[lang]
	fill := strings.NewReplacer("{code}", code, "{agree}", w.agree, "{here}", w.here, "{cant}", w.cant,
		"{delete}", w.delete, "{language}", w.language)
	failCode := ""
	var b strings.Builder
	show := func() {
		for _, m := range h.settle(pid, failCode) {
			mark := "<"
			if m.Status == store.Failed {
				mark = "x (" + m.ErrorCode + ")"
			}
			fmt.Fprintf(&b, "%s %s\n", mark, strings.ReplaceAll(m.Text, "\n", "\n  "))
		}
	}
	for i, line := range lines {
		line = fill.Replace(line)
		switch {
		case strings.HasPrefix(line, "/at "):
			at := strings.TrimPrefix(line, "/at ")
			fmt.Fprintf(&b, "-- %s\n", utc(at).Format("Mon 2 Jan 15:04"))
			h.clock.Set(utc(at))
			if _, err := h.sched.RunOnce(h.ctx, utc(at)); err != nil {
				t.Fatalf("run at %s: %v", at, err)
			}
		case strings.HasPrefix(line, "/fail "):
			failCode = strings.TrimPrefix(line, "/fail ")
			fmt.Fprintf(&b, "-- from now on, messages fail with %s\n", failCode)
		case line == "/call":
			fmt.Fprintf(&b, "> (a missed call)\n")
			if _, err := h.conv.Act(h.ctx, conversation.Action{ParticipantID: pid, Kind: conversation.ActCheckIn,
				Channel: store.MissedCall, Confirm: "checkin.by_call", DedupeKey: fmt.Sprintf("call:%d", i)}); err != nil {
				t.Fatal(err)
			}
		default:
			fmt.Fprintf(&b, "> %s\n", line)
			h.clock.Set(h.clock.Now().Add(time.Minute))
			h.say(store.SMS, phone, line)
		}
		show()
	}
	b.WriteString(h.ledger(pid))
	return b.String()
}

// settle takes every message queued for pid, in order, and delivers it,
// or fails it with code when code is set, as the provider would report.
func (h *harness) settle(pid, code string) []store.OutboundMessage {
	h.t.Helper()
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	msgs, err := h.st.ClaimOutbound(h.ctx, "transcript", far, time.Hour, 1000)
	h.must(err)
	var out []store.OutboundMessage
	for _, m := range msgs {
		if m.ParticipantID != pid {
			continue
		}
		text := m.Text
		m.Status = store.Delivered
		if code != "" {
			m.Status, m.ErrorCode = store.Failed, code
		}
		h.must(h.st.UpdateOutbound(h.ctx, m))
		m.Text = text
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b store.OutboundMessage) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// ledger writes the person's windows with their outcomes and the
// caseworker's items about them, for the end of a transcript.
func (h *harness) ledger(pid string) string {
	h.t.Helper()
	var b strings.Builder
	p := h.participant(pid)
	ws, err := h.sched.History(h.ctx, p, time.Time{}, h.clock.Now())
	h.must(err)
	b.WriteString("== windows\n")
	for _, w := range ws {
		fmt.Fprintf(&b, "%s to %s: %s\n", w.OpensAt.Format("Mon 2 Jan 15:04"), w.ClosesAt.Format("Mon 2 Jan 15:04"), w.Outcome)
	}
	b.WriteString("== check-ins\n")
	for _, c := range h.checkIns(pid) {
		fmt.Fprintf(&b, "%s by %s: %s\n", c.At.Format("Mon 2 Jan 15:04"), c.Channel, c.Outcome)
	}
	items, err := h.st.AttentionOf(h.ctx, pid)
	h.must(err)
	b.WriteString("== needs attention\n")
	for _, it := range items {
		state := "open"
		if !it.Open() {
			state = "dealt with by " + it.ResolvedBy + ": " + it.Resolution
		}
		about := ""
		if it.Ref != "" {
			about = " (a window)"
		}
		reason := ""
		if it.Reason != "" {
			reason = " " + it.Reason
		}
		fmt.Fprintf(&b, "%s%s%s, %s\n", it.Kind, reason, about, state)
	}
	return b.String()
}
