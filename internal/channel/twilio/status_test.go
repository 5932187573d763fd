package twilio

import (
	"errors"
	"testing"

	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/store"
)

func TestParseStatusPayloads(t *testing.T) {
	cases := []struct {
		file string
		want Status
	}{
		{"status_delivered.form", Status{MessageSid: "SM0f0e0d0c0b0a09080706050403020100", Twilio: "delivered", Status: store.Delivered}},
		{"status_sent.form", Status{MessageSid: "SM0f0e0d0c0b0a09080706050403020100", Twilio: "sent", Status: store.Sent}},
		{"status_read_whatsapp.form", Status{MessageSid: "SM0f0e0d0c0b0a09080706050403020100", Twilio: "read", Status: store.Read}},
		{"status_undelivered_30006.form", Status{MessageSid: "SM0f0e0d0c0b0a09080706050403020100", Twilio: "undelivered", Status: store.Undelivered, ErrorCode: "30006"}},
		{"status_failed_21610.form", Status{MessageSid: "SM0f0e0d0c0b0a09080706050403020100", Twilio: "failed", Status: store.Failed, ErrorCode: "21610"}},
	}
	for _, c := range cases {
		got, err := ParseStatus(readForm(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.file, got, c.want)
		}
	}
}

// TestEveryTwilioStatus: every MessageStatus of Twilio's Message resource
// is accepted and lands on a status the outbox can rank.
func TestEveryTwilioStatus(t *testing.T) {
	want := map[string]store.MessageStatus{
		"queued": store.Queued, "sending": store.Queued, "sent": store.Sent, "failed": store.Failed,
		"delivered": store.Delivered, "undelivered": store.Undelivered, "receiving": store.Queued,
		"received": store.Delivered, "accepted": store.Queued, "scheduled": store.Queued, "read": store.Read,
		"partially_delivered": store.Undelivered, "canceled": store.Failed,
	}
	for tw, ws := range want {
		st, err := ParseStatus([]byte("MessageSid=SM1&MessageStatus=" + tw))
		if err != nil {
			t.Errorf("%s: %v", tw, err)
			continue
		}
		if st.Status != ws {
			t.Errorf("%s maps to %s, want %s", tw, st.Status, ws)
		}
		if !outbox.Advances(store.Pending, st.Status) {
			t.Errorf("%s (%s) does not advance a pending message", tw, st.Status)
		}
	}
}

func TestParseStatusBad(t *testing.T) {
	cases := map[string]error{
		"MessageStatus=sent": ErrMalformed,
		"MessageSid=SM1":     ErrMalformed,
		"MessageSid=SM1&MessageStatus=sent&ErrorCode=3x": ErrMalformed,
		"%zz": ErrMalformed,
		"MessageSid=SM1&MessageStatus=teleported": ErrUnknownStatus,
	}
	for body, want := range cases {
		if _, err := ParseStatus([]byte(body)); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", body, err, want)
		}
	}
}

// TestStatusesNeverMoveBackwards walks the orders Twilio's callbacks can
// arrive in, late and repeated ones included.
func TestStatusesNeverMoveBackwards(t *testing.T) {
	cases := []struct {
		seq  []string
		want store.MessageStatus
	}{
		{[]string{"sent", "delivered"}, store.Delivered},
		{[]string{"delivered", "sent"}, store.Delivered},
		{[]string{"delivered", "sending", "queued", "sent"}, store.Delivered},
		{[]string{"sent", "delivered", "read"}, store.Read},
		{[]string{"read", "delivered"}, store.Read},
		{[]string{"failed", "sent", "delivered"}, store.Failed},
		{[]string{"undelivered", "delivered"}, store.Undelivered},
		{[]string{"sent", "sent"}, store.Sent},
		{[]string{"accepted", "queued", "sending", "sent"}, store.Sent},
	}
	for _, c := range cases {
		cur := store.Queued
		for _, s := range c.seq {
			next, ok := StatusOf(s)
			if !ok {
				t.Fatalf("%s unknown", s)
			}
			if outbox.Advances(cur, next) {
				cur = next
			}
		}
		if cur != c.want {
			t.Errorf("%v ends at %s, want %s", c.seq, cur, c.want)
		}
	}
}
