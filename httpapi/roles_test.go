package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/httpapi"
	"github.com/credvault/credvault/org"
)

// minimumRole is, for every authenticated route, the lowest role that may
// use it. It is written out here, apart from the server's own table, so a
// route added without an entry — or an entry changed by mistake — fails.
var minimumRole = map[string]org.Role{
	"POST /credentials/custom_credential/create":          org.RoleAdmin,
	"POST /credentials/custom_credential/test_connection": org.RoleAdmin,
	"DELETE /credentials/custom_credential":               org.RoleAdmin,
	"POST /credentials/custom_credential/migrate":         org.RoleAdmin,
	"GET /credentials/custom_credential/get":              org.RoleMember,
	"GET /credentials/custom_credential/status":           org.RoleMember,
	"POST /keys":           org.RoleAdmin,
	"GET /keys":            org.RoleAdmin,
	"DELETE /keys/:key_id": org.RoleAdmin,
	"GET /audit-events":    org.RoleAdmin,
	"GET /keys/current":    org.RoleAgent,

	"POST /credentials":                       org.RoleMember,
	"POST /credentials/:credential_id/update": org.RoleMember,
	"PATCH /credentials/:credential_id":       org.RoleMember,
	"POST /credentials/:credential_id/delete": org.RoleMember,
	"DELETE /credentials/:credential_id":      org.RoleMember,
	"PUT /credentials/:credential_id/folder":  org.RoleMember,
	"POST /credential_folders":                org.RoleMember,
	"PUT /credential_folders/:folder_id":      org.RoleMember,
	"DELETE /credential_folders/:folder_id":   org.RoleMember,
	"POST /credentials/totp":                  org.RoleMember,
	"POST /credentials/test-login":            org.RoleMember,

	"GET /credentials":                          org.RoleAgent,
	"GET /credentials/:credential_id":           org.RoleAgent,
	"GET /credentials/:credential_id/totp-code": org.RoleAgent,
	"GET /credentials/totp":                     org.RoleAgent,
	"GET /credential_folders":                   org.RoleAgent,
	"GET /credential_folders/:folder_id":        org.RoleAgent,
	"GET /credentials/onepassword/items":        org.RoleAgent,
	"GET /credentials/bitwarden/items":          org.RoleAgent,
	"GET /credentials/onepassword/get":          org.RoleAgent,
	"GET /credentials/bitwarden/get":            org.RoleAgent,
	"GET /credentials/azure_credential/get":     org.RoleAgent,
}

// TestEveryRouteByEveryRole sends every authenticated route, under both
// prefixes, with a key of every role: a role below the route's is refused
// with a 403 naming the role and what it cannot do, before the service is
// reached, and audited; a role at or above it is not refused.
func TestEveryRouteByEveryRole(t *testing.T) {
	srv, st := newStubServer(t, nil)
	e := httpapi.New(httpapi.Deps{Auth: fakeAuth{}, Configs: st, Credentials: credStub{st}, Migrator: credStub{st},
		Folders: folderStub{st}, OTP: otpStub{st}, Audit: auditStub{st}, Keys: keyStub{st}, Denials: keyStub{st}}).(*echo.Echo)
	seen := map[string]bool{}
	for _, r := range e.Routes() {
		var rest string
		var ok bool
		for _, prefix := range []string{"/api/v1", "/v1"} {
			if rest, ok = strings.CutPrefix(r.Path, prefix); ok {
				break
			}
		}
		if !ok || rest == "" || rest == "/*" || r.Method == echo.RouteNotFound {
			continue
		}
		key := r.Method + " " + rest
		need, ok := minimumRole[key]
		if !ok {
			t.Errorf("route %s has no entry in minimumRole (and the server's routeAccess)", key)
			continue
		}
		seen[key] = true
		path := strings.NewReplacer(":credential_id", "cred_1", ":folder_id", "cfld_1", ":key_id", "key_member").Replace(r.Path)
		for _, role := range org.Roles {
			st.mu.Lock()
			calls, denied := len(st.calls), len(st.denied)
			st.mu.Unlock()
			req, _ := http.NewRequest(r.Method, srv.URL+path, strings.NewReader("{}"))
			req.Header.Set("x-api-key", "cvk_"+role.String())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Detail any `json:"detail"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			detail, _ := body.Detail.(string)
			refused := resp.StatusCode == http.StatusForbidden && strings.HasPrefix(detail, "this API key's role ("+role.String()+") cannot ")
			st.mu.Lock()
			reached, audited := len(st.calls) > calls, len(st.denied) > denied
			st.mu.Unlock()
			switch allowed := role >= need; {
			case allowed && refused:
				t.Errorf("%s %s with an %s key: refused (%s), want allowed", r.Method, path, role, detail)
			case !allowed && !refused:
				t.Errorf("%s %s with an %s key: %d %q, want a 403 naming the role", r.Method, path, role, resp.StatusCode, detail)
			case !allowed && (reached || !audited):
				t.Errorf("%s %s with an %s key: refused, but the service was reached (%v) or the refusal not audited (%v)",
					r.Method, path, role, reached, audited)
			}
		}
	}
	for key := range minimumRole {
		if !seen[key] {
			t.Errorf("minimumRole lists %s, which the server does not route", key)
		}
	}
}
