// Package twiliotest is a fake of Twilio's Messages API for tests: the real
// twilio-go client (through twilio.Sender) talks to it over HTTP, it checks
// the account and credentials like Twilio, records what was sent, answers
// as scripted, and can post signed status callbacks back.
package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Request is one message creation the fake received.
type Request struct {
	SID                 string // the SID the fake answered with; empty if it refused
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	StatusCallback      string
	// ContentSid and ContentVariables are a template's, when the message
	// is one (then Body is empty).
	ContentSid       string
	ContentVariables map[string]string
	Form             url.Values
}

// Response is a scripted answer. Status 0 means 201 with a new SID.
type Response struct {
	Status     int    // HTTP status
	Code       int    // Twilio error code, for error statuses
	RetryAfter string // Retry-After header
	RawBody    string // sent as is instead of Twilio's JSON (e.g. a proxy's HTML page)
}

// Server is the fake.
type Server struct {
	*httptest.Server
	AccountSID, AuthToken string
	// BeforeReply, when set, is called for each accepted message before the
	// fake answers: a status callback can arrive that early.
	BeforeReply func(Request)

	mu       sync.Mutex
	script   []Response
	requests []Request
	attempts int
	next     int
}

// New starts a fake for one account; it closes when the test ends.
func New(t testing.TB, accountSID, authToken string) *Server {
	s := &Server{AccountSID: accountSID, AuthToken: authToken}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Script queues answers for the next requests, in order; after them every
// request succeeds.
func (s *Server) Script(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, rs...)
}

// Accepted returns the messages the fake accepted (answered 201), in order.
func (s *Server) Accepted() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.SID != "" {
			out = append(out, r)
		}
	}
	return out
}

// Requests returns every well-formed create request, refused ones included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Attempts counts every HTTP request, malformed ones included.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json" {
		writeError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" {
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	// A message is its Body, or a Content template (ContentSid with its
	// ContentVariables as a JSON object) and no Body.
	content := r.PostForm.Get("ContentSid")
	if (r.PostForm.Get("Body") == "") == (content == "") {
		writeError(w, http.StatusBadRequest, 21619, "A text message body or media urls must be specified.")
		return
	}
	if content != "" && r.PostForm.Has("ContentVariables") {
		// Like Twilio: a JSON object of values, none null or empty.
		var vars map[string]*string
		err := json.Unmarshal([]byte(r.PostForm.Get("ContentVariables")), &vars)
		bad := err != nil || vars == nil
		for _, v := range vars {
			bad = bad || v == nil || *v == ""
		}
		if bad {
			writeError(w, http.StatusBadRequest, 21656, "The ContentVariables Parameter is invalid.")
			return
		}
	}
	if r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "" {
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	}
	req := Request{
		To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSid: r.PostForm.Get("MessagingServiceSid"),
		Body:                r.PostForm.Get("Body"), StatusCallback: r.PostForm.Get("StatusCallback"),
		ContentSid: content,
		Form:       r.PostForm,
	}
	if content != "" {
		_ = json.Unmarshal([]byte(r.PostForm.Get("ContentVariables")), &req.ContentVariables)
	}

	s.mu.Lock()
	var resp Response
	if len(s.script) > 0 {
		resp, s.script = s.script[0], s.script[1:]
	}
	if resp.Status == 0 || resp.Status/100 == 2 {
		s.next++
		req.SID = fmt.Sprintf("SM%032x", s.next)
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	switch {
	case resp.RawBody != "":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(resp.Status)
		fmt.Fprint(w, resp.RawBody)
	case req.SID != "":
		if s.BeforeReply != nil {
			s.BeforeReply(req)
		}
		status := "queued"
		if req.MessagingServiceSid != "" {
			status = "accepted"
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sid": req.SID, "account_sid": s.AccountSID, "to": req.To, "from": req.From,
			"messaging_service_sid": req.MessagingServiceSid, "body": req.Body, "status": status,
			"num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		})
	default:
		// Twilio's error messages quote the number; so does the fake, so
		// that tests notice if the number leaks from an error.
		writeError(w, resp.Status, resp.Code, "Error sending to "+req.To)
	}
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}

// Sign computes the X-Twilio-Signature of a form posted to fullURL.
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form.Get(k))
	}
	h := hmac.New(sha1.New, []byte(authToken))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// SendStatus posts a signed status callback for an accepted message to its
// StatusCallback URL, as Twilio does. errorCode may be empty.
func (s *Server) SendStatus(ctx context.Context, r Request, status, errorCode string) (*http.Response, error) {
	form := url.Values{
		"MessageSid": {r.SID}, "SmsSid": {r.SID}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {s.AccountSID}, "To": {r.To}, "From": {r.From}, "ApiVersion": {"2010-04-01"},
	}
	if r.MessagingServiceSid != "" {
		form.Set("MessagingServiceSid", r.MessagingServiceSid)
	}
	if errorCode != "" {
		form.Set("ErrorCode", errorCode)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, r.StatusCallback, form))
	return http.DefaultClient.Do(req)
}
