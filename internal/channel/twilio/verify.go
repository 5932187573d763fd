// Package twilio is Waymark's SMS and WhatsApp channel through Twilio: it
// verifies and parses Twilio's webhooks (inbound messages and delivery
// statuses) and sends messages with twilio-go. It holds no Echo code; the web
// server calls these functions with the raw request parts.
package twilio

import (
	"strings"

	"github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header Twilio signs every webhook with.
const SignatureHeader = "X-Twilio-Signature"

// Verify reports whether signature is Twilio's signature of a webhook.
//
// The signed URL is publicURL (WAYMARK_PUBLIC_URL, the address Twilio was
// told to call) followed by the raw request URI exactly as received, so that
// a service behind a TLS-terminating proxy on another host or port still
// verifies: the scheme and host the service sees are not what Twilio signed.
// Only the raw form body takes part, never the query string merged into it.
// The comparison is constant time (twilio-go's RequestValidator).
func Verify(authToken, publicURL, requestURI string, rawBody []byte, signature string) bool {
	if authToken == "" || signature == "" || publicURL == "" {
		return false
	}
	// An absolute-form request target ("http://host/path") would let the
	// client choose the host part of the signed URL.
	if !strings.HasPrefix(requestURI, "/") {
		return false
	}
	rv := client.NewRequestValidator(authToken)
	return rv.ValidateBody(strings.TrimRight(publicURL, "/")+requestURI, rawBody, signature)
}
