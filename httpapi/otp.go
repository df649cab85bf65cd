package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/otpcodes"
)

// OTPService is what the pushed-code routes need (otpcodes.Service).
type OTPService interface {
	Push(ctx context.Context, orgID string, p otpcodes.Push) (otpcodes.Code, error)
	List(ctx context.Context, orgID string, o otpcodes.ListOptions) ([]otpcodes.Code, error)
}

func (s *server) otpRoutes(g *echo.Group) {
	if s.OTP == nil {
		return
	}
	g.POST("/credentials/totp", s.pushCode, s.limited)
	g.GET("/credentials/totp", s.listCodes)
}

func (s *server) pushCode(c echo.Context) error {
	var p otpcodes.Push
	if err := decodeJSON(c, &p, false); err != nil {
		return err
	}
	code, err := s.OTP.Push(c.Request().Context(), principal(c).OrganizationID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, code)
}

func (s *server) listCodes(c echo.Context) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return err
	}
	codes, err := s.OTP.List(c.Request().Context(), principal(c).OrganizationID, otpcodes.ListOptions{
		TOTPIdentifier: c.QueryParam("totp_identifier"), WorkflowRunID: c.QueryParam("workflow_run_id"),
		OTPType: c.QueryParam("otp_type"), Limit: limit,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, codes)
}
