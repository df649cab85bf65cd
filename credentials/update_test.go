package credentials_test

import (
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/vault"
)

// TestUpdateKeepsCardFields: a card update that leaves out metadata,
// billing email and address sub-fields keeps them from the stored item.
func TestUpdateKeepsCardFields(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	card := vault.Credential{Name: "Card", Type: vault.TypeCreditCard, CreditCard: &vault.CreditCard{
		CardHolderName: vault.NewSecret("Alice"), CardNumber: vault.NewSecret("4242424242424242"), ExpMonth: vault.NewSecret("12"),
		ExpYear: vault.NewSecret("2031"), CVV: vault.NewSecret("123"), Brand: "Visa", BillingEmail: vault.NewSecret("b@example.com"),
		BillingAddress: &vault.BillingAddress{Line1: vault.NewSecret("1 Main St"), City: vault.NewSecret("Springfield")},
		Metadata:       vault.Metadata{"cost": "42"}}}
	v, err := svc.Create(ctx, "org_a", card, credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	upd := card
	cc := *card.CreditCard
	cc.CVV, cc.Metadata, cc.BillingEmail = vault.NewSecret("999"), nil, vault.Secret{}
	cc.BillingAddress = &vault.BillingAddress{Line1: vault.NewSecret("2 High St")}
	upd.CreditCard = &cc
	keep := credentials.Keep{Metadata: true, BillingEmail: true, AddressFields: []string{"city"}}
	if _, err := svc.Update(ctx, "org_a", v.CredentialID, upd, keep, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID)
	c := got.Credential.CreditCard
	if c.CVV.Reveal() != "999" || c.Metadata["cost"] != "42" || c.BillingEmail.Reveal() != "b@example.com" ||
		c.BillingAddress.Line1.Reveal() != "2 High St" || c.BillingAddress.City.Reveal() != "Springfield" {
		t.Fatal("the update did not keep what the form left out")
	}
}
