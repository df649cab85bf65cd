package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// TestUpstreamReadsHaveABudget: reads that reach the organization's
// service (TOTP codes) are limited per organization; beyond the budget a
// 429 with Retry-After, and the service sees no more requests.
func TestUpstreamReadsHaveABudget(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.RateReads = config.Rate{PerSecond: 0.01, Burst: 3}
	h := newHarnessWithConfig(t, cfg)
	_, key := h.org("Reader")
	_, other := h.org("Other")
	svc := fakeservice.New(t, svcToken)
	for _, k := range []string{key, other} {
		if r := h.do("POST", "/api/v1/credentials/custom_credential/create", k, cfgBody(svc.Base(), svcToken)); r.status != 200 {
			t.Fatalf("configure: %d", r.status)
		}
	}
	id := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	otherID := h.do("POST", "/api/v1/credentials", other, passwordBody("Bank")).json(t)["credential_id"].(string)
	before := svc.Requests.Load()
	for i := range 3 {
		if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil); r.status != 200 {
			t.Fatalf("read %d = %d %s", i, r.status, r.body)
		}
	}
	r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("read beyond the budget = %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if n := svc.Requests.Load() - before; n != 3 {
		t.Fatalf("the service saw %d reads, want 3", n)
	}
	if r := h.do("GET", "/api/v1/credentials/"+otherID+"/totp-code", other, nil); r.status != 200 {
		t.Fatalf("another organization's read = %d, want its own budget", r.status)
	}
}

// TestUnreachableServiceIsRetryable: a service that refuses connections
// (stopped, restarting) answers 503 with Retry-After saying it is
// unreachable, for a read and for an update that must read the stored item
// first; an answer the service gave (its 500) stays a 502.
func TestUnreachableServiceIsRetryable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.SQLite)
	_, key := h.org("Outage")
	svc := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure: %d", r.status)
	}
	id := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(500)
		return true
	}
	if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil); r.status != 502 || r.header.Get("Retry-After") != "" {
		t.Fatalf("the service's own 500 = %d (Retry-After %q), want 502", r.status, r.header.Get("Retry-After"))
	}
	svc.Close() // connections are refused from now on
	upd := passwordBody("Bank")
	delete(upd["credential"].(map[string]any), "metadata")
	for name, r := range map[string]response{
		"read":   h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil),
		"update": h.do("POST", "/api/v1/credentials/"+id+"/update", key, upd),
	} {
		if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.detail(), "unreachable") {
			t.Errorf("%s with the service down = %d %q (Retry-After %q), want 503 saying unreachable", name, r.status, r.detail(), r.header.Get("Retry-After"))
		}
	}
}
