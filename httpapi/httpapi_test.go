package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/httpapi"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

// fakeAuth accepts an admin key (cvk_good) and one key of each role
// (cvk_admin, cvk_member, cvk_agent).
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, key string) (org.Principal, error) {
	if key == "cvk_good" {
		return org.Principal{OrganizationID: "org_1", KeyID: "key_1", Role: org.RoleAdmin}, nil
	}
	for _, r := range org.Roles {
		if key == "cvk_"+r.String() {
			return org.Principal{OrganizationID: "org_1", KeyID: "key_" + r.String(), Role: r}, nil
		}
	}
	return org.Principal{}, org.ErrUnauthorized
}

// panicky is a credential service whose reads panic with a secret in the
// panic value.
type panicky struct{ httpapi.CredentialService }

func (panicky) Get(context.Context, string, string) (credentials.View, error) {
	panic("boom: password=hunter2-in-panic")
}

func (panicky) Create(context.Context, string, vault.Credential, credentials.Patch) (credentials.View, error) {
	panic("must not be reached")
}

func TestPanicsBecomeOpaque500s(t *testing.T) {
	var logs bytes.Buffer
	e := httpapi.New(httpapi.Deps{
		Logger:      slog.New(slog.NewJSONHandler(&logs, nil)),
		Auth:        fakeAuth{},
		Credentials: panicky{},
	})
	req := httptest.NewRequest("GET", "/api/v1/credentials/cred_1", nil)
	req.Header.Set("x-api-key", "cvk_good")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusInternalServerError || body["detail"] != "Internal Server Error" && body["detail"] != "internal server error" {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatal("no request id to correlate with the log")
	}
	if strings.Contains(rec.Body.String()+logs.String(), "hunter2") {
		t.Fatal("the panic value reached the response or the log")
	}
	if !strings.Contains(logs.String(), "panic recovered") || !strings.Contains(logs.String(), `"stack"`) {
		t.Fatalf("the panic was not logged: %s", logs.String())
	}
	if n := strings.Count(strings.TrimSpace(logs.String()), "\n") + 1; n != 1 {
		t.Fatalf("the failed request logged %d lines, want 1", n)
	}
}

func TestUnknownFieldsAndTrailingSlash(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Credentials: panicky{}})
	cases := []struct {
		method, path, key, body string
		status                  int
		detail                  string
	}{
		{"POST", "/v1/credentials/", "cvk_good", `{"name":"x","credential_type":"secret","credential":{"secret_value":"v"},"bogus":1}`, 400, `unknown field "bogus"`},
		{"POST", "/api/v1/credentials", "cvk_good", `{"name":"x","credential_type":"secret","credential":{"secret_value":"v","x":1}}`, 400, `credential: unknown field "x"`},
		{"POST", "/api/v1/credentials", "cvk_good", `{"name":"x","credential_type":"secret","vault_type":"bitwarden","credential":{"secret_value":"v"}}`, 400, "vault_type"},
		{"POST", "/api/v1/credentials", "", `{}`, 401, "API key"},
		// Names are exact (encoding/json alone matches "Name" to "name").
		{"PATCH", "/api/v1/credentials/cred_1", "cvk_good", `{"Name":"x"}`, 400, `unknown field "Name"`},
		{"POST", "/api/v1/credentials", "cvk_good", `{"NAME":"x","credential_type":"secret","credential":{"secret_value":"v"}}`, 400, `unknown field "NAME"`},
		{"POST", "/api/v1/credentials", "cvk_good", `{"name":"x","Credential_Type":"secret","credential":{"secret_value":"v"}}`, 400, `unknown field "Credential_Type"`},
		{"POST", "/api/v1/credentials", "cvk_good", `{"name":"x","credential_type":"secret","credential":{"secret_value":"v"},"Proxy_Location":null}`, 400, `unknown field "Proxy_Location"`},
		// Invalid UTF-8 is refused naming its field, never stored as U+FFFD.
		{"POST", "/api/v1/credentials", "cvk_good", "{\"name\":\"x\xff\",\"credential_type\":\"secret\",\"credential\":{\"secret_value\":\"v\"}}", 400, "name: is not valid UTF-8"},
		{"POST", "/api/v1/credentials", "cvk_good", "{\"name\":\"x\",\"credential_type\":\"secret\",\"credential\":{\"secret_value\":\"v\xc3\"}}", 400, "credential.secret_value: is not valid UTF-8"},
		{"PATCH", "/api/v1/credentials/cred_1", "cvk_good", "{\"tested_url\":\"https://e.com\",\"name\":\"\xed\xa0\x80\"}", 400, "name: is not valid UTF-8"},
		{"GET", "/api/v1/nope", "cvk_good", ``, 404, "Not Found"},
		{"GET", "/api/v1/nope", "", ``, 401, "API key"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || !strings.Contains(body["detail"], tc.detail) {
			t.Errorf("%s %s = %d %s, want %d with %q", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.detail)
		}
	}
}

// TestPagesServeOnlyTheirAssets: the asset routes serve the files the
// pages use and nothing else: no folder listing, no source, no page.
func TestPagesServeOnlyTheirAssets(t *testing.T) {
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}})
	for path, want := range map[string]int{
		"/settings/assets/settings.js":              200,
		"/settings/assets/credentials.css":          200,
		"/docs/assets/docs.js":                      200,
		"/docs/assets/swagger-ui/swagger-ui.css":    200,
		"/docs/assets":                              404,
		"/docs/assets/":                             404,
		"/docs/assets/README.md":                    404,
		"/docs/assets/docs.html":                    404,
		"/docs/assets/swagger-ui/":                  404,
		"/docs/assets/swagger-ui/LICENSE":           404,
		"/settings/assets/":                         404,
		"/settings/assets/docs/README.md":           404,
		"/settings/assets/settings.html":            404,
		"/settings/assets/../openapi.json":          404,
		"/settings/assets/docs/swagger-ui/NOTICE":   404,
		"/docs/assets/swagger-ui%2Fswagger-ui.css/": 404,
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
		if want == 404 && strings.Contains(rec.Body.String(), "<pre>") {
			t.Errorf("GET %s lists a folder", path)
		}
	}
}

// TestHeadAnswersLikeGet: HEAD on every page and probe answers as GET
// would, without a body; a 405 lists HEAD beside GET in Allow.
func TestHeadAnswersLikeGet(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Credentials: panicky{}}))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/healthz", "/readyz", "/settings", "/settings/credentials", "/docs", "/openapi.json", "/metrics", "/favicon.ico", "/settings/assets/common.js"} {
		get, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		head, err := http.Head(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(head.Body)
		head.Body.Close()
		if head.StatusCode != get.StatusCode || head.StatusCode != 200 || buf.Len() != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s = %d (%d body bytes, %q), GET = %d %q", path, head.StatusCode, buf.Len(), head.Header.Get("Content-Type"), get.StatusCode, get.Header.Get("Content-Type"))
		}
	}
	req, _ := http.NewRequest("PUT", srv.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "HEAD") {
		t.Fatalf("PUT /healthz = %d Allow %q, want 405 listing HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
