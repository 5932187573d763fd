package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"os"
	"sort"
	"testing"
)

// sign computes Twilio's signature independently of twilio-go, as Twilio
// documents it: the URL, then each body parameter's name and value sorted by
// name, HMAC-SHA1 with the auth token, base64.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestVerifyPublishedVector(t *testing.T) {
	// twilio-go client/request_validator_test.go
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	const want = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	body := []byte(form.Encode())
	if got := sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != want {
		t.Fatalf("reference signer gives %s, want %s", got, want)
	}
	if !Verify("12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", body, want) {
		t.Fatal("published vector does not verify")
	}
	// A trailing slash on the configured public URL is tolerated.
	if !Verify("12345", "https://mycompany.com/", "/myapp.php?foo=1&bar=2", body, want) {
		t.Fatal("public URL with trailing slash does not verify")
	}
	if Verify("12346", "https://mycompany.com", "/myapp.php?foo=1&bar=2", body, want) {
		t.Fatal("verifies with the wrong auth token")
	}
	// The query is part of the signed URL, byte for byte.
	if Verify("12345", "https://mycompany.com", "/myapp.php?bar=2&foo=1", body, want) {
		t.Fatal("verifies with the query reordered")
	}
	if Verify("12345", "https://mycompany.com", "/myapp.php", body, want) {
		t.Fatal("verifies without the query")
	}
}

func TestVerifyBehindProxy(t *testing.T) {
	// Twilio calls https://public.example.org/webhooks/twilio/sms?t=1; a
	// TLS-terminating proxy forwards it to http://10.0.0.5:8080 with the same
	// request URI.
	const token = "s3cr3tT0ken"
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(body))
	const uri = "/webhooks/twilio/sms?t=1"
	sig := sign(token, "https://public.example.org"+uri, form)

	if !Verify(token, "https://public.example.org", uri, body, sig) {
		t.Fatal("the public URL + request URI does not verify")
	}
	// What a handler would get by rebuilding the URL from the request.
	if Verify(token, "http://10.0.0.5:8080", uri, body, sig) {
		t.Fatal("a URL rebuilt from the request verifies; it must not")
	}
	if Verify(token, "http://public.example.org", uri, body, sig) {
		t.Fatal("http instead of https verifies")
	}
	// twilio-go also accepts the URL with the default port: Twilio itself
	// signs either way.
	if !Verify(token, "https://public.example.org:443", uri, body, sig) {
		t.Fatal("explicit default port does not verify")
	}
	// An absolute-form request target must not choose the host.
	if Verify(token, "https://public.example.org", "https://public.example.org"+uri, body, sig) {
		t.Fatal("absolute-form request URI verifies")
	}
}

func TestVerifyRejects(t *testing.T) {
	const token, pub, uri = "s3cr3tT0ken", "https://public.example.org", "/webhooks/twilio/sms?t=1"
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(body))
	sig := sign(token, pub+uri, form)

	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("Body", "JOIN K7QP3")

	// The query parameter t=1 moved into the body and out of the URL.
	moved := url.Values{}
	for k, v := range form {
		moved[k] = v
	}
	moved.Set("t", "1")
	movedSig := sign(token, pub+"/webhooks/twilio/sms", moved)

	cases := []struct {
		name      string
		token     string
		uri       string
		body      []byte
		signature string
	}{
		{"tampered body", token, uri, []byte(tampered.Encode()), sig},
		{"extra body parameter", token, uri, append(append([]byte{}, body...), "&Injected=1"...), sig},
		{"query param moved into the body", token, uri, []byte(moved.Encode()), sig},
		{"signed with param in body, sent with it in the query", token, uri, []byte(moved.Encode()), movedSig},
		{"missing signature", token, uri, body, ""},
		{"garbage signature", token, uri, body, "not-a-signature"},
		{"no auth token configured", "", uri, body, sign("", pub+uri, form)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if Verify(c.token, pub, c.uri, c.body, c.signature) {
				t.Fatal("verified; must be rejected")
			}
		})
	}
	if !Verify(token, pub, uri, body, sig) {
		t.Fatal("the untouched request does not verify")
	}
}
