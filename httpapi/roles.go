package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
)

// access is what a route needs: the lowest role that may use it, and what
// a refusal says the role cannot do.
type access struct {
	role org.Role
	what string
}

// What each role may not do, in a refusal's words.
var (
	configWrite  = access{org.RoleAdmin, "change the credential service configuration"}
	configRead   = access{org.RoleMember, "read the credential service configuration"}
	migrate      = access{org.RoleAdmin, "migrate credentials between credential services"}
	manageKeys   = access{org.RoleAdmin, "manage API keys"}
	readAudit    = access{org.RoleAdmin, "read the audit trail"}
	writeCreds   = access{org.RoleMember, "create, change or delete credentials"}
	writeFolders = access{org.RoleMember, "create, change or delete credential folders"}
	pushCodes    = access{org.RoleMember, "push one-time codes"}
	testLogins   = access{org.RoleMember, "test logins"}
	read         = access{org.RoleAgent, "read credentials"}
)

// route is a method and a route path under the API prefix.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// routeAccess is every authenticated route's access, by method and path
// under the API prefix. A route without an entry is refused to every key
// (a test fails when a route is added without one).
var routeAccess = accessTable(map[string]access{
	"POST /credentials/custom_credential/create":          configWrite,
	"POST /credentials/custom_credential/test_connection": configWrite,
	"DELETE /credentials/custom_credential":               configWrite,
	"GET /credentials/custom_credential/get":              configRead,
	"GET /credentials/custom_credential/status":           configRead,
	"POST /credentials/custom_credential/migrate":         migrate,

	"POST /keys":             manageKeys,
	"GET /keys":              manageKeys,
	"DELETE /keys/:key_id":   manageKeys,
	"GET /keys/current":      read,
	"GET /audit-events":      readAudit,
	"POST /credentials/totp": pushCodes,
	"GET /credentials/totp":  read,

	"POST /credentials":                         writeCreds,
	"POST /credentials/:credential_id/update":   writeCreds,
	"PATCH /credentials/:credential_id":         writeCreds,
	"POST /credentials/:credential_id/delete":   writeCreds,
	"DELETE /credentials/:credential_id":        writeCreds,
	"PUT /credentials/:credential_id/folder":    writeCreds,
	"GET /credentials":                          read,
	"GET /credentials/:credential_id":           read,
	"GET /credentials/:credential_id/totp-code": read,

	"POST /credential_folders":              writeFolders,
	"PUT /credential_folders/:folder_id":    writeFolders,
	"DELETE /credential_folders/:folder_id": writeFolders,
	"GET /credential_folders":               read,
	"GET /credential_folders/:folder_id":    read,

	// Skyvern's other vaults, answered as not configured.
	"GET /credentials/onepassword/items":    read,
	"GET /credentials/bitwarden/items":      read,
	"GET /credentials/onepassword/get":      read,
	"GET /credentials/bitwarden/get":        read,
	"GET /credentials/azure_credential/get": read,
	"POST /credentials/test-login":          testLogins,
})

// accessTable keys a table written as "METHOD /path" by route.
func accessTable(t map[string]access) map[route]access {
	out := make(map[route]access, len(t))
	for k, a := range t {
		m, p, _ := strings.Cut(k, " ")
		out[route{m, p}] = a
	}
	return out
}

// apiPrefixes are where the authenticated routes are served.
var apiPrefixes = []string{"/api/v1", "/v1"}

// routeOf is c's route under its API prefix (false for the group's
// catch-all: no route, a 404 or 405 to come). It allocates nothing: it
// runs on every request.
func routeOf(c echo.Context) (route, bool) {
	path := c.Path()
	for _, p := range apiPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok && (rest == "" || rest[0] == '/') {
			path = rest
			break
		}
	}
	if path == "" || path == "/" || strings.HasSuffix(path, "*") {
		return route{}, false
	}
	method := c.Request().Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return route{method, strings.TrimSuffix(path, "/")}, true
}

// authorize refuses, before anything else runs, a request whose key's
// role may not use its route: a 403 naming the role and what it cannot
// do, audited.
func (s *server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, ok := routeOf(c)
		if !ok {
			return next(c)
		}
		p := principal(c)
		a, ok := routeAccess[r]
		if !ok {
			a = access{org.RoleAdmin + 1, "use this route"} // fail closed
		}
		if p.Role.Allows(a.role) {
			return next(c)
		}
		if s.Denials != nil {
			s.Denials.RecordDenial(context.WithoutCancel(c.Request().Context()), p, r.String())
		}
		return &problem.ForbiddenError{Reason: "this API key's role (" + p.Role.String() + ") cannot " + a.what}
	}
}

// DenialRecorder audits a request refused by role (org.Organizations).
type DenialRecorder interface {
	RecordDenial(ctx context.Context, p org.Principal, route string)
}

// KeyService is what the key routes need (org.Organizations).
type KeyService interface {
	AddKey(ctx context.Context, orgID string, opts org.KeyOptions) (org.CreatedKey, error)
	Keys(ctx context.Context, orgID string) ([]org.KeyView, error)
	RevokeKey(ctx context.Context, orgID, keyID string) error
}

func (s *server) keyRoutes(g *echo.Group) {
	g.POST("/keys", s.createKey, s.limitConfig)
	g.GET("/keys", s.listKeys)
	g.GET("/keys/current", s.currentKey)
	g.DELETE("/keys/:key_id", s.revokeKey, s.limitConfig)
}

type keyRequest struct {
	Role      *string `json:"role"`
	Name      string  `json:"name"`
	ExpiresIn string  `json:"expires_in"`
}

func (s *server) createKey(c echo.Context) error {
	var req keyRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.Role == nil {
		return problem.Invalid("role", "is required: admin, member or agent")
	}
	role, err := org.ParseRole(*req.Role)
	if err != nil {
		return err
	}
	opts := org.KeyOptions{Role: role, Name: req.Name}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return problem.Invalid("expires_in", "must be a positive duration such as 720h")
		}
		opts.Expires = d
	}
	k, err := s.Keys.AddKey(c.Request().Context(), principal(c).OrganizationID, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, k)
}

func (s *server) listKeys(c echo.Context) error {
	ks, err := s.Keys.Keys(c.Request().Context(), principal(c).OrganizationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ks)
}

// currentKey is the calling key: its id, role, name and expiry, for a
// page to show what it may do.
func (s *server) currentKey(c echo.Context) error {
	p := principal(c)
	ks, err := s.Keys.Keys(c.Request().Context(), p.OrganizationID)
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k.APIKeyID == p.KeyID {
			return c.JSON(http.StatusOK, k)
		}
	}
	return problem.ErrNotFound
}

// revokeKey revokes one of the organization's keys; the last admin key
// that still works is kept (an organization with none could not manage
// its keys or its service over REST).
func (s *server) revokeKey(c echo.Context) error {
	p := principal(c)
	ctx := c.Request().Context()
	id := c.Param("key_id")
	ks, err := s.Keys.Keys(ctx, p.OrganizationID)
	if err != nil {
		return err
	}
	now, admins, target := time.Now(), 0, -1
	for i, k := range ks {
		if k.Active(now) && k.Role == org.RoleAdmin {
			admins++
		}
		if k.APIKeyID == id {
			target = i
		}
	}
	if target < 0 {
		return notFoundAs(problem.ErrNotFound, "API key not found")
	}
	if k := ks[target]; k.Active(now) && k.Role == org.RoleAdmin && admins == 1 {
		return &problem.StateError{Reason: "this is the organization's last admin key that works: create another admin key first (POST /api/v1/keys)"}
	}
	if err := s.Keys.RevokeKey(ctx, p.OrganizationID, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"api_key_id": id, "revoked": true})
}
