package e2e

import (
	"testing"
	"time"

	"github.com/credvault/credvault/config"
)

// TestADarkDatabaseLinkAnswers503InTime: the link to PostgreSQL goes dark
// (the proxy drops every byte, resets nothing) for longer than the
// database timeout. A write answers 503 with Retry-After within the bound
// instead of hanging, cached TOTP reads keep answering 200, and once the
// link is back writes succeed again.
func TestADarkDatabaseLinkAnswers503InTime(t *testing.T) {
	t.Parallel()
	px := newProxied(t, "Dark", func(c *config.Config) { c.DBTimeout = time.Second })
	h, proxy, key, code := px.harness, px.proxy, px.key, px.code

	proxy.BlackHole()
	start := time.Now()
	r := h.do("POST", "/api/v1/credentials", key, secretBody("in the dark", "l"))
	took := time.Since(start)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("a write with the link dark = %d %s after %v, want 503 with Retry-After", r.status, r.body, took)
	}
	// One statement's bound, or a transaction's (3×), plus the service
	// call: well under the minute a dark link would hold it.
	if took > 6*time.Second {
		t.Fatalf("the write took %v with a 1 s database timeout", took)
	}
	t.Logf("write refused after %v with the link dark", took.Round(time.Millisecond))
	if r := h.do("GET", code, key, nil); r.status != 200 {
		t.Fatalf("a cached read with the link dark = %d %s", r.status, r.body)
	}
	proxy.Restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := h.do("POST", "/api/v1/credentials", key, secretBody("after", "l"))
		if r.status == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes after the link came back = %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}
