package wire_test

import (
	"errors"
	"testing"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/wire"
)

// FuzzDecodeWire: any service answer decodes to a credential that
// re-encodes to the same fields, or to a *ContractError; never a panic.
func FuzzDecodeWire(f *testing.F) {
	for _, s := range []string{
		`{"type":"password","username":"u","password":"p","totp":"JBSWY3DPEHPK3PXP","totp_type":"authenticator","metadata":{"a":"b"}}`,
		`{"type":"credit_card","card_holder_name":"A","card_number":"4242424242424242","card_exp_month":12,"card_exp_year":"2030","card_cvv":"123","card_brand":"Visa","billing_address":{"line1":"x","country":null}}`,
		`{"type":"secret","secret_value":"v","secret_label":null}`,
		`{"type":"hunter2"}`, `{"type":1}`, `[]`, `null`, `"x"`, `{"type":"password","metadata":{"k":[1]}}`,
		"{\"type\":\"secret\",\"secret_value\":\"\x00\xff\"}", `{"type":"password","username":"u","password":"p","extra":{"deep":[1,2]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := wire.Decode(body)
		if err != nil {
			if !errors.Is(err, vault.ErrContractViolation) {
				t.Fatalf("error is not a contract violation: %v", err)
			}
			return
		}
		enc, err := wire.Encode(c)
		if err != nil {
			t.Fatalf("decoded credential does not encode: %v", err)
		}
		again, err := wire.Decode(enc)
		if err != nil || !wire.SameFields(again, c) {
			t.Fatalf("re-decoding changed the credential: %v", err)
		}
	})
}

// FuzzDecodeCreate: a create body a service receives is accepted and
// valid, or refused with a *problem.InvalidError; never a panic.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","type":"secret","secret_value":"v"}`,
		`{"name":"n","type":"password","username":"u","password":"p","totp_type":"none"}`,
		`{"name":"n","type":"credit_card","card_holder_name":"A","card_number":"4242424242424242","card_exp_month":"1","card_exp_year":"30","card_cvv":"123","card_brand":"V"}`,
		`{"type":"secret","bogus":1}`, `{"type":"password","metadata":{"k":1}}`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := wire.DecodeCreate(body)
		if err != nil {
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("error is not a validation error: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil && !errors.Is(err, problem.ErrInvalid) {
			t.Fatalf("Validate: %v", err)
		}
	})
}

// FuzzDecodeFields: any inner credential an API client sends decodes or
// is refused with an *InvalidError; never a panic.
func FuzzDecodeFields(f *testing.F) {
	for _, s := range []string{
		`{"username":"u","password":"p","totp_identifier":"x","metadata":{"a":"b"}}`,
		`{"card_holder_name":"A","billing_address":{"line1":"x","city":null}}`, `{"secret_value":"v"}`,
		`{"billing_address":{"zip":1}}`, `{"metadata":{"k":1}}`, `[]`, `null`, `{`, "{\"password\":\"\xff\"}",
	} {
		f.Add(s, "password")
		f.Add(s, "credit_card")
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, body, typ string) {
		_, err := wire.DecodeFields(vault.Type(typ), []byte(body), "credential")
		if err != nil && !errors.Is(err, problem.ErrInvalid) {
			t.Fatalf("error is not a validation error: %v", err)
		}
	})
}
