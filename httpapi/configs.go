package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault/netpolicy"
)

// ConfigService is what the configuration routes need (org.Configs).
type ConfigService interface {
	Save(ctx context.Context, p org.Principal, in org.ServiceConfig) (org.ConfigView, error)
	Get(ctx context.Context, orgID string) (org.ConfigView, error)
	Clear(ctx context.Context, p org.Principal) error
	TestConnection(ctx context.Context, orgID string, in *org.ServiceConfig, roundtrip bool) (org.TestResult, error)
	Status(ctx context.Context, orgID string) (org.StatusView, error)
	// ProveSources returns the saved configurations whose URL and full
	// token the caller sent (for moving what they store).
	ProveSources(ctx context.Context, orgID string, proofs []org.SourceProof) (map[string]bool, error)
}

type configBody struct {
	APIBaseURL        string `json:"api_base_url"`
	APIToken          string `json:"api_token"`
	CABundle          string `json:"ca_bundle"`
	ClientCertificate string `json:"client_certificate"`
	ClientKey         string `json:"client_key"`
}

// serviceConfig is the body as the service takes it.
func (b *configBody) serviceConfig() org.ServiceConfig {
	return org.ServiceConfig{APIBaseURL: b.APIBaseURL, APIToken: secret(b.APIToken),
		TLS: netpolicy.TLSOptions{CABundle: b.CABundle, ClientCertificate: b.ClientCertificate, ClientKey: secret(b.ClientKey)}}
}

type configRequest struct {
	Config *configBody `json:"config"`
}

type tokenResponse struct {
	Token org.ConfigView `json:"token"`
}

func (s *server) configRoutes(g *echo.Group) {
	if s.Configs == nil {
		return
	}
	limited := s.limitConfig
	g.POST("/credentials/custom_credential/create", s.saveConfig, limited)
	g.GET("/credentials/custom_credential/get", s.getConfig)
	g.GET("/credentials/custom_credential/status", s.configStatus)
	g.POST("/credentials/custom_credential/test_connection", s.testConfig, limited)
	g.DELETE("/credentials/custom_credential", s.clearConfig, limited)
}

func (s *server) saveConfig(c echo.Context) error {
	var req configRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.Config == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "config: is required")
	}
	v, err := s.Configs.Save(c.Request().Context(), principal(c), req.Config.serviceConfig())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: v})
}

func (s *server) getConfig(c echo.Context) error {
	v, err := s.Configs.Get(c.Request().Context(), principal(c).OrganizationID)
	if err != nil {
		return notFoundAs(err, "no custom credential service configuration is saved for this organization")
	}
	return c.JSON(http.StatusOK, tokenResponse{Token: v})
}

func (s *server) configStatus(c echo.Context) error {
	v, err := s.Configs.Status(c.Request().Context(), principal(c).OrganizationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) clearConfig(c echo.Context) error {
	if err := s.Configs.Clear(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"success": true})
}

type testFailure struct {
	Detail     string         `json:"detail"`
	Success    bool           `json:"success"`
	StatusCode int            `json:"status_code"`
	Steps      []org.TestStep `json:"steps,omitempty"`
}

func (s *server) testConfig(c echo.Context) error {
	var req configRequest
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	var in *org.ServiceConfig
	if req.Config != nil {
		sc := req.Config.serviceConfig()
		in = &sc
	}
	mode := c.QueryParam("mode")
	if mode != "" && mode != "roundtrip" && mode != "reachability" {
		return echo.NewHTTPError(http.StatusBadRequest, "mode: must be roundtrip or omitted")
	}
	res, err := s.Configs.TestConnection(c.Request().Context(), principal(c).OrganizationID, in, mode == "roundtrip")
	if err != nil {
		return err
	}
	if !res.Success {
		return c.JSON(http.StatusBadRequest, testFailure{Detail: res.Detail, StatusCode: res.StatusCode, Steps: res.Steps})
	}
	return c.JSON(http.StatusOK, res)
}
