package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// TestReplicasAgreeWithinASecond runs two credvault instances on one
// PostgreSQL database (each with its own caches and change listener): a
// configuration saved through one is used by the other within 1 s, 20
// times in a row, and a key revoked through one fails on the other within
// 1 s.
func TestReplicasAgreeWithinASecond(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	a := newHarnessWithConfig(t, cfg)
	b := newHarnessWithConfig(t, cfg)
	svcs := []*fakeservice.Service{fakeservice.New(t, svcToken), fakeservice.New(t, svcToken)}
	orgID, key := a.org("Acme")
	ctx := context.Background()

	var worst time.Duration
	for i := range 20 {
		target := svcs[i%2]
		if r := a.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(target.Base(), svcToken)); r.status != 200 {
			t.Fatalf("save %d = %d %s", i, r.status, r.body)
		}
		start := time.Now()
		for {
			cl, err := b.p.Vault.Resolve(ctx, orgID)
			if err == nil && cl.BaseURL() == target.Base() {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("round %d: replica B still uses the previous service after 1s (%v)", i, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		worst = max(worst, time.Since(start))
		// B's next create lands in the new service.
		before := target.Items()
		if r := b.do("POST", "/api/v1/credentials", key, secretBody("r", "r")); r.status != 201 || target.Items() != before+1 {
			t.Fatalf("round %d: create through B = %d, target holds %d (had %d)", i, r.status, target.Items(), before)
		}
	}
	t.Logf("worst propagation over 20 saves: %v", worst)

	// Revocation: B has the key cached (it just served it); A revokes.
	created, err := a.p.Organizations.Create(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if r := b.do("GET", "/api/v1/credentials", created.APIKey, nil); r.status != 200 {
		t.Fatalf("B with the new key = %d", r.status)
	}
	if err := a.p.Organizations.RevokeKey(ctx, created.OrganizationID, created.APIKeyID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for b.do("GET", "/api/v1/credentials", created.APIKey, nil).status != 401 {
		if time.Since(start) > time.Second {
			t.Fatal("a key revoked through A still works on B after 1s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestListenerReconnectFlushes: when the change listener loses its
// connection, everything cached is dropped and the listener comes back.
func TestListenerReconnectFlushes(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	h := newHarnessWithConfig(t, cfg)
	orgID, key := h.org("Acme")
	svc := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatal(r.status)
	}
	ctx := context.Background()
	if _, err := h.p.Vault.Resolve(ctx, orgID); err != nil {
		t.Fatal(err)
	}
	// Change the configuration behind every cache's back (no notification),
	// then kill the listener's connection.
	if _, err := testStore(h.p).SQLDB().ExecContext(ctx, "UPDATE org_auth_tokens SET valid = false WHERE organization_id = $1", orgID); err != nil {
		t.Fatal(err)
	}
	// Only this instance's listener (its channel names its schema).
	if _, err := testStore(h.p).SQLDB().ExecContext(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1", `LISTEN "`+testStore(h.p).Channel()+`"`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := h.p.Vault.Resolve(ctx, orgID); err != nil {
			break // the stale client was dropped: nothing is configured now
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache still serves a configuration changed while the listener was down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(h.logs.String(), "change listener lost its connection") {
		t.Fatal("the lost listener connection was not logged")
	}
}

// TestSteadyStateMakesNoQueries: once warm, the totp-code path (API key,
// credential row, configuration) is served from caches — proven by changing
// the rows behind credvault's back, without a notification, and still
// being served; the notification then drops exactly that.
func TestSteadyStateMakesNoQueries(t *testing.T) {
	t.Parallel()
	h, _, orgID, key := configured(t, testdb.Postgres)
	r := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank"))
	if r.status != 201 {
		t.Fatal(r.status)
	}
	id := r.json(t)["credential_id"].(string)
	path := "/api/v1/credentials/" + id + "/totp-code"
	if r := h.do("GET", path, key, nil); r.status != 200 {
		t.Fatalf("warm-up = %d", r.status)
	}
	db := testStore(h.p).SQLDB()
	ctx := context.Background()
	p, err := h.p.Organizations.Authenticate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE org_api_keys SET revoked_at = now() WHERE organization_id = $1",
		"UPDATE credentials SET deleted_at = now() WHERE organization_id = $1",
		"UPDATE org_auth_tokens SET valid = false WHERE organization_id = $1",
	} {
		if _, err := db.ExecContext(ctx, q, orgID); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if r := h.do("GET", path, key, nil); r.status != 200 {
			t.Fatalf("a warm request needed the database: %d %s", r.status, r.body)
		}
	}
	// The revocation's notification drops the key everywhere.
	if _, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", testStore(h.p).Channel(), "key:another-process:"+p.KeyID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for h.do("GET", path, key, nil).status != 401 {
		if time.Since(start) > time.Second {
			t.Fatal("the notified revocation did not take effect within 1s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
