package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/wire"
)

func TestEchoedSecretsHarvestsStoredItem(t *testing.T) {
	t.Parallel()
	body := `{"detail":"{\"password\":\"hunter2-long\",\"metadata\":{\"k\":\"meta-secret\"}}","card_cvv":987}`
	got := strings.Join(wire.EchoedSecrets([]byte(body)), ",")
	for _, want := range []string{"hunter2-long", "meta-secret", "987"} {
		if !strings.Contains(got, want) {
			t.Errorf("echoedSecrets misses a value (%d found)", len(wire.EchoedSecrets([]byte(body))))
		}
	}
}

// TestDecodeFieldsIsStrictAndNamesTheField: the API's inner credential is
// decoded through the schema: only the type's fields, strings where text
// is due, errors naming credential.<field> and never a value.
func TestDecodeFieldsIsStrictAndNamesTheField(t *testing.T) {
	t.Parallel()
	ok := []struct {
		t    vault.Type
		body string
	}{
		{vault.TypePassword, `{"username":"u","password":"p","totp":null,"totp_type":"none","totp_identifier":"u@example.com","metadata":{"a":"b"}}`},
		{vault.TypeCreditCard, `{"card_holder_name":"A","card_number":"4242","card_exp_month":"1","card_exp_year":"30","card_cvv":"1","billing_address":{"line1":"x","city":null}}`},
		{vault.TypeSecret, `{"secret_value":"v","secret_label":"l"}`},
	}
	for _, tc := range ok {
		c, err := wire.DecodeFields(tc.t, []byte(tc.body), "credential")
		if err != nil || c.Type != tc.t {
			t.Fatalf("%s: %v", tc.t, err)
		}
	}
	c, _ := wire.DecodeFields(vault.TypePassword, []byte(ok[0].body), "credential")
	if c.Password.TOTPIdentifier != "u@example.com" || c.Password.Metadata["a"] != "b" || c.Password.Password.Reveal() != "p" {
		t.Fatalf("password decoded as %+v", c.Password)
	}
	bad := []struct {
		t          vault.Type
		body, want string
	}{
		{vault.TypePassword, `{"username":"u","password":"hunter2-secret","card_number":"1"}`, `credential: unknown field "card_number"`},
		{vault.TypePassword, `{"username":"u","password":123}`, "credential.password: must be a JSON string"},
		{vault.TypePassword, `{"username":"u","password":"p","metadata":{"k":1}}`, "credential.metadata: must be a JSON object of strings"},
		{vault.TypeCreditCard, `{"billing_address":{"line1":"x","zip":"hunter2-secret"}}`, `credential.billing_address: unknown field "zip"`},
		{vault.TypeCreditCard, `{"billing_address":{"line1":5}}`, "credential.billing_address.line1: must be a JSON string"},
		{vault.TypeSecret, `["hunter2-secret"]`, "credential: must be a JSON object"},
		{vault.TypeSecret, `{"type":"secret","secret_value":"v"}`, `credential: unknown field "type"`},
	}
	for _, tc := range bad {
		_, err := wire.DecodeFields(tc.t, []byte(tc.body), "credential")
		if err == nil || err.Error() != tc.want || !errors.Is(err, problem.ErrInvalid) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s %s: %v, want %q", tc.t, tc.body, err, tc.want)
		}
	}
}
