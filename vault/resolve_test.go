package vault_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
)

type countingSource struct {
	mu    sync.Mutex
	cfgs  map[string]vault.OrgConfig
	calls atomic.Int64
}

func (s *countingSource) ActiveConfig(_ context.Context, orgID string) (vault.OrgConfig, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cfgs[orgID]
	if !ok {
		return vault.OrgConfig{}, vault.ErrNotConfigured
	}
	return c, nil
}

func TestOrgVaultCachesAndInvalidates(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, token)
	src := &countingSource{cfgs: map[string]vault.OrgConfig{
		"org_a": {ID: "cfg_1", BaseURL: svc.Base(), Token: vault.NewSecret(token)},
	}}
	policy, _ := vault.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := vault.NewOrgVault(src, vault.OrgVaultOptions{Policy: policy, TTL: time.Hour})
	ctx := context.Background()

	ref, err := v.Create(ctx, "org_a", secretCred())
	if err != nil || ref.Source != "cfg_1" {
		t.Fatalf("create: %+v %v", ref, err)
	}
	for range 10 {
		if _, err := v.Get(ctx, "org_a", ref.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("config loaded %d times for 11 calls, want 1 (cached)", n)
	}
	if _, err := v.Get(ctx, "org_b", "x"); !errors.Is(err, vault.ErrNotConfigured) {
		t.Fatalf("org without config and no env vault: %v, want ErrNotConfigured", err)
	}

	src.mu.Lock()
	src.cfgs["org_a"] = vault.OrgConfig{ID: "cfg_2", BaseURL: svc.Base(), Token: vault.NewSecret(token)}
	src.mu.Unlock()
	v.Invalidate("org_a")
	ref2, err := v.Create(ctx, "org_a", secretCred())
	if err != nil || ref2.Source != "cfg_2" {
		t.Fatalf("after invalidate: %+v %v, want source cfg_2", ref2, err)
	}
	if n := src.calls.Load(); n != 3 {
		t.Fatalf("config loads = %d, want 3", n)
	}
}

func TestOrgVaultFallsBackToEnv(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, token)
	cfg, err := config.Parse(func(k string) (string, bool) {
		v, ok := map[string]string{
			"CREDENTIAL_VAULT_TYPE": "custom", "CUSTOM_CREDENTIAL_API_BASE_URL": svc.Base(),
			"CUSTOM_CREDENTIAL_API_TOKEN": token,
		}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := vault.NewEnvClient(cfg, nil)
	if err != nil || env == nil {
		t.Fatalf("env client: %v", err)
	}
	v := vault.NewOrgVault(&countingSource{cfgs: map[string]vault.OrgConfig{}}, vault.OrgVaultOptions{Env: env})
	ref, err := v.Create(context.Background(), "org_x", secretCred())
	if err != nil || ref.Source != vault.SourceEnv {
		t.Fatalf("env fallback: %+v %v", ref, err)
	}

	cfg.CustomBaseURL = "http://creds.example.com/x"
	if _, err := vault.NewEnvClient(cfg, nil); err == nil {
		t.Fatal("env client accepted plain http to a non-loopback host")
	}
	cfg.VaultType = ""
	if c, err := vault.NewEnvClient(cfg, nil); c != nil || err != nil {
		t.Fatalf("vault type unset: %v %v, want nil, nil", c, err)
	}
}

// gatedSource blocks loads until released, so concurrent misses overlap.
type gatedSource struct {
	countingSource
	gate chan struct{}
}

func (g *gatedSource) ActiveConfig(ctx context.Context, orgID string) (vault.OrgConfig, error) {
	<-g.gate
	return g.countingSource.ActiveConfig(ctx, orgID)
}

func TestOrgVaultConcurrentMissesLoadOnce(t *testing.T) {
	t.Parallel()
	src := &gatedSource{countingSource: countingSource{cfgs: map[string]vault.OrgConfig{
		"org_a": {ID: "cfg_1", BaseURL: "https://creds.example.com/api", Token: vault.NewSecret(token)},
	}}, gate: make(chan struct{})}
	v := vault.NewOrgVault(src, vault.OrgVaultOptions{TTL: time.Hour})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Resolve(context.Background(), "org_a"); err != nil {
				t.Error(err)
			}
		})
	}
	close(src.gate)
	wg.Wait()
	for range 50 { // misses after the flight finished hit the cache
		if _, err := v.Resolve(context.Background(), "org_a"); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent misses loaded the configuration %d times, want 1", n)
	}
}
