package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/credvault/credvault/store/sqlstore"
)

// TestCachedReadsSurviveADatabaseOutage: the database is cut off (a TCP
// proxy in front of PostgreSQL drops every connection) for five seconds.
// TOTP codes, which need no query once cached, keep answering 200; a write
// is a 503 with Retry-After. After the database is back, a key revoked by
// another process is refused soon: the test allows 3 s so that a loaded
// CI machine does not fail it; the figure it logs is the one to read
// (0.3–0.7 s here, under -race).
func TestCachedReadsSurviveADatabaseOutage(t *testing.T) {
	t.Parallel()
	px := newProxied(t, "Outage", nil)
	h, proxy, orgID, key, code, direct := px.harness, px.proxy, px.orgID, px.key, px.code, px.direct

	proxy.Cut()
	cutAt := time.Now()
	reads := 0
	for time.Since(cutAt) < 5*time.Second {
		if r := h.do("GET", code, key, nil); r.status != 200 {
			t.Fatalf("a cached read %v into the outage = %d %s", time.Since(cutAt).Round(time.Millisecond), r.status, r.body)
		}
		reads++
		time.Sleep(100 * time.Millisecond) // the load's pace, not a wait for readiness
	}
	if r := h.do("POST", "/api/v1/credentials", key, secretBody("during", "l")); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("a write during the outage = %d (Retry-After %q), want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	proxy.Restore()

	// Another process revokes the key once the database is back.
	other, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: direct})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	keys, err := other.ListAPIKeys(context.Background(), orgID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := other.RevokeAPIKey(context.Background(), orgID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for h.do("GET", code, key, nil).status != 401 {
		if time.Since(revoked) > 3*time.Second {
			t.Fatal("a key revoked after the outage is still accepted 3 s later")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d cached reads during the 5 s outage, all 200; revocation refused %v after it", reads, time.Since(revoked).Round(time.Millisecond))
}
