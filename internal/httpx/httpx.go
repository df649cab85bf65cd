// Package httpx holds the HTTP pieces both credvault servers share: a
// request id bounded before it reaches a log, a method label bounded
// before it reaches a log or a metric, panic recovery that never logs the
// panic value, and the access log line of the reference service.
package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// requestIDPattern is what a client-sent X-Request-Id must look like to be
// kept; anything else is replaced, so it cannot flood logs or spoof
// structure.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID keeps a well-formed client X-Request-Id or generates one, and
// sets it on both the request (for the access log) and the response.
func RequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		req.Header.Set(echo.HeaderXRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// MethodLabel bounds a client-chosen method for metrics and logs: one of
// the standard methods, else OTHER.
func MethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// PanicStackKey is where Recover leaves a recovered panic's stack for the
// request's access-log line.
const PanicStackKey = "credvault.log.panic"

// Recover turns a panic into a 500. The panic's value is never logged (it
// could hold anything); its stack goes into the request's one access-log
// line, under PanicStackKey.
var Recover = middleware.RecoverWithConfig(middleware.RecoverConfig{
	DisablePrintStack: true,
	LogErrorFunc: func(c echo.Context, _ error, stack []byte) error {
		c.Set(PanicStackKey, string(stack))
		return echo.ErrInternalServerError
	},
})

// AccessLog writes one line per request: bounded request id and method,
// the route (a template, never the raw path), status and latency.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			attrs := []slog.Attr{slog.String("request_id", c.Request().Header.Get(echo.HeaderXRequestID)),
				slog.String("method", MethodLabel(c.Request().Method)), slog.String("route", c.Path()),
				slog.Int("status", c.Response().Status),
				slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000)}
			level := slog.LevelInfo
			if r := c.Path(); r == "/healthz" || r == "/readyz" || r == "/metrics" {
				level = slog.LevelDebug // probes and scrapes
			}
			if st, ok := c.Get(PanicStackKey).(string); ok {
				level = slog.LevelError
				attrs = append(attrs, slog.String("error", "panic recovered"), slog.String("stack", st))
			}
			log.LogAttrs(c.Request().Context(), level, "http request", attrs...)
			return nil
		}
	}
}
