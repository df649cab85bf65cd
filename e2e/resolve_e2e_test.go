package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/vault"
)

func TestResolutionPrecedenceOverPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	envSvc := fakeservice.New(t, "env-token-1234567890")
	orgSvc := fakeservice.New(t, svcToken)

	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.VaultType, cfg.CustomBaseURL, cfg.CustomToken = "custom", envSvc.Base(), "env-token-1234567890"
	h := newHarnessWithConfig(t, cfg)
	orgA, keyA := h.org("A")
	orgB, _ := h.org("B")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", keyA, cfgBody(orgSvc.Base(), svcToken)); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	cfgID := h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil).json(t)["token"].(map[string]any)["id"].(string)

	a, err := h.p.Vault.Resolve(ctx, orgA)
	if err != nil || a.Source() != cfgID || a.BaseURL() != orgSvc.Base() {
		t.Fatalf("org A resolves to %v (%v), want its own configuration %s", a, err, cfgID)
	}
	b, err := h.p.Vault.Resolve(ctx, orgB)
	if err != nil || b.Source() != vault.SourceEnv {
		t.Fatalf("org B resolves to %v (%v), want the env vault", b, err)
	}

	// The cache is used: a change behind its back is not seen...
	if _, err := testStore(h.p).SQLDB().Exec("UPDATE org_auth_tokens SET valid = false WHERE organization_id = $1", orgA); err != nil {
		t.Fatal(err)
	}
	if again, _ := h.p.Vault.Resolve(ctx, orgA); again != a {
		t.Fatal("second resolve did not use the cached client")
	}
	// ...until invalidated.
	h.p.Vault.Invalidate(orgA)
	if again, _ := h.p.Vault.Resolve(ctx, orgA); again == nil || again.Source() != vault.SourceEnv {
		t.Fatalf("after invalidation org A resolves to %v, want the env vault", again)
	}

	// Without an env vault, an organization with nothing saved is not configured.
	h2 := newHarness(t, testdb.Postgres)
	orgC, _ := h2.org("C")
	if _, err := h2.p.Vault.Resolve(ctx, orgC); !errors.Is(err, vault.ErrNotConfigured) {
		t.Fatalf("no config, no env: %v, want ErrNotConfigured", err)
	}
}
