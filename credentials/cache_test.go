package credentials

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credvault/credvault/store"
)

// TestRowCacheIsBounded: rows of many organizations never grow the cache
// nor its per-organization index past the size, a drop of "*" forgets an
// organization's rows, and a load that raced a change is not cached.
func TestRowCacheIsBounded(t *testing.T) {
	c := newRowCache(time.Hour, 10)
	loads := 0
	load := func(_ context.Context, org, id string) (store.Credential, error) {
		loads++
		return store.Credential{ID: id, OrganizationID: org}, nil
	}
	ctx := context.Background()
	for i := range 1000 {
		for j := range 2 {
			if _, err := c.get(ctx, fmt.Sprint("org_", i), fmt.Sprint("cred_", j), load); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.cache.Len() != 10 || len(c.orgs) != 5 {
		t.Fatalf("%d rows of %d organizations cached, want 10 of 5", c.cache.Len(), len(c.orgs))
	}
	loads = 0
	_, _ = c.get(ctx, "org_999", "cred_1", load)
	if loads != 0 {
		t.Fatal("the most recent row was not cached")
	}
	c.drop("org_999", "*")
	if _, ok := c.orgs["org_999"]; ok || c.cache.Len() != 8 {
		t.Fatalf("after drop *: %d rows, org kept %v", c.cache.Len(), ok)
	}
	// Drops of organizations with nothing cached leave no trace.
	for i := range 100 {
		c.drop(fmt.Sprint("other_", i), "x")
	}
	if len(c.orgs) != 4 {
		t.Fatalf("%d organizations indexed, want 4", len(c.orgs))
	}
	// A change while a row is read: the row read is not cached.
	racing := func(ctx context.Context, org, id string) (store.Credential, error) {
		c.drop(org, id)
		return load(ctx, org, id)
	}
	_, _ = c.get(ctx, "org_race", "cred", racing)
	loads = 0
	_, _ = c.get(ctx, "org_race", "cred", load)
	if loads != 1 {
		t.Fatal("a row read while it changed was cached")
	}
	// A failed load caches nothing and leaves no index entry.
	fail := func(context.Context, string, string) (store.Credential, error) {
		return store.Credential{}, errors.New("down")
	}
	if _, err := c.get(ctx, "org_fail", "x", fail); err == nil {
		t.Fatal("a failed load succeeded")
	}
	if _, ok := c.orgs["org_fail"]; ok {
		t.Fatal("a failed load left its organization indexed")
	}
}

// TestRowCacheConcurrentLoadsOfOneRow: two loads of one row that both
// store it leave it indexed, so a change still drops it.
func TestRowCacheConcurrentLoadsOfOneRow(t *testing.T) {
	c := newRowCache(time.Hour, 10)
	ctx := context.Background()
	loads := 0
	var load func(context.Context, string, string) (store.Credential, error)
	load = func(ctx context.Context, org, id string) (store.Credential, error) {
		loads++
		if loads == 1 { // another reader loads and stores the row meanwhile
			if _, err := c.get(ctx, org, id, load); err != nil {
				return store.Credential{}, err
			}
		}
		return store.Credential{ID: id, OrganizationID: org, Name: "v1"}, nil
	}
	if _, err := c.get(ctx, "org", "cred", load); err != nil {
		t.Fatal(err)
	}
	c.drop("org", "cred")
	loads = 10
	if _, err := c.get(ctx, "org", "cred", load); err != nil || loads != 11 {
		t.Fatalf("the row was served from the cache after a change (%d loads)", loads-10)
	}
}
