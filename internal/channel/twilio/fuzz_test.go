package twilio

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
	"github.com/waymark-atd/waymark/internal/store"
)

// addCaptured seeds a fuzz target with the captured webhooks in testdata.
func addCaptured(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", prefix+"*.form"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseInbound: whatever the form, ParseInbound never panics, returns
// only its sentinel errors (which carry nothing of the payload), and what
// it accepts is usable: a message ID, a sender without the WhatsApp prefix
// in valid UTF-8, a known channel, a body within Twilio's limit.
func FuzzParseInbound(f *testing.F) {
	addCaptured(f, "sms_")
	addCaptured(f, "mms_")
	f.Add([]byte("MessageSid=SM1&From=%2B447700900123&Body=%ff%fe"))
	f.Add([]byte("MessageSid=SM1&From=whatsapp%3A&Body=x"))
	f.Add([]byte("MessageSid=SM1&From=%2B1&NumMedia=-1"))
	f.Add([]byte("%zz"))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseInbound(body)
		switch {
		case err == nil:
		case errors.Is(err, ErrTooLong), errors.Is(err, ErrInvalidText):
			if in.MessageSid == "" || in.From == "" || in.Body != "" {
				t.Fatalf("%v kept %+v", err, in)
			}
			return
		case errors.Is(err, ErrMalformed):
			if in != (Inbound{}) {
				t.Fatalf("malformed input returned %+v", in)
			}
			return
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if in.MessageSid == "" || in.From == "" || !utf8.ValidString(in.From) || strings.HasPrefix(in.From, whatsappPrefix) {
			t.Fatalf("accepted %+v", in)
		}
		if in.Channel != store.SMS && in.Channel != store.WhatsApp {
			t.Fatalf("channel %q", in.Channel)
		}
		if !utf8.ValidString(in.Body) || utf8.RuneCountInString(in.Body) > MaxBodyChars {
			t.Fatalf("body of %d runes accepted", utf8.RuneCountInString(in.Body))
		}
		if in.MediaOnly && in.NumMedia <= 0 {
			t.Fatalf("media-only without media: %+v", in)
		}
	})
}

// FuzzParseStatus: ParseStatus never panics, and a status it accepts maps
// to one of Waymark's, with an error code of digits only.
func FuzzParseStatus(f *testing.F) {
	addCaptured(f, "status_")
	f.Add([]byte("MessageSid=SM1&MessageStatus=DELIVERED&ErrorCode=%2030006"))
	f.Add([]byte("MessageSid=SM1&MessageStatus=teleported"))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := ParseStatus(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownStatus) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, ok := StatusOf(st.Twilio); !ok || st.Status == "" || st.MessageSid == "" || !digitsOnly(st.ErrorCode) {
			t.Fatalf("accepted %+v", st)
		}
	})
}

// FuzzVerify: Verify never panics; it accepts a form signed with the auth
// token for the public URL and the request URI exactly as received (any
// URI Go's server lets through), and refuses the same signature once a
// value changes, for another URI or another token, and always for a URI
// that is not a path. testdata/fuzz/FuzzVerify keeps the inputs that
// shaped this statement.
func FuzzVerify(f *testing.F) {
	f.Add("/webhooks/twilio/sms", "Body", "hello", "From", "+447700900123")
	f.Add("/webhooks/twilio/status?id=m_abc", "MessageStatus", "delivered", "ErrorCode", "")
	f.Add("http://evil.example/webhooks/twilio/sms", "a", "b", "c", "d")
	f.Add("/", "", "", "x", "\xff")
	f.Fuzz(func(t *testing.T, uri, k1, v1, k2, v2 string) {
		const token, public = "authtoken0123456789", "https://waymark.example.org"
		form := url.Values{}
		form.Set(k1, v1)
		form.Set(k2, v2)
		body := []byte(form.Encode())
		sig := twiliotest.Sign(token, public+uri, form)
		ok := Verify(token, public, uri, body, sig)
		if !strings.HasPrefix(uri, "/") {
			if ok {
				t.Fatalf("accepted a request URI that is not a path: %q", uri)
			}
			return
		}
		if _, err := url.ParseRequestURI(uri); err != nil {
			return // Go's server answers 400 to such a request before any handler
		}
		if _, err := url.Parse(public + uri); err != nil {
			// Such as "/?#%": a fragment no client sends, with a bad escape.
			// twilio-go's check cannot read the URL and refuses it, and so
			// does Verify (FuzzVerifyMatchesTwilio holds the two together).
			return
		}
		if !ok {
			t.Fatalf("a correctly signed request is refused: uri %q form %q", uri, body)
		}
		tampered := url.Values{}
		for k, vs := range form {
			tampered[k] = append([]string(nil), vs...)
		}
		tampered.Set(k1, form.Get(k1)+"x") // form.Get: k2 may be k1, and v2 may be v1+"x"
		if Verify(token, public, uri, []byte(tampered.Encode()), sig) {
			t.Fatalf("a changed value still verifies")
		}
		if Verify("othertoken0123456789", public, uri, body, sig) {
			t.Fatalf("another token verifies")
		}
		if Verify(token, public, uri+"x", body, sig) && !strings.Contains(uri, "?") {
			t.Fatalf("another URI verifies")
		}
		if Verify(token, public, uri, body, "") || Verify("", public, uri, body, sig) {
			t.Fatalf("an empty signature or token verifies")
		}
	})
}

// FuzzVerifyMatchesTwilio: Verify accepts exactly what twilio-go's
// RequestValidator accepts (Verify as it was written over it), whatever
// the token, public URL, request URI and body: on the signatures a request
// signed for signedPublic could carry (see candidateSignatures) and on an
// arbitrary one.
func FuzzVerifyMatchesTwilio(f *testing.F) {
	const public = "https://waymark.example.org"
	files, _ := filepath.Glob(filepath.Join("testdata", "*.form"))
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("s3cr3tT0ken", publicURLs[i%len(publicURLs)], public, requestURIs[i%len(requestURIs)], b, "")
	}
	json := []byte(`{"MessageSid":"SM1"}`)
	sum := sha256.Sum256(json)
	f.Add("tok", public, public, "/hook?bodySHA256="+hex.EncodeToString(sum[:]), json, "")
	f.Add("tok", public+":443", public, "/webhooks/twilio/sms", []byte("a=1&a=2&b=%2B+%20&c"), "")
	f.Add("tok", "http://[::1]:8080", "http://[::1]", "/p?x=%zz", []byte("k=v;w"), "")
	f.Add("tok", public, public+":8443", "/p", []byte("%zz=1&=&&"), "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==")
	f.Fuzz(func(t *testing.T, token, signedPublic, publicURL, uri string, body []byte, sig string) {
		agreeWithTwilio(t, token, signedPublic, publicURL, uri, body)
		if got, want := Verify(token, publicURL, uri, body, sig), twilioVerify(token, publicURL, uri, body, sig); got != want {
			t.Fatalf("Verify = %v, twilio-go %v: token %q public %q uri %q body %q signature %q",
				got, want, token, publicURL, uri, body, sig)
		}
	})
}
