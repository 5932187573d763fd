package twilio

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/waymark-atd/waymark/internal/store"
)

func readForm(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInbound(t *testing.T) {
	cases := []struct {
		file string
		err  error
		want Inbound
	}{
		{"sms_join.form", nil, Inbound{MessageSid: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, Body: "JOIN K7QP2"}},
		{"sms_arabic.form", nil, Inbound{MessageSid: "SM1a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+15005550006", Channel: store.SMS, Body: "نعم، أنا هنا"}},
		{"sms_ukrainian_emoji.form", nil, Inbound{MessageSid: "SM2a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, Body: "Так 👍"}},
		{"whatsapp_reply.form", nil, Inbound{MessageSid: "SM3a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.WhatsApp, Body: "1"}},
		// A tap on a template's quick-reply button: its ID, the choice's
		// number, answers; a button with another ID answers by its words.
		{"whatsapp_button.form", nil, Inbound{MessageSid: "SMb7c2d4e6f8091a2b3c4d5e6f708192a3", From: "+447700900123", Channel: store.WhatsApp, Body: "1"}},
		{"whatsapp_button_named.form", nil, Inbound{MessageSid: "SMc7c2d4e6f8091a2b3c4d5e6f708192a3", From: "+447700900123", Channel: store.WhatsApp, Body: "No puedo"}},
		{"mms_media_only.form", nil, Inbound{MessageSid: "MM4a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, NumMedia: 1, MediaOnly: true}},
		{"mms_with_text.form", nil, Inbound{MessageSid: "MM5a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, Body: "here is my letter", NumMedia: 2}},
		{"sms_stop_advanced_optout.form", nil, Inbound{MessageSid: "SM6a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, Body: "STOP", OptOutType: "STOP"}},
		{"sms_max_length_ukrainian.form", nil, Inbound{MessageSid: "SM8a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS, Body: strings.Repeat("ї", 1600)}},
		{"sms_empty_body.form", nil, Inbound{MessageSid: "SMac1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS}},
		// The message and sender stay known so that the caller can dedupe and answer.
		{"sms_too_long.form", ErrTooLong, Inbound{MessageSid: "SM7a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS}},
		{"sms_invalid_utf8.form", ErrInvalidText, Inbound{MessageSid: "SM9a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+447700900123", Channel: store.SMS}},
		{"sms_no_message_sid.form", ErrMalformed, Inbound{}},
		{"sms_no_from.form", ErrMalformed, Inbound{}},
		{"sms_bad_num_media.form", ErrMalformed, Inbound{}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ParseInbound(readForm(t, c.file))
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if got != c.want {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseInboundGarbage(t *testing.T) {
	for _, body := range []string{"", "%zz", "MessageSid=SM1", "From=%2B447700900123", "MessageSid=&From="} {
		if _, err := ParseInbound([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: error %v, want ErrMalformed", body, err)
		}
	}
}

// TestParseInboundDropsGeoFields checks that nothing of Twilio's location
// fields (FromCity, FromState, FromZip, FromCountry, To*), nor the WhatsApp
// profile name, nor media URLs, survive into what Waymark holds.
func TestParseInboundDropsGeoFields(t *testing.T) {
	for _, file := range []string{"sms_join.form", "whatsapp_reply.form", "mms_media_only.form"} {
		in, err := ParseInbound(readForm(t, file))
		if err != nil {
			t.Fatal(err)
		}
		dump := fmt.Sprintf("%#v", in)
		for _, leak := range []string{"LONDON", "Greater London", "SW1A", "GB", "SAN FRANCISCO", "94105", "CA\"", "Test Person", "MediaUrl", "api.twilio.com", "+15005550006", "AC0000"} {
			if strings.Contains(dump, leak) {
				t.Errorf("%s: parsed message holds %q: %s", file, leak, dump)
			}
		}
	}
}

func TestParseInboundErrorsCarryNoPayload(t *testing.T) {
	for _, file := range []string{"sms_too_long.form", "sms_invalid_utf8.form", "sms_no_from.form"} {
		_, err := ParseInbound(readForm(t, file))
		if err == nil {
			t.Fatalf("%s: no error", file)
		}
		if strings.Contains(err.Error(), "+44") || strings.Contains(err.Error(), "aaaa") {
			t.Errorf("%s: error text carries payload: %v", file, err)
		}
	}
}
