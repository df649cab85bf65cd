package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
)

const svcToken = "svc-token-7c1f3a9e55d2b8"

func cfgBody(url, token string) map[string]any {
	return map[string]any{"config": map[string]string{"api_base_url": url, "api_token": token}}
}

func TestConfigLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	orgA, keyA := h.org("A")
	_, keyB := h.org("B")

	// Nothing saved yet.
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil); r.status != 404 || r.detail() == "" {
		t.Fatalf("get before create = %d %s", r.status, r.body)
	}
	r := h.do("POST", "/api/v1/credentials/custom_credential/create", keyA, cfgBody(svc.Base()+"/", svcToken))
	if r.status != 200 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	tok := r.json(t)["token"].(map[string]any)
	if tok["organization_id"] != orgA || tok["token_type"] != "custom_credential_service" || tok["valid"] != true ||
		tok["id"] == "" || tok["created_at"] == nil || tok["modified_at"] == nil {
		t.Fatalf("token view = %v", tok)
	}
	var inner map[string]string
	if err := json.Unmarshal([]byte(tok["token"].(string)), &inner); err != nil {
		t.Fatalf("token is not a JSON string: %v", tok["token"])
	}
	if inner["api_base_url"] != svc.Base()+"/" || inner["api_token"] == "" || inner["api_token"] == svcToken {
		t.Fatalf("inner token = %v (base URL as typed, trailing slash kept; token masked)", inner)
	}
	firstID := tok["id"]

	// Get via /v1 with a trailing slash and a Bearer header.
	req, _ := http.NewRequest("GET", h.srv.URL+"/v1/credentials/custom_credential/get/", nil)
	req.Header.Set("Authorization", "Bearer "+keyA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/.../get/ = %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("API answer is cacheable")
	}

	// A new token for the same service: the same configuration.
	r = h.do("POST", "/v1/credentials/custom_credential/create", keyA, cfgBody(svc.Base(), svcToken+"-v2"))
	if r.status != 200 || r.json(t)["token"].(map[string]any)["id"] != firstID {
		t.Fatalf("replace = %d %s", r.status, r.body)
	}
	r = h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil)
	if r.status != 200 || !strings.Contains(r.json(t)["token"].(map[string]any)["token"].(string), "-v2"[1:]) {
		t.Fatalf("get after replace = %d %s", r.status, r.body)
	}

	// Organization B sees nothing and cannot clear A's.
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyB, nil); r.status != 404 {
		t.Fatalf("other org get = %d", r.status)
	}
	if r := h.do("DELETE", "/api/v1/credentials/custom_credential", keyB, nil); r.status != 200 {
		t.Fatalf("other org clear = %d", r.status)
	}
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil); r.status != 200 {
		t.Fatalf("A's config after B cleared = %d", r.status)
	}

	// Clear, twice.
	for i := range 2 {
		r := h.do("DELETE", "/api/v1/credentials/custom_credential", keyA, nil)
		if r.status != 200 || r.json(t)["success"] != true {
			t.Fatalf("clear #%d = %d %s", i+1, r.status, r.body)
		}
	}
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil); r.status != 404 {
		t.Fatalf("get after clear = %d", r.status)
	}

	// Audit: two saves and one effective clear, none with the token.
	events, err := testStore(h.p).ListAuditEvents(context.Background(), orgA)
	if err != nil || len(events) != 3 {
		t.Fatalf("audit events = %d %v, want 3", len(events), err)
	}
	var rows int
	_ = testStore(h.p).SQLDB().QueryRow("SELECT COUNT(*) FROM org_auth_tokens WHERE organization_id = $1", orgA).Scan(&rows)
	if rows != 1 {
		t.Fatalf("configuration rows = %d, want 1 (one service)", rows)
	}
	h.assertNoSecret(svcToken)
}

func TestConfigCiphertextIsBoundToOrganization(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	orgA, keyA := h.org("A")
	orgB, keyB := h.org("B")
	for _, k := range []string{keyA, keyB} {
		if r := h.do("POST", "/api/v1/credentials/custom_credential/create", k, cfgBody(svc.Base(), svcToken)); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	// Copy A's ciphertext into B's row.
	db := testStore(h.p).SQLDB()
	if _, err := db.Exec(`UPDATE org_auth_tokens SET encrypted_token =
		(SELECT encrypted_token FROM org_auth_tokens WHERE organization_id = $1 AND valid) WHERE organization_id = $2 AND valid`, orgA, orgB); err != nil {
		t.Fatal(err)
	}
	h.p.Vault.Invalidate(orgB)
	if _, err := h.p.Configs.Get(context.Background(), orgB); !errors.Is(err, keyring.ErrDecrypt) {
		t.Fatalf("B with A's ciphertext: %v, want ErrDecrypt", err)
	}
	r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyB, nil)
	if r.status != 500 || strings.Contains(string(r.body), "decrypt") {
		t.Fatalf("HTTP get = %d %s, want an opaque 500", r.status, r.body)
	}
}

func TestConfigBadInputLeavesSavedConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	_, key := h.org("A")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatal(r.status)
	}
	before := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil).body

	big := `{"config":{"api_base_url":"https://x.example.com","api_token":"` + strings.Repeat("a", 1<<20) + `"}}`
	cases := []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"malformed JSON", `{"config":`, 400, "malformed JSON"},
		{"not an object", `[1,2]`, 400, "JSON object"},
		{"unknown top-level field", `{"config":{"api_base_url":"https://a.example.com","api_token":"t"},"x":1}`, 400, `unknown field "x"`},
		{"unknown config field", `{"config":{"api_base_url":"https://a.example.com","api_token":"t","extra":1}}`, 400, `unknown field "extra"`},
		{"wrong type", `{"config":{"api_base_url":5,"api_token":"t"}}`, 400, "config.api_base_url"},
		{"missing config", `{}`, 400, "config"},
		{"empty body", ``, 400, "required"},
		{"empty url", cfgBody("", "secret-tok"), 400, "config.api_base_url"},
		{"empty token", cfgBody("https://a.example.com", " "), 400, "config.api_token"},
		{"relative url", cfgBody("/api", "secret-tok"), 400, "config.api_base_url"},
		{"plain http", cfgBody("http://creds.example.com/api", "secret-tok"), 400, "https"},
		{"metadata address", cfgBody("https://169.254.169.254/latest", "secret-tok"), 400, "CREDVAULT_ALLOWED_HOSTS"},
		{"private address", cfgBody("https://10.0.0.8/api", "secret-tok"), 400, "private"},
		{"credentials in url", cfgBody("https://u:p@creds.example.com/api", "secret-tok"), 400, "credentials"},
		{"oversized body", big, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tc.body)
			if r.status != tc.status || !strings.Contains(r.detail(), tc.detail) {
				t.Fatalf("= %d %s, want %d with %q", r.status, r.body, tc.status, tc.detail)
			}
			if strings.Contains(string(r.body), "secret-tok") {
				t.Fatal("error echoes the token")
			}
		})
	}
	if after := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil).body; string(after) != string(before) {
		t.Fatalf("saved configuration changed:\n%s\n%s", before, after)
	}
}

func TestAuthIsRequired(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("A")
	if _, err := h.p.Organizations.AddKey(context.Background(), orgID, org.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	keys, _ := testStore(h.p).ListAPIKeys(context.Background(), orgID)
	if err := h.p.Organizations.RevokeKey(context.Background(), orgID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	routes := [][2]string{
		{"GET", "/api/v1/credentials/custom_credential/get"},
		{"POST", "/api/v1/credentials/custom_credential/create"},
		{"POST", "/v1/credentials/custom_credential/test_connection"},
		{"DELETE", "/api/v1/credentials/custom_credential"},
	}
	for _, rt := range routes {
		for name, k := range map[string]string{"missing": "", "wrong": "cvk_wrong", "revoked": key} {
			r := h.do(rt[0], rt[1], k, "{}")
			if r.status != 401 || r.detail() == "" {
				t.Errorf("%s %s with %s key = %d %s, want 401", rt[0], rt[1], name, r.status, r.body)
			}
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, testdb.SQLite)
	cfg.RateConfig = config.Rate{PerSecond: 0.5, Burst: 2}
	cfg.RateCredentials = config.Rate{PerSecond: 0.5, Burst: 3}
	h := newHarnessWithConfig(t, cfg)
	_, key := h.org("A")
	_, keyB := h.org("B")
	// The configuration budget is shared by its routes under both prefixes.
	h.do("DELETE", "/api/v1/credentials/custom_credential", key, nil)
	h.do("POST", "/v1/credentials/custom_credential/test_connection", key, nil)
	last := h.do("DELETE", "/v1/credentials/custom_credential", key, nil)
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Fatalf("third configuration request = %d (Retry-After %q), want 429 with Retry-After", last.status, last.header.Get("Retry-After"))
	}
	// Credential writes have their own budget, untouched by the above.
	for i := range 3 {
		if r := h.do("DELETE", "/api/v1/credentials/cred_missing", key, nil); r.status != 404 {
			t.Fatalf("credential write %d = %d, want 404 (within its own budget)", i, r.status)
		}
	}
	if r := h.do("DELETE", "/v1/credentials/cred_missing", key, nil); r.status != 429 {
		t.Fatalf("fourth credential write = %d, want 429", r.status)
	}
	if r := h.do("DELETE", "/api/v1/credentials/custom_credential", keyB, nil); r.status != 200 {
		t.Fatalf("another organization was limited too: %d", r.status)
	}
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil); r.status != 404 {
		t.Fatalf("reads are not limited: got %d", r.status)
	}
}

func TestConnectionTest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	_, key := h.org("A")

	status := func(code int) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+svcToken {
				w.WriteHeader(401)
				return
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(s.Close)
		return s.URL + "/api/v1/credentials"
	}
	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/api"
	}()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	good := fakeservice.New(t, svcToken)
	bad := fakeservice.New(t, svcToken)
	bad.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Count(r.URL.Path, "/") > 3 {
			w.Write([]byte(`{"type":"password","username":"someone-else","password":"x"}`))
			return true
		}
		return false
	}

	cases := []struct {
		name    string
		url     string
		token   string
		mode    string
		status  int
		detail  string
		success bool
	}{
		{"200", status(200), svcToken, "", 200, "HTTP 200", true},
		{"404", status(404), svcToken, "", 200, "HTTP 404", true},
		{"405", status(405), svcToken, "", 200, "HTTP 405", true},
		{"401", status(200), "wrong-token", "", 400, "rejected the API token (HTTP 401)", false},
		{"403", status(403), svcToken, "", 400, "HTTP 403", false},
		{"500", status(500), svcToken, "", 400, "HTTP 500", false},
		{"closed port", closed, svcToken, "", 400, "refused", false},
		{"timeout", slow.URL, svcToken, "", 400, "did not answer", false},
		// "a..b" is not a valid domain name: the resolver rejects it locally,
		// so no DNS query leaves the machine.
		{"dns", "https://a..b/api", svcToken, "", 400, "cannot resolve", false},
		{"roundtrip ok", good.Base(), svcToken, "roundtrip", 200, "Round trip successful", true},
		{"roundtrip mismatch", bad.Base(), svcToken, "roundtrip", 400, "read back", false},
		{"roundtrip on a non-contract server", status(404), svcToken, "roundtrip", 400, "create", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := "/api/v1/credentials/custom_credential/test_connection"
			if tc.mode != "" {
				path += "?mode=" + tc.mode
			}
			r := h.do("POST", path, key, cfgBody(tc.url, tc.token))
			if r.status != tc.status || !strings.Contains(r.detail(), tc.detail) {
				t.Fatalf("= %d %s, want %d with %q", r.status, r.body, tc.status, tc.detail)
			}
			if tc.success && r.json(t)["success"] != true {
				t.Fatalf("success flag missing: %s", r.body)
			}
		})
	}
	if good.Items() != 0 {
		t.Fatalf("round trip left %d items behind", good.Items())
	}

	// With no token (or no config), the saved configuration is used.
	if r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, nil); r.status != 400 || !strings.Contains(r.detail(), "no configuration is saved") {
		t.Fatalf("test with nothing saved = %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(good.Base(), svcToken)); r.status != 200 {
		t.Fatal(r.status)
	}
	for _, body := range []any{nil, map[string]any{"config": map[string]string{"api_base_url": good.Base()}}} {
		if r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection?mode=roundtrip", key, body); r.status != 200 {
			t.Fatalf("test with the saved config (%v) = %d %s", body, r.status, r.body)
		}
	}
	h.assertNoSecret(svcToken)
}

// TestOperatorServiceIsVisible: with nothing saved, the status route says
// the operator's service is in use (no token, masked or not), a test with
// no body tests it, and get keeps Skyvern's shape (404).
func TestOperatorServiceIsVisible(t *testing.T) {
	t.Parallel()
	h, envSvc := envHarness(t, testdb.Postgres)
	_, key := h.org("A")
	r := h.do("GET", "/api/v1/credentials/custom_credential/status", key, nil)
	if r.status != 200 || r.json(t)["source"] != "environment" || r.json(t)["api_base_url"] != envSvc.Base() {
		t.Fatalf("status = %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "api_token") || strings.Contains(string(r.body), envToken[len(envToken)-4:]) {
		t.Fatalf("status shows something of the operator's token: %s", r.body)
	}
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil); r.status != 404 {
		t.Fatalf("get with nothing saved = %d", r.status)
	}
	if r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection?mode=roundtrip", key, nil); r.status != 200 || r.json(t)["success"] != true {
		t.Fatalf("test of the operator's service = %d %s", r.status, r.body)
	}
	svc := fakeservice.New(t, svcToken)
	h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken))
	r = h.do("GET", "/api/v1/credentials/custom_credential/status", key, nil)
	if v := r.json(t); v["source"] != "organization" || v["api_base_url"] != svc.Base() || v["api_token"] == svcToken {
		t.Fatalf("status after saving = %s", r.body)
	}
	// Without an operator's service and nothing saved: none.
	h2 := newHarness(t, testdb.SQLite)
	_, key2 := h2.org("B")
	if r := h2.do("GET", "/api/v1/credentials/custom_credential/status", key2, nil); r.json(t)["source"] != "none" {
		t.Fatalf("status = %s", r.body)
	}
}
