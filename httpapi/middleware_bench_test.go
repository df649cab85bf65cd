package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/org"
)

// BenchmarkRateLimit is what the per-organization limiter costs a request
// it lets through: a map lookup under its lock and a token taken
// (docs/BENCHMARKS.md, "What credvault does that a proxy does not"), with
// the same no-op handler called directly as the reference.
func BenchmarkRateLimit(b *testing.B) {
	e := echo.New()
	noop := func(echo.Context) error { return nil }
	req := httptest.NewRequest(http.MethodGet, "/api/v1/credentials/cred_1", nil)
	c := e.NewContext(req, httptest.NewRecorder())
	c.Set(principalKey, org.Principal{OrganizationID: "o_1", KeyID: "key_1", Role: org.RoleAgent})
	for _, bc := range []struct {
		name string
		h    echo.HandlerFunc
	}{
		{"direct", noop},
		{"limited", (&server{}).rateLimit(config.Rate{PerSecond: 1e9, Burst: 1e9})(noop)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.h(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
