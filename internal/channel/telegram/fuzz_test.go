package telegram

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeUpdate: whatever the body, decodeUpdate never panics, fails
// only with errMalformed (which carries nothing of the body), and an
// update it accepts names a positive ID and, for what Waymark handles, the
// chat it concerns. The command and button readers take the same text.
func FuzzDecodeUpdate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":1,"type":"private"},"text":"/start@bot ABC"}}{}`))
	f.Add([]byte(`{"update_id":1,"callback_query":{"id":"x","data":"c:999999"}}`))
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":-1e99,"type":"private"},"location":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeUpdate(bytes.NewReader(body))
		if err != nil {
			if !errors.Is(err, errMalformed) || err.Error() != errMalformed.Error() {
				t.Fatalf("error %v", err)
			}
			return
		}
		if u.UpdateID <= 0 || !strings.HasPrefix(u.dedupeKey(), "tg:") {
			t.Fatalf("accepted update ID %d", u.UpdateID)
		}
		if m := u.Message; m != nil {
			if m.Chat == nil || m.Chat.ID == 0 {
				t.Fatalf("message without a chat accepted")
			}
			name, args, ok := command(m.Text)
			if ok && (name == "" || name != strings.ToLower(name) || strings.Contains(name, "@") || args != strings.TrimSpace(args)) {
				t.Fatalf("command(%q) = %q %q", m.Text, name, args)
			}
		}
		if cq := u.CallbackQuery; cq != nil {
			if cq.ID == "" {
				t.Fatalf("button press without an ID accepted")
			}
			if n, ok := choiceNumber(cq.Data); ok && (n < 1 || n > 999) {
				t.Fatalf("choiceNumber(%q) = %d", cq.Data, n)
			}
		}
		if u.MyChatMember != nil && (u.MyChatMember.Chat == nil || u.MyChatMember.Chat.ID == 0) {
			t.Fatalf("chat member update without a chat accepted")
		}
	})
}
