package report

import (
	"strings"

	"github.com/waymark-atd/waymark/internal/store"
)

// The figures, each a row of one of the report's sections.

const (
	rowWindows rowID = iota
	rowOnTime
	rowLate
	rowReportedUnable
	rowExcused
	rowNotDelivered
	rowPaused
	rowNotConsented
	rowOptedOut
	rowMissed

	rowKept
	rowChSMS
	rowChWhatsApp
	rowChTelegram
	rowChMissedCall
	rowChKeypad
	rowChOther

	rowFlagged
	rowMissedActed
	rowActionHours
	rowCantReach
	rowCantReachResolved
	rowApptAttended
	rowApptMissed
	rowApptCancelled
	rowRescheduled

	rowCheckIns
	rowCheckInsFree
	rowTextsPerCheckIn
	rowMessagesPerWeek
	rowReminders
	rowRemindersQuiet
	rowShortWindows

	rowSMS
	rowSMSDelivered
	rowSMSFailed
	rowSMSUnconfirmed
	rowWhatsApp
	rowWhatsAppDelivered
	rowWhatsAppFailed
	rowWhatsAppUnconfirmed
	rowTelegram
	rowTelegramDelivered
	rowTelegramFailed
	rowTelegramUnconfirmed
	rowFailed
	rowFamUnreachable
	rowFamStopped
	rowFamCarrier
	rowFamWhatsApp
	rowFamWaymark
	rowFamOther
	rowSegments

	numRows
)

var outcomeRows = map[store.WindowOutcome]rowID{
	store.WindowOnTime: rowOnTime, store.WindowLate: rowLate, store.WindowReportedUnable: rowReportedUnable,
	store.WindowExcused: rowExcused, store.WindowNotDelivered: rowNotDelivered, store.WindowPaused: rowPaused,
	store.WindowNotConsented: rowNotConsented, store.WindowOptedOut: rowOptedOut, store.WindowMissed: rowMissed,
}

func channelRow(c store.Channel) rowID {
	switch c {
	case store.SMS:
		return rowChSMS
	case store.WhatsApp:
		return rowChWhatsApp
	case store.Telegram:
		return rowChTelegram
	case store.MissedCall:
		return rowChMissedCall
	case store.Keypad:
		return rowChKeypad
	}
	return rowChOther
}

// deliveryRows are each messaging channel's rows: messages, delivered,
// failed, no final word yet.
var deliveryRows = map[store.Channel][4]rowID{
	store.SMS:      {rowSMS, rowSMSDelivered, rowSMSFailed, rowSMSUnconfirmed},
	store.WhatsApp: {rowWhatsApp, rowWhatsAppDelivered, rowWhatsAppFailed, rowWhatsAppUnconfirmed},
	store.Telegram: {rowTelegram, rowTelegramDelivered, rowTelegramFailed, rowTelegramUnconfirmed},
}

func deliveryChannel(c store.Channel) store.Channel {
	if _, ok := deliveryRows[c]; ok {
		return c
	}
	return ""
}

// familyRow groups a failure's code: a provider's (Twilio's numbers,
// Telegram's words) or one of Waymark's own reasons.
func familyRow(code string) rowID {
	if _, rest, ok := strings.Cut(code, ":"); ok {
		code = rest
	}
	switch code {
	case "30003", "30004", "30005", "30006", "unreachable", "no_link", "blocked", "403":
		return rowFamUnreachable
	case "21610", "opted_out":
		return rowFamStopped
	case "30007", "30008", "30034":
		return rowFamCarrier
	case "no_sender", "address_sealed", "loop_guard", "error", "no_participant":
		return rowFamWaymark
	}
	if strings.HasPrefix(code, "63") && len(code) == 5 {
		return rowFamWhatsApp
	}
	return rowFamOther
}

// Kinds of figure.
const (
	KindCount   = "count"   // a number of windows, messages, items
	KindMedian  = "median"  // the middle value (of two, the lower)
	KindP90     = "p90"     // nine in ten values are this or less
	KindSegment = "segment" // SMS segments, with their estimated cost
)

type rowDef struct {
	id    rowID
	key   string // the row's name in the API and CSV
	label string // what people read
	kind  string
	of    rowID // the row a share is of; -1 for none
	stat  rowID // for a median or p90, the row of values
}

type sectionDef struct {
	key, title, about string
	rows              []rowDef
}

const noShare rowID = -1

func count(id rowID, key, label string, of rowID) rowDef {
	return rowDef{id: id, key: key, label: label, kind: KindCount, of: of}
}

var sections = []sectionDef{
	{key: "reporting", title: "Reporting",
		about: "Every check-in window once the ledger has decided it, by its outcome. A share is of all windows decided in the period.",
		rows: []rowDef{
			count(rowWindows, "windows", "Windows decided", noShare),
			count(rowOnTime, "on_time", "On time", rowWindows),
			count(rowLate, "late", "Late (in the grace period)", rowWindows),
			count(rowReportedUnable, "reported_unable", "Reported unable beforehand", rowWindows),
			count(rowExcused, "excused", "Excused by a caseworker", rowWindows),
			count(rowNotDelivered, "not_delivered", "Not delivered (never a miss)", rowWindows),
			count(rowPaused, "paused", "Paused", rowWindows),
			count(rowNotConsented, "not_consented", "Before consent", rowWindows),
			count(rowOptedOut, "opted_out", "After STOP", rowWindows),
			count(rowMissed, "missed", "Missed", rowWindows),
		}},
	{key: "channels", title: "Check-ins by channel",
		about: "Windows kept (on time or late) by how the check-in came. A share is of the windows kept.",
		rows: []rowDef{
			count(rowKept, "kept", "Windows kept", noShare),
			count(rowChSMS, "sms", "SMS", rowKept),
			count(rowChWhatsApp, "whatsapp", "WhatsApp", rowKept),
			count(rowChTelegram, "telegram", "Telegram", rowKept),
			count(rowChMissedCall, "missed_call", "Missed call (free)", rowKept),
			count(rowChKeypad, "keypad", "Phone keypad", rowKept),
			count(rowChOther, "other", "Other (the simulator)", rowKept),
		}},
	{key: "follow_through", title: "Follow-through",
		about: "What caseworkers did about missed windows and people they could not reach, and how appointments went where caseworkers record them.",
		rows: []rowDef{
			count(rowFlagged, "missed_flagged", "Windows flagged to a caseworker as missed", noShare),
			count(rowMissedActed, "missed_acted_on", "…of them a caseworker acted on", rowFlagged),
			{id: rowActionHours, key: "hours_to_action_median", label: "Hours to the first action (median)", kind: KindMedian, of: noShare, stat: rowActionHours},
			count(rowCantReach, "cant_reach", "Can't reach raised", noShare),
			count(rowCantReachResolved, "cant_reach_resolved", "Can't reach resolved", rowCantReach),
			count(rowApptAttended, "appointments_attended", "Appointments attended", noShare),
			count(rowApptMissed, "appointments_missed", "Appointments missed", noShare),
			count(rowApptCancelled, "appointments_cancelled", "Appointments cancelled", noShare),
			count(rowRescheduled, "rescheduled", "Rescheduled by a caseworker", noShare),
		}},
	{key: "burden", title: "Burden on the person",
		about: "What reporting asks of people. Goals: few messages, none in quiet hours, no short windows.",
		rows: []rowDef{
			count(rowCheckIns, "checkins", "Check-ins", noShare),
			count(rowCheckInsFree, "checkins_missed_call", "Check-ins made free by a missed call", rowCheckIns),
			{id: rowTextsPerCheckIn, key: "texts_per_checkin_median", label: "Texts a person sent to check in (median; the goal is 1)", kind: KindMedian, of: noShare, stat: rowTextsPerCheckIn},
			{id: rowTextsPerCheckIn, key: "texts_per_checkin_p90", label: "Texts a person sent to check in (9 in 10 sent no more)", kind: KindP90, of: noShare, stat: rowTextsPerCheckIn},
			{id: rowMessagesPerWeek, key: "messages_per_person_week_median", label: "Messages sent to a person in a week (median)", kind: KindMedian, of: noShare, stat: rowMessagesPerWeek},
			{id: rowMessagesPerWeek, key: "messages_per_person_week_p90", label: "Messages sent to a person in a week (9 in 10 get no more)", kind: KindP90, of: noShare, stat: rowMessagesPerWeek},
			count(rowReminders, "reminders", "Prompts and reminders sent", noShare),
			count(rowRemindersQuiet, "reminders_quiet_hours", "…of them in quiet hours (should be none)", rowReminders),
			count(rowShortWindows, "windows_short", "Windows shorter than the programme's minimum", rowWindows),
		}},
	{key: "reach", title: "Reach and cost",
		about: "Messages that left Waymark, by channel and what became of them; failures by kind; SMS segments and their estimated cost.",
		rows: []rowDef{
			count(rowSMS, "sms_messages", "SMS sent", noShare),
			count(rowSMSDelivered, "sms_delivered", "SMS delivered", rowSMS),
			count(rowSMSFailed, "sms_failed", "SMS failed", rowSMS),
			count(rowSMSUnconfirmed, "sms_unconfirmed", "SMS not confirmed either way", rowSMS),
			count(rowWhatsApp, "whatsapp_messages", "WhatsApp sent", noShare),
			count(rowWhatsAppDelivered, "whatsapp_delivered", "WhatsApp delivered", rowWhatsApp),
			count(rowWhatsAppFailed, "whatsapp_failed", "WhatsApp failed", rowWhatsApp),
			count(rowWhatsAppUnconfirmed, "whatsapp_unconfirmed", "WhatsApp not confirmed either way", rowWhatsApp),
			count(rowTelegram, "telegram_messages", "Telegram sent", noShare),
			count(rowTelegramDelivered, "telegram_delivered", "Telegram delivered", rowTelegram),
			count(rowTelegramFailed, "telegram_failed", "Telegram failed", rowTelegram),
			count(rowTelegramUnconfirmed, "telegram_unconfirmed", "Telegram not confirmed (Telegram never confirms)", rowTelegram),
			count(rowFailed, "failed", "Failed, all channels", noShare),
			count(rowFamUnreachable, "failed_unreachable", "…phone unreachable or number gone", rowFailed),
			count(rowFamStopped, "failed_stopped", "…the person sent STOP to the number", rowFailed),
			count(rowFamCarrier, "failed_carrier", "…filtered or lost by the carrier", rowFailed),
			count(rowFamWhatsApp, "failed_whatsapp_rules", "…WhatsApp's rules (e.g. outside 24 hours)", rowFailed),
			count(rowFamWaymark, "failed_waymark", "…Waymark's side (no sender, loop guard)", rowFailed),
			count(rowFamOther, "failed_other", "…other codes", rowFailed),
			{id: rowSegments, key: "sms_segments", label: "SMS segments", kind: KindSegment, of: noShare},
		}},
}

// equations are the figures that add up, which suppression must respect.
var equations = []equation{
	{total: rowWindows, parts: []rowID{rowOnTime, rowLate, rowReportedUnable, rowExcused, rowNotDelivered, rowPaused, rowNotConsented, rowOptedOut, rowMissed}},
	{total: rowKept, parts: []rowID{rowOnTime, rowLate}, spareTotal: true},
	{total: rowKept, parts: []rowID{rowChSMS, rowChWhatsApp, rowChTelegram, rowChMissedCall, rowChKeypad, rowChOther}},
	{total: rowSMS, parts: []rowID{rowSMSDelivered, rowSMSFailed, rowSMSUnconfirmed}},
	{total: rowWhatsApp, parts: []rowID{rowWhatsAppDelivered, rowWhatsAppFailed, rowWhatsAppUnconfirmed}},
	{total: rowTelegram, parts: []rowID{rowTelegramDelivered, rowTelegramFailed, rowTelegramUnconfirmed}},
	{total: rowFailed, parts: []rowID{rowSMSFailed, rowWhatsAppFailed, rowTelegramFailed}},
	{total: rowFailed, parts: []rowID{rowFamUnreachable, rowFamStopped, rowFamCarrier, rowFamWhatsApp, rowFamWaymark, rowFamOther}},
}

// countRows are the rows that are sums (every row but medians).
func countRows() []rowID {
	var out []rowID
	for r := range numRows {
		if r != rowActionHours && r != rowMessagesPerWeek && r != rowTextsPerCheckIn {
			out = append(out, r)
		}
	}
	return out
}
