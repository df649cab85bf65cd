package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Skyvern's web app also asks for the vaults credvault does not have
// (1Password, Bitwarden, Azure) on every visit to its credentials and
// settings pages: each gets the answer Skyvern gives when that vault is
// not set up, so no page shows an error. Its browser login test, which
// needs Skyvern's browser, is a 501 the app can show.
func (s *server) skyvernRoutes(g *echo.Group) {
	notConfigured := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"configured": false, "items": []any{}})
	}
	g.GET("/credentials/onepassword/items", notConfigured)
	g.GET("/credentials/bitwarden/items", notConfigured)
	for path, detail := range map[string]string{
		"/credentials/onepassword/get":      "No OnePassword service account token found for this organization",
		"/credentials/bitwarden/get":        "No Bitwarden credential found for this organization",
		"/credentials/azure_credential/get": "No Azure Client Secret Credential found for this organization",
	} {
		g.GET(path, func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound, detail) })
	}
	g.POST("/credentials/test-login", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusNotImplemented, "Test login runs a login in Skyvern's browser, which credvault does not have: "+
			"save the credential, then test it from a Skyvern workflow")
	})
}
