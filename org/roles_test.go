package org_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testpki"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
)

func TestRolesOrderAndSpell(t *testing.T) {
	for _, c := range []struct {
		r, need org.Role
		ok      bool
	}{
		{org.RoleAdmin, org.RoleAgent, true}, {org.RoleAdmin, org.RoleAdmin, true}, {org.RoleMember, org.RoleAdmin, false},
		{org.RoleMember, org.RoleMember, true}, {org.RoleAgent, org.RoleMember, false}, {org.Role(0), org.RoleAgent, false},
		{org.RoleAdmin, org.Role(0), false},
	} {
		if got := c.r.Allows(c.need); got != c.ok {
			t.Errorf("%s allows %s = %v", c.r, c.need, got)
		}
	}
	b, _ := json.Marshal(map[string]org.Role{"r": org.RoleMember})
	if string(b) != `{"r":"member"}` {
		t.Fatalf("json: %s", b)
	}
	var v struct{ R org.Role }
	if err := json.Unmarshal([]byte(`{"R":"agent"}`), &v); err != nil || v.R != org.RoleAgent {
		t.Fatalf("unmarshal: %v %v", v.R, err)
	}
	if err := json.Unmarshal([]byte(`{"R":"owner"}`), &v); err == nil {
		t.Fatal("an unknown role unmarshalled")
	}
	if _, err := org.ParseRole(strings.Repeat("x", 100)); err == nil || len(err.Error()) > 120 {
		t.Fatalf("a long role: %v", err)
	}
}

// Keys carry their role, name and expiry; an expired key is refused
// saying so, from the cache too; denials are audited with the role.
func TestKeysCarryRolesAndExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, orgs, _, st := realConfigs(t, nil)
	c, _ := orgs.Create(ctx, "Acme")
	for _, bad := range []org.KeyOptions{{Role: org.Role(9)}, {Name: strings.Repeat("n", 201)}, {Name: "a\x00b"}, {Name: "two\nlines"}, {Expires: -time.Second},
		{Expires: org.MaxKeyLifetime + time.Hour}} {
		var inv *problem.InvalidError
		if _, err := orgs.AddKey(ctx, c.OrganizationID, bad); !errors.As(err, &inv) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	k, err := orgs.AddKey(ctx, c.OrganizationID, org.KeyOptions{Role: org.RoleAgent, Name: " run ", Expires: 300 * time.Millisecond})
	if err != nil || k.Role != org.RoleAgent || k.Name != "run" || k.ExpiresAt == nil {
		t.Fatalf("add: %+v %v", k, err)
	}
	p, err := orgs.Authenticate(ctx, k.APIKey)
	if err != nil || p.Role != org.RoleAgent {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := orgs.Authenticate(ctx, k.APIKey) // cached, then expired
		if errors.Is(err, org.ErrKeyExpired) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key did not expire: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
	orgs.FlushKeys()
	if _, err := orgs.Authenticate(ctx, k.APIKey); !errors.Is(err, org.ErrKeyExpired) {
		t.Fatalf("an expired key from the store: %v", err)
	}
	keys, _ := orgs.Keys(ctx, c.OrganizationID)
	for _, kv := range keys {
		if kv.APIKeyID == k.APIKeyID && (kv.Active(time.Now()) || kv.Role != org.RoleAgent) {
			t.Fatalf("listed: %+v", kv)
		}
	}
	orgs.RecordDenial(store.WithActor(ctx, store.Actor{KeyID: p.KeyID, Role: "agent", RequestID: "r1"}), p, "POST /credentials")
	orgs.RecordDenial(ctx, org.Principal{OrganizationID: c.OrganizationID, KeyID: "key_x", Role: org.RoleMember}, "DELETE /keys/:key_id")
	es, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{Action: org.ActionDenied})
	if len(es) != 2 || es[1].ActorRole != "agent" || es[1].RequestID != "r1" || es[0].ActorRole != "member" || es[0].RequestID != "" {
		t.Fatalf("denials: %+v", es)
	}
	if es, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{ActorKeyID: "key_x", Limit: 5}); len(es) != 1 {
		t.Fatalf("by key: %+v", es)
	}
	_ = st
}

// A configuration's TLS options are checked, sealed, shown without a PEM
// and warned about near their expiry; a re-save without them keeps them
// for the same URL.
func TestConfigurationsCarryTheirTrust(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configs, orgs, src, _ := realConfigs(t, nil)
	c, _ := orgs.Create(ctx, "Acme")
	p := org.Principal{OrganizationID: c.OrganizationID, KeyID: c.APIKeyID, Role: org.RoleAdmin}
	ca := testpki.NewCA(t, "Acme CA")
	client := ca.Client(t, "credvault", 5*24*time.Hour)
	trust := netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}
	in := org.ServiceConfig{APIBaseURL: "https://127.0.0.1:9/api", APIToken: vault.NewSecret("tok-0123456789abcdef"), TLS: trust}
	if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: in.APIBaseURL, APIToken: in.APIToken,
		TLS: netpolicy.TLSOptions{CABundle: strings.Repeat("x", 300<<10)}}); err == nil {
		t.Fatal("a 300 KiB bundle accepted")
	}
	v, err := configs.Save(ctx, p, in)
	if err != nil || v.TLS == nil || v.TLS.ClientCertificate == nil || v.TLS.ClientCertificate.Subject != "CN=credvault" ||
		len(v.TLS.Warnings) == 0 || !strings.Contains(strings.Join(v.TLS.Warnings, " "), "client certificate expires in 4 days") {
		t.Fatalf("save: %+v %v", v.TLS, err)
	}
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), "PRIVATE KEY") || strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Fatalf("the view shows a PEM: %s", b)
	}
	// The token (masked) and the trust are kept for the same URL.
	again, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: in.APIBaseURL, APIToken: vault.NewSecret(org.MaskToken(in.APIToken))})
	if err != nil || again.ID != v.ID {
		t.Fatalf("a re-save keeping the token and trust: %+v %v", again, err)
	}
	// Other roots with the masked token: the saved token is not sent to a
	// service verified another way.
	other := testpki.NewCA(t, "Someone else's CA")
	var inv *problem.InvalidError
	if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: in.APIBaseURL, APIToken: vault.NewSecret(org.MaskToken(in.APIToken)),
		TLS: netpolicy.TLSOptions{CABundle: other.CertPEM}}); !errors.As(err, &inv) || inv.Field != "config.api_token" {
		t.Fatalf("the saved token under other roots: %v", err)
	}
	// A new token for the same URL, without TLS options (the settings page
	// has no field for them): the trust stays.
	rotated, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: in.APIBaseURL, APIToken: vault.NewSecret("tok-rotated-0123456789")})
	if err != nil || rotated.ID != v.ID || rotated.TLS == nil || rotated.TLS.ClientCertificate == nil {
		t.Fatalf("a token rotation without the TLS options: %+v %v", rotated.TLS, err)
	}
	in.APIToken = vault.NewSecret("tok-rotated-0123456789")
	saved, err := src.ActiveConfig(ctx, c.OrganizationID)
	if err != nil || saved.TLS != trust {
		t.Fatalf("the sealed trust: %v", err)
	}
	got, err := configs.Get(ctx, c.OrganizationID)
	if err != nil || got.TLS == nil || len(got.TLS.CABundle) != 1 {
		t.Fatalf("get: %+v %v", got.TLS, err)
	}
}
