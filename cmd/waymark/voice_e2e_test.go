package main

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
)

// call posts a signed "A call comes in" webhook, as Twilio does when
// someone rings the programme's number, and returns the status and body.
func (s *service) call(sid, from string, signature ...string) (int, string) {
	s.t.Helper()
	form := url.Values{
		"CallSid": {sid}, "AccountSid": {testAccount}, "From": {from}, "To": {testFrom},
		"Caller": {from}, "Called": {testFrom}, "CallStatus": {"ringing"}, "Direction": {"inbound"},
		"ApiVersion": {"2010-04-01"}, "CallerName": {"JANE DOE"},
		"FromCity": {"LONDON"}, "FromCountry": {"GB"}, "FromZip": {"N1 9GU"}, "FromState": {"London"},
		"CallerCity": {"LONDON"}, "CallerCountry": {"GB"}, "CallerZip": {"N1 9GU"}, "CallerState": {"London"},
		"ToCity": {""}, "ToCountry": {"US"}, "ToZip": {""}, "ToState": {"CA"},
	}
	target := s.public + "/webhooks/twilio/voice"
	sig := twiliotest.Sign(testToken, target, form)
	if len(signature) > 0 {
		sig = signature[0]
	}
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rejectedBusy reports whether a TwiML answer, parsed as XML, is exactly
// <Response><Reject reason="busy"/></Response>: the call is never picked
// up, so it costs the caller nothing.
func rejectedBusy(t *testing.T, body string) bool {
	t.Helper()
	var r struct {
		XMLName xml.Name
		Verbs   []struct {
			XMLName xml.Name
			Reason  string `xml:"reason,attr"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Errorf("TwiML does not parse: %v\n%s", err, body)
		return false
	}
	return r.XMLName.Local == "Response" && len(r.Verbs) == 1 && r.Verbs[0].XMLName.Local == "Reject" && r.Verbs[0].Reason == "busy"
}

// A person enrolled by SMS rings the programme's number while their
// check-in window is open: the call is rejected unanswered, recorded once
// as a missed-call check-in however often Twilio sends the webhook, and
// the confirmation goes out through the real outbox and twilio-go to the
// fake Messages API.
func TestVoiceMissedCallEndToEnd(t *testing.T) {
	fake := twiliotest.New(t, testAccount, testToken)
	st := openBolt(t)
	s := startService(t, st, fake, seal.NewKey())
	defer s.stop()
	ctx := context.Background()

	// A window open all day every day, so the test does not depend on
	// the hour it runs at.
	now := time.Now()
	pid, code := store.NewID("p_"), "CODE"+strings.ToUpper(store.NewID("")[:4])
	created := now.Add(-72 * time.Hour)
	err := st.CreateParticipant(ctx, store.Participant{
		ID: pid, Label: "E2E voice", Language: "en", TimeZone: "Europe/London", Status: store.Active,
		CreatedAt: created, UpdatedAt: created,
		Schedule: &store.CheckInSchedule{From: created.Format(time.DateOnly), Every: &store.EveryDays{Days: 1, OpenTime: "00:00", Length: "1d"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutEnrolmentCode(ctx, store.EnrolmentCode{Code: code, ParticipantID: pid, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// Enrol by SMS: JOIN, agree, English.
	s.sms("SM00000000000000000000000000000101", testPhone, "JOIN "+code)
	s.awaitSent(0, 5)
	s.sms("SM00000000000000000000000000000102", testPhone, "yes")
	s.awaitSent(5, 6)
	s.sms("SM00000000000000000000000000000103", testPhone, "1")
	if howto := s.awaitSent(6, 7)[0]; !strings.Contains(howto.Body, "ring this number") {
		t.Errorf("joining by SMS with the voice line on ended with %q, want the missed call told", howto.Body)
	}

	// The call, then Twilio's retries of it, two of them at once.
	const sid = "CA00000000000000000000000000000001"
	status, body := s.call(sid, testPhone)
	if status != http.StatusOK || !rejectedBusy(t, body) {
		t.Fatalf("call answered %d %q, want 200 and only <Reject reason=\"busy\"/>", status, body)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if status, body := s.call(sid, testPhone); status != http.StatusOK || !rejectedBusy(t, body) {
				t.Errorf("retry answered %d %q", status, body)
			}
		})
	}
	wg.Wait()

	checkins, err := st.CheckInsOf(ctx, pid, time.Time{})
	// A call from the UK carries no STIR/SHAKEN attestation: it counts,
	// and the caseworker sees that its caller ID was not verified.
	if err != nil || len(checkins) != 1 || checkins[0].Channel != store.MissedCallUnverified {
		t.Fatalf("check-ins = %+v (%v), want one by missed call, caller ID not verified", checkins, err)
	}
	if checkins[0].Channel.Label() != "Missed call, caller ID not verified" {
		t.Errorf("label %q", checkins[0].Channel.Label())
	}

	confirm := s.awaitSent(7, 8)[0]
	if confirm.To != testPhone || confirm.From != testFrom {
		t.Errorf("confirmation to %q from %q", confirm.To, confirm.From)
	}
	if !strings.Contains(confirm.Body, "missed call") || !strings.Contains(confirm.Body, "checked in") {
		t.Errorf("confirmation = %q", confirm.Body)
	}
	awaitSettled(t, st, pid)
	if n := len(fake.Accepted()); n != 8 {
		t.Errorf("%d messages sent, want 8: retries of the call must not confirm again", n)
	}

	cs, _ := st.CheckInsOf(ctx, pid, time.Time{})
	if len(cs) != 1 || cs[0].Channel != store.MissedCallUnverified {
		t.Errorf("check-ins %+v, want one by missed call", cs)
	}

	// A forged call is refused before anything is read.
	if status, _ := s.call("CA00000000000000000000000000000002", testPhone, "bm90IGEgc2lnbmF0dXJl"); status != http.StatusForbidden {
		t.Errorf("forged call: %d, want 403", status)
	}
	// A number nobody linked is rejected and leaves nothing behind.
	if status, body := s.call("CA00000000000000000000000000000003", "+447700900999"); status != http.StatusOK || !rejectedBusy(t, body) {
		t.Errorf("unknown caller: %d %q", status, body)
	}
	if _, err := st.GetLink(ctx, s.box.Index("sms", "+447700900999")); err == nil {
		t.Error("an unknown caller's number was linked")
	}

	// Nothing about the caller in the logs: number, name, place.
	logs := s.logs.String()
	for _, leak := range []string{testPhone, "447700900", "JANE", "LONDON", "N1 9GU", confirm.Body} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}
