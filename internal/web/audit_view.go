package web

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/waymark-atd/waymark/internal/store"
)

// The audit log's presentation: actions in words, names beside IDs, and
// the filters by action, actor, participant and date as a form (the store
// filters and pages, store.AuditQuery).

// auditActionLabels say what each recorded action was. An action not
// listed shows as its code with spaces.
var auditActionLabels = map[string]string{
	"participant_viewed":      "Looked at the person's page",
	"participant_enrolled":    "Enrolled the person",
	"participant_updated":     "Changed the person's details",
	"participant_paused":      "Paused the person",
	"participant_resumed":     "Resumed the person",
	"participant_exited":      "Marked as having left the programme",
	"participant_erased":      "Erased everything about the person",
	"participant_exported":    "Exported the person's record",
	"enrolment_code_created":  "Made an enrolment code",
	"attention_contacted":     "Marked an item contacted",
	"attention_excused":       "Excused an item",
	"attention_rescheduled":   "Marked an item rescheduled",
	"attention_paused":        "Paused the person from an item",
	"attention_resolved":      "Resolved an item",
	"attention_reopened":      "Undid an action: the item is open again",
	"attention_delivered":     "An item closed itself: a message reached them",
	"appointment_added":       "Added an appointment",
	"appointment_changed":     "Changed an appointment",
	"appointment_cancelled":   "Cancelled an appointment",
	"window_outcome":          "A check-in window's outcome changed",
	"checkins_exported":       "Downloaded check-ins",
	"windows_exported":        "Downloaded check-in windows",
	"checkins_viewed":         "Read check-ins through the API",
	"windows_viewed":          "Read check-in windows through the API",
	"report_viewed":           "Looked at the programme report",
	"checked_in":              "Checked in",
	"channel_linked":          "Linked a phone or Telegram",
	"link_unreachable":        "Messages stopped reaching them",
	"link_reachable":          "Messages reach them again",
	"callback_requested":      "Asked for a call",
	"cant_make_it":            "Said they cannot make it",
	"reschedule_requested":    "Asked to change a time",
	"erasure_requested":       "Asked to be deleted",
	"opted_out":               "Sent STOP",
	"opted_in":                "Sent START",
	"consented":               "Agreed to messages",
	"consent_unanswered":      "Did not answer whether they agree to messages",
	"language_set":            "Chose a language",
	"sms_fallback_agreed":     "Agreed to get SMS when WhatsApp cannot be used",
	"login":                   "Signed in",
	"logout":                  "Signed out",
	"login_failed":            "Sign-in refused: wrong password",
	"login_refused":           "Sign-in refused: account disabled",
	"login_limited":           "Sign-in refused: too many attempts",
	"password_changed":        "Changed a password",
	"password_change_failed":  "Password change refused: wrong current password",
	"password_change_limited": "Password change refused: too many attempts",
	"account_created":         "Made an account",
	"account_updated":         "Changed an account",
	"account_disabled":        "Disabled an account",
	"account_enabled":         "Enabled an account",
	"account_deleted":         "Deleted an account",
	"access_ended":            "Ended an account's sessions and tokens",
	"api_token_created":       "Made an API token",
	"api_token_revoked":       "Revoked an API token",
	"retention_run":           "Deleted what is kept no longer",
}

func auditActionLabel(action string) string { return wordsFor(auditActionLabels, action) }

// auditFilter is the log's filter as the form shows it; the store applies
// it (store.AuditQuery). From and To are whole days, To included.
type auditFilter struct {
	Action, Actor, Participant string
	From, To                   string // YYYY-MM-DD, or empty
}

func (f auditFilter) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"action": f.Action, "actor": f.Actor, "participant": f.Participant, "from": f.From, "to": f.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

type auditRow struct {
	E           store.AuditEntry
	Action      string
	Actor       string // a name, "Waymark" or "the person"
	Participant string // the person's label, when they are still here
	When        shownTime
	At          string // the day and always the time: "today 09:10", "Tue 3 Mar 17:45"
	Detail      string
}

// auditAt is when an entry was made, always with the time of day.
func auditAt(st shownTime, t time.Time, zone *time.Location) string {
	if strings.Contains(st.Text, ":") {
		return st.Text
	}
	return st.Text + " " + t.In(zone).Format("15:04")
}

// auditDetail puts the codes in an entry's detail into words: kinds of
// item and of appointment, account IDs as names. Other words stay as
// they were written.
func auditDetail(detail string, names map[string]string) string {
	words := strings.Fields(detail)
	for i, w := range words {
		if l, ok := kindLabels[store.AttentionKind(w)]; ok {
			words[i] = "(" + strings.ToLower(l) + ")"
		} else if l, ok := appointmentKindLabels[w]; ok {
			words[i] = strings.ToLower(l)
		} else if n, ok := names[w]; ok {
			words[i] = n + " (" + w + ")"
		}
	}
	return strings.Join(words, " ")
}

// auditWho names an entry's actor: an account's name, Waymark itself, or
// the person (their own messages are recorded with no account).
func auditWho(actor string, names map[string]string) string {
	switch {
	case actor == "system" || actor == "retention":
		return "Waymark"
	case actor == "unknown":
		return "someone with an unknown username"
	case actor == "" || actor == "participant":
		return "the person"
	}
	if n, ok := names[actor]; ok {
		return n
	}
	return "a deleted account (" + actor + ")"
}

// auditActions lists every action with words, for the filter.
func auditActions() []option {
	out := make([]option, 0, len(auditActionLabels))
	for a, l := range auditActionLabels {
		out = append(out, option{Value: a, Label: l})
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	return out
}
