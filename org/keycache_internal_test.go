package org

import (
	"context"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store/storetest"
)

// The key cache's map is keyed by 8 bytes of a key's hash: a key whose
// slot holds another key (the same 8 bytes) is looked up, never served
// the other key's organization.
func TestKeysSharingASlotAreToldApart(t *testing.T) {
	ctx := context.Background()
	orgs := NewOrganizations(storetest.Open(t, testdb.SQLite), 0)
	a, err := orgs.Create(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := orgs.Create(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Authenticate(ctx, a.APIKey); err != nil {
		t.Fatal(err)
	}
	held, _, ok := orgs.keys.GetAge(slot(HashAPIKey(a.APIKey)))
	if !ok {
		t.Fatal("a's key was not cached")
	}
	orgs.keys.Add(slot(HashAPIKey(b.APIKey)), held, time.Hour) // a's key in b's slot
	p, err := orgs.Authenticate(ctx, b.APIKey)
	if err != nil || p.OrganizationID != b.OrganizationID {
		t.Fatalf("b's key in a slot holding a's: %+v %v", p, err)
	}
	if p, err := orgs.Authenticate(ctx, a.APIKey); err != nil || p.OrganizationID != a.OrganizationID || p.Role != RoleAdmin {
		t.Fatalf("a's key: %+v %v", p, err)
	}
}
