package sms

import "unicode/utf8"

// Encoding is how an SMS body travels: GSM-7 when every character is in
// the GSM 03.38 tables, UCS-2 otherwise.
type Encoding int

const (
	// GSM7 packs 160 septets into one SMS, 153 per part of a longer one.
	GSM7 Encoding = iota
	// UCS2 carries 70 UTF-16 units in one SMS, 67 per part of a longer one.
	UCS2
)

func (e Encoding) String() string {
	if e == UCS2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// The sizes of one SMS and of each part of a concatenated one (the rest of
// the 140 bytes goes to the 6-byte header that joins the parts).
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmASCII and gsmOther give the septets a character costs in GSM-7: 1
// for the GSM 03.38 default alphabet, 2 for the extension table (escape +
// character), 0 for a character GSM-7 cannot carry.
var (
	gsmASCII [utf8.RuneSelf]uint8
	gsmOther = map[rune]uint8{}
)

func init() {
	// The default alphabet in code-point order, 0x00 to 0x7F. 0x1B
	// (escape) is not a character of its own and is left out.
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" + "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const extension = "\f^{}\\[~]|€"
	set := func(r rune, w uint8) {
		if r < utf8.RuneSelf {
			gsmASCII[r] = w
		} else {
			gsmOther[r] = w
		}
	}
	for _, r := range basic {
		set(r, 1)
	}
	for _, r := range extension {
		set(r, 2)
	}
}

func gsmWidth(r rune) int {
	if r < utf8.RuneSelf {
		return int(gsmASCII[r])
	}
	return int(gsmOther[r])
}

func ucs2Width(r rune) int {
	if r > 0xFFFF {
		return 2 // a surrogate pair
	}
	return 1
}

// Segments says how a text would travel as SMS: its encoding and how many
// segments (billed messages) it takes. An empty text takes none.
//
// One character outside the GSM tables (an emoji, Arabic, Cyrillic, a
// curly quote, a lower-case ç) sends the whole text as UCS-2, where a
// character outside the Basic Multilingual Plane is a surrogate pair of
// two units. Parts are cut so that neither an escape pair nor a surrogate
// pair is split, as handsets and carriers do.
func Segments(text string) (enc Encoding, segments int) {
	if text == "" {
		return GSM7, 0
	}
	width := gsmWidth
	single, part := gsmSingle, gsmPart
	for _, r := range text {
		if gsmWidth(r) == 0 {
			enc, width = UCS2, ucs2Width
			single, part = ucs2Single, ucs2Part
			break
		}
	}

	total := 0
	for _, r := range text {
		total += width(r)
	}
	if total <= single {
		return enc, 1
	}
	segments, used := 1, 0
	for _, r := range text {
		w := width(r)
		if used+w > part {
			segments++
			used = 0
		}
		used += w
	}
	return enc, segments
}
