package twilio

import (
	"net/url"
	"os"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		b.Fatal(err)
	}
	form, _ := url.ParseQuery(string(body))
	const uri = "/webhooks/twilio/sms"
	sig := sign("s3cr3tT0ken", "https://public.example.org"+uri, form)
	b.ReportAllocs()
	for b.Loop() {
		if !Verify("s3cr3tT0ken", "https://public.example.org", uri, body, sig) {
			b.Fatal("does not verify")
		}
	}
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
