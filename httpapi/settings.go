package httpapi

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed web
var webFiles embed.FS

// OpenAPI is the OpenAPI 3.1 document of the REST API, served at
// /openapi.json. The end-to-end tests validate every request and answer
// against it, so it cannot drift from the code.
//
//go:embed openapi.json
var OpenAPI []byte

// contentSecurityPolicy allows only this origin's own script, style and
// API calls: no inline script, no framing, no external fetches.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		return next(c)
	}
}

func (s *server) settingsRoutes(e *echo.Echo) {
	web, _ := fs.Sub(webFiles, "web")
	page, _ := fs.ReadFile(web, "settings.html")
	g := e.Group("/settings", securityHeaders)
	g.GET("", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, page) })
	credPage, _ := fs.ReadFile(web, "credentials.html")
	g.GET("/credentials", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, credPage) })
	g.GET("/assets/*", serveOnly(web, "common.js", "settings.css", "settings.js", "credentials.css", "credentials.js", "icon.svg"))
	// Browsers ask for /favicon.ico on their own: answer with the pages'
	// icon instead of a 404 in the log.
	icon, _ := fs.ReadFile(web, "icon.svg")
	e.GET("/favicon.ico", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/svg+xml", icon)
	})

	// /docs: the API reference, Swagger UI over /openapi.json, under the
	// same CSP (its script and style are files of this origin).
	docs, _ := fs.Sub(webFiles, "web/docs")
	docsPage, _ := fs.ReadFile(docs, "docs.html")
	d := e.Group("/docs", securityHeaders)
	d.GET("", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, docsPage) })
	d.GET("/assets/*", serveOnly(docs, "docs.js", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css"))
}

// serveOnly serves the named files of fsys, the ones the pages use, under
// the route's wildcard; any other path (a folder, a source file, the
// pages themselves) is a 404.
func serveOnly(fsys fs.FS, names ...string) echo.HandlerFunc {
	allowed := map[string]bool{}
	for _, n := range names {
		if _, err := fs.Stat(fsys, n); err != nil {
			panic("httpapi: page asset missing: " + n)
		}
		allowed[n] = true
	}
	return func(c echo.Context) error {
		name := c.Param("*")
		if !allowed[name] {
			return echo.ErrNotFound
		}
		http.ServeFileFS(c.Response(), c.Request(), fsys, name)
		return nil
	}
}
