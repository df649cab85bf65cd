package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/vault"
)

// CredentialService is what the credential routes need
// (credentials.Service).
type CredentialService interface {
	Create(ctx context.Context, orgID string, c vault.Credential) (credentials.View, error)
	Get(ctx context.Context, orgID, id string) (credentials.View, error)
	List(ctx context.Context, orgID string, o credentials.ListOptions) ([]credentials.View, error)
	Update(ctx context.Context, orgID, id string, c vault.Credential) (credentials.View, error)
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
	g.POST("/credentials/:credential_id/delete", s.deleteCredential, limited)
	g.DELETE("/credentials/:credential_id", s.deleteCredential, limited)
	g.GET("/credentials/:credential_id/totp-code", s.totpCode)
}

type credentialRequest struct {
	Name           string          `json:"name"`
	CredentialType string          `json:"credential_type"`
	Credential     json.RawMessage `json:"credential"`
	VaultType      *string         `json:"vault_type"`
}

type passwordBody struct {
	Username       string            `json:"username"`
	Password       string            `json:"password"`
	TOTP           string            `json:"totp"`
	TOTPType       string            `json:"totp_type"`
	TOTPIdentifier string            `json:"totp_identifier"`
	Metadata       map[string]string `json:"metadata"`
}

type addressBody struct {
	Line1       string `json:"line1"`
	Line2       string `json:"line2"`
	City        string `json:"city"`
	State       string `json:"state"`
	StateCode   string `json:"state_code"`
	PostalCode  string `json:"postal_code"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
}

type cardBody struct {
	CardHolderName string            `json:"card_holder_name"`
	CardNumber     string            `json:"card_number"`
	CardExpMonth   string            `json:"card_exp_month"`
	CardExpYear    string            `json:"card_exp_year"`
	CardCVV        string            `json:"card_cvv"`
	CardBrand      string            `json:"card_brand"`
	BillingAddress *addressBody      `json:"billing_address"`
	BillingEmail   string            `json:"billing_email"`
	BillingPhone   string            `json:"billing_phone"`
	Metadata       map[string]string `json:"metadata"`
}

type secretBody struct {
	SecretValue string `json:"secret_value"`
	SecretLabel string `json:"secret_label"`
}

// decodeCredential reads a create/update body into a vault.Credential.
func decodeCredential(c echo.Context) (vault.Credential, error) {
	var req credentialRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return vault.Credential{}, err
	}
	if req.VaultType != nil && *req.VaultType != credentials.VaultTypeCustom {
		return vault.Credential{}, vault.Invalid("vault_type", "must be custom")
	}
	raw := bytes.TrimSpace(req.Credential)
	if len(raw) == 0 || string(raw) == "null" {
		return vault.Credential{}, vault.Invalid("credential", "is required")
	}
	strict := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return echo.NewHTTPError(http.StatusBadRequest, "credential."+jsonProblem(err))
			}
			return echo.NewHTTPError(http.StatusBadRequest, "credential: "+jsonProblem(err))
		}
		return nil
	}
	out := vault.Credential{Name: req.Name, Type: vault.Type(req.CredentialType)}
	sec := vault.NewSecret
	switch out.Type {
	case vault.TypePassword:
		var b passwordBody
		if err := strict(&b); err != nil {
			return out, err
		}
		out.Password = &vault.Password{Username: b.Username, Password: sec(b.Password), TOTP: sec(b.TOTP),
			TOTPType: vault.TOTPType(b.TOTPType), TOTPIdentifier: b.TOTPIdentifier, Metadata: b.Metadata}
	case vault.TypeCreditCard:
		var b cardBody
		if err := strict(&b); err != nil {
			return out, err
		}
		cc := &vault.CreditCard{CardHolderName: sec(b.CardHolderName), CardNumber: sec(b.CardNumber),
			ExpMonth: sec(b.CardExpMonth), ExpYear: sec(b.CardExpYear), CVV: sec(b.CardCVV), Brand: b.CardBrand,
			BillingEmail: sec(b.BillingEmail), BillingPhone: sec(b.BillingPhone), Metadata: b.Metadata}
		if a := b.BillingAddress; a != nil {
			cc.BillingAddress = &vault.BillingAddress{Line1: sec(a.Line1), Line2: sec(a.Line2), City: sec(a.City),
				State: sec(a.State), StateCode: sec(a.StateCode), PostalCode: sec(a.PostalCode), Country: sec(a.Country),
				CountryCode: sec(a.CountryCode)}
		}
		out.CreditCard = cc
	case vault.TypeSecret:
		var b secretBody
		if err := strict(&b); err != nil {
			return out, err
		}
		out.Secret = &vault.SecretValue{Value: sec(b.SecretValue), Label: b.SecretLabel}
	case "":
		return out, vault.Invalid("credential_type", "is required")
	default:
		return out, vault.Invalid("credential_type", "must be one of password, credit_card, secret")
	}
	return out, nil
}

func (s *server) createCredential(c echo.Context) error {
	cred, err := decodeCredential(c)
	if err != nil {
		return err
	}
	v, err := s.Credentials.Create(c.Request().Context(), principal(c).OrganizationID, cred)
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
		return 0, vault.Invalid(name, "must be an integer")
	}
	if n == 0 {
		n = -1 // explicit 0 is out of range, not "default"
	}
	return n, nil
}

func (s *server) listCredentials(c echo.Context) error {
	page, err := intParam(c, "page")
	if err != nil {
		return err
	}
	size, err := intParam(c, "page_size")
	if err != nil {
		return err
	}
	views, err := s.Credentials.List(c.Request().Context(), principal(c).OrganizationID, credentials.ListOptions{
		Page: page, PageSize: size, Type: vault.Type(c.QueryParam("credential_type")), Search: c.QueryParam("search"),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, views)
}

func (s *server) updateCredential(c echo.Context) error {
	cred, err := decodeCredential(c)
	if err != nil {
		return err
	}
	v, err := s.Credentials.Update(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"), cred)
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
