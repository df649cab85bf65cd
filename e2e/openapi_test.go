package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/credvault/credvault/httpapi"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// openAPIRouter loads and validates the served OpenAPI document once.
func openAPIRouter() (routers.Router, error) {
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		// The document's server is relative ("/": wherever credvault is
		// mounted); the tests match paths only.
		doc.Servers = nil
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

// checkAgainstSpec validates an exchange the tests made against the
// OpenAPI document: every answer must match what the document says of
// that route and status, and every request that succeeded must match the
// documented request. Routes the document does not know may only answer
// 404 or 405. Failure messages go through scrub: they may quote values.
func checkAgainstSpec(t testing.TB, method, path string, body []byte, header http.Header, r response) {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if method == http.MethodHead || method == http.MethodOptions {
		return
	}
	u, err := url.Parse(path)
	if err != nil {
		return
	}
	p := u.Path
	if strings.HasPrefix(p, "/v1/") {
		p = "/api" + p
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	u.Scheme, u.Host, u.Path, u.RawPath = "http", "127.0.0.1", p, ""
	req, _ := http.NewRequest(method, u.String(), bytes.NewReader(body))
	req.Header = header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed && r.status != http.StatusUnauthorized {
			t.Errorf("%s %s is not in the OpenAPI document but answered %d", method, p, r.status)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if r.status >= 200 && r.status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s succeeded (%d) with a request the OpenAPI document does not allow: %s", method, p, r.status, scrub(err.Error()))
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s answered %d with what the OpenAPI document does not describe: %s", method, p, r.status, scrub(err.Error()))
	}
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	t.Parallel()
	if _, err := openAPIRouter(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "sqlite")
	r := h.do("GET", "/openapi.json", "", nil)
	if r.status != 200 || !bytes.Equal(bytes.TrimSpace(r.body), bytes.TrimSpace(httpapi.OpenAPI)) {
		t.Fatalf("/openapi.json = %d", r.status)
	}
}
