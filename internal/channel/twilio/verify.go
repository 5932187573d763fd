// Package twilio is Waymark's SMS, WhatsApp and telephone channel through
// Twilio: it verifies and parses Twilio's webhooks (inbound messages,
// delivery statuses, calls and key presses), hands what they say to the
// conversation, answers them (Echo handlers: webhook.go, voice.go) and
// sends messages with twilio-go. It decides nothing about a person.
package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"
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
//
// It accepts exactly what twilio-go's RequestValidator.ValidateBody accepts
// for that URL (the tests hold it to that), without its cost: the body is
// parsed once, nothing is formatted, and the comparisons are constant time.
func Verify(authToken, publicURL, requestURI string, rawBody []byte, signature string) bool {
	if authToken == "" || signature == "" || publicURL == "" {
		return false
	}
	// An absolute-form request target ("http://host/path") would let the
	// client choose the host part of the signed URL.
	if !strings.HasPrefix(requestURI, "/") {
		return false
	}
	signedURL := strings.TrimRight(publicURL, "/") + requestURI
	parsed, err := url.Parse(signedURL)
	if err != nil {
		return false
	}
	s := getSigner(authToken)
	defer signers.Put(s)

	// A JSON webhook carries the SHA-256 of its body in the URL and signs
	// the URL alone.
	if bodySHA256 := queryValue(parsed, "bodySHA256"); bodySHA256 != "" {
		return s.signsURL(parsed, signedURL, nil, signature) && bodyHashIs(rawBody, bodySHA256)
	}
	params, ok := formParams(string(rawBody))
	if !ok {
		return false
	}
	return s.signsURL(parsed, signedURL, params, signature)
}

// signsURL reports whether signature is the HMAC of the URL followed by
// params, with the URL written with the scheme's default port or without
// any port: Twilio signs either, depending on how the webhook was
// configured. signedURL is already one of the two, so it is tried first and
// the URL is rewritten only when it does not verify as written.
func (s *signer) signsURL(parsed *url.URL, signedURL string, params []byte, signature string) bool {
	if s.signs(signedURL, params, signature) {
		return true
	}
	if parsed.Port() == "" {
		return s.signs(withDefaultPort(parsed), params, signature)
	}
	return s.signs(withoutPort(parsed), params, signature)
}

// signs reports whether signature is the base64 HMAC-SHA1 of the URL
// followed by params.
func (s *signer) signs(signedURL string, params []byte, signature string) bool {
	s.mac.Reset()
	s.url = append(s.url[:0], signedURL...)
	s.mac.Write(s.url)
	s.mac.Write(params)
	var encoded [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(encoded[:], s.mac.Sum(s.sum[:0]))
	return hmac.Equal(encoded[:], []byte(signature))
}

// signer is an HMAC-SHA1 keyed with one auth token, kept in a pool between
// webhooks: hmac.New hashes the key and allocates each time, and a string
// written to a hash.Hash is copied. It holds only the token and the URL,
// never a body.
type signer struct {
	token string
	mac   hash.Hash
	url   []byte
	sum   [sha1.Size]byte
}

var signers sync.Pool

// getSigner is a signer for token from the pool, or a new one if the pooled
// one is keyed with another token (the token changed, or a test uses many).
func getSigner(token string) *signer {
	s, _ := signers.Get().(*signer)
	// Both are the configured token, not a caller's guess; compared in
	// constant time all the same, as every secret is.
	if s == nil || subtle.ConstantTimeCompare([]byte(s.token), []byte(token)) != 1 {
		s = &signer{token: token, mac: hmac.New(sha1.New, []byte(token))}
	}
	return s
}

// bodyHashIs reports whether hexSHA256 is the lower-case hex SHA-256 of body.
func bodyHashIs(body []byte, hexSHA256 string) bool {
	sum := sha256.Sum256(body)
	var encoded [2 * sha256.Size]byte
	hex.Encode(encoded[:], sum[:])
	return subtle.ConstantTimeCompare(encoded[:], []byte(hexSHA256)) == 1
}

// withDefaultPort is the URL with the scheme's default port (443 for
// https, 80 for anything else), written back by net/url as twilio-go does.
func withDefaultPort(parsed *url.URL) string {
	port := "80"
	if parsed.Scheme == "https" {
		port = "443"
	}
	u := *parsed
	u.Host = parsed.Host + ":" + port
	return u.String()
}

// withoutPort is the URL with its port dropped: the host cut at its first
// colon (even in an IPv6 address), written back by net/url as twilio-go
// does.
func withoutPort(parsed *url.URL) string {
	u := *parsed
	u.Host, _, _ = strings.Cut(parsed.Host, ":")
	return u.String()
}

// queryValue is parsed.Query().Get(key), without building the map when the
// raw query cannot hold key: a key is only ever written literally or with
// %-escapes ('+' decodes to a space, which key has none of).
func queryValue(parsed *url.URL, key string) string {
	q := parsed.RawQuery
	if !strings.Contains(q, key) && !strings.Contains(q, "%") {
		return ""
	}
	return parsed.Query().Get(key)
}

// param is one decoded form parameter.
type param struct{ key, value string }

// formParams is what Twilio signs of a form body: each distinct key followed
// by its first value, sorted by key, concatenated. The body is decoded as
// url.ParseQuery decodes it, and ok is false wherever ParseQuery would
// return an error (a bad %-escape, a semicolon, too many parameters), since
// twilio-go then refuses the request.
func formParams(body string) (signed []byte, ok bool) {
	if !withinParamLimit(strings.Count(body, "&") + 1) {
		return nil, false
	}
	var fixed [32]param // a webhook has some 20 parameters: no allocation
	params := fixed[:0]
	size := 0
	for rest := body; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if strings.Contains(pair, ";") {
			return nil, false
		}
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, false
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, false
		}
		params = append(params, param{key, value})
		size += len(key) + len(value)
	}
	// Sorting positions rather than parameters moves no pointers, so costs
	// no write barriers. A stable sort keeps a repeated key's values in
	// body order, and only the first is signed, as twilio-go signs it.
	var fixedOrder [len(fixed)]int
	order := fixedOrder[:0]
	for i := range params {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(params[i].key, params[j].key) })
	signed = make([]byte, 0, size)
	for n, i := range order {
		if n > 0 && params[i].key == params[order[n-1]].key {
			continue
		}
		signed = append(append(signed, params[i].key...), params[i].value...)
	}
	return signed, true
}

// withinParamLimit reports whether url.ParseQuery accepts a query of n
// parameters. It refuses more than a limit (10,000 unless the
// urlmaxqueryparams GODEBUG setting says otherwise) before looking at them,
// so a query of n-1 empty parameters asks it without parsing the body twice.
func withinParamLimit(n int) bool {
	_, err := url.ParseQuery(strings.Repeat("&", n-1))
	return err == nil
}
