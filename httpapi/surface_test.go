package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/credvault/credvault/httpapi"
)

// TestUnauthenticatedInputIsBounded: client-chosen methods, paths and
// request ids cannot grow /metrics or the logs.
func TestUnauthenticatedInputIsBounded(t *testing.T) {
	var logs bytes.Buffer
	e := httpapi.New(httpapi.Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Auth: fakeAuth{}, Credentials: panicky{}})
	long := strings.Repeat("X", 60_000)
	for i := range 30 {
		for _, path := range []string{"/api/v1/credentials", "/" + long[:1000] + string(rune('a'+i%26)), "/metrics"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Method = long + string(rune('A'+i%26))
			req.Header.Set("X-Request-Id", long)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if id := rec.Header().Get("X-Request-Id"); len(id) > 64 || id == "" {
				t.Fatalf("a %d-byte X-Request-Id came back as %d bytes", len(long), len(id))
			}
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.String()
	if strings.Contains(metrics, "XXXX") {
		t.Fatal("a client-chosen method or path became a metric label")
	}
	if len(metrics) > 64<<10 {
		t.Fatalf("/metrics grew to %d bytes", len(metrics))
	}
	if !strings.Contains(metrics, `method="OTHER"`) {
		t.Fatal(`non-standard methods are not counted as method="OTHER"`)
	}
	if strings.Contains(logs.String(), "XXXX") {
		t.Fatal("a client-chosen method, path or request id reached the log")
	}

	// A well-formed id is kept.
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-Id", "trace-42.a_b")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-Id"); got != "trace-42.a_b" {
		t.Fatalf("well-formed request id came back as %q", got)
	}
	for _, bad := range []string{"a b", "x\"y", strings.Repeat("a", 65), "ünï"} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header.Set("X-Request-Id", bad)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Request-Id"); got == bad || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
			t.Fatalf("malformed request id %q came back as %q, want a generated one", bad, got)
		}
	}
}

func TestMetricsRouteCanBeMovedOff(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, NoMetricsRoute: true})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code == http.StatusOK {
		b, _ := io.ReadAll(rec.Body)
		t.Fatalf("/metrics served on the main handler with NoMetricsRoute: %.80s", b)
	}
}

func TestErrorsAreUncacheableAndWorded(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Credentials: panicky{}})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/credentials", nil))
	if rec.Code != 401 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("401: %d Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest("POST", "/api/v1/credentials", strings.NewReader(strings.Repeat("x", 2<<20)))
	req.Header.Set("x-api-key", "cvk_good")
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 413 || rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Body.String(), "larger than 1 MiB") {
		t.Fatalf("413: %d Cache-Control %q %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
}
