package org_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
)

// stubVault is the ConfigVault seam: the address policy of a deployment
// allowing loopback, and a count of invalidations.
type stubVault struct {
	policy      netpolicy.AddressPolicy
	invalidated atomic.Int64
}

func (v *stubVault) Invalidate(string)               { v.invalidated.Add(1) }
func (v *stubVault) Policy() netpolicy.AddressPolicy { return v.policy }
func (v *stubVault) Env() *contract.Client           { return nil }
func (v *stubVault) ClientFor(orgvault.Config) (*contract.Client, error) {
	return nil, errors.New("not dialled in unit tests")
}

func newConfigs(t *testing.T) (*org.Configs, *org.Organizations, *stubVault) {
	t.Helper()
	st := storetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	p, err := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	v := &stubVault{policy: p}
	return org.NewConfigs(org.NewConfigSource(st, kr), v), org.NewOrganizations(st, 0), v
}

func TestMaskToken(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{
		"":                         "********",
		"short-token":              "********", // under 16: nothing shown
		"0123456789abcdef":         "********cdef",
		"a-much-longer-token-wxyz": "********wxyz",
	} {
		if got := org.MaskToken(vault.NewSecret(tok)); got != want {
			t.Errorf("MaskToken(%d chars) = %q, want %q", len(tok), got, want)
		}
	}
}

// TestSavedTokenRule: a masked or empty token keeps the saved one, but
// only for the exact saved URL; any other URL needs its own token; a
// masked token that is not the saved one's mask is refused.
func TestSavedTokenRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configs, orgs, v := newConfigs(t)
	c, err := orgs.Create(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	admin := org.Principal{OrganizationID: c.OrganizationID, KeyID: c.APIKeyID}
	const saved = "saved-token-0123456789"
	base := "http://127.0.0.1:8081/api/v1/credentials"

	if _, err := configs.Get(ctx, c.OrganizationID); !errors.Is(err, org.ErrNoConfiguration) || !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("Get before any save = %v, want ErrNoConfiguration (a kind of problem.ErrNotFound)", err)
	}
	if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: base}); !isInvalid(err, "config.api_token") {
		t.Fatalf("first save without a token = %v", err)
	}
	view, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: base + "/", APIToken: vault.NewSecret(saved)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(view.Token, saved) || !strings.Contains(view.Token, "********6789") || v.invalidated.Load() != 1 {
		t.Fatalf("saved view %q (invalidations %d)", view.Token, v.invalidated.Load())
	}
	mask := org.MaskToken(vault.NewSecret(saved))
	for _, tok := range []string{"", mask} {
		if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret(tok)}); err != nil {
			t.Fatalf("re-save with token %q for the saved URL: %v", tok, err)
		}
	}
	for _, other := range []string{"http://127.0.0.1:9999/steal", "http://127.0.0.1:8081/api/v1/credentials/x"} {
		for _, tok := range []string{"", mask} {
			if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: other, APIToken: vault.NewSecret(tok)}); !isInvalid(err, "config.api_token") {
				t.Fatalf("saved token reused for %s: %v", other, err)
			}
		}
	}
	if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret("********0000")}); !isInvalid(err, "config.api_token") {
		t.Fatalf("someone else's mask accepted: %v", err)
	}
	for _, bad := range []string{"line\nbreak-0123456789", "ctrl\x01-0123456789"} {
		if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret(bad)}); !isInvalid(err, "config.api_token") {
			t.Fatalf("token %q accepted: %v", bad, err)
		}
	}
	if _, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: "http://10.0.0.1/x", APIToken: vault.NewSecret(saved)}); !isInvalid(err, "config.api_base_url") {
		t.Fatalf("a private address accepted: %v", err)
	}
	if err := configs.Clear(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := configs.Get(ctx, c.OrganizationID); !errors.Is(err, org.ErrNoConfiguration) {
		t.Fatalf("Get after clear = %v", err)
	}
	// The save, the re-save with the URL typed without its slash (an
	// update of the same configuration), the clear: the unchanged re-save
	// with the mask wrote nothing.
	events, err := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{})
	if err != nil || len(events) != 3 {
		t.Fatalf("audit = %d events, %v, want 3", len(events), err)
	}
}

// TestAConfigurationIsItsService: saving a new token for a service already
// saved keeps the configuration's id (current or replaced), and reseals
// every configuration of that service; saving what is current writes
// nothing; only a service never saved gets a new id.
func TestAConfigurationIsItsService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configs, orgs, _ := newConfigs(t)
	c, err := orgs.Create(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	admin := org.Principal{OrganizationID: c.OrganizationID, KeyID: c.APIKeyID}
	a, b := "http://127.0.0.1:8081/api/v1/credentials", "http://127.0.0.1:8082/api/v1/credentials"
	save := func(url, tok string) org.ConfigView {
		t.Helper()
		v, err := configs.Save(ctx, admin, org.ServiceConfig{APIBaseURL: url, APIToken: vault.NewSecret(tok)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := save(a, "token-one-0123456789")
	for _, tok := range []string{"token-one-0123456789", "", org.MaskToken(vault.NewSecret("token-one-0123456789"))} {
		if v := save(a, tok); v.ID != first.ID || !v.ModifiedAt.Equal(first.ModifiedAt) {
			t.Fatalf("unchanged save (token %q) = %s modified %v, want %s unmodified", tok, v.ID, v.ModifiedAt, first.ID)
		}
	}
	if v := save(a, "token-two-0123456789"); v.ID != first.ID {
		t.Fatalf("a new token for the same service made configuration %s, want %s", v.ID, first.ID)
	}
	other := save(b, "token-b-0123456789ab")
	if other.ID == first.ID {
		t.Fatal("another service kept the first configuration's id")
	}
	// Back to the first service with a third token: its id again, valid,
	// and reading by id gives the third token.
	if v := save(a+"/", "token-three-0123456789"); v.ID != first.ID || !v.Valid {
		t.Fatalf("back to the first service = %+v, want id %s", v, first.ID)
	}
	// The configuration holds the third token (it alone proves it) and is
	// the current one.
	ids, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: a, APIToken: vault.NewSecret("token-three-0123456789")}})
	if err != nil || !ids[first.ID] || len(ids) != 1 {
		t.Fatalf("the third token proves %v %v, want only %s", ids, err, first.ID)
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: a, APIToken: vault.NewSecret("token-two-0123456789")}}); err == nil {
		t.Fatal("the replaced token still proves the configuration")
	}
	cur, err := configs.Get(ctx, c.OrganizationID)
	if err != nil || cur.ID != first.ID || !strings.Contains(cur.Token, `"api_base_url":"`+a+`/"`) {
		t.Fatalf("current = %+v %v", cur, err)
	}
	events, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{})
	actions := map[string]int{}
	for _, e := range events {
		actions[e.Action]++
	}
	if actions[org.ActionConfigSave] != 2 || actions[org.ActionConfigUpdate] != 2 {
		t.Fatalf("audit actions = %v, want 2 creates and 2 updates", actions)
	}
}

func TestAuthenticateAndRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, orgs, _ := newConfigs(t)
	c, _ := orgs.Create(ctx, "Acme")
	p, err := orgs.Authenticate(ctx, c.APIKey)
	if err != nil || p.OrganizationID != c.OrganizationID || p.KeyID != c.APIKeyID {
		t.Fatalf("Authenticate = %+v %v", p, err)
	}
	for _, bad := range []string{"", "cvk_unknown", c.APIKey + "x", strings.ToUpper(c.APIKey)} {
		if _, err := orgs.Authenticate(ctx, bad); !errors.Is(err, org.ErrUnauthorized) {
			t.Fatalf("Authenticate(%d chars) = %v", len(bad), err)
		}
	}
	if err := orgs.RevokeKey(ctx, c.OrganizationID, c.APIKeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Authenticate(ctx, c.APIKey); !errors.Is(err, org.ErrUnauthorized) {
		t.Fatalf("a revoked key authenticates: %v", err)
	}
	if err := orgs.RevokeKey(ctx, "org_other", c.APIKeyID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("revoking through another organization = %v, want problem.ErrNotFound", err)
	}
}

func isInvalid(err error, field string) bool {
	var inv *problem.InvalidError
	return errors.As(err, &inv) && inv.Field == field
}

// failingReplace is a ConfigStore whose write fails as an unreachable
// database does.
type failingReplace struct{ *sqlstore.Store }

func (failingReplace) SaveAuthToken(context.Context, store.AuthToken, []store.AuthToken, store.AuditEvent) error {
	return store.ErrUnavailable
}

// TestSaveWhenTheDatabaseFails: through the ConfigStore seam, a failed
// write is the caller's 503 kind of error, nothing is saved, and the cache
// is still invalidated.
func TestSaveWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	p, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := &stubVault{policy: p}
	configs := org.NewConfigs(org.NewConfigSource(failingReplace{st}, kr), v)
	c, _ := org.NewOrganizations(st, 0).Create(ctx, "Acme")
	_, err := configs.Save(ctx, org.Principal{OrganizationID: c.OrganizationID},
		org.ServiceConfig{APIBaseURL: "http://127.0.0.1:8081/x", APIToken: vault.NewSecret("saved-token-0123456789")})
	if !errors.Is(err, problem.ErrUnavailable) || v.invalidated.Load() != 1 {
		t.Fatalf("save over a failing database = %v (invalidations %d)", err, v.invalidated.Load())
	}
	if _, err := configs.Get(ctx, c.OrganizationID); !errors.Is(err, org.ErrNoConfiguration) {
		t.Fatalf("Get after the failed save = %v", err)
	}
}

// TestKeyCacheIsBounded: keys of more organizations than the cache holds
// evict the least recently used, and every key still authenticates.
func TestKeyCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, testdb.SQLite)
	orgs := org.NewOrganizations(st, 3)
	var keys []string
	for i := range 8 {
		c, err := orgs.Create(ctx, fmt.Sprint("Org ", i))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c.APIKey)
	}
	for range 2 {
		for _, k := range keys {
			if _, err := orgs.Authenticate(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := orgs.CachedKeys(); n != 3 {
		t.Fatalf("%d keys cached, want the size 3", n)
	}
}

// BenchmarkAuthenticateCached is what checking a known API key costs a
// request: a SHA-256 of the key and a cache hit, no query
// (docs/BENCHMARKS.md, "What credvault does that a proxy does not").
func BenchmarkAuthenticateCached(b *testing.B) {
	ctx := context.Background()
	orgs := org.NewOrganizations(storetest.Open(b, testdb.SQLite), 0)
	c, err := orgs.Create(ctx, "Acme")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := orgs.Authenticate(ctx, c.APIKey); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := orgs.Authenticate(ctx, c.APIKey); err != nil {
			b.Fatal(err)
		}
	}
}
