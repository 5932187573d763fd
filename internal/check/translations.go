package check

import (
	"io/fs"

	"github.com/waymark-atd/waymark/internal/locale"
)

// Translation is one language's line of the translation status: what
// the README's table and `waymark locales status` show.
type Translation struct {
	Lang, Name string
	// Messages counts en.yaml's messages once each, however many plural
	// forms; Translated those the language's file has, Reviewed those a
	// native speaker marked "# reviewed".
	Messages, Translated, Reviewed int
	// OverLimit counts sent messages over the language's limit: one SMS
	// segment for a language in Latin letters once folded, two for any
	// other.
	OverLimit int
}

// translatable is what Translations needs of the locales
// (*locale.Bundle has it).
type translatable interface {
	Languages() []string
	Units(lang string, enSource []byte) ([]locale.Unit, error)
}

// Translations is the translation status of every language of b, with
// the costs of report (a Run over the same locales). Run fills
// Report.Translations with it when its catalog is a *locale.Bundle.
func Translations(r Report, b translatable, localesFS fs.FS) ([]Translation, error) {
	enSource, _ := fs.ReadFile(localesFS, "en.yaml")
	over := map[string]int{}
	for _, c := range r.Costs {
		limit, segs := 2, c.Segments
		if c.Latin {
			limit, segs = 1, c.Folded.Segments
		}
		if segs > limit {
			over[c.Lang]++
		}
	}
	var out []Translation
	for _, lang := range b.Languages() {
		units, err := b.Units(lang, enSource)
		if err != nil {
			return nil, err
		}
		t := Translation{Lang: lang, Name: locale.Name(lang), OverLimit: over[lang]}
		seen := map[string]bool{}
		for _, u := range units {
			if seen[u.ID] {
				continue
			}
			seen[u.ID] = true
			t.Messages++
			if u.Text != "" {
				t.Translated++
			}
			if u.Reviewed {
				t.Reviewed++
			}
		}
		out = append(out, t)
	}
	return out, nil
}
