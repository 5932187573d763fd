package twilio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/waymark-atd/waymark/internal/outbox"
	"github.com/waymark-atd/waymark/internal/sms"
	"github.com/waymark-atd/waymark/internal/store"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// StatusPath is where Twilio posts delivery statuses; the web server routes
// it to ParseStatus. The callback URL carries Waymark's own message ID as
// "?id=", so a status finds its message even before the provider ID is saved.
const StatusPath = "/webhooks/twilio/status"

// Config configures a Sender.
type Config struct {
	AccountSID string // AC...
	AuthToken  string
	// From is the sending number in E.164 ("+15005550006"; a "whatsapp:"
	// prefix is accepted and ignored: it is added per message). Set From or
	// MessagingServiceSID.
	From                string
	MessagingServiceSID string // MG...
	// APIURL is the REST API base, DefaultAPIURL when empty; tests and
	// regional edges point it elsewhere.
	APIURL string
	// PublicURL is Waymark's public base URL (no trailing slash); status
	// callbacks go to PublicURL + StatusPath.
	PublicURL string
	// MPS is the sender's budget in SMS segments a second (WhatsApp: in
	// messages), shared by all processes through the store. Default 1.
	MPS float64
	// Timeout bounds one API request. Default 10s.
	Timeout time.Duration
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// SmartEncoded asks Twilio to replace look-alike Unicode characters
	// (curly quotes, long dashes, some accented letters) in SMS with GSM-7
	// ones, so that one such character does not make a message cost twice
	// as many segments.
	SmartEncoded bool
	// ContentRetention, when set ("discard" or "retain"), asks Twilio to
	// drop (or keep) each message's body after sending. "discard" works
	// only on accounts with Twilio's Message Redaction enabled; elsewhere
	// Twilio refuses every message (30029).
	ContentRetention string
}

// Sender sends SMS and WhatsApp messages through Twilio's Messages API with
// twilio-go. It implements outbox.Sender, outbox.Throttler and
// outbox.CodeClassifier. Safe for concurrent use.
type Sender struct {
	sid, token      string
	from, service   string
	api             *url.URL
	statusURL       string
	mps             float64
	timeout         time.Duration
	transport       http.RoundTripper
	throttleKeyBase string
	smartEncoded    bool
	retention       string
}

var (
	_ outbox.Sender         = (*Sender)(nil)
	_ outbox.Throttler      = (*Sender)(nil)
	_ outbox.CodeClassifier = (*Sender)(nil)
	_ outbox.Router         = (*Sender)(nil)
	_ outbox.StatusReporter = (*Sender)(nil)
)

// NewSender checks cfg and returns a Sender. Its errors never include the
// auth token.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.AccountSID == "" || !alnum(cfg.AccountSID) {
		return nil, errors.New("twilio: account SID must be letters and digits")
	}
	if cfg.AuthToken == "" || !alnum(cfg.AuthToken) {
		return nil, errors.New("twilio: auth token must be letters and digits")
	}
	from := strings.TrimPrefix(strings.TrimSpace(cfg.From), whatsappPrefix)
	if (from == "") == (cfg.MessagingServiceSID == "") {
		return nil, errors.New("twilio: set exactly one of the From number and the messaging service SID")
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	api, err := url.Parse(strings.TrimRight(apiURL, "/"))
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, errors.New("twilio: API URL must be an http(s) URL")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, errors.New("twilio: public URL must be an http(s) URL")
	}
	s := &Sender{
		sid: cfg.AccountSID, token: cfg.AuthToken,
		from: from, service: cfg.MessagingServiceSID,
		api:       api,
		statusURL: strings.TrimRight(cfg.PublicURL, "/") + StatusPath,
		mps:       cfg.MPS,
		timeout:   cfg.Timeout,
		transport: cfg.Transport,

		smartEncoded: cfg.SmartEncoded,
		retention:    cfg.ContentRetention,
	}
	switch s.retention {
	case "", "discard", "retain":
	default:
		return nil, errors.New("twilio: content retention must be discard or retain")
	}
	if s.mps <= 0 {
		s.mps = 1
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.transport == nil {
		s.transport = http.DefaultTransport
	}
	// The budget belongs to the sending number (or service), not to the
	// account; hashed so that store keys look alike whatever the sender.
	h := sha256.Sum256([]byte(from + "|" + cfg.MessagingServiceSID))
	s.throttleKeyBase = "twilio:" + hex.EncodeToString(h[:8]) + ":"
	return s, nil
}

// StatusCallback returns the status callback URL of a message.
func (s *Sender) StatusCallback(messageID string) string {
	return s.statusURL + "?id=" + url.QueryEscape(messageID)
}

// Send sends msg.Text to address (E.164, without "whatsapp:") on
// msg.Channel and returns Twilio's message SID. Errors are *outbox.
// PermanentError, *outbox.RetryAfterError or *outbox.TemporaryError, and
// carry only codes: Twilio's own error messages can quote the number.
func (s *Sender) Send(ctx context.Context, address string, msg store.OutboundMessage) (string, error) {
	to, from := address, s.from
	switch via(msg) {
	case store.SMS:
	case store.WhatsApp:
		to = whatsappPrefix + to
		if from != "" {
			from = whatsappPrefix + from
		}
	default:
		return "", &outbox.PermanentError{Code: "unsupported_channel"}
	}
	if address == "" {
		return "", &outbox.PermanentError{Code: "no_address", Unreachable: true}
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(to)
	if s.service != "" {
		p.SetMessagingServiceSid(s.service)
	} else {
		p.SetFrom(from)
	}
	if msg.Route == store.RouteTemplate {
		// A template goes by its SID and variables alone: Twilio refuses a
		// Body beside them outside the window.
		if msg.Template == nil || msg.Template.SID == "" {
			return "", &outbox.PermanentError{Code: CodeNoTemplate}
		}
		p.SetContentSid(msg.Template.SID)
		if len(msg.Template.Variables) > 0 {
			// Twilio refuses "null" and an empty value (21656): a template
			// without variables goes without the parameter.
			vars, err := json.Marshal(msg.Template.Variables)
			if err != nil {
				return "", &outbox.PermanentError{Code: CodeNoTemplate}
			}
			p.SetContentVariables(string(vars))
		}
	} else {
		// Twilio would refuse these (21619, 21617); saying so here spares
		// a request and names the same codes.
		if strings.TrimSpace(msg.Text) == "" {
			return "", &outbox.PermanentError{Code: "21619"}
		}
		if utf8.RuneCountInString(msg.Text) > MaxBodyChars {
			return "", &outbox.PermanentError{Code: "21617"}
		}
		p.SetBody(msg.Text)
	}
	if s.smartEncoded && via(msg) == store.SMS {
		p.SetSmartEncoded(true)
	}
	if s.retention != "" {
		p.SetContentRetention(s.retention)
	}
	p.SetStatusCallback(s.StatusCallback(msg.ID))

	rt := &callTransport{ctx: ctx, base: s.transport, api: s.api}
	c := &client.Client{
		Credentials: client.NewCredentials(s.sid, s.token),
		HTTPClient: &http.Client{
			Transport: rt,
			Timeout:   s.timeout,
			// As twilio-go's own client: a redirect is not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.sid)
	// A RequestHandler of our own, not NewRequestHandler: that one reads
	// TWILIO_EDGE and TWILIO_REGION from the environment, and Waymark takes
	// its settings from WAYMARK_* only.
	api := openapi.NewApiService(&client.RequestHandler{Client: c})
	m, err := api.CreateMessage(p)
	if err != nil {
		return "", classify(ctx, err, rt)
	}
	if m == nil || m.Sid == nil || *m.Sid == "" {
		// Accepted without an ID: we cannot tell whether it will go, and
		// sending again could deliver it twice. Not retried.
		return "", &outbox.PermanentError{Code: "no_sid"}
	}
	return *m.Sid, nil
}

// Throttles draws SMS on the sender's budget in segments, WhatsApp in
// messages.
func (s *Sender) Throttles(msg store.OutboundMessage) []outbox.Throttle {
	units := 1
	ch := via(msg)
	if ch == store.SMS {
		text := msg.Text
		if s.smartEncoded {
			text = sms.SmartEncode(text)
		}
		_, units = sms.Segments(text)
	}
	if units < 1 {
		units = 1
	}
	return []outbox.Throttle{{Key: s.throttleKeyBase + string(ch), Units: units, PerSecond: s.mps}}
}

// via is the channel a message goes on: its own, or SMS when WhatsApp
// would not carry it and the person agreed.
func via(msg store.OutboundMessage) store.Channel {
	if msg.Channel == store.WhatsApp && msg.Route == store.RouteSMS {
		return store.SMS
	}
	return msg.Channel
}

// CodeNoTemplate is Waymark's error code for a WhatsApp message that must
// go outside the person's 24-hour window and has no approved template
// and no SMS to fall back on. Like 63016, the caseworker sees "no approved
// template", never a miss.
const CodeNoTemplate = "no_template"

// Code63016 is Twilio's refusal of a WhatsApp message outside the 24-hour
// window: a template is needed.
const Code63016 = "63016"

// SessionWindow is how long after a person's last message WhatsApp
// accepts free text from a business.
const SessionWindow = 24 * time.Hour

// windowMargin is kept back from SessionWindow: a message queued for a
// while, or Twilio's clock a little ahead of ours, must not fall just
// outside the window.
const windowMargin = 10 * time.Minute

// Route implements outbox.Router. Within the person's 24-hour window,
// counted from their last message on the link (its LastSeenAt), a WhatsApp
// message goes as free text; outside it, as its approved template; with
// none, by SMS if the person agreed, and otherwise not at all (a
// *PermanentError with CodeNoTemplate). A message queued again after a
// 63016 keeps the route it was given then, whatever our clock says.
func (s *Sender) Route(m store.OutboundMessage, link store.Link, now time.Time) (store.OutboundMessage, error) {
	if m.Channel != store.WhatsApp || m.ErrorCode == Code63016 {
		return m, nil
	}
	if !link.LastSeenAt.IsZero() && now.Sub(link.LastSeenAt) < SessionWindow-windowMargin {
		m.Route = ""
		return m, nil
	}
	switch {
	case m.Template != nil:
		m.Route = store.RouteTemplate
	case m.FallbackSMS:
		m.Route = store.RouteSMS
	default:
		return m, &outbox.PermanentError{Code: CodeNoTemplate}
	}
	return m, nil
}

// Reroute implements outbox.Router: after a 63016, free text goes once more
// as its template, and a template (missing or unapproved on Twilio's side)
// by SMS, each only where there is one; nothing goes a third time.
func (s *Sender) Reroute(m store.OutboundMessage, code string) (store.OutboundMessage, bool) {
	if code != Code63016 || m.Channel != store.WhatsApp {
		return m, false
	}
	if m.Route == "" && m.Template != nil {
		m.Route = store.RouteTemplate
		return m, true
	}
	if m.Route != store.RouteSMS && m.FallbackSMS {
		m.Route = store.RouteSMS
		return m, true
	}
	return m, false
}

// ReportsStatus implements outbox.StatusReporter: every message carries
// a StatusCallback URL with its ID, and Twilio posts its status there
// within seconds of taking it.
func (s *Sender) ReportsStatus() bool { return true }

// UnreachableCode reports whether an error code in a status callback means
// the address cannot be reached.
func (s *Sender) UnreachableCode(code string) bool { return unreachableCodes[code] }

// permanentCodes are REST errors that sending again will not cure. The
// value says whether the address itself is at fault (the link becomes
// unreachable and the caseworker sees "can't reach"); false is a fault of
// the message or of our own setup, which says nothing about the person.
var permanentCodes = map[int]bool{
	21610: true,  // the person sent STOP: unsubscribed
	21211: true,  // not a valid phone number
	21614: true,  // not a mobile number
	21635: true,  // a landline
	21612: true,  // no route from our number to this one
	21408: true,  // sending to this region is not enabled
	21606: true,  // our number cannot send to this destination
	30004: true,  // blocked by the person or carrier
	30005: true,  // unknown or inactive number
	30006: true,  // landline or unreachable carrier
	21617: false, // body over 1600 characters
	21619: false, // empty body
	63016: false, // WhatsApp: outside the 24-hour window, needs a template
}

// unreachableCodes are error codes in status callbacks that mean the
// address cannot be reached. 30003 (handset unreachable) is not one: a phone
// that is off today is usually back tomorrow.
var unreachableCodes = map[string]bool{"21610": true, "30004": true, "30005": true, "30006": true}

// restCode extracts Twilio's numeric error code from a twilio-go error.
func restCode(err error) (int, bool) {
	if te, ok := errors.AsType[*client.TwilioRestError](err); ok {
		return te.Code, true
	}
	if ve, ok := errors.AsType[*client.RestErrorV1](err); ok {
		return ve.Code, true
	}
	return 0, false
}

// classify turns a twilio-go error into the outbox's error kinds. The HTTP
// status comes from our own transport because twilio-go folds a non-JSON
// error page (a proxy's 502) into a decoding error.
func classify(ctx context.Context, err error, rt *callTransport) error {
	status, retryAfter := rt.status, rt.retryAfter
	code, isRest := restCode(err)
	if isRest {
		var te *client.TwilioRestError
		if status == 0 && errors.As(err, &te) {
			status = te.Status
		}
	}
	switch {
	case status == http.StatusTooManyRequests || code == 20429:
		c := "429"
		if isRest && code != 0 {
			c = strconv.Itoa(code)
		}
		return &outbox.RetryAfterError{Code: c, After: retryAfter}
	case status >= 500:
		// A gateway's 502 or 504 page, not Twilio's own error, says only
		// that the proxy got no answer: the request may have reached
		// Twilio and the message may be on its way.
		gateway := !isRest && (status == http.StatusBadGateway || status == http.StatusGatewayTimeout)
		return &outbox.TemporaryError{Code: strconv.Itoa(status), Err: errors.New("twilio: server error"), MaybeSent: gateway}
	case isRest:
		if unreachable, ok := permanentCodes[code]; ok {
			return &outbox.PermanentError{Code: strconv.Itoa(code), Unreachable: unreachable}
		}
		if code == 21611 { // our sender's queue is full: wait, then try again
			return &outbox.RetryAfterError{Code: "21611", After: time.Minute}
		}
		// Another refusal (bad credentials, unknown account...): sending the
		// same request again gets the same answer.
		return &outbox.PermanentError{Code: strconv.Itoa(code)}
	case status >= 400:
		return &outbox.PermanentError{Code: "http_" + strconv.Itoa(status)}
	}
	// No answer. Unless the connection was never made, the request may
	// have reached Twilio and the message may be on its way: MaybeSent.
	maybe := !notConnected(err)
	if ctx.Err() != nil {
		return &outbox.TemporaryError{Code: "canceled", Err: ctx.Err(), MaybeSent: maybe}
	}
	// A transport error: say which kind without the URL or address.
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &outbox.TemporaryError{Code: "timeout", Err: errors.New("twilio: request timed out"), MaybeSent: maybe}
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return &outbox.TemporaryError{Code: "network", Err: fmt.Errorf("twilio: %s failed: %w", ue.Op, ue.Err), MaybeSent: maybe}
	}
	return &outbox.TemporaryError{Code: "network", Err: errors.New("twilio: request failed"), MaybeSent: maybe}
}

// notConnected reports whether err says that no connection to the API was
// made (the dial failed: refused, no route, a DNS failure), so that no byte
// of the request can have reached Twilio.
func notConnected(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// callTransport sends one Send's request: to the configured API host, under
// the caller's context (twilio-go has none of its own), remembering the
// response's status and Retry-After for classify.
type callTransport struct {
	ctx  context.Context
	base http.RoundTripper
	api  *url.URL

	status     int
	retryAfter time.Duration
}

func (t *callTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	r.URL.Scheme, r.URL.Host, r.Host = t.api.Scheme, t.api.Host, t.api.Host
	if t.api.Path != "" {
		r.URL.Path = t.api.Path + r.URL.Path
		r.URL.RawPath = ""
	}
	res, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.status = res.StatusCode
	if s := res.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs > 0 {
			t.retryAfter = time.Duration(secs) * time.Second
		}
	}
	return res, nil
}

func alnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
