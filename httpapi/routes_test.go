package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/httpapi"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/otpcodes"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// stubs serves every route with canned answers and records what reached
// it: the handlers' own work (decoding, statuses, shapes) is what is
// tested.
type stubs struct {
	mu     sync.Mutex
	calls  []string
	denied []string
	fail   error
}

func (s *stubs) call(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
	return s.fail
}

func (s *stubs) called(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c == name {
			return true
		}
	}
	return false
}

var view = credentials.View{CredentialID: "cred_1", Name: "n", CredentialType: vault.TypeSecret, VaultType: "custom",
	Credential: credentials.SecretView{}, CreatedAt: time.Unix(0, 0), ModifiedAt: time.Unix(0, 0)}

func (s *stubs) Save(context.Context, org.Principal, org.ServiceConfig) (org.ConfigView, error) {
	return org.ConfigView{ID: "cfg_1", Token: "{}"}, s.call("save")
}
func (s *stubs) Get(context.Context, string) (org.ConfigView, error) {
	return org.ConfigView{ID: "cfg_1", Token: "{}"}, s.call("getconfig")
}
func (s *stubs) Clear(context.Context, org.Principal) error { return s.call("clear") }
func (s *stubs) TestConnection(_ context.Context, _ string, in *org.ServiceConfig, rt bool) (org.TestResult, error) {
	if in != nil && in.APIBaseURL == "http://fails" {
		return org.TestResult{Success: false, Detail: "Connection failed"}, s.call("test")
	}
	return org.TestResult{Success: true, Detail: "ok"}, s.call("test")
}
func (s *stubs) Status(context.Context, string) (org.StatusView, error) {
	return org.StatusView{Source: org.SourceNone}, s.call("status")
}
func (s *stubs) ProveSources(_ context.Context, _ string, p []org.SourceProof) (map[string]bool, error) {
	if len(p) > 0 && p[0].APIToken.Reveal() == "wrong" {
		return nil, problem.Forbidden("sources[0]", "matches no saved configuration")
	}
	return map[string]bool{"cfg_1": true}, s.call("prove")
}

type credStub struct{ *stubs }

func (s credStub) Create(context.Context, string, vault.Credential, credentials.Patch) (credentials.View, error) {
	return view, s.call("create")
}
func (s credStub) Get(context.Context, string, string) (credentials.View, error) {
	return view, s.call("get")
}
func (s credStub) List(context.Context, string, credentials.ListOptions) (credentials.Page, error) {
	return credentials.Page{Views: []credentials.View{view}, Next: "c1.next"}, s.call("list")
}
func (s credStub) Update(context.Context, string, string, vault.Credential, credentials.Keep, credentials.Patch) (credentials.View, error) {
	return view, s.call("update")
}
func (s credStub) Patch(context.Context, string, string, credentials.Patch) (credentials.View, error) {
	return view, s.call("patch")
}
func (s credStub) Delete(context.Context, string, string) error { return s.call("delete") }
func (s credStub) TOTPCode(context.Context, string, string) (credentials.Code, error) {
	return credentials.Code{Code: "123456", SecondsRemaining: 10}, s.call("totp")
}
func (s credStub) Migrate(_ context.Context, _ string, o credentials.MigrateOptions) (credentials.MigrateReport, error) {
	return credentials.MigrateReport{DryRun: o.DryRun, BySource: map[string]int{}, Skipped: map[string]int{}, Failed: []credentials.MigrateFailure{}}, s.call("migrate")
}

type folderStub struct{ *stubs }

var folder = credentials.FolderView{FolderID: "cfld_1", Title: "t"}

func (s folderStub) Create(context.Context, string, string, *string) (credentials.FolderView, error) {
	return folder, s.call("fcreate")
}
func (s folderStub) Get(context.Context, string, string) (credentials.FolderView, error) {
	return folder, s.call("fget")
}
func (s folderStub) List(context.Context, string, int, int, string) ([]credentials.FolderView, error) {
	return []credentials.FolderView{folder}, s.call("flist")
}
func (s folderStub) Update(context.Context, string, string, *string, *string) (credentials.FolderView, error) {
	return folder, s.call("fupdate")
}
func (s folderStub) Delete(context.Context, string, string) error { return s.call("fdelete") }
func (s folderStub) Assign(context.Context, string, string, *string) (credentials.View, error) {
	return view, s.call("fassign")
}

type otpStub struct{ *stubs }

func (s otpStub) Push(context.Context, string, otpcodes.Push) (otpcodes.Code, error) {
	return otpcodes.Code{TOTPCodeID: "totp_1"}, s.call("push")
}
func (s otpStub) List(context.Context, string, otpcodes.ListOptions) ([]otpcodes.Code, error) {
	return []otpcodes.Code{}, s.call("codes")
}

type auditStub struct{ *stubs }

func (s auditStub) AuditPage(context.Context, string, int, int) ([]org.AuditView, error) {
	return []org.AuditView{}, s.call("audit")
}

type keyStub struct{ *stubs }

func (s keyStub) AddKey(_ context.Context, _ string, o org.KeyOptions) (org.CreatedKey, error) {
	return org.CreatedKey{APIKeyID: "key_new", APIKey: "cvk_new", Role: o.Role}, s.call("addkey")
}
func (s keyStub) Keys(context.Context, string) ([]org.KeyView, error) {
	return []org.KeyView{{APIKeyID: "key_admin", Role: org.RoleAdmin}, {APIKeyID: "key_good", Role: org.RoleAdmin},
		{APIKeyID: "key_member", Role: org.RoleMember}, {APIKeyID: "key_agent", Role: org.RoleAgent}, {APIKeyID: "key_1", Role: org.RoleAdmin}}, s.call("keys")
}
func (s keyStub) RevokeKey(context.Context, string, string) error { return s.call("revoke") }
func (s keyStub) RecordDenial(_ context.Context, _ org.Principal, route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied = append(s.denied, route)
}

func newStubServer(t *testing.T, ready func(context.Context) error) (*httptest.Server, *stubs) {
	t.Helper()
	st := &stubs{}
	h := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Configs: st, Credentials: credStub{st}, Migrator: credStub{st},
		Folders: folderStub{st}, OTP: otpStub{st}, Audit: auditStub{st}, Keys: keyStub{st}, Denials: keyStub{st}, Ready: ready})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

func send(t *testing.T, srv *httptest.Server, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("x-api-key", "cvk_good")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

// TestEveryRouteReachesItsService: each route decodes its request,
// reaches its service and answers the service's result in its shape.
func TestEveryRouteReachesItsService(t *testing.T) {
	srv, st := newStubServer(t, nil)
	cfg := `{"config":{"api_base_url":"http://127.0.0.1:1/api","api_token":"tok-0123456789abcdef"}}`
	for _, tc := range []struct {
		method, path, body string
		status             int
		call               string
	}{
		{"POST", "/api/v1/credentials/custom_credential/create", cfg, 200, "save"},
		{"GET", "/api/v1/credentials/custom_credential/get", "", 200, "getconfig"},
		{"GET", "/api/v1/credentials/custom_credential/status", "", 200, "status"},
		{"POST", "/api/v1/credentials/custom_credential/test_connection?mode=roundtrip", cfg, 200, "test"},
		{"POST", "/api/v1/credentials/custom_credential/test_connection", "", 200, "test"},
		{"DELETE", "/api/v1/credentials/custom_credential", "", 200, "clear"},
		{"POST", "/api/v1/credentials", `{"name":"n","credential_type":"secret","credential":{"secret_value":"v"}}`, 201, "create"},
		{"GET", "/api/v1/credentials?page=1&page_size=5", "", 200, "list"},
		{"GET", "/api/v1/credentials/cred_1", "", 200, "get"},
		{"POST", "/api/v1/credentials/cred_1/update", `{"name":"n","credential_type":"secret","credential":{"secret_value":"v"}}`, 200, "update"},
		{"PATCH", "/api/v1/credentials/cred_1", `{"name":"renamed","tested_url":"https://e.com"}`, 200, "patch"},
		{"DELETE", "/api/v1/credentials/cred_1", "", 204, "delete"},
		{"POST", "/api/v1/credentials/cred_1/delete", "", 204, "delete"},
		{"GET", "/api/v1/credentials/cred_1/totp-code", "", 200, "totp"},
		{"POST", "/api/v1/credentials/custom_credential/migrate?dry_run=true", "", 200, "migrate"},
		{"POST", "/api/v1/credentials/custom_credential/migrate?limit=5", `{"sources":[{"api_base_url":"http://127.0.0.1:1/api","api_token":"tok"}]}`, 200, "prove"},
		{"POST", "/api/v1/credential_folders", `{"title":"t"}`, 200, "fcreate"},
		{"GET", "/api/v1/credential_folders?page=1&page_size=10", "", 200, "flist"},
		{"GET", "/api/v1/credential_folders/cfld_1", "", 200, "fget"},
		{"PUT", "/api/v1/credential_folders/cfld_1", `{"title":"u"}`, 200, "fupdate"},
		{"DELETE", "/api/v1/credential_folders/cfld_1", "", 200, "fdelete"},
		{"PUT", "/api/v1/credentials/cred_1/folder", `{"folder_id":"cfld_1"}`, 200, "fassign"},
		{"POST", "/api/v1/credentials/totp", `{"totp_identifier":"a","content":"1234"}`, 200, "push"},
		{"GET", "/api/v1/credentials/totp?limit=5", "", 200, "codes"},
		{"GET", "/api/v1/audit-events?page=1&page_size=5", "", 200, "audit"},
	} {
		status, _, body := send(t, srv, tc.method, tc.path, tc.body)
		if status != tc.status || !st.called(tc.call) {
			t.Errorf("%s %s = %d %v (called %v), want %d reaching %s", tc.method, tc.path, status, body, st.called(tc.call), tc.status, tc.call)
		}
	}
	_, h, _ := send(t, srv, "GET", "/api/v1/credentials?page_size=5", "")
	if h.Get("X-Next-Cursor") != "c1.next" || !strings.HasPrefix(h.Get("Link"), "<?") {
		t.Errorf("paging headers: %q %q", h.Get("X-Next-Cursor"), h.Get("Link"))
	}
}

// TestRouteInputErrors: bad parameters and bodies are 4xx naming the
// problem before any service call; service errors map to their statuses.
func TestRouteInputErrors(t *testing.T) {
	srv, st := newStubServer(t, func(context.Context) error { return errors.New("down") })
	for _, tc := range []struct {
		method, path, body string
		status             int
		detail             string
	}{
		{"GET", "/api/v1/credentials?page=abc", "", 400, "page"},
		{"GET", "/api/v1/credentials?page_size=ten", "", 400, "page_size"},
		{"GET", "/api/v1/credentials/totp?limit=x", "", 400, "limit"},
		{"POST", "/api/v1/credentials/custom_credential/create", `{}`, 400, "config"},
		{"POST", "/api/v1/credentials/custom_credential/create", `{"config":{"api_base_url":1}}`, 400, "api_base_url"},
		{"POST", "/api/v1/credentials/custom_credential/test_connection?mode=bogus", "", 400, "mode"},
		{"POST", "/api/v1/credentials/custom_credential/migrate", "", 400, "sources"},
		{"POST", "/api/v1/credentials/custom_credential/migrate?dry_run=maybe", "", 400, "dry_run"},
		{"POST", "/api/v1/credentials/custom_credential/migrate?limit=5000", "", 400, "limit"},
		{"POST", "/api/v1/credentials/custom_credential/migrate", `{"sources":[null]}`, 400, "sources[0]"},
		{"POST", "/api/v1/credentials/custom_credential/migrate", `{"sources":[{"api_base_url":"http://x","api_token":"wrong"}]}`, 403, "sources[0]"},
		{"POST", "/api/v1/credential_folders", `{}`, 400, "title"},
		{"PUT", "/api/v1/credentials/cred_1/folder", `[]`, 400, "JSON object"},
		{"POST", "/api/v1/credentials/totp", `{"totp_identifier":1}`, 400, "totp_identifier"},
		{"POST", "/api/v1/credentials", strings.Repeat("x", 2<<20), 413, "1 MiB"},
		{"GET", "/readyz", "", 503, "database"},
	} {
		status, h, body := send(t, srv, tc.method, tc.path, tc.body)
		detail, _ := body["detail"].(string)
		if status != tc.status || !strings.Contains(detail, tc.detail) {
			t.Errorf("%s %s = %d %q, want %d naming %q", tc.method, tc.path, status, detail, tc.status, tc.detail)
		}
		if status == 503 && h.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", tc.path)
		}
	}
	for err, want := range map[error]int{
		problem.ErrUnavailable:                                    503,
		&vault.TimeoutError{Op: "get", After: time.Second}:        503,
		&vault.UpstreamError{Op: "get", Retryable: true}:          503,
		&vault.UpstreamError{Op: "get", Unsent: true}:             502,
		&vault.UpstreamError{Op: "get", StatusCode: 500}:          502,
		&vault.UpstreamError{Op: "get", StatusCode: 401}:          502,
		&vault.SourceUnavailableError{Source: "cfg", Reason: "x"}: 409,
		vault.ErrNotConfigured:                                    400,
		&problem.StateError{Reason: "carry every field"}:          409,
		problem.ErrNotFound:                                       404,
		problem.ErrConflict:                                       409,
		errors.New("boom"):                                        500,
	} {
		st.mu.Lock()
		st.fail = err
		st.mu.Unlock()
		if status, _, body := send(t, srv, "GET", "/api/v1/credentials/cred_1", ""); status != want {
			t.Errorf("%v → %d %v, want %d", err, status, body, want)
		}
	}
}
