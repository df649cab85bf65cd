package orgvault_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
	"github.com/credvault/credvault/vault/vaulttest"
)

type countingSource struct {
	mu    sync.Mutex
	cfgs  map[string]orgvault.Config
	byID  []ownedConfig // every saved configuration, current or replaced
	calls atomic.Int64
}

func (s *countingSource) ActiveConfig(_ context.Context, orgID string) (orgvault.Config, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cfgs[orgID]
	if !ok {
		return orgvault.Config{}, vault.ErrNotConfigured
	}
	return c, nil
}

func (s *countingSource) ConfigByID(_ context.Context, orgID, id string) (orgvault.Config, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.byID {
		if c.org == orgID && c.cfg.ID == id {
			return c.cfg, nil
		}
	}
	return orgvault.Config{}, &vault.SourceUnavailableError{Source: id, Reason: "it no longer exists"}
}

type ownedConfig struct {
	org string
	cfg orgvault.Config
}

func TestOrgVaultCachesAndInvalidates(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	cfg1 := orgvault.Config{ID: "cfg_1", BaseURL: svc.Base(), Token: vault.NewSecret(vaulttest.Token)}
	src := &countingSource{cfgs: map[string]orgvault.Config{"org_a": cfg1}, byID: []ownedConfig{{"org_a", cfg1}}}
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(src, orgvault.Options{Policy: policy, TTL: time.Hour})
	ctx := context.Background()

	ref, err := v.Create(ctx, "org_a", vaulttest.Secret())
	if err != nil || ref.Source != "cfg_1" {
		t.Fatalf("create: %+v %v", ref, err)
	}
	for range 10 {
		if _, err := v.Get(ctx, "org_a", ref); err != nil {
			t.Fatal(err)
		}
	}
	// One load of the current configuration, one of cfg_1 by id.
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("config loaded %d times for 11 calls, want 2 (cached)", n)
	}
	if _, err := v.Create(ctx, "org_b", vaulttest.Secret()); !errors.Is(err, vault.ErrNotConfigured) {
		t.Fatalf("org without config and no env vault: %v, want ErrNotConfigured", err)
	}
	// Another organization cannot reach org_a's configuration by naming it.
	if _, err := v.Get(ctx, "org_b", ref); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("org_b reading through org_a's configuration: %v, want ErrSourceUnavailable", err)
	}

	cfg2 := orgvault.Config{ID: "cfg_2", BaseURL: svc.Base(), Token: vault.NewSecret(vaulttest.Token)}
	src.mu.Lock()
	src.cfgs["org_a"] = cfg2
	src.byID = append(src.byID, ownedConfig{"org_a", cfg2})
	src.mu.Unlock()
	v.Invalidate("org_a")
	before := src.calls.Load()
	ref2, err := v.Create(ctx, "org_a", vaulttest.Secret())
	if err != nil || ref2.Source != "cfg_2" {
		t.Fatalf("after invalidate: %+v %v, want source cfg_2", ref2, err)
	}
	if n := src.calls.Load() - before; n != 1 {
		t.Fatalf("config loads after invalidate = %d, want 1", n)
	}
	// The first item is still read through the configuration that stored it.
	if _, err := v.Get(ctx, "org_a", ref); err != nil {
		t.Fatalf("item of the replaced configuration: %v", err)
	}
}

// TestOrgVaultReadsThroughStoringConfiguration: two services both issue
// item id "cred_1"; a credential stored through the first is read and
// deleted there, never through the organization's current service.
func TestOrgVaultReadsThroughStoringConfiguration(t *testing.T) {
	t.Parallel()
	x, y := fakeservice.New(t, vaulttest.Token), fakeservice.New(t, vaulttest.Token)
	cfgX := orgvault.Config{ID: "cfg_x", BaseURL: x.Base(), Token: vault.NewSecret(vaulttest.Token)}
	cfgY := orgvault.Config{ID: "cfg_y", BaseURL: y.Base(), Token: vault.NewSecret(vaulttest.Token)}
	src := &countingSource{cfgs: map[string]orgvault.Config{"org_a": cfgX}, byID: []ownedConfig{{"org_a", cfgX}}}
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(src, orgvault.Options{Policy: policy})
	ctx := context.Background()

	first := vaulttest.Secret()
	first.Secret.Label = "stored in X"
	refX, err := v.Create(ctx, "org_a", first)
	if err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.cfgs["org_a"] = cfgY
	src.byID = append(src.byID, ownedConfig{"org_a", cfgY})
	src.mu.Unlock()
	v.Invalidate("org_a")
	second := vaulttest.Secret()
	second.Secret.Label = "stored in Y"
	refY, err := v.Create(ctx, "org_a", second)
	if err != nil {
		t.Fatal(err)
	}
	if refX.ID != refY.ID || refX.Source == refY.Source {
		t.Fatalf("refs %+v %+v: the test needs the same id from two services", refX, refY)
	}
	got, err := v.Get(ctx, "org_a", refX)
	if err != nil || got.Secret.Label != "stored in X" {
		t.Fatalf("read of X's item: %+v %v, want X's item", got.Secret, err)
	}
	if err := v.Delete(ctx, "org_a", refX); err != nil {
		t.Fatal(err)
	}
	if x.Items() != 0 || y.Items() != 1 {
		t.Fatalf("after deleting X's item: X holds %d, Y holds %d; want 0 and 1", x.Items(), y.Items())
	}

	// A source that is gone is refused, never answered by the current one.
	src.mu.Lock()
	src.byID = src.byID[1:]
	src.mu.Unlock()
	v.Invalidate("org_a")
	refX2 := vault.ItemRef{ID: refY.ID, Source: "cfg_x"}
	if _, err := v.Get(ctx, "org_a", refX2); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("item of a purged configuration: %v, want ErrSourceUnavailable", err)
	}
	if err := v.Delete(ctx, "org_a", refX2); !errors.Is(err, vault.ErrSourceUnavailable) || y.Items() != 1 {
		t.Fatalf("delete through a purged configuration: %v (Y holds %d), want ErrSourceUnavailable and Y untouched", err, y.Items())
	}
	if _, err := v.Get(ctx, "org_a", vault.ItemRef{ID: refY.ID, Source: vault.SourceEnv}); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("env item without an env vault: %v, want ErrSourceUnavailable", err)
	}
}

func TestOrgVaultFallsBackToEnv(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	env, err := envvault.New(svc.Base(), vault.NewSecret(vaulttest.Token), envvault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := orgvault.New(&countingSource{cfgs: map[string]orgvault.Config{}}, orgvault.Options{Env: env})
	ref, err := v.Create(context.Background(), "org_x", vaulttest.Secret())
	if err != nil || ref.Source != vault.SourceEnv {
		t.Fatalf("env fallback: %+v %v", ref, err)
	}
}

// gatedSource blocks loads until released, so concurrent misses overlap.
type gatedSource struct {
	countingSource
	gate chan struct{}
}

func (g *gatedSource) ActiveConfig(ctx context.Context, orgID string) (orgvault.Config, error) {
	<-g.gate
	return g.countingSource.ActiveConfig(ctx, orgID)
}

func TestOrgVaultConcurrentMissesLoadOnce(t *testing.T) {
	t.Parallel()
	src := &gatedSource{countingSource: countingSource{cfgs: map[string]orgvault.Config{
		"org_a": {ID: "cfg_1", BaseURL: "https://creds.example.com/api", Token: vault.NewSecret(vaulttest.Token)},
	}}, gate: make(chan struct{})}
	v := orgvault.New(src, orgvault.Options{TTL: time.Hour})
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

func BenchmarkOrgVaultResolveCached(b *testing.B) {
	src := &countingSource{cfgs: map[string]orgvault.Config{
		"org_a": {ID: "cfg_1", BaseURL: "https://creds.example.com/api", Token: vault.NewSecret(vaulttest.Token)},
	}}
	v := orgvault.New(src, orgvault.Options{TTL: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Resolve(ctx, "org_a"); err != nil {
				b.Fatal(err)
			}
		}
	})
	if src.calls.Load() != 1 {
		b.Fatalf("config loaded %d times", src.calls.Load())
	}
}

// TestOrgVaultTTLWithInjectedClock: a resolved client is trusted for the
// TTL without a database check, then reloaded (a replica's invalidation
// may not have reached this one).
func TestOrgVaultTTLWithInjectedClock(t *testing.T) {
	t.Parallel()
	cfg := orgvault.Config{ID: "cfg_1", BaseURL: "https://creds.example.com/api", Token: vault.NewSecret(vaulttest.Token)}
	src := &countingSource{cfgs: map[string]orgvault.Config{"org_a": cfg}, byID: []ownedConfig{{"org_a", cfg}}}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v := orgvault.New(src, orgvault.Options{TTL: time.Minute, Now: clock})
	ctx := context.Background()
	resolve := func() {
		t.Helper()
		if _, err := v.Resolve(ctx, "org_a"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.ResolveSource(ctx, "org_a", "cfg_1"); err != nil {
			t.Fatal(err)
		}
	}
	resolve()
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("first resolve loaded %d times, want 2 (current and by id)", n)
	}
	advance(59 * time.Second)
	resolve()
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("within the TTL: %d loads, want still 2", n)
	}
	advance(2 * time.Second)
	resolve()
	if n := src.calls.Load(); n != 4 {
		t.Fatalf("after the TTL: %d loads, want 4", n)
	}
}

// TestOrgVaultSourcedOperations: the current source, a create through a
// named configuration, a replayed create, a flush, and refusals of
// configurations another organization saved or nobody recorded.
func TestOrgVaultSourcedOperations(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	cfg1 := orgvault.Config{ID: "cfg_1", BaseURL: svc.Base(), Token: vault.NewSecret(vaulttest.Token)}
	src := &countingSource{cfgs: map[string]orgvault.Config{"org_a": cfg1}, byID: []ownedConfig{{"org_a", cfg1}}}
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(src, orgvault.Options{Policy: policy, TTL: time.Hour})
	ctx := context.Background()
	if !v.Policy().BlockPrivate || v.Env() != nil {
		t.Fatal("an organization vault's policy blocks private addresses, and this one has no env service")
	}
	if cur, err := v.CurrentSource(ctx, "org_a"); err != nil || cur != "cfg_1" {
		t.Fatalf("current source: %q %v", cur, err)
	}
	if _, err := v.CurrentSource(ctx, "org_b"); !errors.Is(err, vault.ErrNotConfigured) {
		t.Fatalf("an organization with nothing: %v", err)
	}
	ref, err := v.CreateAt(vault.WithIdempotencyKey(ctx, "k1"), "org_a", "cfg_1", vaulttest.Secret())
	if err != nil || ref.Source != "cfg_1" {
		t.Fatalf("create at: %+v %v", ref, err)
	}
	if _, err := v.CreateAt(ctx, "org_b", "cfg_1", vaulttest.Secret()); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("creating through another organization's configuration: %v", err)
	}
	if _, _, err := v.ReplayCreate(ctx, "org_a", "cfg_1", "k1"); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if _, err := v.Get(ctx, "org_a", vault.ItemRef{ID: ref.ID}); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("a ref that records no configuration: %v", err)
	}
	if _, err := v.Get(ctx, "org_a", vault.ItemRef{ID: ref.ID, Source: vault.SourceEnv}); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("an env ref without an env service: %v", err)
	}
	calls := src.calls.Load()
	v.Flush()
	if _, err := v.CurrentSource(ctx, "org_a"); err != nil || src.calls.Load() == calls {
		t.Fatalf("Flush did not drop the cache (%v)", err)
	}
}

// TestOrgVaultCacheIsBounded: clients of more organizations than the
// cache holds evict the least recently used; an evicted one is loaded
// again on its next use, and an invalidation still reaches what is cached.
func TestOrgVaultCacheIsBounded(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	src := &countingSource{cfgs: map[string]orgvault.Config{}}
	for i := range 50 {
		org := fmt.Sprint("org_", i)
		src.cfgs[org] = orgvault.Config{ID: "cfg_" + org, BaseURL: svc.Base(), Token: vault.NewSecret(vaulttest.Token)}
	}
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(src, orgvault.Options{Policy: policy, TTL: time.Hour, CacheSize: 10})
	ctx := context.Background()
	for i := range 50 {
		if _, err := v.Resolve(ctx, fmt.Sprint("org_", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Cached(); n != 10 {
		t.Fatalf("%d clients cached, want the size 10", n)
	}
	before := src.calls.Load()
	if _, err := v.Resolve(ctx, "org_49"); err != nil || src.calls.Load() != before {
		t.Fatalf("the most recent organization was not cached: %v, %d loads", err, src.calls.Load()-before)
	}
	if _, err := v.Resolve(ctx, "org_0"); err != nil || src.calls.Load() != before+1 {
		t.Fatalf("an evicted organization: %v, %d loads, want 1", err, src.calls.Load()-before)
	}
	v.Invalidate("org_49")
	if _, err := v.Resolve(ctx, "org_49"); err != nil || src.calls.Load() != before+2 {
		t.Fatalf("after an invalidation: %v, %d loads, want 2", err, src.calls.Load()-before)
	}
}

// TestOrgVaultReloadAfterExpiryStaysInvalidatable: a client reloaded over
// its expired copy is still dropped by an invalidation of its
// organization.
func TestOrgVaultReloadAfterExpiryStaysInvalidatable(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	src := &countingSource{cfgs: map[string]orgvault.Config{
		"org_a": {ID: "cfg_a", BaseURL: svc.Base(), Token: vault.NewSecret(vaulttest.Token)}}}
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(src, orgvault.Options{Policy: policy, TTL: time.Minute, Now: clock})
	ctx := context.Background()
	if _, err := v.Resolve(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute) // expired
	mu.Unlock()
	if _, err := v.Resolve(ctx, "org_a"); err != nil || src.calls.Load() != 2 {
		t.Fatalf("reload after expiry: %v, %d loads", err, src.calls.Load())
	}
	v.Invalidate("org_a")
	if _, err := v.Resolve(ctx, "org_a"); err != nil || src.calls.Load() != 3 {
		t.Fatalf("after an invalidation the reloaded client was still served: %v, %d loads", err, src.calls.Load())
	}
}
