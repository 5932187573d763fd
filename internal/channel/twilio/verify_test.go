package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/waymark-atd/waymark/internal/channel/twilio/twiliotest"
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
	maps.Copy(tampered, form)
	tampered.Set("Body", "JOIN K7QP3")

	// The query parameter t=1 moved into the body and out of the URL.
	moved := url.Values{}
	maps.Copy(moved, form)
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

// twilioVerify is Verify as it was written over twilio-go's
// RequestValidator: the reference Verify must agree with on every input.
func twilioVerify(authToken, publicURL, requestURI string, rawBody []byte, signature string) bool {
	if authToken == "" || signature == "" || publicURL == "" {
		return false
	}
	if !strings.HasPrefix(requestURI, "/") {
		return false
	}
	rv := client.NewRequestValidator(authToken)
	return rv.ValidateBody(strings.TrimRight(publicURL, "/")+requestURI, rawBody, signature)
}

// base64HMAC is the base64 HMAC-SHA1 of message.
func base64HMAC(token, message string) string {
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// candidateSignatures are the signatures a request to signedURL with body
// could carry: what twilio-go checks (each key's first value), each key
// with all its values (Twilio's documented rule for repeated keys, which
// twilio-go refuses), the URL alone (a bodySHA256 webhook), and near
// misses: another token, a flipped character, the same bytes in a
// non-canonical base64, no padding. The URL is signed as written and as
// net/url writes it back (scheme in lower case, path escaped).
func candidateSignatures(token, signedURL string, body []byte) []string {
	form, _ := url.ParseQuery(string(body))
	first := sign(token, signedURL, form)
	keys := slices.Sorted(maps.Keys(form))
	all := signedURL
	for _, k := range keys {
		all += k + strings.Join(form[k], "")
	}
	sigs := []string{
		first,
		base64HMAC(token, all),
		base64HMAC(token, signedURL),
		sign(token+"x", signedURL, form),
		strings.TrimRight(first, "="),
	}
	flipped := []byte(first)
	flipped[3] ^= 1 // letters and digits stay base64 characters
	// The 27th character carries two padding bits: toggling one decodes
	// to the same MAC in a lenient decoder.
	lenient := []byte(first)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	lenient[26] = alphabet[strings.IndexByte(alphabet, lenient[26])^1]
	sigs = append(sigs, string(flipped), string(lenient))
	if u, err := url.Parse(signedURL); err == nil && u.String() != signedURL {
		sigs = append(sigs, sign(token, u.String(), form), base64HMAC(token, u.String()))
	}
	return sigs
}

// agreeWithTwilio fails t unless Verify and twilio-go decide alike on every
// candidate signature of body posted to signedPublic+uri, checked against
// publicURL. It returns how many were accepted.
func agreeWithTwilio(t testing.TB, token, signedPublic, publicURL, uri string, body []byte) (accepted int) {
	t.Helper()
	signedURL := strings.TrimRight(signedPublic, "/") + uri
	for _, sig := range candidateSignatures(token, signedURL, body) {
		want := twilioVerify(token, publicURL, uri, body, sig)
		if got := Verify(token, publicURL, uri, body, sig); got != want {
			t.Fatalf("Verify = %v, twilio-go %v\ntoken %q public %q uri %q signed over %q\nbody %q\nsignature %q",
				got, want, token, publicURL, uri, signedURL, body, sig)
		}
		if want {
			accepted++
		}
	}
	return accepted
}

// publicURLs are ways to write the public URL: ports, default ports, a
// path prefix, a trailing slash, an upper-case scheme, IPv6, userinfo, an
// empty port.
var publicURLs = []string{
	"https://waymark.example.org", "https://waymark.example.org/", "https://waymark.example.org:443",
	"https://waymark.example.org:80", "https://waymark.example.org:8443", "http://waymark.example.org",
	"http://waymark.example.org:80", "http://waymark.example.org:443", "http://10.0.0.5:8080",
	"https://waymark.example.org/base", "https://waymark.example.org/base/", "https://waymark.example.org:443/base",
	"HTTPS://Waymark.example.org", "https://[2001:db8::1]", "https://[2001:db8::1]:443", "https://[2001:db8::1]:8443",
	"https://user@waymark.example.org", "https://waymark.example.org:", "https://waymark.example.org:x",
	"https://waymark.example.org/%zz", "ftp://waymark.example.org",
}

// requestURIs are request targets: query strings, escapes, bodySHA256,
// fragments, semicolons, and targets that are not paths.
var requestURIs = []string{
	"/webhooks/twilio/sms", "/webhooks/twilio/status?id=m_abc", "/webhooks/twilio/sms?",
	"/webhooks/twilio/sms?t=1&t=2", "/a%2Fb/c", "/a%zz", "/%E2%82%AC?q=%E2%82%AC+x", "/p?x=1;y=2",
	"/p#frag", "/p?a=1#frag", "/é?q=é", "/a b", "/a%2fb", "//other.example/p", "/p?bodySHA256=", "/p?body%53HA256=abc", "/p?bodySHA256=%zz",
	"http://evil.example/p", "", "*",
}

func TestVerifyAgreesWithTwilioOnCapturedForms(t *testing.T) {
	files, err := filepath.Glob("testdata/*.form")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured forms: %v", err)
	}
	const token, public = "s3cr3tT0ken", "https://waymark.example.org"
	accepted := 0
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, uri := range requestURIs {
			accepted += agreeWithTwilio(t, token, public, public, uri, body)
			accepted += agreeWithTwilio(t, token, public+":443", public, uri, body)
		}
	}
	if accepted < len(files)*10 {
		t.Fatalf("only %d signatures accepted: the comparison proves little", accepted)
	}
}

// TestVerifyAgreesWithTwilioOnPorts: a signature over any way of writing
// the public URL, checked against any other.
func TestVerifyAgreesWithTwilioOnPorts(t *testing.T) {
	body, err := os.ReadFile("testdata/sms_join.form")
	if err != nil {
		t.Fatal(err)
	}
	const token = "s3cr3tT0ken"
	accepted := 0
	// What twilio-go's port rewriting makes of odd hosts: an IPv6 host
	// cut at its first colon, a default port after an empty one.
	signedPublics := append(slices.Clip(publicURLs), "https://[2001", "https://waymark.example.org::443")
	for _, public := range publicURLs {
		for _, signedPublic := range signedPublics {
			for _, uri := range requestURIs[:4] {
				accepted += agreeWithTwilio(t, token, signedPublic, public, uri, body)
			}
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d signatures accepted: the comparison proves little", accepted)
	}
}

func TestVerifyAgreesWithTwilioOnGeneratedForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const token = "authtoken0123456789"
	accepted := 0
	for range 5000 {
		body := randomForm(rng)
		public := publicURLs[rng.IntN(len(publicURLs))]
		signedPublic := public
		if rng.IntN(2) == 0 {
			signedPublic = publicURLs[rng.IntN(len(publicURLs))]
		}
		uri := requestURIs[rng.IntN(len(requestURIs))]
		if rng.IntN(3) == 0 {
			uri = "/webhooks/twilio/status?" + string(randomForm(rng))
		}
		accepted += agreeWithTwilio(t, token, signedPublic, public, uri, body)
	}
	if accepted < 1000 {
		t.Fatalf("only %d signatures accepted: the comparison proves little", accepted)
	}
}

// TestVerifyAgreesWithTwilioOnBodySHA256 covers JSON webhooks, which sign
// the URL alone and carry the body's SHA-256 in the query.
func TestVerifyAgreesWithTwilioOnBodySHA256(t *testing.T) {
	const token, public = "s3cr3tT0ken", "https://waymark.example.org"
	body := []byte(`{"MessageSid":"SM1","From":"+447700900123"}`)
	sum := sha256.Sum256(body)
	lower := hex.EncodeToString(sum[:])
	for _, uri := range []string{
		"/hook?bodySHA256=" + lower,
		"/hook?a=1&bodySHA256=" + lower,
		"/hook?body%53HA256=" + lower, // an escaped key is still the key
		"/hook?bodySHA256=" + lower + "&bodySHA256=0",
		"/hook?bodySHA256=0&bodySHA256=" + lower,
		"/hook?bodySHA256=" + strings.ToUpper(lower),
		"/hook?bodySHA256=" + lower[1:],
		"/hook?bodySHA256=" + lower + ";x=1",
		"/hook?bodySHA256=%zz&bodySHA256=" + lower,
	} {
		for _, b := range [][]byte{body, append(body, ' ')} {
			agreeWithTwilio(t, token, public, public, uri, b)
		}
	}
	sig := base64HMAC(token, public+"/hook?bodySHA256="+lower)
	if !Verify(token, public, "/hook?bodySHA256="+lower, body, sig) {
		t.Fatal("a JSON webhook with its body hash does not verify")
	}
	if Verify(token, public, "/hook?bodySHA256="+lower, append(body, ' '), sig) {
		t.Fatal("a JSON body that does not match its hash verifies")
	}
}

// TestVerifyParameterLimit: url.ParseQuery refuses a form of more
// parameters than its limit (10,000, or the urlmaxqueryparams GODEBUG
// setting), and twilio-go with it; so must Verify.
func TestVerifyParameterLimit(t *testing.T) {
	const token, public, uri = "s3cr3tT0ken", "https://waymark.example.org", "/webhooks/twilio/sms"
	// form is n parameters, and what was signed of it: all n, as a
	// sender that knows no limit would.
	form := func(n int) ([]byte, url.Values) {
		values := url.Values{}
		pairs := make([]string, n)
		for i := range pairs {
			pairs[i] = "k" + strconv.Itoa(i) + "=v"
			values.Set("k"+strconv.Itoa(i), "v")
		}
		return []byte(strings.Join(pairs, "&")), values
	}
	check := func(t *testing.T, n int, want bool) {
		t.Helper()
		body, values := form(n)
		sig := twiliotest.Sign(token, public+uri, values)
		if got := Verify(token, public, uri, body, sig); got != want {
			t.Fatalf("Verify = %v for %d parameters, want %v", got, n, want)
		}
		if n < 100 {
			agreeWithTwilio(t, token, public, public, uri, body)
		}
	}
	t.Run("default", func(t *testing.T) {
		check(t, 10000, true)
		check(t, 10001, false)
		body, values := form(10000)
		body = append(body, '&') // an empty parameter still counts
		if Verify(token, public, uri, body, twiliotest.Sign(token, public+uri, values)) {
			t.Fatal("10,000 parameters and an empty one verify")
		}
	})
	t.Run("GODEBUG", func(t *testing.T) {
		t.Setenv("GODEBUG", "urlmaxqueryparams=3")
		check(t, 2, true)
		check(t, 3, false)
		// The query of the URL is held to the same limit when twilio-go
		// looks for bodySHA256 in it.
		body, _ := form(2)
		agreeWithTwilio(t, token, public, public, "/hook?a&b&bodySHA256=x", body)
		agreeWithTwilio(t, token, public, public, "/hook?a&bodySHA256=x", body)
	})
}

// randomForm is a form body as Twilio would send it, or not quite: keys and
// values with unicode, '+', '%', '=', ';', invalid UTF-8, escaped or raw,
// repeated keys, empty values, keys without '=', empty pairs.
func randomForm(rng *rand.Rand) []byte {
	const palette = "aZ09 +%&=;_-.~/?#é€🙂\xff"
	runes := []rune(palette)
	word := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteRune(runes[rng.IntN(len(runes))])
		}
		return b.String()
	}
	n := rng.IntN(8)
	if rng.IntN(10) == 0 {
		n = 40 // beyond the few elements a sort orders by insertion
	}
	var keys []string
	var pairs []string
	for range n {
		key := word()
		if len(keys) > 0 && rng.IntN(4) == 0 {
			key = keys[rng.IntN(len(keys))] // repeated
		}
		keys = append(keys, key)
		value := word()
		switch rng.IntN(6) {
		case 0: // raw: may not decode
			pairs = append(pairs, key+"="+value)
		case 1: // no '='
			pairs = append(pairs, url.QueryEscape(key))
		case 2: // empty pair
			pairs = append(pairs, "")
		case 3: // path escaping: spaces as %20, '+' kept
			pairs = append(pairs, url.PathEscape(key)+"="+url.PathEscape(value))
		default:
			pairs = append(pairs, url.QueryEscape(key)+"="+url.QueryEscape(value))
		}
	}
	return []byte(strings.Join(pairs, "&"))
}
