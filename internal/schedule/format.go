package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Dates and times in messages are written the way each shipped language
// writes them. There is no CLDR date formatting in the standard library or
// x/text, and five languages do not justify a dependency; a language not
// listed here gets ISO dates and a 24-hour clock, which every reader can
// follow.

type dateWords struct {
	days   [7]string  // Sunday first, as time.Weekday counts
	months [12]string // January first
	date   func(day, month string, n int) string
	clock  func(h, m int) string
}

func clock24(h, m int) string { return fmt.Sprintf("%d:%02d", h, m) }

var languages = map[string]dateWords{
	"en": {
		days:   [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		date:   func(day, month string, n int) string { return fmt.Sprintf("%s %d %s", day, n, month) },
		clock: func(h, m int) string {
			suffix := "am"
			if h >= 12 {
				suffix = "pm"
			}
			h12 := h % 12
			if h12 == 0 {
				h12 = 12
			}
			if m == 0 {
				return fmt.Sprintf("%d%s", h12, suffix)
			}
			return fmt.Sprintf("%d:%02d%s", h12, m, suffix)
		},
	},
	"es": {
		days:   [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		date:   func(day, month string, n int) string { return fmt.Sprintf("%s %d de %s", day, n, month) },
		clock:  clock24,
	},
	"fr": {
		days:   [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		date:   func(day, month string, n int) string { return fmt.Sprintf("%s %d %s", day, n, month) },
		clock:  func(h, m int) string { return fmt.Sprintf("%dh%02d", h, m) },
	},
	"ar": {
		days:   [7]string{"الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"},
		months: [12]string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"},
		date:   func(day, month string, n int) string { return fmt.Sprintf("%s %d %s", day, n, month) },
		clock:  clock24,
	},
	"uk": {
		days: [7]string{"неділя", "понеділок", "вівторок", "середа", "четвер", "пʼятниця", "субота"},
		// The genitive, as a date is written: "9 березня".
		months: [12]string{"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"},
		date:   func(day, month string, n int) string { return fmt.Sprintf("%s, %d %s", day, n, month) },
		clock:  clock24,
	},
}

// FormatDate writes the local date of t in lang, e.g. "Monday 9 March".
func FormatDate(lang string, t time.Time) string {
	w, ok := languages[baseLang(lang)]
	if !ok {
		return t.Format(time.DateOnly)
	}
	return w.date(w.days[t.Weekday()], w.months[t.Month()-1], t.Day())
}

// FormatTime writes the local time of day of t in lang, e.g. "9:30am".
func FormatTime(lang string, t time.Time) string {
	w, ok := languages[baseLang(lang)]
	if !ok {
		return clock24(t.Hour(), t.Minute())
	}
	return w.clock(t.Hour(), t.Minute())
}

// baseLang reduces "es-MX" or "uk_UA" to "es" or "uk".
func baseLang(lang string) string {
	lang = strings.ToLower(lang)
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	return lang
}
