package vault_test

import (
	"reflect"
	"testing"

	"github.com/credvault/credvault/vault"
)

// TestEveryFieldIsInTheSchema: the `wire` tags are the one definition of
// the credential schema, so every field of the credential structs carries
// one; a field added without a tag fails here instead of silently never
// reaching the service.
func TestEveryFieldIsInTheSchema(t *testing.T) {
	t.Parallel()
	for _, typ := range []reflect.Type{reflect.TypeFor[vault.Password](), reflect.TypeFor[vault.CreditCard](),
		reflect.TypeFor[vault.SecretValue](), reflect.TypeFor[vault.BillingAddress]()} {
		for i := range typ.NumField() {
			if f := typ.Field(i); f.Tag.Get("wire") == "" {
				t.Errorf("%s.%s has no wire tag", typ.Name(), f.Name)
			}
		}
	}
	want := map[vault.Type][]string{
		vault.TypePassword:   {"username", "password", "totp", "totp_type", "totp_identifier", "metadata"},
		vault.TypeCreditCard: {"card_holder_name", "card_number", "card_exp_month", "card_exp_year", "card_cvv", "card_brand", "billing_address", "billing_email", "billing_phone", "metadata"},
		vault.TypeSecret:     {"secret_value", "secret_label"},
	}
	for typ, names := range want {
		var got []string
		for _, f := range vault.Fields(typ) {
			got = append(got, f.Name)
		}
		if !reflect.DeepEqual(got, names) {
			t.Errorf("%s fields = %v, want %v", typ, got, names)
		}
	}
	if len(vault.AddressFieldNames) != 8 {
		t.Errorf("address fields = %v", vault.AddressFieldNames)
	}
}
