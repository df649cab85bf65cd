package credentials_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/vault"
)

// TestTOTPCodeAndMissingItems: an authenticator credential yields its
// current code; other credentials and bad seeds say why not; a row whose
// item reconcile found missing says so on read.
func TestTOTPCodeAndMissingItems(t *testing.T) {
	t.Parallel()
	svc, _, v := setup(t)
	ctx := t.Context()
	pw, err := svc.Create(ctx, "org_a", password("Bank", "JBSWY3DPEHPK3PXP"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.TOTPCode(ctx, "org_a", pw.CredentialID)
	if err != nil || len(code.Code) != 6 || code.SecondsRemaining < 1 || code.SecondsRemaining > 30 {
		t.Fatalf("code: %+v %v", code, err)
	}
	sec, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	if _, err := svc.TOTPCode(ctx, "org_a", sec.CredentialID); invalidField(err) != "credential" {
		t.Fatalf("a secret's code: %v", err)
	}
	if _, err := svc.TOTPCode(ctx, "org_a", "bad\x00id"); invalidField(err) != "credential_id" {
		t.Fatalf("a bad id: %v", err)
	}
	// The service now holds an unusable seed for it.
	v.mu.Lock()
	for ref, c := range v.items {
		if c.Password != nil {
			c.Password.TOTP = vault.NewSecret("!!")
			v.items[ref] = c
		}
	}
	v.mu.Unlock()
	if _, err := svc.TOTPCode(ctx, "org_a", pw.CredentialID); err == nil {
		t.Fatal("an unusable seed gave a code")
	}
	// The item disappears; reconcile --fix marks it; reads say so.
	v.mu.Lock()
	for ref := range v.items {
		delete(v.items, ref)
	}
	v.mu.Unlock()
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Fix: true, OrganizationID: "org_a"})
	if err != nil || len(rep.Dangling) != 2 || rep.Marked != 2 || rep.Clean() {
		t.Fatalf("reconcile --fix: %+v %v", rep, err)
	}
	_, err = svc.GetWithSecret(ctx, "org_a", pw.CredentialID)
	var missing *credentials.ItemMissingError
	if !errors.As(err, &missing) || !errors.Is(err, vault.ErrItemGone) || !strings.Contains(err.Error(), "reconcile") {
		t.Fatalf("read of a missing item: %v", err)
	}
	if view, _ := svc.Get(ctx, "org_a", pw.CredentialID); view.ItemMissingAt == nil {
		t.Fatal("the view does not show the item missing")
	}
	// An update with the secret stores it again and clears the mark.
	if _, err := svc.Update(ctx, "org_a", pw.CredentialID, password("Bank", "JBSWY3DPEHPK3PXP"), credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	if view, _ := svc.Get(ctx, "org_a", pw.CredentialID); view.ItemMissingAt != nil {
		t.Fatal("the mark survived the update")
	}
}
