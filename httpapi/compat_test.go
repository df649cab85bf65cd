package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credvault/credvault/httpapi"
)

func TestWrongMethodIs405WithAllow(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Credentials: panicky{}})
	for _, tc := range []struct{ method, path, allow string }{
		// HEAD is answered wherever GET is, so Allow lists it beside GET.
		{"PUT", "/api/v1/credentials/cred_1", "GET, HEAD, PATCH, DELETE"},
		{"PUT", "/v1/credentials", "GET, HEAD, POST"},
		{"GET", "/api/v1/credentials/cred_1/update", "POST"},
		{"HEAD", "/api/v1/credentials/cred_1/update", "POST"},
		{"POST", "/api/v1/credentials/cred_1/totp-code", "GET, HEAD"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("x-api-key", "cvk_good")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), tc.allow)
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/nothing/here", nil)
	req.Header.Set("x-api-key", "cvk_good")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown path = %d, want 404", rec.Code)
	}
}

func TestCORS(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Credentials: panicky{}, CORSOrigins: []string{"https://app.skyvern.example"}})
	pre := httptest.NewRequest("OPTIONS", "/api/v1/credentials", nil)
	pre.Header.Set("Origin", "https://app.skyvern.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "x-api-key, content-type")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, pre)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.skyvern.example" ||
		!strings.Contains(strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "x-api-key") {
		t.Fatalf("preflight = %d %v", rec.Code, rec.Header())
	}
	other := httptest.NewRequest("OPTIONS", "/api/v1/credentials", nil)
	other.Header.Set("Origin", "https://evil.example")
	other.Header.Set("Access-Control-Request-Method", "POST")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, other)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an unlisted origin was allowed")
	}
	// A real request still needs its key.
	get := httptest.NewRequest("GET", "/api/v1/credentials", nil)
	get.Header.Set("Origin", "https://app.skyvern.example")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, get)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.skyvern.example" {
		t.Fatalf("cross-origin GET without key = %d (ACAO %q)", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	// "*" never allows credentials.
	star := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, CORSOrigins: []string{"*"}})
	rec = httptest.NewRecorder()
	star.ServeHTTP(rec, pre)
	if rec.Header().Get("Access-Control-Allow-Credentials") == "true" {
		t.Fatal(`credentials allowed with "*"`)
	}
	// No origins configured: no CORS headers at all.
	none := httpapi.New(httpapi.Deps{Auth: fakeAuth{}})
	rec = httptest.NewRecorder()
	none.ServeHTTP(rec, pre)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS answered without CREDVAULT_CORS_ORIGINS")
	}
}
