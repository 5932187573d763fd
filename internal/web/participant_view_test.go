package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The participant page and the list tell the story in words: no
// appointment or status codes, the language by name, what is to come
// apart from what is past, and the queue's items with only the actions
// that fit.
func TestParticipantPageInWords(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	b := e.signedIn(e.cara)
	today := e.clock.Now()
	add := func(kind string, days int) string {
		rec := b.post("/participants/"+p.ID+"/appointments", url.Values{"kind": {kind}, "date": {today.AddDate(0, 0, days).Format(time.DateOnly)},
			"time": {"10:30"}, "place": {"Office"}})
		mustStatus(t, "add "+kind, rec, http.StatusSeeOther)
		apps, _ := e.st.AppointmentsOf(t.Context(), p.ID)
		for _, a := range apps {
			if a.Kind == kind {
				return a.ID
			}
		}
		t.Fatalf("no %s", kind)
		return ""
	}
	meeting := add("caseworker_meeting", 5)
	hearing := add("hearing", 9)
	mustStatus(t, "hearing attended", b.post("/participants/"+p.ID+"/appointments/"+hearing, url.Values{"status": {"attended"}}), http.StatusSeeOther)
	it := e.attentionItem(p, store.AttentionCantMakeIt)
	it2 := store.AttentionItem{ID: store.NewID("n_"), ParticipantID: p.ID, Kind: store.AttentionCantMakeIt, Ref: meeting, CreatedAt: e.clock.Now()}
	if err := e.st.AddAttention(t.Context(), it2); err != nil {
		t.Fatal(err)
	}

	page := b.get("/participants/" + p.ID).Body.String()
	for _, want := range []string{"Meeting with the caseworker", "Planned", "Hearing", "Attended", "English", `id="upcoming-h">Coming up`, `id="past-h">Past and cancelled`,
		"kind-cant_make_it", "About the Meeting with the caseworker on"} {
		if !strings.Contains(page, want) {
			t.Errorf("participant page lacks %q", want)
		}
	}
	for _, code := range []string{">caseworker_meeting<", "· caseworker_meeting", ">scheduled<", "Language: en", "<strong>attended</strong>"} {
		if strings.Contains(page, code) {
			t.Errorf("participant page shows the code %q", code)
		}
	}
	upcoming := between(page, `id="upcoming-h"`, `id="add-appointment"`)
	if !strings.Contains(upcoming, "appt-"+meeting) || strings.Contains(upcoming, "appt-"+hearing) {
		t.Errorf("coming up:\n%s", upcoming)
	}

	// Rescheduling an appointment from the queue lands on its change form,
	// open, with the notice beside it.
	rec := b.post("/attention/"+it2.ID, url.Values{"action": {"rescheduled"}})
	mustStatus(t, "reschedule", rec, http.StatusSeeOther)
	loc := rec.Header().Get("Location")
	if !strings.Contains(loc, "appt="+meeting) || !strings.HasSuffix(loc, "#appointments") {
		t.Fatalf("reschedule goes to %s", loc)
	}
	page = b.get(withoutFragment(loc)).Body.String()
	section := between(page, `id="appointments"`, `id="edit-h"`)
	if !strings.Contains(section, "Marked as rescheduled") || !strings.Contains(between(section, `id="appt-`+meeting+`"`, `</summary>`), "<details open>") {
		t.Errorf("the appointment's form is not open with the notice:\n%s", section)
	}

	// An action from the participant page comes back to it, with undo.
	rec = b.post("/attention/"+it.ID, url.Values{"action": {"contacted"}, "from": {"participant"}})
	if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/participants/"+p.ID) || !strings.HasSuffix(loc, "#open-h") {
		t.Errorf("from the participant page back to %s", loc)
	} else if !strings.Contains(b.get(withoutFragment(loc)).Body.String(), `action="/attention/`+it.ID+`/reopen"`) {
		t.Error("no undo on the participant page")
	}

	// The list: last check-in, next window, open items linking to a
	// queue of that person's items only.
	e.attentionItem(p, store.AttentionCallback)
	other := e.participant("Bo", e.cara)
	e.attentionItem(other, store.AttentionMissed)
	for i, at := range []time.Time{e.clock.Now().Add(-26 * time.Hour), e.clock.Now().Add(-50 * time.Hour)} {
		if err := e.st.RecordCheckIn(t.Context(), store.CheckIn{ID: fmt.Sprintf("c_list%d", i), ParticipantID: p.ID, At: at, Channel: store.MissedCall, Outcome: store.OnTime}); err != nil {
			t.Fatal(err)
		}
	}
	list := b.get("/participants").Body.String()
	row := between(list, `href="/participants/`+p.ID+`"`, `</tr>`)
	for _, want := range []string{`data-label="Last check-in"><time`, "Missed call", `data-label="Next window">`, `href="/attention?person=` + p.ID + `"`} {
		if !strings.Contains(row, want) {
			t.Errorf("list row lacks %q:\n%s", want, row)
		}
	}
	if otherRow := between(list, `href="/participants/`+other.ID+`"`, `</tr>`); !strings.Contains(otherRow, "none yet") {
		t.Errorf("someone who never checked in:\n%s", otherRow)
	}
	queue := b.get("/attention?person=" + p.ID).Body.String()
	if strings.Contains(queue, `id="person-`+other.ID+`"`) {
		t.Error("the person's queue shows someone else")
	}
}

// withoutFragment is a Location as a browser requests it.
func withoutFragment(loc string) string {
	before, _, _ := strings.Cut(loc, "#")
	return before
}

// A mistake in the details form shows the person's page again with the
// problem beside its field, and changes nothing.
func TestParticipantEditShowsProblemsBesideFields(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	p := e.participant("Amal", e.cara)
	b := e.signedIn(e.cara)
	rec := b.post("/participants/"+p.ID, url.Values{"label": {"+44 7700 900123"}, "language": {"en"}, "time_zone": {"Europe/London"},
		"schedule": {"none"}, "child": {"on"}})
	mustStatus(t, "a phone number as label, a child for an untrained caseworker", rec, http.StatusUnprocessableEntity)
	body := rec.Body.String()
	for _, want := range []string{`id="label" name="label"`, `aria-invalid="true" aria-describedby="label-error`, "One thing to check", `value="&#43;44 7700 900123"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if got, _ := e.st.GetParticipant(t.Context(), p.ID); got.Label != "Amal" || got.Child {
		t.Errorf("a refused form changed the person: %+v", got)
	}
}

func TestScheduleFieldErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		f    scheduleForm
		want []string
	}{
		"none needs nothing":     {scheduleForm{Kind: "none", EveryDays: "x"}, nil},
		"weekly is fine":         {scheduleForm{Kind: "weekly", W: [2]weeklyForm{{"monday", "09:00", "tuesday", "21:00"}}}, nil},
		"the second is optional": {scheduleForm{Kind: "weekly", W: [2]weeklyForm{{"monday", "09:00", "monday", "17:00"}, {}}}, nil},
		"a half second window":   {scheduleForm{Kind: "weekly", W: [2]weeklyForm{{"monday", "09:00", "monday", "17:00"}, {OpenDay: "friday"}}}, []string{"w1_close_day", "w1_close_time", "w1_open_time"}},
		"closes as it opens":     {scheduleForm{Kind: "weekly", W: [2]weeklyForm{{"monday", "09:00", "monday", "09:00"}}}, []string{"w0_close_time"}},
		"every: all wrong":       {scheduleForm{Kind: "every", EveryDays: "0", EveryTime: "9", EveryLength: "soon"}, []string{"every_days", "every_length", "every_time", "from"}},
		"every: open too long":   {scheduleForm{Kind: "every", EveryDays: "2", EveryTime: "09:00", EveryLength: "3d", From: "2026-03-02"}, []string{"every_length"}},
		"every: a bad first day": {scheduleForm{Kind: "every", EveryDays: "2", EveryTime: "09:00", EveryLength: "1d", From: "2 March"}, []string{"from"}},
		"no choice":              {scheduleForm{Kind: ""}, []string{"schedule"}},
	} {
		fe := scheduleFieldErrors(tc.f)
		var got []string
		for k := range fe {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
