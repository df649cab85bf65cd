package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/wire"
)

// CredentialService is what the credential routes need
// (credentials.Service).
type CredentialService interface {
	Create(ctx context.Context, orgID string, c vault.Credential, settings credentials.Patch) (credentials.View, error)
	Get(ctx context.Context, orgID, id string) (credentials.View, error)
	List(ctx context.Context, orgID string, o credentials.ListOptions) (credentials.Page, error)
	Update(ctx context.Context, orgID, id string, c vault.Credential, keep credentials.Keep, settings credentials.Patch) (credentials.View, error)
	Patch(ctx context.Context, orgID, id string, p credentials.Patch) (credentials.View, error)
	Delete(ctx context.Context, orgID, id string) error
	TOTPCode(ctx context.Context, orgID, id string) (credentials.Code, error)
}

const credentialNotFound = "credential not found"

func (s *server) credentialRoutes(g *echo.Group) {
	if s.Credentials == nil {
		return
	}
	limited := s.limited
	g.POST("/credentials", s.createCredential, limited)
	g.GET("/credentials", s.listCredentials)
	g.GET("/credentials/:credential_id", s.getCredential)
	g.POST("/credentials/:credential_id/update", s.updateCredential, limited)
	g.PATCH("/credentials/:credential_id", s.patchCredential, limited)
	g.POST("/credentials/:credential_id/delete", s.deleteCredential, limited)
	g.DELETE("/credentials/:credential_id", s.deleteCredential, limited)
	g.GET("/credentials/:credential_id/totp-code", s.totpCode, s.limitReads)
	if s.Migrator != nil && s.Configs != nil {
		g.POST("/credentials/custom_credential/migrate", s.migrateCredentials, s.limitConfig)
	}
}

// Migrator moves an organization's credentials to its current service
// (credentials.Service).
type Migrator interface {
	Migrate(ctx context.Context, orgID string, o credentials.MigrateOptions) (credentials.MigrateReport, error)
}

// migrateRequest names the configurations to move from.
type migrateRequest struct {
	Sources []*configBody `json:"sources"`
}

// maxMigrateBatch bounds how many credentials one request moves.
const maxMigrateBatch = 1000

func (s *server) migrateCredentials(c echo.Context) error {
	o := credentials.MigrateOptions{Limit: 100}
	switch v := c.QueryParam("dry_run"); v {
	case "", "false":
	case "true":
		o.DryRun = true
	default:
		return problem.Invalid("dry_run", "must be true or false")
	}
	n, err := intParam(c, "limit")
	switch {
	case err != nil:
		return err
	case n < 0 || n > maxMigrateBatch:
		return problem.Invalid("limit", "must be between 1 and %d", maxMigrateBatch)
	case n > 0:
		o.Limit = n
	}
	// Moving secrets to the current service needs proof of control of
	// where they are: the URL and full token of each configuration to move
	// from. An API key alone must never be enough to send stored secrets
	// to a service it chose.
	var body migrateRequest
	if err := decodeJSON(c, &body, true); err != nil {
		return err
	}
	ctx, orgID := c.Request().Context(), principal(c).OrganizationID
	if !o.DryRun && len(body.Sources) == 0 {
		return problem.Invalid("sources", "is required: name each configuration to move from, with the URL and the full token it was saved with")
	}
	if len(body.Sources) > 0 {
		proofs := make([]org.SourceProof, len(body.Sources))
		for i, p := range body.Sources {
			if p == nil {
				return problem.Invalid(fmt.Sprintf("sources[%d]", i), "must be an object with api_base_url and api_token")
			}
			proofs[i] = org.SourceProof{APIBaseURL: p.APIBaseURL, APIToken: secret(p.APIToken)}
		}
		from, err := s.Configs.ProveSources(ctx, orgID, proofs)
		if err != nil {
			return err
		}
		o.From = from
	}
	rep, err := s.Migrator.Migrate(ctx, orgID, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// credentialRequest is Skyvern's CreateCredentialRequest (also the body of
// POST /credentials/{id}/update).
type credentialRequest struct {
	Name           string          `json:"name"`
	CredentialType string          `json:"credential_type"`
	Credential     json.RawMessage `json:"credential"`
	VaultType      *string         `json:"vault_type"`
	settingsBody
}

// patchRequest is Skyvern's UpdateCredentialRequest (PATCH).
type patchRequest struct {
	Name                     *string `json:"name"`
	UserContext              *string `json:"user_context"`
	SaveBrowserSessionIntent *bool   `json:"save_browser_session_intent"`
	RunSequentially          *bool   `json:"run_sequentially"`
	settingsBody
}

// settingsBody holds the settings both Skyvern requests carry.
type settingsBody struct {
	TestedURL            *string         `json:"tested_url"`
	ProxyLocation        json.RawMessage `json:"proxy_location"`
	ProxySessionID       *string         `json:"proxy_session_id"`
	RotateProxySessionID *bool           `json:"rotate_proxy_session_id"`
	BrowserProfileID     *string         `json:"browser_profile_id"`
	AutoProfileDisabled  *bool           `json:"auto_profile_disabled"`
	PinSavedSessionIP    *bool           `json:"pin_saved_session_ip"`
}

// patch is the settings b carries, each set only if its key was present
// (absent and null differ).
func (b settingsBody) patch(keys map[string]json.RawMessage) credentials.Patch {
	return credentials.Patch{
		TestedURL: field(keys, "tested_url", b.TestedURL), BrowserProfileID: field(keys, "browser_profile_id", b.BrowserProfileID),
		AutoProfileDisabled: field(keys, "auto_profile_disabled", b.AutoProfileDisabled),
		PinSavedSessionIP:   field(keys, "pin_saved_session_ip", b.PinSavedSessionIP),
		ProxyLocation:       rawField(keys, "proxy_location"), ProxySessionID: field(keys, "proxy_session_id", b.ProxySessionID),
	}
}

// presentKeys returns the top-level keys of a JSON object (nil if it is
// not one).
func presentKeys(raw []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func field[T any](keys map[string]json.RawMessage, name string, v *T) credentials.Field[T] {
	_, set := keys[name]
	return credentials.Field[T]{Set: set, Value: v}
}

func rawField(keys map[string]json.RawMessage, name string) credentials.Field[json.RawMessage] {
	raw, set := keys[name]
	if !set || string(bytes.TrimSpace(raw)) == "null" {
		return credentials.Field[json.RawMessage]{Set: set}
	}
	return credentials.Field[json.RawMessage]{Set: true, Value: &raw}
}

// decodeCredential reads a create/update body into a vault.Credential.
func decodeCredential(c echo.Context) (vault.Credential, error) {
	cred, _, _, err := decodeCredentialRequest(c)
	return cred, err
}

// decodeCredentialRequest reads a create/update body: the credential, its
// settings, and what the inner credential left out (for an update to keep).
func decodeCredentialRequest(c echo.Context) (vault.Credential, credentials.Patch, credentials.Keep, error) {
	var req credentialRequest
	body, err := decodeJSONBody(c, &req, false)
	if err != nil {
		return vault.Credential{}, credentials.Patch{}, credentials.Keep{}, err
	}
	settings := req.patch(presentKeys(body))
	cred, err := decodeInner(req)
	if err != nil {
		return cred, settings, credentials.Keep{}, err
	}
	return cred, settings, keepOf(req), nil
}

// keepOf lists what the inner credential left out, which an update keeps
// from the stored item.
func keepOf(req credentialRequest) credentials.Keep {
	inner := presentKeys(req.Credential)
	var k credentials.Keep
	_, hasMeta := inner["metadata"]
	switch vault.Type(req.CredentialType) {
	case vault.TypePassword:
		k.Metadata = !hasMeta
	case vault.TypeCreditCard:
		k.Metadata = !hasMeta
		_, hasEmail := inner["billing_email"]
		_, hasPhone := inner["billing_phone"]
		k.BillingEmail, k.BillingPhone = !hasEmail, !hasPhone
		addr, hasAddr := inner["billing_address"]
		k.BillingAddress = !hasAddr
		if sub := presentKeys(addr); hasAddr && sub != nil {
			for _, name := range vault.AddressFieldNames {
				if _, ok := sub[name]; !ok {
					k.AddressFields = append(k.AddressFields, name)
				}
			}
		}
	}
	return k
}

func decodeInner(req credentialRequest) (vault.Credential, error) {
	if req.VaultType != nil && *req.VaultType != credentials.VaultTypeCustom {
		return vault.Credential{}, problem.Invalid("vault_type", "must be custom: credvault stores credentials only in a custom credential service")
	}
	raw := bytes.TrimSpace(req.Credential)
	if len(raw) == 0 || string(raw) == "null" {
		return vault.Credential{}, problem.Invalid("credential", "is required")
	}
	switch t := vault.Type(req.CredentialType); {
	case t == "":
		return vault.Credential{}, problem.Invalid("credential_type", "is required")
	case !t.Valid():
		return vault.Credential{}, vault.InvalidType("credential_type")
	}
	// The inner credential is decoded through the one schema of the
	// contract's fields (vault/wire), strictly, naming credential.<field>.
	out, err := wire.DecodeFields(vault.Type(req.CredentialType), raw, "credential")
	out.Name = req.Name
	return out, err
}

func (s *server) createCredential(c echo.Context) error {
	cred, settings, _, err := decodeCredentialRequest(c)
	if err != nil {
		return err
	}
	if !settings.AutoProfileDisabled.Set {
		f := false // Skyvern's default
		settings.AutoProfileDisabled = credentials.Field[bool]{Set: true, Value: &f}
	}
	v, err := s.Credentials.Create(c.Request().Context(), principal(c).OrganizationID, cred, settings)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *server) getCredential(c echo.Context) error {
	v, err := s.Credentials.Get(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"))
	if err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

func intParam(c echo.Context, name string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, problem.Invalid(name, "must be an integer")
	}
	if n == 0 {
		n = -1 // explicit 0 is out of range, not "default"
	}
	return n, nil
}

// pageParams reads the page and page_size query parameters (0: default).
func pageParams(c echo.Context) (page, size int, err error) {
	if page, err = intParam(c, "page"); err != nil {
		return 0, 0, err
	}
	size, err = intParam(c, "page_size")
	return page, size, err
}

func (s *server) listCredentials(c echo.Context) error {
	page, size, err := pageParams(c)
	if err != nil {
		return err
	}
	res, err := s.Credentials.List(c.Request().Context(), principal(c).OrganizationID, credentials.ListOptions{
		Page: page, PageSize: size, Type: vault.Type(c.QueryParam("credential_type")), Search: c.QueryParam("search"),
		FolderID: c.QueryParam("folder_id"), VaultType: c.QueryParam("vault_type"), Cursor: c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	if res.Next != "" {
		// The body stays Skyvern's bare array; the next page is in headers.
		q := c.Request().URL.Query()
		q.Del("page")
		q.Set("cursor", res.Next)
		// A query-only reference: it resolves against the URL the client
		// asked for, under whatever prefix credvault is mounted at.
		c.Response().Header().Set("X-Next-Cursor", res.Next)
		c.Response().Header().Set("Link", "<?"+q.Encode()+`>; rel="next"`)
	}
	return c.JSON(http.StatusOK, res.Views)
}

func (s *server) updateCredential(c echo.Context) error {
	cred, settings, keep, err := decodeCredentialRequest(c)
	if err != nil {
		return err
	}
	v, err := s.Credentials.Update(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"), cred, keep, settings)
	if err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) patchCredential(c echo.Context) error {
	var req patchRequest
	body, err := decodeJSONBody(c, &req, false)
	if err != nil {
		return err
	}
	keys := presentKeys(body)
	p := req.patch(keys)
	p.Name = field(keys, "name", req.Name)
	p.UserContext = field(keys, "user_context", req.UserContext)
	p.SaveBrowserSessionIntent = field(keys, "save_browser_session_intent", req.SaveBrowserSessionIntent)
	p.RunSequentially = field(keys, "run_sequentially", req.RunSequentially)
	if p.Empty() && len(keys) > 0 {
		// Only rotate_proxy_session_id: accepted, nothing to store.
		v, err := s.Credentials.Get(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"))
		if err != nil {
			return notFoundAs(err, credentialNotFound)
		}
		return c.JSON(http.StatusOK, v)
	}
	v, err := s.Credentials.Patch(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"), p)
	if err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) deleteCredential(c echo.Context) error {
	if err := s.Credentials.Delete(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id")); err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) totpCode(c echo.Context) error {
	code, err := s.Credentials.TOTPCode(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"))
	if err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.JSON(http.StatusOK, code)
}
