package org_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// TestOrganizationsKeysAndAudit: keys added, listed, revoked and refused;
// the list of organizations; the audit trail in pages; the key cache
// flushed.
func TestOrganizationsKeysAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	configs, orgs, _, st := realConfigs(t, nil)
	c, _ := orgs.Create(ctx, "Acme")
	added, err := orgs.AddKey(ctx, c.OrganizationID, org.KeyOptions{})
	key, keyID := added.APIKey, added.APIKeyID
	if err != nil || !strings.HasPrefix(key, "cvk_") {
		t.Fatalf("add key: %v", err)
	}
	if _, err := orgs.AddKey(ctx, "org_nope", org.KeyOptions{}); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("a key for an unknown organization: %v", err)
	}
	if p, err := orgs.Authenticate(ctx, key); err != nil || p.KeyID != keyID {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	keys, err := orgs.Keys(ctx, c.OrganizationID)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys: %d %v", len(keys), err)
	}
	if _, err := orgs.Keys(ctx, "org_nope"); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("keys of an unknown organization: %v", err)
	}
	if err := orgs.RevokeKey(ctx, c.OrganizationID, keyID); err != nil {
		t.Fatal(err)
	}
	orgs.FlushKeys()
	if _, err := orgs.Authenticate(ctx, key); !errors.Is(err, org.ErrUnauthorized) {
		t.Fatalf("a revoked key: %v", err)
	}
	if list, err := orgs.List(ctx); err != nil || len(list) != 1 || list[0].Name != "Acme" {
		t.Fatalf("list: %+v %v", list, err)
	}
	p := org.Principal{OrganizationID: c.OrganizationID, KeyID: c.APIKeyID}
	for i := range 3 { // three different tokens: three audited saves
		if _, err := configs.Save(ctx, p, org.ServiceConfig{APIBaseURL: "http://127.0.0.1:8081/api", APIToken: vault.NewSecret(fmt.Sprintf("token-%d-0123456789abcdef", i))}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := orgs.AuditPage(ctx, c.OrganizationID, 2, 2)
	if err != nil || len(page) != 1 {
		t.Fatalf("audit page 2: %d %v", len(page), err)
	}
	if _, err := orgs.AuditPage(ctx, c.OrganizationID, 0, 1000); err == nil {
		t.Fatal("an oversized audit page was accepted")
	}
	all, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{})
	if len(all) < 3 || all[0].ActorKeyID != c.APIKeyID || all[0].CreatedAt.Before(all[len(all)-1].CreatedAt) {
		t.Fatalf("audit, newest first: %+v", all)
	}
	if two, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{Limit: 2}); len(two) != 2 {
		t.Fatalf("audit --limit 2: %d", len(two))
	}
	if none, _ := orgs.Audit(ctx, c.OrganizationID, store.AuditFilter{Since: time.Now().Add(time.Hour)}); len(none) != 0 {
		t.Fatalf("audit since the future: %d", len(none))
	}
	if _, err := orgs.Audit(ctx, "org_nope", store.AuditFilter{}); !errors.Is(err, problem.ErrNotFound) || !strings.Contains(err.Error(), "org_nope") {
		t.Fatalf("audit of an unknown organization: %v", err)
	}
	set := org.SealedTokens(st)
	rows, err := set.Scan(ctx, "", 10)
	if err != nil || len(rows) != 1 { // one service: one configuration
		t.Fatalf("sealed configurations: %d %v", len(rows), err)
	}
	testdb.AssertAbsent(t, st, "0123456789abcdef")
}
