package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// errMalformed means a webhook body is not a Telegram update. It carries
// nothing of the body.
var errMalformed = errors.New("telegram: malformed update")

// update is the part of a Telegram Update Waymark reads. Fields it does not
// name (inline queries, channel posts, polls...) are skipped by the decoder
// without being kept.
type update struct {
	UpdateID      int64              `json:"update_id"`
	Message       *message           `json:"message"`
	EditedMessage present            `json:"edited_message"`
	CallbackQuery *callbackQuery     `json:"callback_query"`
	MyChatMember  *chatMemberUpdated `json:"my_chat_member"`
}

type chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"` // private, group, supergroup, channel
}

func (c *chat) private() bool { return c != nil && c.Type == "private" }

// message holds the text and the chat; everything else a message may carry
// is only noted as present. The sender (name, username, language) is not
// read at all.
type message struct {
	Chat *chat  `json:"chat"`
	Text string `json:"text"`

	// Things Waymark never needs. Their contents (coordinates, a phone
	// number, file IDs, a caption) are never decoded.
	Location  present `json:"location"`
	Venue     present `json:"venue"`
	Contact   present `json:"contact"`
	Photo     present `json:"photo"`
	Document  present `json:"document"`
	Sticker   present `json:"sticker"`
	Voice     present `json:"voice"`
	Video     present `json:"video"`
	VideoNote present `json:"video_note"`
	Audio     present `json:"audio"`
	Animation present `json:"animation"`
	Poll      present `json:"poll"`
	Dice      present `json:"dice"`
	Story     present `json:"story"`
	PaidMedia present `json:"paid_media"`
}

// media reports whether the message carries anything but text.
func (m *message) media() bool {
	return bool(m.Location || m.Venue || m.Contact || m.Photo || m.Document || m.Sticker ||
		m.Voice || m.Video || m.VideoNote || m.Audio || m.Animation || m.Poll || m.Dice ||
		m.Story || m.PaidMedia)
}

type callbackQuery struct {
	ID string `json:"id"`
	// Message is the message whose button was pressed; absent for buttons
	// on inline-mode messages, which Waymark never sends.
	Message *struct {
		Chat *chat `json:"chat"`
	} `json:"message"`
	Data string `json:"data"`
}

type chatMemberUpdated struct {
	Chat          *chat `json:"chat"`
	NewChatMember struct {
		Status string `json:"status"` // member, kicked, left, administrator...
	} `json:"new_chat_member"`
}

// present records that a JSON field was there and not null, without
// keeping its value.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = present(!bytes.Equal(bytes.TrimSpace(b), []byte("null")))
	return nil
}

// decodeUpdate reads one update: a single JSON object with a positive
// update_id, and for the kinds Waymark handles, the chat they concern.
func decodeUpdate(r io.Reader) (update, error) {
	var u update
	dec := json.NewDecoder(r)
	if err := dec.Decode(&u); err != nil {
		return update{}, errMalformed
	}
	if _, err := dec.Token(); err != io.EOF { // one object, nothing after it
		return update{}, errMalformed
	}
	if u.UpdateID <= 0 {
		return update{}, errMalformed
	}
	switch {
	case u.Message != nil && (u.Message.Chat == nil || u.Message.Chat.ID == 0),
		u.MyChatMember != nil && (u.MyChatMember.Chat == nil || u.MyChatMember.Chat.ID == 0),
		u.CallbackQuery != nil && u.CallbackQuery.ID == "":
		return update{}, errMalformed
	}
	return u, nil
}

// dedupeKey is the conversation's dedupe key of an update.
func (u update) dedupeKey() string { return "tg:" + strconv.FormatInt(u.UpdateID, 10) }

// startPayload is what a /start deep link may carry (Telegram's rule).
var startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// command splits "/name@bot args" into a lower-case name and its
// arguments; ok is false for text that is not a bot command.
func command(text string) (name, args string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, args, _ := strings.Cut(text[1:], " ")
	head, _, _ = strings.Cut(head, "@")
	if head == "" {
		return "", "", false
	}
	return strings.ToLower(head), strings.TrimSpace(args), true
}

// choiceNumber reads an inline button's data, "c:N".
func choiceNumber(data string) (int, bool) {
	s, ok := strings.CutPrefix(data, "c:")
	if !ok || s == "" || len(s) > 3 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
