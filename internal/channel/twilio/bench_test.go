package twilio

import (
	"net/url"
	"os"
	"testing"
)

// BenchmarkVerify is the signature check of every inbound webhook: a
// captured SMS form posted to the public URL, checked with and without the
// default port as Twilio may sign either.
func BenchmarkVerify(b *testing.B) {
	body, sig := verifyBenchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		if !Verify("s3cr3tT0ken", "https://public.example.org", verifyBenchURI, body, sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyWithTwilioGo is the same check through twilio-go's
// RequestValidator, as Verify was written until it parsed the body itself:
// the figure to compare with on the same machine.
func BenchmarkVerifyWithTwilioGo(b *testing.B) {
	body, sig := verifyBenchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		if !twilioVerify("s3cr3tT0ken", "https://public.example.org", verifyBenchURI, body, sig) {
			b.Fatal("does not verify")
		}
	}
}

const verifyBenchURI = "/webhooks/twilio/sms"

func verifyBenchInput(b *testing.B) (body []byte, signature string) {
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		b.Fatal(err)
	}
	form, _ := url.ParseQuery(string(body))
	return body, sign("s3cr3tT0ken", "https://public.example.org"+verifyBenchURI, form)
}

func BenchmarkParseInbound(b *testing.B) {
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInbound(body); err != nil {
			b.Fatal(err)
		}
	}
}
