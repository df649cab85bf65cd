package credentials_test

import (
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/store"
)

// TestCacheInvalidationAndActor: a row served from the hot cache is
// dropped by Invalidate and Flush; the acting key lands in the audit
// trail; the outbox counts its attempts.
func TestCacheInvalidationAndActor(t *testing.T) {
	t.Parallel()
	svc, st, _ := setup(t)
	ctx := store.WithActor(t.Context(), store.Actor{KeyID: "key_org_a", Role: "admin", RequestID: "req-1"})
	v, err := svc.Create(ctx, "org_a", secret("cached", "v"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetWithSecret(ctx, "org_a", v.CredentialID); err != nil {
		t.Fatal(err)
	}
	exec(t, st, "UPDATE credentials SET name = 'changed behind its back'")
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "cached" {
		t.Fatalf("the hot read did not come from the cache: %q", got.View.Name)
	}
	svc.Invalidate("org_a/" + v.CredentialID)
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "changed behind its back" {
		t.Fatalf("after Invalidate: %q", got.View.Name)
	}
	exec(t, st, "UPDATE credentials SET name = 'again'")
	svc.Flush()
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "again" {
		t.Fatalf("after Flush: %q", got.View.Name)
	}
	events, _ := st.ListAuditEvents(ctx, "org_a")
	if len(events) == 0 || events[0].ActorKeyID != "key_org_a" {
		t.Fatalf("audit: %+v", events)
	}
	before := svc.Outbox().Attempts()
	if err := svc.Delete(ctx, "org_a", v.CredentialID); err != nil {
		t.Fatal(err)
	}
	if svc.Outbox().Attempts() != before+1 {
		t.Fatal("the delete's attempt was not counted")
	}
}
