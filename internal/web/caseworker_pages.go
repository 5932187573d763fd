package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/waymark-atd/waymark/internal/auth"
	"github.com/waymark-atd/waymark/internal/conversation"
	"github.com/waymark-atd/waymark/internal/schedule"
	"github.com/waymark-atd/waymark/internal/store"
)

// The caseworker pages' handlers. Each reads the form, calls the shared
// operation in caseworker_ops.go and redirects with a fixed notice, so a
// reload never repeats a change.

var templateFuncs = template.FuncMap{
	"kindLabel":       kindLabel,
	"resolutionLabel": resolutionLabel,
	"reasonLabel":     reasonLabel,
	"whyLabel":        whyLabel,
	"localTime":       localTime,
	"ago":             ago,
	"lower":           strings.ToLower,
	"split":           strings.Fields,
	"tokenList": func(toks []auth.TokenInfo, csrf, from string, now time.Time) tokenListView {
		return tokenListView{Tokens: toks, CSRF: csrf, From: from, Now: now}
	},
	"outcomeLabel": func(o store.CheckInOutcome) string {
		if l, ok := map[store.CheckInOutcome]string{store.OnTime: "On time", store.Late: "Late, welcomed", store.Unscheduled: "Outside a window", store.Repeat: "Again in the same window"}[o]; ok {
			return l
		}
		return string(o)
	},
	"statusLabel": func(s store.ParticipantStatus) string {
		return map[store.ParticipantStatus]string{store.Active: "Active", store.Paused: "Paused", store.Exited: "Left the programme"}[s]
	},
	"resolutionVerb": func(r string) string {
		return map[string]string{"contacted": "Mark contacted", "excused": "Excuse", "rescheduled": "Reschedule", "paused": "Pause", "resolved": "Resolve"}[r]
	},
	"resolutionHelp": func(r string) string {
		return map[string]string{
			"contacted":   "You reached the person",
			"excused":     "A good reason: it will not count",
			"rescheduled": "Agree a new time, then change it",
			"paused":      "No reminders until you resume",
			"resolved":    "Nothing more to do",
		}[r]
	},
	"resolutions": func() []string { return resolutions },
	"kindClass":   kindClass,
	"hidden":      func(f queueFilter) []option { return hiddenFields(f.values()) },
	"has":         func(list []string, s string) bool { return slices.Contains(list, s) },
	"apptKind":    appointmentKindLabel,
	"apptStatus":  appointmentStatusLabel,
	"day":         dayLabel,
	"capitalise":  capitalise,
	"invalid":     invalidAttrs,
	"fieldError":  fieldError,
	"asset":       assetPath,
	"caseload":    caseloadWords,
	"itemArgs": func(it queueItem, csrf, label string, hidden []option, extra ...string) itemArgs {
		for i := 0; i+1 < len(extra); i += 2 {
			hidden = append(hidden, option{Value: extra[i], Label: extra[i+1]})
		}
		return itemArgs{I: it, CSRF: csrf, Label: label, Hidden: hidden}
	},
	"appt": func(page participantView, row apptRow) apptArgs { return apptArgs{Page: page, Row: row} },
}

var kindLabels = map[store.AttentionKind]string{
	store.AttentionMissed:       "Missed check-in",
	store.AttentionCantReach:    "Can't reach",
	store.AttentionCallback:     "Asked for a call",
	store.AttentionCantMakeIt:   "Can't make it",
	store.AttentionReschedule:   "Asked to reschedule",
	store.AttentionOptedOut:     "Opted out of messages",
	store.AttentionErasure:      "Asked to be deleted",
	store.AttentionNotConsented: "Has not agreed to messages",
}

// resolutionLabels say in words what closed an item, the system's own
// closings included (the fact behind the item changed).
var resolutionLabels = map[string]string{
	"contacted": "Contacted", "excused": "Excused", "rescheduled": "Rescheduled", "paused": "Paused", "resolved": "Resolved",
	store.ResolvedCheckedInLate: "Checked in late (closed by itself)",
	store.ResolvedCheckedIn:     "Checked in after all (closed by itself)",
	store.ResolvedOptedIn:       "Sent START (closed by itself)",
	store.ResolvedDelivered:     "A message reached them (closed by itself)",
	store.ResolvedConsented:     "Agreed to messages (closed by itself)",
	store.ResolvedNotDelivered:  "Not a miss: the reminder never reached them (closed by itself)",
}

func resolutionLabel(r string) string {
	if l, ok := resolutionLabels[r]; ok {
		return l
	}
	return strings.ReplaceAll(r, "_", " ")
}

func kindLabel(k store.AttentionKind) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return strings.ReplaceAll(string(k), "_", " ")
}

// reasonLabel explains an attention item's reason code. Codes come from
// Waymark or a provider, never from the person.
func reasonLabel(code string) string {
	// Channels prefix their codes: "sms:21610", "telegram:blocked".
	if ch, rest, ok := strings.Cut(code, ":"); ok {
		if name := store.Channel(ch).Label(); name != ch {
			return name + ": " + reasonLabel(rest)
		}
	}
	switch code {
	case "":
		return ""
	case "no_channel":
		return "has not linked a phone or Telegram yet"
	case "unreachable":
		return "messages to them are not delivered"
	case "no_reply":
		return "no reply before the window closed"
	case schedule.ReasonNotDelivered:
		return "no prompt for the window reached them"
	case schedule.ReasonNotSent:
		return "no prompt was sent for the window (the service was stopped)"
	case "blocked":
		return "they blocked the bot"
	case "30003", "30005", "30006":
		return "phone unreachable or number not in service (provider code " + code + ")"
	case "21610":
		return "they sent STOP to the number (provider code 21610)"
	case "no_template", "63016":
		return "no approved template for a message sent more than 24 hours after their last one (see docs/whatsapp.md)"
	case conversation.ReasonUnconfirmedErasure:
		return "they sent DELETE after STOP, so could not be asked to confirm; their number is kept: check with them, then erase their record unless you must keep it"
	}
	return "code " + code
}

// whyLabel is an item's reason, or what its kind says when it has none.
func whyLabel(it store.AttentionItem) string {
	if r := reasonLabel(it.Reason); r != "" {
		return r
	}
	switch it.Kind {
	case store.AttentionMissed:
		return "no check-in by the end of the window and its grace period"
	case store.AttentionCantReach:
		return "messages to them are not delivered"
	case store.AttentionCallback:
		return "they asked for someone to call them"
	case store.AttentionCantMakeIt:
		return "they said they cannot make it"
	case store.AttentionReschedule:
		return "they asked to change the time"
	case store.AttentionOptedOut:
		return "they sent STOP; nothing is sent until they send START"
	case store.AttentionErasure:
		return "they texted DELETE and confirmed; their number is already removed; erase their record unless you must keep it"
	}
	return ""
}

// localTime shows an instant in a time zone, with the zone's name.
func localTime(t time.Time, tz string) string {
	if t.IsZero() {
		return ""
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// ago says how long before now t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// pageError shows a refusal as a page: a participant outside the caseload
// is "not found" like one that does not exist.
func (s *Server) pageError(c echo.Context, err error) error {
	if oe, ok := errors.AsType[*opError](err); ok {
		title := map[int]string{http.StatusNotFound: "Not found", http.StatusForbidden: "Not allowed", http.StatusConflict: "Already done"}[oe.Status]
		if title == "" {
			title = "Please check the form"
		}
		return s.renderMessage(c, oe.Status, title, sentence(oe.Message))
	}
	return err
}

func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// Needs attention.

type attentionRow struct {
	Item        store.AttentionItem
	Participant store.Participant
}

type attentionView struct {
	page
	queue
	Filter      queueFilter
	Caseworkers []store.Account
	// Unassigned counts the people whose caseworker is disabled or gone.
	Unassigned int
	// Focus is the person whose card takes focus after an action; the
	// notice, and the undo, are shown at it.
	Focus  string
	UndoID string
	Kinds  []store.AttentionKind
	// WholeCounts: the people and counts are of the whole queue (a
	// caseload's), not only of the page shown.
	WholeCounts bool
	// NextURL is the address of the next page of open items; "" on the
	// last.
	NextURL string
}

// queuePageSize is how many open items the queue shows a page.
const queuePageSize = 100

func (s *Server) attentionPage(c echo.Context) error {
	ctx := c.Request().Context()
	v := attentionView{page: s.page(c, "Needs attention", "attention"), Kinds: kindOrder}
	v.Filter = queueFilterOf(c.QueryParam, v.Account)
	v.NoticeInPage = true
	names, accts, err := s.accountNames(ctx)
	if err != nil {
		return err
	}
	if canSeeAll(v.Account) {
		v.Caseworkers = accts
		if v.Unassigned, err = s.unassignedCount(ctx); err != nil {
			return err
		}
	}
	read, err := s.queue(ctx, v.Account, v.Filter, c.QueryParam("cursor"))
	if err != nil {
		return s.pageError(c, err)
	}
	byID := read.People
	v.NextURL = nextPageURL(c, "/attention", read.Next)
	v.WholeCounts = read.Whole != nil || read.Tally != nil
	v.queue = buildQueue(queueInput{Items: append(slices.Clip(read.Open), read.Recent...), Whole: read.Whole, Tally: read.Tally,
		People: byID, Names: names, Filter: v.Filter, Now: v.Now,
		Zone: s.caseworkerZone(v.Account), About: func(it store.AttentionItem, p store.Participant) string { return s.about(c, it, p) },
		Focus: c.QueryParam("focus")})
	if undo := c.QueryParam("undo"); undo != "" && v.Notice != "" {
		if it, err := s.deps.Store.GetAttention(ctx, undo); err == nil && !it.Open() && it.ResolvedBy != store.ResolvedBySystem {
			if _, ok := byID[it.ParticipantID]; ok {
				v.UndoID = it.ID
			}
		}
	}
	if f := c.QueryParam("focus"); f != "" && slices.ContainsFunc(v.Cards, func(cd queueCard) bool { return cd.P.ID == f }) {
		v.Focus = f
	}
	return s.render(c, http.StatusOK, "attention", v)
}

// caseworkerZone is the time zone a caseworker reads times in: their
// own, or the programme's office.
func (s *Server) caseworkerZone(a store.Account) *time.Location {
	return zoneOf(s.caseworkerZoneName(a))
}

func (s *Server) caseworkerZoneName(a store.Account) string {
	if validZone(a.TimeZone) {
		return a.TimeZone
	}
	return s.programme().TimeZone
}

// about says what an item refers to: a check-in window, with what its
// record in the ledger says now, or an appointment. It reads one record an
// item, and is asked only for the cards a page shows.
func (s *Server) about(c echo.Context, it store.AttentionItem, p store.Participant) string {
	if rest, ok := strings.CutPrefix(it.Ref, "win:"+p.ID+":"); ok {
		if w, err := s.deps.Store.GetWindow(c.Request().Context(), p.ID, it.Ref); err == nil && !w.OpensAt.IsZero() {
			return windowWords(w, p.TimeZone)
		}
		if sec, err := strconv.ParseInt(rest, 10, 64); err == nil {
			return "check-in window that opened " + localTime(time.Unix(sec, 0), p.TimeZone)
		}
	}
	if strings.HasPrefix(it.Ref, "ap_") {
		if a, err := s.deps.Store.GetAppointment(c.Request().Context(), it.Ref); err == nil && a.ParticipantID == p.ID {
			return appointmentKindLabel(a.Kind) + " on " + dayLabel(a.Date) + " at " + a.Time
		}
	}
	return ""
}

// safeAnchor keeps an ID fit for a URL's fragment; anything else is
// dropped.
func safeAnchor(id string) string {
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		return ""
	}
	return id
}

func (s *Server) attentionAction(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	action := c.FormValue("action")
	f := queueFilterOf(c.FormValue, me)
	if action == "paused" && c.FormValue("confirm") != "yes" {
		// Pausing stops everything for the person: never in one click.
		return s.render(c, http.StatusOK, "confirm", confirmView{
			page: s.page(c, "Pause this person?", "attention"), Heading: "Pause this person?",
			Text:   "Pausing stops all reminders and check-in windows for the person until you resume them. Nothing is sent to them about it. You can undo it.",
			Action: "/attention/" + url.PathEscape(c.Param("id")),
			Fields: append(hiddenFields(f.values()), option{Value: "action", Label: "paused"}, option{Value: "confirm", Label: "yes"},
				option{Value: "next", Label: safeAnchor(c.FormValue("next"))}, option{Value: "from", Label: safeAnchor(c.FormValue("from"))}),
			Button: "Yes, pause", Back: f.href(nil),
		})
	}
	it, err := s.resolveIf(ctx, me, c.Param("id"), action, func(it store.AttentionItem) error {
		if !actionFits(it.Kind, action) {
			return invalid("%s does not fit a %s item", strings.ToLower(resolutionLabel(action)), strings.ToLower(kindLabel(it.Kind)))
		}
		return nil
	})
	if err != nil {
		return s.pageError(c, err)
	}
	if action == "rescheduled" {
		target := "/participants/" + url.PathEscape(it.ParticipantID) + "?done=rescheduled"
		if strings.HasPrefix(it.Ref, "ap_") {
			target += "&appt=" + url.QueryEscape(it.Ref)
		}
		return c.Redirect(http.StatusSeeOther, target+"#appointments")
	}
	if c.FormValue("from") == "participant" {
		return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(it.ParticipantID)+"?done="+action+"&undo="+url.QueryEscape(it.ID)+"#open-h")
	}
	stillOpen := ""
	if mine, err := s.deps.Store.AttentionOf(ctx, it.ParticipantID); err != nil {
		return err
	} else if slices.ContainsFunc(mine, func(o store.AttentionItem) bool { return o.Open() }) {
		stillOpen = it.ParticipantID
	}
	return c.Redirect(http.StatusSeeOther, afterAction(f, action, it.ID, stillOpen, safeAnchor(c.FormValue("next"))))
}

// itemArgs is what the "attentionItem" template needs.
type itemArgs struct {
	I           queueItem
	CSRF, Label string
	Hidden      []option // hidden fields: Value is the name, Label the value
}

// apptArgs is what the "appointment" template needs: the page and one row.
type apptArgs struct {
	Page participantView
	Row  apptRow
}

// participantStory puts what the participant page read into words.
func (s *Server) participantStory(c echo.Context, v *participantView) {
	p := v.P
	zone := s.caseworkerZone(v.Account)
	appt := c.QueryParam("appt")
	v.Upcoming, v.Past = appointmentsApart(v.Appointments, v.Now, p.TimeZone, appt)
	v.Language = s.languageName(p.Language)
	v.Enrolled = caseworkerTime(p.CreatedAt, v.Now, zone)
	items := make([]store.AttentionItem, 0, len(v.Open))
	for _, r := range v.Open {
		items = append(items, r.Item)
	}
	q := buildQueue(queueInput{Items: items, People: map[string]store.Participant{p.ID: p}, Now: v.Now, Zone: zone,
		About: func(it store.AttentionItem, p store.Participant) string { return s.about(c, it, p) }})
	if len(q.Cards) == 1 {
		v.Items = q.Cards[0].Items
	}
	switch done := c.QueryParam("done"); done {
	case "rescheduled", "appt_added", "appt_changed", "appt_cancel":
		// Shown where the work goes on, not at the top of a long page.
		v.ApptNotice, v.NoticeInPage = v.Notice, true
		v.AddOpen = done == "rescheduled" && !slices.ContainsFunc(v.Upcoming, func(r apptRow) bool { return r.Open })
	case "contacted", "excused", "paused", "resolved":
		v.UndoID = safeAnchor(c.QueryParam("undo"))
	}
}

// attentionReopen undoes an action on an item.
func (s *Server) attentionReopen(c echo.Context) error {
	me := session(c).Account
	it, err := s.reopen(c.Request().Context(), me, c.Param("id"))
	if err != nil {
		return s.pageError(c, err)
	}
	if c.FormValue("from") == "participant" {
		return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(it.ParticipantID)+"?done=undone#open-h")
	}
	f := queueFilterOf(c.FormValue, me)
	return c.Redirect(http.StatusSeeOther, f.href(url.Values{"done": {"undone"}, "focus": {it.ParticipantID}}))
}

// confirmView asks before a change that is not made in one click.
type confirmView struct {
	page
	Heading, Text, Action, Button, Back string
	Fields                              []option // hidden fields: Value is the name, Label the value
}

func hiddenFields(v url.Values) []option {
	var out []option
	for k, vs := range v {
		for _, x := range vs {
			out = append(out, option{Value: k, Label: x})
		}
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(a.Value, b.Value) })
	return out
}

// Participants.

type participantRow struct {
	P           store.Participant
	Caseworker  string
	Open        int
	NextWindow  string
	LastCheckIn shownTime
	LastChannel string
}

type participantsView struct {
	page
	Query string
	Rows  []participantRow
	Total int
	// NextURL is the address of the next page; "" on the last.
	NextURL string
}

func (s *Server) participantsPage(c echo.Context) error {
	ctx := c.Request().Context()
	v := participantsView{page: s.page(c, "Participants", "participants"), Query: strings.TrimSpace(c.QueryParam("q"))}
	ps, next, err := s.visibleParticipants(ctx, v.Account, v.Query, c.QueryParam("cursor"), participantsPageSize)
	if err != nil {
		return s.pageError(c, err)
	}
	v.NextURL = nextPageURL(c, "/participants", next)
	if v.Total, err = s.caseloadSize(ctx, v.Account); err != nil {
		return err
	}
	names, _, err := s.accountNames(ctx)
	if err != nil {
		return err
	}
	open, err := s.openCounts(ctx, ps)
	if err != nil {
		return err
	}
	// One read for the page's people, however many check-ins each has.
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	last, err := s.deps.Store.LastCheckIns(ctx, ids)
	if err != nil {
		return err
	}
	zone := s.caseworkerZone(v.Account)
	for _, p := range ps {
		row := participantRow{P: p, Caseworker: names[p.CaseworkerID], Open: open[p.ID]}
		if ci, ok := last[p.ID]; ok {
			row.LastCheckIn, row.LastChannel = caseworkerTime(ci.At, v.Now, zone), ci.Channel.Label()
		}
		v.Rows = append(v.Rows, row)
	}
	slices.SortStableFunc(v.Rows, func(a, b participantRow) int {
		return strings.Compare(strings.ToLower(a.P.Label), strings.ToLower(b.P.Label))
	})
	s.participantRowFacts(v.Rows, v.Now, zone)
	return s.render(c, http.StatusOK, "participants", v)
}

// participantRowFacts fills each row's next window, from the person's
// schedule: no read.
func (s *Server) participantRowFacts(rows []participantRow, now time.Time, zone *time.Location) {
	for i := range rows {
		rows[i].NextWindow = nextWindowOf(rows[i].P, now, zone)
	}
}

type option struct {
	Value, Label string
	Selected     bool
}

// participantForm is the enrol and edit form's state.
type participantForm struct {
	Label, Language, TimeZone, Caseworker string
	Child                                 bool
	Schedule                              scheduleForm
	Languages                             []option
	Zones                                 []zoneGroup
	Caseworkers                           []option
	Days                                  []string
	Errors                                fieldErrors
}

var weekDays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func (s *Server) participantFormOf(c echo.Context, p store.Participant) (participantForm, error) {
	f := participantForm{Label: p.Label, Language: p.Language, TimeZone: p.TimeZone, Caseworker: p.CaseworkerID, Child: p.Child,
		Schedule: scheduleFormOf(p.Schedule), Days: weekDays, Zones: zoneOptions(s.programme().TimeZone, p.TimeZone, s.now())}
	content := s.deps.Conversation.Content()
	for _, l := range s.programme().Languages {
		name := l
		if content != nil {
			name = content.Locale.Name(l)
		}
		f.Languages = append(f.Languages, option{Value: l, Label: name, Selected: l == p.Language})
	}
	if canSeeAll(session(c).Account) {
		accts, err := s.deps.Store.ListAccounts(c.Request().Context())
		if err != nil {
			return f, err
		}
		for _, a := range accts {
			label := a.Username
			if a.ChildProtectionTrained {
				label += " (child protection trained)"
			}
			f.Caseworkers = append(f.Caseworkers, option{Value: a.ID, Label: label, Selected: a.ID == p.CaseworkerID})
		}
	}
	return f, nil
}

// participantInputOf reads the enrol or edit form.
func participantInputOf(c echo.Context, me store.Account) (participantInput, error) {
	str := func(name string) *string { v := c.FormValue(name); return &v }
	child := c.FormValue("child") == "on"
	in := participantInput{Label: str("label"), Language: str("language"), TimeZone: str("time_zone"), Child: &child}
	if cw := c.FormValue("caseworker"); cw != "" && canSeeAll(me) {
		in.CaseworkerID = &cw
	}
	sc, err := scheduleFromForm(c)
	if err != nil {
		return in, err
	}
	in.SetSchedule, in.Schedule = true, sc
	return in, nil
}

func (s *Server) enrolPage(c echo.Context) error {
	me := session(c).Account
	f, err := s.participantFormOf(c, store.Participant{Language: s.programme().DefaultLanguage, CaseworkerID: me.ID,
		TimeZone: s.programme().TimeZone, Schedule: defaultSchedule()})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "enrol", enrolView{page: s.page(c, "Enrol a participant", "participants"), Form: f})
}

// defaultSchedule prefills the enrol form: once a week, Monday 09:00 to
// Tuesday 21:00, which leaves room for a working day.
func defaultSchedule() *store.CheckInSchedule {
	return &store.CheckInSchedule{Weekly: []store.WeeklyWindow{{OpenDay: "monday", OpenTime: "09:00", CloseDay: "tuesday", CloseTime: "21:00"}}}
}

type codeView struct {
	page
	P        store.Participant
	Code     store.EnrolmentCode
	Expires  shownTime
	Telegram string
	QR       template.HTML
	// Number is where people send JOIN; WhatsApp says it is a WhatsApp
	// number.
	Number   string
	WhatsApp bool
}

// formProblems lists a form's problems for the summary above it, in the
// order of the fields.
func formProblems(fe fieldErrors) []option {
	var out []option
	for _, n := range fieldNames {
		if msg, ok := fe[n.Value]; ok {
			out = append(out, option{Value: n.Value, Label: n.Label + ": " + msg})
		}
	}
	return out
}

type enrolView struct {
	page
	Form     participantForm
	Problems []option // field id, what is wrong: the summary above the form
}

func (s *Server) enrol(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	in, schedErr := participantInputOf(c, me)
	caseworker := me.ID
	if in.CaseworkerID != nil {
		caseworker = *in.CaseworkerID
	}
	fe := s.checkEnrolForm(in, scheduleFormFromRequest(c), schedErr, caseworker, s.trained(ctx), s.now())
	var general string
	if len(fe) == 0 {
		p, code, err := s.enrolParticipant(ctx, me, in)
		if err == nil {
			// The code page has its own address: a reload, or Back and
			// forward, shows the code again and enrols no one.
			return s.redirectToCode(c, p.ID, code)
		}
		var oe *opError
		if !errors.As(err, &oe) {
			return err
		}
		general = sentence(oe.Message)
	}
	// Show the form again with what was typed and every problem.
	p := store.Participant{Label: *in.Label, Language: *in.Language, TimeZone: *in.TimeZone, CaseworkerID: caseworker, Schedule: in.Schedule}
	if in.Child != nil {
		p.Child = *in.Child
	}
	f, err := s.participantFormOf(c, p)
	if err != nil {
		return err
	}
	f.Schedule = scheduleFormFromRequest(c)
	f.Errors = fe
	v := enrolView{page: s.page(c, "Enrol a participant", "participants"), Form: f}
	v.Error = general
	v.Problems = formProblems(fe)
	if len(v.Problems) > 0 {
		v.Title = "Please check the form: enrol a participant"
	}
	return s.render(c, http.StatusUnprocessableEntity, "enrol", v)
}

// trained says whether an account is trained in child protection.
func (s *Server) trained(ctx context.Context) func(string) bool {
	return func(id string) bool {
		a, err := s.deps.Store.GetAccount(ctx, id)
		return err == nil && a.ChildProtectionTrained
	}
}

func (s *Server) redirectToCode(c echo.Context, pid string, code store.EnrolmentCode) error {
	ticket, err := sealCodeTicket(session(c).CSRFToken, code)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(pid)+"/code/"+ticket)
}

// participantCodePage shows a fresh enrolment code: the words to send, the
// number to send them to, and the Telegram link with its QR code. The page
// is not cached, and works only in the session that made the code.
func (s *Server) participantCodePage(c echo.Context) error {
	me := session(c).Account
	p, err := s.participantFor(c.Request().Context(), me, c.Param("id"))
	if err != nil {
		return s.pageError(c, err)
	}
	code, err := openCodeTicket(session(c).CSRFToken, c.Param("ticket"))
	if errors.Is(err, errBadTicket) || err == nil && code.ParticipantID != p.ID {
		return s.renderMessage(c, http.StatusNotFound, "This code page is closed",
			"A code is shown only in the session that made it. Make a new code on the person's page if they need one.")
	}
	if err != nil {
		return err
	}
	v := codeView{page: s.page(c, "Enrolment code", "participants"), P: p, Code: code}
	v.Expires = caseworkerTime(code.ExpiresAt, v.Now, s.caseworkerZone(me))
	v.Number, v.WhatsApp = textNumber(s.deps.TextNumber)
	if s.deps.TelegramBot != "" {
		v.Telegram = telegramLink(s.deps.TelegramBot, code.Code)
		qr, err := qrSVG(v.Telegram, "QR code of the Telegram link for this enrolment code")
		if err != nil {
			return err
		}
		v.QR = qr
	}
	return s.render(c, http.StatusOK, "code", v)
}

func telegramLink(bot, code string) string {
	return "https://t.me/" + url.PathEscape(bot) + "?start=" + url.QueryEscape(code)
}

func (s *Server) participantCode(c echo.Context) error {
	me := session(c).Account
	ctx := c.Request().Context()
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return s.pageError(c, err)
	}
	code, err := s.newCode(ctx, me, p.ID)
	if err != nil {
		return err
	}
	return s.redirectToCode(c, p.ID, code)
}

type participantView struct {
	page
	P            store.Participant
	Caseworker   string
	Links        []store.Link
	Appointments []store.Appointment
	Open         []attentionRow
	Strip        checkInStrip
	Form         participantForm
	NextWindows  []string
	Recent       []store.CheckIn // the latest check-ins, newest first
	Kinds        []option
	CanErase     bool
	// In words, apart: what is open, what is to come, what is past.
	Items              []queueItem
	Upcoming, Past     []apptRow
	Language           string
	Enrolled           shownTime
	AddOpen            bool // the "add an appointment" form starts open
	UndoID, ApptNotice string
	Problems           []option // the details form's, as sent
}

// recentCheckIns is how many check-ins the participant page lists, with the
// channel each came through.
const recentCheckIns = 10

var appointmentKinds = []string{"caseworker_meeting", "hearing", "reporting_event", "legal_advice", "other"}

func (s *Server) participantPage(c echo.Context) error {
	p, err := s.participantFor(c.Request().Context(), session(c).Account, c.Param("id"))
	if err != nil {
		return s.pageError(c, err)
	}
	return s.renderParticipant(c, p, http.StatusOK, nil)
}

// renderParticipant shows a person's page; edit, when set, is the
// details form as sent, with its problems.
func (s *Server) renderParticipant(c echo.Context, p store.Participant, status int, edit *participantForm) error {
	ctx := c.Request().Context()
	me := session(c).Account
	var err error
	v := participantView{page: s.page(c, p.Label, "participants"), P: p, Kinds: appointmentKindOptions(), CanErase: true}
	names, _, err := s.accountNames(ctx)
	if err != nil {
		return err
	}
	v.Caseworker = names[p.CaseworkerID]
	if v.Links, err = s.deps.Store.LinksOf(ctx, p.ID); err != nil {
		return err
	}
	if v.Appointments, err = s.deps.Store.AppointmentsOf(ctx, p.ID); err != nil {
		return err
	}
	items, err := s.deps.Store.AttentionOfMany(ctx, []string{p.ID}, true)
	if err != nil {
		return err
	}
	for _, it := range items {
		v.Open = append(v.Open, attentionRow{Item: it, Participant: p})
	}
	if v.Strip, err = s.checkInStrip(ctx, p, v.Now); err != nil {
		return err
	}
	v.NextWindows = nextWindows(p, v.Now, 3)
	checkins, err := s.deps.Store.CheckInsOf(ctx, p.ID, v.Now.AddDate(0, 0, -7*12))
	if err != nil {
		return err
	}
	for i := len(checkins) - 1; i >= 0 && len(v.Recent) < recentCheckIns; i-- {
		v.Recent = append(v.Recent, checkins[i])
	}
	if v.Form, err = s.participantFormOf(c, p); err != nil {
		return err
	}
	if edit != nil {
		v.Form = *edit
		v.Problems = formProblems(edit.Errors)
	}
	s.participantStory(c, &v)
	if err := s.audit(ctx, me, "participant_viewed", p.ID, ""); err != nil {
		return err
	}
	return s.render(c, status, "participant", v)
}

func (s *Server) participantUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	p, err := s.participantFor(ctx, me, c.Param("id"))
	if err != nil {
		return s.pageError(c, err)
	}
	in, schedErr := participantInputOf(c, me)
	caseworker := p.CaseworkerID
	if in.CaseworkerID != nil {
		caseworker = *in.CaseworkerID
	}
	if fe := s.checkEnrolForm(in, scheduleFormFromRequest(c), schedErr, caseworker, s.trained(ctx), s.now()); len(fe) > 0 {
		// The page again, with what was typed and every problem beside
		// its field.
		typed := p
		typed.Label, typed.Language, typed.TimeZone, typed.CaseworkerID = *in.Label, *in.Language, *in.TimeZone, caseworker
		if in.Child != nil {
			typed.Child = *in.Child
		}
		f, err := s.participantFormOf(c, typed)
		if err != nil {
			return err
		}
		f.Schedule, f.Errors = scheduleFormFromRequest(c), fe
		return s.renderParticipant(c, p, http.StatusUnprocessableEntity, &f)
	}
	if _, err = s.update(ctx, me, p.ID, in); err != nil {
		return s.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(c.Param("id"))+"?done=saved")
}

func (s *Server) participantStatus(c echo.Context) error {
	me := session(c).Account
	status := store.ParticipantStatus(c.FormValue("status"))
	if _, err := s.setStatus(c.Request().Context(), me, c.Param("id"), status); err != nil {
		return s.pageError(c, err)
	}
	done := map[store.ParticipantStatus]string{store.Active: "resumed", store.Paused: "paused", store.Exited: "exited"}[status]
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(c.Param("id"))+"?done="+done)
}

func (s *Server) participantErase(c echo.Context) error {
	me := session(c).Account
	if c.FormValue("confirm") != "erase" {
		return s.renderMessage(c, http.StatusUnprocessableEntity, "Not erased",
			"To erase everything about this person, type the word erase in the box and press the button again.")
	}
	if err := s.erase(c.Request().Context(), me, c.Param("id")); err != nil {
		return s.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/participants?done=erased")
}

func appointmentInputOf(c echo.Context) appointmentInput {
	in := appointmentInput{}
	for name, dst := range map[string]**string{"kind": &in.Kind, "place": &in.Place, "date": &in.Date, "time": &in.Time} {
		if v, ok := c.Request().PostForm[name]; ok && len(v) > 0 {
			val := v[0]
			*dst = &val
		}
	}
	if v := c.FormValue("status"); v != "" {
		st := store.AppointmentStatus(v)
		in.Status = &st
	}
	return in
}

func (s *Server) appointmentAdd(c echo.Context) error {
	_ = c.Request().ParseForm()
	if _, err := s.addAppointment(c.Request().Context(), session(c).Account, c.Param("id"), appointmentInputOf(c)); err != nil {
		return s.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(c.Param("id"))+"?done=appt_added#appointments")
}

func (s *Server) appointmentChange(c echo.Context) error {
	_ = c.Request().ParseForm()
	if _, err := s.changeAppointment(c.Request().Context(), session(c).Account, c.Param("id"), c.Param("aid"), appointmentInputOf(c)); err != nil {
		return s.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(c.Param("id"))+"?done=appt_changed#appointments")
}

func (s *Server) appointmentCancel(c echo.Context) error {
	if _, err := s.cancelAppointment(c.Request().Context(), session(c).Account, c.Param("id"), c.Param("aid")); err != nil {
		return s.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(c.Param("id"))+"?done=appt_cancel#appointments")
}

// Audit log.

type auditView struct {
	page
	Rows    []auditRow
	Filter  auditFilter
	Actions []option
	Actors  []option
	// NextURL is the address of the next page; "" on the last. First is
	// the first page's, when this is not it.
	NextURL, First string
}

func (s *Server) auditPage(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := auditQueryOf(c, s.caseworkerZone(session(c).Account))
	if err != nil {
		return s.pageError(c, err)
	}
	get := func(k string) string { return strings.TrimSpace(c.QueryParam(k)) }
	v := auditView{page: s.page(c, "Audit log", "audit"), Actions: auditActions(),
		Filter: auditFilter{Action: q.Action, Actor: q.Actor, Participant: q.Participant, From: get("from"), To: get("to")}}
	names, accts, err := s.accountNames(ctx)
	if err != nil {
		return err
	}
	v.Actors = append(v.Actors, option{Value: "participant", Label: "The person (their own messages)"}, option{Value: "system", Label: "Waymark"})
	for _, a := range accts {
		v.Actors = append(v.Actors, option{Value: a.ID, Label: names[a.ID]})
	}
	entries, next, err := s.deps.Store.PageAudit(ctx, q)
	if err != nil {
		return s.pageError(c, badCursor(err))
	}
	v.NextURL = nextPageURL(c, "/audit", next)
	if q.Cursor != "" {
		v.First = "/audit"
		if fv := v.Filter.values(); len(fv) > 0 {
			v.First += "?" + fv.Encode()
		}
	}
	// The labels of the people on the page, in one read; an erased
	// person has none.
	var ids []string
	for _, e := range entries {
		if e.ParticipantID != "" && !slices.Contains(ids, e.ParticipantID) {
			ids = append(ids, e.ParticipantID)
		}
	}
	labels := map[string]string{}
	if len(ids) > 0 {
		ps, err := s.deps.Store.GetParticipants(ctx, ids)
		if err != nil {
			return err
		}
		for _, p := range ps {
			labels[p.ID] = p.Label
		}
	}
	zone := s.caseworkerZone(v.Account)
	for _, e := range entries {
		when := caseworkerTime(e.At, v.Now, zone)
		v.Rows = append(v.Rows, auditRow{E: e, Action: auditActionLabel(e.Action), Actor: auditWho(e.Actor, names),
			Participant: labels[e.ParticipantID], When: when, At: auditAt(when, e.At, zone), Detail: auditDetail(e.Detail, names)})
	}
	return s.render(c, http.StatusOK, "audit", v)
}

// exportCheckInsPage downloads check-ins of the caller's caseload as CSV.
func (s *Server) exportCheckInsPage(c echo.Context) error {
	return s.exportCSV(c, session(c).Account, s.checkInsExport())
}

// exportWindowsPage downloads the check-in windows of the caller's
// caseload, with their outcomes, as CSV.
func (s *Server) exportWindowsPage(c echo.Context) error {
	return s.exportCSV(c, session(c).Account, s.windowsExport())
}

// Accounts (administrators).

type accountsView struct {
	page
	Accounts []accountRow
}

// tokenListView is what the "tokens" partial needs.
type tokenListView struct {
	Tokens     []auth.TokenInfo
	CSRF, From string
	Now        time.Time
}

type accountRow struct {
	A        store.Account
	Caseload int
	Children int
	Tokens   []auth.TokenInfo
}

func (s *Server) accountsPage(c echo.Context) error {
	return s.renderAccounts(c, http.StatusOK, "")
}

func (s *Server) renderAccounts(c echo.Context, status int, errMsg string) error {
	ctx := c.Request().Context()
	v := accountsView{page: s.page(c, "Accounts", "accounts")}
	v.Error = errMsg
	accts, err := s.deps.Store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	loads, err := s.deps.Store.Caseloads(ctx)
	if err != nil {
		return err
	}
	toks, err := s.deps.Auth.ListTokens(ctx, "")
	if err != nil {
		return err
	}
	for _, a := range accts {
		row := accountRow{A: a}
		for _, t := range toks {
			if t.AccountID == a.ID {
				row.Tokens = append(row.Tokens, t)
			}
		}
		row.Caseload, row.Children = loads[a.ID].People, loads[a.ID].Children
		v.Accounts = append(v.Accounts, row)
	}
	return s.render(c, status, "accounts", v)
}

func (s *Server) accountCreate(c echo.Context) error {
	me := session(c).Account
	role, err := auth.ParseRole(c.FormValue("role"))
	if err == nil {
		_, err = s.deps.Auth.CreateAccount(c.Request().Context(), me.ID, auth.NewAccount{
			Username: c.FormValue("username"), Role: role, Password: c.FormValue("password"),
			ChildProtectionTrained: c.FormValue("trained") == "on",
		})
	}
	switch {
	case errors.Is(err, auth.ErrBadUsername), errors.Is(err, auth.ErrWeakPassword), errors.Is(err, auth.ErrUsernameTaken), errors.Is(err, auth.ErrBadRole):
		return s.renderAccounts(c, http.StatusUnprocessableEntity, userMessage(err))
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/accounts?done=account")
}

func childrenInCaseload(a store.Account) string {
	return a.Username + " has children in their caseload: give those cases to a trained caseworker first."
}

// accountUpdate changes another account's role, training flag or
// password. It refuses what would leave a child with an untrained
// caseworker, or the programme without an administrator.
func (s *Server) accountUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	a, err := s.deps.Store.GetAccount(ctx, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return s.renderMessage(c, http.StatusNotFound, "Not found", "No such account.")
	}
	if err != nil {
		return err
	}
	role, err := auth.ParseRole(c.FormValue("role"))
	if err != nil {
		return s.renderAccounts(c, http.StatusUnprocessableEntity, userMessage(err))
	}
	trained := c.FormValue("trained") == "on"
	accts, err := s.deps.Store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	admins := 0
	for _, x := range accts {
		if x.Role == store.RoleAdmin && !x.Disabled {
			admins++
		}
	}
	if a.Role == store.RoleAdmin && !a.Disabled && role != store.RoleAdmin && admins == 1 {
		return s.renderAccounts(c, http.StatusConflict, "Waymark needs at least one administrator: make another one first.")
	}
	var changed []string
	roleChanged := role != a.Role
	if roleChanged {
		a.Role = role
		changed = append(changed, "role="+string(role))
	}
	if trained != a.ChildProtectionTrained {
		a.ChildProtectionTrained = trained
		changed = append(changed, fmt.Sprintf("child_protection_trained=%t", trained))
	}
	if len(changed) > 0 {
		err := s.deps.Store.UpdateAccount(ctx, a)
		if errors.Is(err, store.ErrChildProtection) {
			// The store checks the caseload in the same step as the
			// change, so a child given to them meanwhile is seen.
			return s.renderAccounts(c, http.StatusConflict, childrenInCaseload(a))
		}
		if err != nil {
			return err
		}
		if err := s.audit(ctx, me, "account_updated", "", a.ID+" "+strings.Join(changed, " ")); err != nil {
			return err
		}
	}
	if roleChanged {
		// Access given for one role must not carry over to another.
		if err := s.deps.Auth.EndAccess(ctx, me.ID, a.ID, "role changed to "+string(role)); err != nil {
			return err
		}
	}
	if pw := c.FormValue("password"); pw != "" {
		if _, err := s.deps.Auth.SetPassword(ctx, me.ID, a.ID, pw); err != nil {
			if errors.Is(err, auth.ErrWeakPassword) {
				return s.renderAccounts(c, http.StatusUnprocessableEntity, userMessage(err))
			}
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/accounts?done=account")
}

// accountAccess disables, enables or deletes another account. An
// administrator cannot do it to their own account here (another
// administrator, or the command line, can), and never to the last active
// administrator.
func (s *Server) accountAccess(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	id, verb := c.Param("id"), c.Param("verb")
	if id == me.ID {
		return s.renderAccounts(c, http.StatusConflict, "You cannot disable or delete your own account here: ask another administrator.")
	}
	if _, err := s.deps.Store.GetAccount(ctx, id); errors.Is(err, store.ErrNotFound) {
		return s.renderMessage(c, http.StatusNotFound, "Not found", "No such account.")
	} else if err != nil {
		return err
	}
	var err error
	switch verb {
	case "disable":
		_, err = s.deps.Auth.SetDisabled(ctx, me.ID, id, true)
	case "enable":
		_, err = s.deps.Auth.SetDisabled(ctx, me.ID, id, false)
	case "delete":
		if c.FormValue("confirm") != "on" {
			return s.renderAccounts(c, http.StatusUnprocessableEntity, "Tick “Yes, delete” to delete an account: it cannot be undone.")
		}
		err = s.deps.Auth.DeleteAccount(ctx, me.ID, id)
	default:
		return s.renderMessage(c, http.StatusNotFound, "Not found", "No such page.")
	}
	if errors.Is(err, auth.ErrLastAdmin) {
		return s.renderAccounts(c, http.StatusConflict, userMessage(err))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/accounts?done=account_"+verb)
}

// tokenTTLs are the lifetimes the Accounts page offers a new token; ""
// is until revoked.
var tokenTTLs = map[string]time.Duration{"30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour, "": 0}

type tokenView struct {
	page
	For     store.Account
	Token   string
	Expires time.Time
}

// tokenCreate makes an API token for an account and shows it, once, as
// the answer to the form: it is never stored, so a reload cannot show it
// again (the browser asks before sending the form twice, and a second
// send makes a second token, listed and revocable like the first).
func (s *Server) tokenCreate(c echo.Context) error {
	ctx := c.Request().Context()
	me := session(c).Account
	ttl, ok := tokenTTLs[c.FormValue("ttl")]
	if !ok {
		return s.renderAccounts(c, http.StatusUnprocessableEntity, "Choose how long the token works from the list.")
	}
	a, err := s.deps.Store.GetAccount(ctx, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return s.renderMessage(c, http.StatusNotFound, "Not found", "No such account.")
	}
	if err != nil {
		return err
	}
	token, err := s.deps.Auth.CreateAPIToken(ctx, me.ID, a.ID, ttl)
	if errors.Is(err, auth.ErrDisabled) {
		return s.renderAccounts(c, http.StatusConflict, a.Username+"'s account is disabled: enable it before making a token.")
	}
	if err != nil {
		return err
	}
	v := tokenView{page: s.page(c, "API token", "accounts"), For: a, Token: token}
	if ttl > 0 {
		v.Expires = s.now().Add(ttl)
	}
	return s.render(c, http.StatusCreated, "token", v)
}

// tokenRevoke revokes an API token: an administrator's any, a
// caseworker's their own.
func (s *Server) tokenRevoke(c echo.Context) error {
	me := session(c).Account
	scope, back := me.ID, "/account?done=token_revoked"
	if canSeeAll(me) {
		scope = ""
		if c.FormValue("from") == "accounts" {
			back = "/accounts?done=token_revoked"
		}
	}
	err := s.deps.Auth.RevokeToken(c.Request().Context(), me.ID, scope, c.Param("tid"))
	if errors.Is(err, auth.ErrNoSuchToken) {
		return s.renderMessage(c, http.StatusNotFound, "Not found", "No such API token: it may have been revoked already.")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, back)
}
