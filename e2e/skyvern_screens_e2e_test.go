package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// TestSkyvernScreensShowNoError: what Skyvern's web app asks on its
// credentials and settings pages for the vaults credvault does not have
// gets Skyvern's own "not configured" answers; its browser login test is a
// 501 it can show; an authenticator key error is the structured detail it
// renders as a field error; a Bearer key beside a non-key x-api-key works.
func TestSkyvernScreensShowNoError(t *testing.T) {
	t.Parallel()
	h, _, _, key := configured(t, testdb.SQLite)
	for _, path := range []string{"/api/v1/credentials/onepassword/items", "/v1/credentials/bitwarden/items"} {
		r := h.do("GET", path, key, nil)
		m := r.json(t)
		if items, ok := m["items"].([]any); r.status != 200 || m["configured"] != false || !ok || len(items) != 0 {
			t.Errorf("%s = %d %s, want Skyvern's not-configured answer", path, r.status, r.body)
		}
	}
	for path, detail := range map[string]string{
		"/api/v1/credentials/onepassword/get":      "No OnePassword service account token found for this organization",
		"/api/v1/credentials/bitwarden/get":        "No Bitwarden credential found for this organization",
		"/api/v1/credentials/azure_credential/get": "No Azure Client Secret Credential found for this organization",
	} {
		if r := h.do("GET", path, key, nil); r.status != 404 || r.detail() != detail {
			t.Errorf("%s = %d %s, want 404 %q", path, r.status, r.body, detail)
		}
	}
	if r := h.do("POST", "/api/v1/credentials/test-login", key, map[string]any{"url": "https://example.com", "username": "u", "password": "p"}); r.status != 501 || !strings.Contains(r.detail(), "browser") {
		t.Errorf("test-login = %d %s, want 501 with a detail", r.status, r.body)
	}
	// Authenticator key errors, structured.
	for code, totp := range map[string]string{"invalid_authenticator_key": "not a key!", "authenticator_key_required": ""} {
		body := passwordBody("Bank")
		body["credential"].(map[string]any)["totp"] = totp
		r := h.do("POST", "/api/v1/credentials", key, body)
		var got struct {
			Detail struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 400 || got.Detail.ErrorCode != code || !strings.Contains(got.Detail.Message, "Authenticator key") && !strings.Contains(got.Detail.Message, "authenticator key") {
			t.Errorf("totp %q = %d %s, want 400 with error_code %s", totp, r.status, r.body, code)
		}
	}
	// Skyvern tries Authorization first; a non-key x-api-key beside it is
	// not a reason to refuse.
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/credentials", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-api-key", "not-an-api-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a Bearer key beside a non-key x-api-key = %d, want 200", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer cvk_not-a-key")
	req.Header.Set("x-api-key", key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("a valid x-api-key beside a wrong Bearer = %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
