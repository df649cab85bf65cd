// Package httpapi is credvault's REST API and settings page on echo v4:
// request ids, structured access logs, panic recovery, a 1 MiB body limit,
// organization API-key authentication, per-organization rate limits, one
// central error handler, health and Prometheus endpoints. Every route is
// served under /api/v1 and /v1, with or without a trailing slash.
//
// It knows echo and HTTP; it reaches data only through the narrow
// interfaces declared here, never SQL.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/httpx"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
)

// MaxBodyBytes is the largest accepted request body.
const MaxBodyBytes = 1 << 20

// Authenticator resolves an organization API key.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (org.Principal, error)
}

// Deps are what the API serves. Nil optional services leave their routes
// out.
type Deps struct {
	Logger *slog.Logger
	Auth   Authenticator
	// Ready reports whether the database answers (for /readyz).
	Ready func(ctx context.Context) error
	// Warnings, when set, lists what an operator should know while
	// ready (asynchronous replication, say), shown by /readyz.
	Warnings func(ctx context.Context) []string
	// Configs serves the custom credential service configuration routes.
	Configs ConfigService
	// Credentials serves the credential routes.
	Credentials CredentialService
	// Migrator serves POST /credentials/custom_credential/migrate (with
	// Configs, which proves the sources); nil leaves the route out.
	Migrator Migrator
	// Folders serves the credential folder routes.
	Folders FolderService
	// OTP serves pushed one-time codes (/credentials/totp).
	OTP OTPService
	// Audit serves the organization's audit trail (/audit-events).
	Audit AuditService
	// Keys serves the API key routes (/keys); nil leaves them out.
	Keys KeyService
	// Denials, when set, audits every request refused by its key's role.
	Denials DenialRecorder
	// Registerer receives the HTTP metrics; Gatherer serves /metrics.
	// Both default to a new private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// ConfigRate limits, per organization, the configuration routes that
	// call out to a service (default config.DefaultRateConfig).
	ConfigRate config.Rate
	// CredentialRate limits, per organization, credential and folder
	// writes and pushed TOTP codes (default config.DefaultRateCredentials),
	// sized so a UI bulk action never meets a 429.
	CredentialRate config.Rate
	// ReadRate limits, per organization, the reads that reach its custom
	// credential service (default config.DefaultRateReads).
	ReadRate config.Rate
	// CORSOrigins are the browser origins allowed to call the API (exact,
	// or "*"); empty: no CORS.
	CORSOrigins []string
	// NoMetricsRoute leaves /metrics out of this handler, for a
	// deployment serving it on a separate listener (MetricsHandler).
	NoMetricsRoute bool
}

// MetricsHandler serves the Prometheus metrics of g.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

type server struct {
	Deps
	log     *slog.Logger
	metrics *httpMetrics
	// limitConfig and limited are the per-organization limiters of the
	// configuration routes and of credential writes, each shared by its
	// routes under both prefixes.
	limitConfig echo.MiddlewareFunc
	limited     echo.MiddlewareFunc
	limitReads  echo.MiddlewareFunc
	echo        *echo.Echo
}

// New builds the handler serving the whole API (an echo instance inside;
// mount it in any mux).
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registerer == nil || d.Gatherer == nil {
		reg := prometheus.NewRegistry()
		d.Registerer, d.Gatherer = reg, reg
	}
	if d.ConfigRate.PerSecond <= 0 || d.ConfigRate.Burst <= 0 {
		d.ConfigRate = config.DefaultRateConfig
	}
	if d.CredentialRate.PerSecond <= 0 || d.CredentialRate.Burst <= 0 {
		d.CredentialRate = config.DefaultRateCredentials
	}
	if d.ReadRate.PerSecond <= 0 || d.ReadRate.Burst <= 0 {
		d.ReadRate = config.DefaultRateReads
	}
	s := &server{Deps: d, log: d.Logger, metrics: newHTTPMetrics(d.Registerer)}
	s.limitConfig = s.rateLimit(d.ConfigRate)
	s.limited = s.rateLimit(d.CredentialRate)
	s.limitReads = s.rateLimit(d.ReadRate)

	e := echo.New()
	s.echo = e
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Pre(pageSlash, headAsGet, middleware.RemoveTrailingSlash())
	e.Use(restoreHead)
	if cors := s.cors(); cors != nil {
		e.Use(cors)
	}
	e.Use(httpx.RequestID)
	e.Use(s.accessLog())
	e.Use(httpx.Recover)
	e.Use(s.metrics.middleware())
	// Every answer but the settings page's assets is uncacheable, errors
	// (401, 413, ...) included.
	e.Use(noStore)
	e.Use(middleware.BodyLimit("1M"))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, OpenAPI) })
	if !d.NoMetricsRoute {
		e.GET("/metrics", echo.WrapHandler(MetricsHandler(d.Gatherer)))
	}
	s.settingsRoutes(e)

	for _, prefix := range apiPrefixes {
		g := e.Group(prefix, s.authenticate, s.authorize)
		s.configRoutes(g)
		s.credentialRoutes(g)
		s.folderRoutes(g)
		s.otpRoutes(g)
		s.skyvernRoutes(g)
		if s.Audit != nil {
			g.GET("/audit-events", s.auditEvents)
		}
		if s.Keys != nil {
			s.keyRoutes(g)
		}
	}
	return e
}

// AuditService is what the audit route needs (org.Organizations).
type AuditService interface {
	AuditPage(ctx context.Context, orgID string, page, pageSize int) ([]org.AuditView, error)
}

func (s *server) auditEvents(c echo.Context) error {
	page, size, err := pageParams(c)
	if err != nil {
		return err
	}
	es, err := s.Audit.AuditPage(c.Request().Context(), principal(c).OrganizationID, page, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, es)
}

func (s *server) readyz(c echo.Context) error {
	if s.Ready == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		c.Response().Header().Set("Retry-After", "5")
		if errors.Is(err, ErrDraining) {
			return c.JSON(http.StatusServiceUnavailable, errorBody{Detail: ErrDraining.Error()})
		}
		s.log.WarnContext(ctx, "readiness check failed", slog.String("error", err.Error()))
		return c.JSON(http.StatusServiceUnavailable, errorBody{Detail: "database unreachable"})
	}
	body := map[string]any{"status": "ok"}
	if s.Warnings != nil {
		if w := s.Warnings(ctx); len(w) > 0 {
			body["warnings"] = w
		}
	}
	return c.JSON(http.StatusOK, body)
}

// ErrDraining is the readiness error of a process shutting down.
var ErrDraining = problem.Public("shutting down: draining the requests in flight", problem.ErrUnavailable)

// noStore keeps answers out of caches (the settings page sets its own
// policy over it).
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
