package org_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
)

const svcToken = "svc-token-0123456789abcdef"

// realConfigs are Configs over a real organization-configured vault that
// allows loopback, with an env-configured service when env is set.
func realConfigs(t *testing.T, env *fakeservice.Service) (*org.Configs, *org.Organizations, *org.ConfigSource, *sqlstore.Store) {
	t.Helper()
	st := storetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	p, err := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	src := org.NewConfigSource(st, kr)
	opts := orgvault.Options{Policy: p}
	if env != nil {
		ev, err := envvault.New(env.Base(), vault.NewSecret(svcToken), envvault.Options{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Env = ev
	}
	return org.NewConfigs(src, orgvault.New(src, opts)), org.NewOrganizations(st, 0), src, st
}

// TestStatusAndConnectionTests: which service an organization uses (none,
// the operator's, its own), and connection tests of each: a probe, a
// round trip, a rejected token, a refused address.
func TestStatusAndConnectionTests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := fakeservice.New(t, svcToken)
	configs, orgs, src, _ := realConfigs(t, env)
	c, _ := orgs.Create(ctx, "Acme")
	p := org.Principal{OrganizationID: c.OrganizationID, KeyID: c.APIKeyID}
	st, err := configs.Status(ctx, c.OrganizationID)
	if err != nil || st.Source != org.SourceEnvironment || *st.APIBaseURL != env.Base() || st.APIToken != nil {
		t.Fatalf("status with the operator's service: %+v %v", st, err)
	}
	if res, err := configs.TestConnection(ctx, c.OrganizationID, nil, true); err != nil || !res.Success || len(res.Steps) == 0 {
		t.Fatalf("testing the operator's service: %+v %v", res, err)
	}
	own := fakeservice.New(t, svcToken)
	saved, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: own.Base(), APIToken: vault.NewSecret(svcToken)})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = configs.Status(ctx, c.OrganizationID)
	if st.Source != org.SourceOrganization || *st.ConfigurationID != saved.ID || !strings.HasPrefix(*st.APIToken, "********") {
		t.Fatalf("status with its own: %+v", st)
	}
	if res, err := configs.TestConnection(ctx, c.OrganizationID, nil, false); err != nil || !res.Success || res.StatusCode == 0 {
		t.Fatalf("probe of the saved configuration: %+v %v", res, err)
	}
	bad := org.ServiceConfig{APIBaseURL: own.Base(), APIToken: vault.NewSecret("wrong-token-0123456789")}
	if res, err := configs.TestConnection(ctx, c.OrganizationID, &bad, false); err != nil || res.Success || !strings.Contains(res.Detail, "rejected") {
		t.Fatalf("a wrong token: %+v %v", res, err)
	}
	own.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete {
			w.WriteHeader(500)
			return true
		}
		return false
	}
	if res, err := configs.TestConnection(ctx, c.OrganizationID, nil, true); err != nil || res.Success || !strings.Contains(res.Detail, "Round trip failed") {
		t.Fatalf("a round trip whose delete fails: %+v %v", res, err)
	}
	private := org.ServiceConfig{APIBaseURL: "http://10.0.0.1/api", APIToken: vault.NewSecret(svcToken)}
	if _, err := configs.TestConnection(ctx, c.OrganizationID, &private, false); err == nil {
		t.Fatal("a private address was tested")
	}
	got, err := src.ConfigByID(ctx, c.OrganizationID, saved.ID)
	if err != nil || got.BaseURL != own.Base() || got.Token.Reveal() != svcToken {
		t.Fatalf("config by id: %+v %v", got.BaseURL, err)
	}
	if _, err := src.ConfigByID(ctx, "org_other", saved.ID); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("another organization's configuration: %v", err)
	}
	if err := configs.Clear(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := configs.Get(ctx, c.OrganizationID); !errors.Is(err, org.ErrNoConfiguration) {
		t.Fatalf("after clear: %v", err)
	}
	if _, err := src.ConfigByID(ctx, c.OrganizationID, saved.ID); err != nil {
		t.Fatalf("a cleared configuration still reads its items: %v", err)
	}
}

// TestProveSources: a source is proven only by the URL and the full token
// a configuration of the organization was saved with.
func TestProveSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := fakeservice.New(t, svcToken)
	configs, orgs, _, _ := realConfigs(t, env)
	c, _ := orgs.Create(ctx, "Acme")
	other, _ := orgs.Create(ctx, "Other")
	p := org.Principal{OrganizationID: c.OrganizationID}
	base := "http://127.0.0.1:8081/api/v1/credentials"
	first, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret("first-token-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: "http://127.0.0.1:8082/api", APIToken: vault.NewSecret("second-token-0123456789")}); err != nil {
		t.Fatal(err)
	}
	ids, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: base + "/", APIToken: vault.NewSecret("first-token-0123456789")}})
	if err != nil || !ids[first.ID] || len(ids) != 1 {
		t.Fatalf("a proven replaced configuration: %v %v", ids, err)
	}
	forbidden := func(err error, field string) bool {
		var f *problem.ForbiddenError
		return errors.As(err, &f) && f.Field == field
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: base, APIToken: vault.NewSecret("first-token-0123456780")}}); !forbidden(err, "sources[0]") {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := configs.ProveSources(ctx, other.OrganizationID, []org.SourceProof{{APIBaseURL: base, APIToken: vault.NewSecret("first-token-0123456789")}}); !forbidden(err, "sources[0]") {
		t.Fatalf("another organization's configuration: %v", err)
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: env.Base(), APIToken: vault.NewSecret(svcToken)}}); !forbidden(err, "sources[0]") || !strings.Contains(err.Error(), "credvault credentials migrate") {
		t.Fatalf("the operator's service: %v", err)
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: base, APIToken: vault.NewSecret("********6789")}}); invalidField(err) != "sources[0].api_token" {
		t.Fatalf("a masked token: %v", err)
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, []org.SourceProof{{APIBaseURL: "ftp://x", APIToken: vault.NewSecret("t")}}); invalidField(err) != "sources[0].api_base_url" {
		t.Fatalf("a bad URL: %v", err)
	}
	if _, err := configs.ProveSources(ctx, c.OrganizationID, make([]org.SourceProof, 17)); invalidField(err) != "sources" {
		t.Fatalf("too many sources: %v", err)
	}
}

func invalidField(err error) string {
	var inv *problem.InvalidError
	if errors.As(err, &inv) {
		return inv.Field
	}
	return ""
}

// TestBaseURLKeptAsTyped: a trailing slash is stored and shown as typed;
// the URL is normalised only to compare it (a masked token reused for the
// same URL with or without the slash) and to build item URLs.
func TestBaseURLKeptAsTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configs, orgs, src, _ := realConfigs(t, nil)
	svc := fakeservice.New(t, svcToken)
	c, _ := orgs.Create(ctx, "Acme")
	p := org.Principal{OrganizationID: c.OrganizationID}
	typed := svc.Base() + "/"
	if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: typed, APIToken: vault.NewSecret(svcToken)}); err != nil {
		t.Fatal(err)
	}
	st, _ := configs.Status(ctx, c.OrganizationID)
	if *st.APIBaseURL != typed {
		t.Fatalf("shown %q, want %q as typed", *st.APIBaseURL, typed)
	}
	masked := *st.APIToken
	if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: svc.Base(), APIToken: vault.NewSecret(masked)}); err != nil {
		t.Fatalf("re-saving the same URL without the slash, masked token: %v", err)
	}
	if res, err := configs.TestConnection(ctx, c.OrganizationID, nil, true); err != nil || !res.Success {
		t.Fatalf("items of a URL typed with a slash: %+v %v", res, err)
	}
	cfg, _ := src.ActiveConfig(ctx, c.OrganizationID)
	if cfg.BaseURL != svc.Base() {
		t.Fatalf("stored %q after saving it without the slash", cfg.BaseURL)
	}
}
