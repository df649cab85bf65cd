package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// TestBadTextIsA400BeforeAnyServiceCall: NUL bytes and invalid UTF-8 in
// path ids, query parameters and every string field are 400s naming the
// field, decided before the service is called and before PostgreSQL sees
// them.
func TestBadTextIsA400BeforeAnyServiceCall(t *testing.T) {
	t.Parallel()
	h, svc, _, key := configured(t, testdb.Postgres)
	before := svc.Requests.Load()
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/api/v1/credentials/%00", "credential_id"},
		{"GET", "/api/v1/credentials/%FF", "credential_id"},
		{"GET", "/api/v1/credentials/a%00b/totp-code", "credential_id"},
		{"DELETE", "/api/v1/credentials/%FF%FE", "credential_id"},
		{"POST", "/api/v1/credentials/%00/delete", "credential_id"},
		{"GET", "/api/v1/credentials?search=%00", "search"},
		{"GET", "/api/v1/credentials?search=%FF", "search"},
		{"GET", "/api/v1/credentials?credential_type=%00", "credential_type"},
	} {
		r := h.do(tc.method, tc.path, key, nil)
		if r.status != 400 || !strings.Contains(r.detail(), tc.field) {
			t.Errorf("%s %s = %d %s, want 400 naming %s", tc.method, tc.path, r.status, r.body, tc.field)
		}
	}
	r := h.do("POST", "/api/v1/credentials/%00/update", key, secretBody("x", "y"))
	if r.status != 400 || !strings.Contains(r.detail(), "credential_id") {
		t.Errorf("update with a NUL id = %d %s", r.status, r.body)
	}

	nul := "a\x00b"
	for _, tc := range []struct {
		field string
		body  map[string]any
	}{
		{"name", withField(passwordBody("x"), "", "name", nul)},
		{"username", withField(passwordBody("x"), "credential", "username", nul)},
		{"totp_identifier", withField(passwordBody("x"), "credential", "totp_identifier", nul)},
		{"password", withField(passwordBody("x"), "credential", "password", nul)},
		{"metadata", withField(passwordBody("x"), "credential", "metadata", map[string]string{"k": nul})},
		{"card_brand", withField(cardBody("x"), "credential", "card_brand", nul)},
		{"secret_label", withField(secretBody("x", "y"), "credential", "secret_label", nul)},
		{"secret_value", withField(secretBody("x", "y"), "credential", "secret_value", nul)},
	} {
		r := h.do("POST", "/api/v1/credentials", key, tc.body)
		if r.status != 400 || !strings.Contains(r.detail(), tc.field) {
			t.Errorf("NUL in %s = %d %s, want 400 naming it", tc.field, r.status, scrub(string(r.body)))
		}
	}
	if n := svc.Requests.Load() - before; n != 0 {
		t.Fatalf("bad input reached the service %d times", n)
	}
}

// withField returns a copy of body with key set, at the top level (in "")
// or inside the named object.
func withField(body map[string]any, in, key string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range body {
		out[k] = x
	}
	if in == "" {
		out[key] = v
		return out
	}
	inner := map[string]any{}
	for k, x := range body[in].(map[string]any) {
		inner[k] = x
	}
	inner[key] = v
	out[in] = inner
	return out
}

// TestAMisspelledFieldSuggestsTheRightOne: "apiToken" is refused naming
// it and suggesting "api_token"; a name close to none gets no guess.
func TestAMisspelledFieldSuggestsTheRightOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	_, key := h.org("Typos")
	r := h.do("POST", "/api/v1/credentials/custom_credential/create", key,
		map[string]any{"config": map[string]string{"api_base_url": "http://127.0.0.1:1/x", "apiToken": "t-0123456789abcdef"}})
	if r.status != 400 || !strings.Contains(r.detail(), `"apiToken"`) || !strings.Contains(r.detail(), `did you mean "api_token"?`) {
		t.Fatalf("apiToken = %d %s", r.status, r.body)
	}
	r = h.do("POST", "/api/v1/credentials/custom_credential/create", key, map[string]any{"zzzzzzzzzz": 1})
	if r.status != 400 || strings.Contains(r.detail(), "did you mean") {
		t.Fatalf("a field close to none = %d %s", r.status, r.body)
	}
}

// TestTheRootLeadsToTheSettingsPage: "/" and, under a mount prefix,
// "/prefix/" redirect (relatively) to the settings page.
func TestTheRootLeadsToTheSettingsPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.SQLite)
	mux := http.NewServeMux()
	mux.Handle("/vault/", http.StripPrefix("/vault", h.p.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for base, want := range map[string]string{h.srv.URL + "/": "/settings", srv.URL + "/vault/": "/vault/settings"} {
		resp, err := noFollow.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Path != want {
			t.Fatalf("GET %s = %d → %v, want 302 → %s", base, resp.StatusCode, loc, want)
		}
		if resp, err := http.Get(base); err != nil || resp.StatusCode != 200 {
			t.Fatalf("following %s: %v %v", base, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}
