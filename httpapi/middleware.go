package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/httpx"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

const principalKey = "credvault.principal"

// principal returns the authenticated caller; routes behind authenticate
// always have one.
func principal(c echo.Context) org.Principal {
	p, _ := c.Get(principalKey).(org.Principal)
	return p
}

// apiKeys reads the organization API keys a request offers: the Bearer
// Authorization header first (as Skyvern's clients try it), then
// x-api-key. Either may carry the key; the other may be something else
// (a non-key x-api-key beside a Bearer key, say).
func apiKeys(r *http.Request) []string {
	var keys []string
	auth := r.Header.Get(echo.HeaderAuthorization)
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		if k := strings.TrimSpace(auth[7:]); k != "" {
			keys = append(keys, k)
		}
	}
	if k := strings.TrimSpace(r.Header.Get("x-api-key")); k != "" && (len(keys) == 0 || k != keys[0]) {
		keys = append(keys, k)
	}
	return keys
}

func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		keys := apiKeys(c.Request())
		if len(keys) == 0 || s.Auth == nil {
			return org.ErrUnauthorized
		}
		var p org.Principal
		var err error
		for _, key := range keys {
			if p, err = s.Auth.Authenticate(c.Request().Context(), key); err == nil || !errors.Is(err, org.ErrUnauthorized) {
				break
			}
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		c.SetRequest(c.Request().WithContext(store.WithActor(c.Request().Context(),
			store.Actor{KeyID: p.KeyID, Role: p.Role.String(), RequestID: c.Request().Header.Get(echo.HeaderXRequestID)})))
		return next(c)
	}
}

// rateLimit limits requests per organization to r, with echo's limiter
// (golang.org/x/time/rate underneath).
func (s *server) rateLimit(r config.Rate) echo.MiddlewareFunc {
	// An organization's limiter idle for longer than it takes to refill
	// its burst is full again: dropping it then changes nothing, and the
	// store holds only the organizations seen in the last seconds.
	refill := time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(r.PerSecond), Burst: r.Burst, ExpiresIn: min(refill, time.Hour) + 10*time.Second,
	})
	retryAfter := strconv.Itoa(max(1, int(1/r.PerSecond+0.999)))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			return principal(c).OrganizationID, nil
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retryAfter)
			return echo.NewHTTPError(http.StatusTooManyRequests, "too many requests for this organization; retry after "+retryAfter+"s")
		},
	})
}

// cors answers browsers on the configured origins, preflights included,
// before authentication (a preflight carries no API key). Credentials
// (cookies) are never allowed with "*".
func (s *server) cors() echo.MiddlewareFunc {
	if len(s.CORSOrigins) == 0 {
		return nil
	}
	star := slices.Contains(s.CORSOrigins, "*")
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:     s.CORSOrigins,
		AllowMethods:     []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{"Authorization", "Content-Type", "X-Api-Key", echo.HeaderXRequestID},
		ExposeHeaders:    []string{echo.HeaderXRequestID, "Retry-After", "Link", "X-Next-Cursor"},
		AllowCredentials: !star,
		MaxAge:           600,
	})
}

// accessLog writes one structured line per request: never bodies, never
// headers, never query strings (they could carry search terms).
func (s *server) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogRoutePath: true, LogLatency: true,
		LogRequestID: true, LogError: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case v.RoutePath == "/healthz" || v.RoutePath == "/readyz" || v.RoutePath == "/metrics":
				level = slog.LevelDebug // probes and scrapes
			case v.Status >= 500:
				level = slog.LevelError
			}
			if l, ok := c.Get(logLevelKey).(slog.Level); ok {
				level = l
			}
			if !s.log.Enabled(c.Request().Context(), level) {
				return nil // nothing is formatted for a line nobody reads
			}
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", methodOf(c)),
				slog.String("route", v.RoutePath), slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000),
			}
			if p := principal(c); p.OrganizationID != "" {
				attrs = append(attrs, slog.String("organization_id", p.OrganizationID))
			}
			if r, ok := c.Get(logReasonKey).(string); ok {
				attrs = append(attrs, slog.String("reason", r))
			}
			if st, ok := c.Get(logPanicKey).(string); ok {
				attrs = append(attrs, slog.String("error", "panic recovered"), slog.String("stack", st))
			} else if e, ok := c.Get(logErrorKey).(string); ok {
				attrs = append(attrs, slog.String("error", e))
				if a, ok := c.Get(logUpstreamKey).(*vault.ServiceAnswer); ok {
					up := []any{slog.String("content_type", a.ContentType), slog.Int("length", a.Length)}
					if a.Detail != "" {
						up = append(up, slog.String("detail", a.Detail))
					}
					attrs = append(attrs, slog.Group("upstream", up...))
				}
			}
			s.log.LogAttrs(c.Request().Context(), level, "http request", attrs...)
			return nil
		},
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// The series of each label set, looked up once: a request then
	// formats and hashes no label.
	series sync.Map // seriesKey → *series
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "credvault_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// seriesFor returns the series of a label set. Routes are the router's
// patterns, methods a bounded label (httpx.MethodLabel) and statuses
// codes, so the set of keys is bounded.
func (m *httpMetrics) seriesFor(k seriesKey) *series {
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	s := &series{requests: m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
		latency: m.latency.WithLabelValues(k.route, k.method)}
	m.series.Store(k, s)
	return s
}

func (m *httpMetrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status, _ = statusOf(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			s := m.seriesFor(seriesKey{route, methodOf(c), status})
			s.requests.Inc()
			s.latency.Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// headKey marks a HEAD request routed as its GET.
const headKey = "credvault.head"

// headAsGet answers HEAD like GET, every page, probe and route: it routes
// a HEAD as its GET (echo routes on the request's method before the
// middleware runs), and restoreHead puts HEAD back before the handler, so
// net/http sends the GET's headers and no body.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			r.Method = http.MethodGet
			c.Set(headKey, true)
		}
		return next(c)
	}
}

// restoreHead undoes headAsGet once the route is found.
func restoreHead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if head, _ := c.Get(headKey).(bool); head {
			c.Request().Method = http.MethodHead
		}
		return next(c)
	}
}

// methodOf is the request's method label for logs and metrics (HEAD for a
// HEAD routed as a GET).
func methodOf(c echo.Context) string {
	if head, _ := c.Get(headKey).(bool); head {
		return http.MethodHead
	}
	return httpx.MethodLabel(c.Request().Method)
}

// pageSlash sends a page asked for with a trailing slash to its URL
// without one, by a relative redirect: the pages' relative links resolve
// from there, under any prefix credvault is mounted at.
func pageSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.URL.Path {
		case "/":
			// The root (a mount prefix's "/prefix/" too) leads to the
			// settings page, relatively, so any prefix is kept.
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return c.Redirect(http.StatusFound, "settings")
			}
		case "/settings/", "/settings/credentials/", "/docs/":
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				segs := strings.Split(strings.TrimSuffix(r.URL.Path, "/"), "/")
				to := "../" + segs[len(segs)-1]
				if r.URL.RawQuery != "" {
					to += "?" + r.URL.RawQuery
				}
				return c.Redirect(http.StatusMovedPermanently, to)
			}
		}
		return next(c)
	}
}
