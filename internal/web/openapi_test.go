package web

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/waymark-atd/waymark/internal/store"
)

// The API's contract is internal/web/openapi.json. Every call the API
// tests make through cwEnv.api is checked against it, the request and
// the answer, so a handler and the document cannot drift apart: an
// answer of a shape, a status or a content type the document does not
// give fails the test that made the call, and so does a request the
// document calls invalid that the API accepted.

var contract = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	return legacy.NewRouter(doc)
})

// exercised records which operation answered with which status, so that
// TestMain can say which documented answers no test ever saw.
var exercised = struct {
	sync.Mutex
	seen map[string]bool // "operationId status"
}{seen: map[string]bool{}}

// checkContract validates one API call against the document.
func checkContract(t testing.TB, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	router, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(r)
	if err != nil {
		// Only a call the API does not have may be missing from its
		// contract, and it must be refused: 404 (or 405), or 401 before
		// that when it came without a token.
		var re *routers.RouteError
		missing := errors.As(err, &re) && (re.Reason == routers.ErrPathNotFound.Error() || re.Reason == routers.ErrMethodNotAllowed.Error())
		if missing && slices.Contains([]int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed}, rec.Code) {
			return
		}
		t.Errorf("contract: %s %s answered %d but is not in openapi.json: %v", req.Method, req.URL.Path, rec.Code, err)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearerPresent, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && rec.Code < 400 {
		t.Errorf("contract: %s %s is invalid by openapi.json but was answered %d:\n%v", req.Method, req.URL, rec.Code, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("contract: the answer to %s %s (%d) does not match openapi.json:\n%v\nbody: %.500s", req.Method, req.URL, rec.Code, err, rec.Body.String())
	}
	exercised.Lock()
	exercised.seen[fmt.Sprintf("%s %d", route.Operation.OperationID, rec.Code)] = true
	exercised.Unlock()
}

// bearerPresent is the document's security check as the validator sees
// it: a bearer token is there (whether it is good is the server's to say,
// and a wrong one is answered 401, which the contract documents).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != "" {
		return nil
	}
	return errors.New("no bearer token")
}

// TestMain runs the package's tests and then, when all of them ran, fails
// if an operation of the contract was never answered with success by any
// test: the document may not promise a call the tests never make.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: no test made a successful call of %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

func unexercised() []string {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		return []string{err.Error()}
	}
	exercised.Lock()
	defer exercised.Unlock()
	var missing []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ok := false
			for status := range op.Responses.Map() {
				if strings.HasPrefix(status, "2") && exercised.seen[op.OperationID+" "+status] {
					ok = true
				}
			}
			if !ok {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	return slices.Compact(missing)
}

// The document is served, whole and without a token, and is the one the
// tests check against.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newCaseworkerEnv(t, envOptions{})
	rec := e.api(store.Account{}, http.MethodGet, "/api/v1/openapi.json", nil)
	mustStatus(t, "openapi.json", rec, http.StatusOK)
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatal("the served document is not the embedded one")
	}
	if _, err := contract(); err != nil {
		t.Fatal(err)
	}
}
