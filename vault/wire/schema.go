package wire

import (
	"bytes"
	"encoding/json"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// The credential schema on the wire: for each type, its fields, which are
// secret and which required. The codecs (Decode's required fields, the
// strict decoding of API bodies) and the redactor (EchoedSecrets) read
// this one table; wireCredential is its Go shape.

type kind int

const (
	text     kind = iota // a JSON string (null: unset)
	address              // the billing address object
	metadata             // an object of strings
)

type field struct {
	name     string
	kind     kind
	secret   bool
	required bool
	// apiOnly fields are accepted from credvault's API but never sent to
	// a service (the TOTP identifier is credvault's own metadata).
	apiOnly bool
}

var schema = map[vault.Type][]field{
	vault.TypePassword: {
		{name: "username", required: true},
		{name: "password", secret: true, required: true},
		{name: "totp", secret: true},
		{name: "totp_type"},
		{name: "totp_identifier", apiOnly: true},
		{name: "metadata", kind: metadata, secret: true},
	},
	vault.TypeCreditCard: {
		{name: "card_holder_name", secret: true, required: true},
		{name: "card_number", secret: true, required: true},
		{name: "card_exp_month", secret: true, required: true},
		{name: "card_exp_year", secret: true, required: true},
		{name: "card_cvv", secret: true, required: true},
		{name: "card_brand"},
		{name: "billing_address", kind: address, secret: true},
		{name: "billing_email", secret: true},
		{name: "billing_phone", secret: true},
		{name: "metadata", kind: metadata, secret: true},
	},
	vault.TypeSecret: {
		{name: "secret_value", secret: true, required: true},
		{name: "secret_label"},
	},
}

// presentFields maps the text fields of w by wire name.
func presentFields(w wireCredential) map[string]wireString {
	return map[string]wireString{
		"username": w.Username, "password": w.Password, "totp": w.TOTP, "totp_type": w.TOTPType,
		"card_holder_name": w.CardHolderName, "card_number": w.CardNumber, "card_exp_month": w.CardExpMonth,
		"card_exp_year": w.CardExpYear, "card_cvv": w.CardCVV, "card_brand": w.CardBrand,
		"billing_email": w.BillingEmail, "billing_phone": w.BillingPhone,
		"secret_value": w.SecretValue, "secret_label": w.SecretLabel,
	}
}

// DecodeFields strictly decodes the fields object of a credential of type
// t as credvault's API receives it (the inner "credential" of Skyvern's
// create and update bodies): a JSON object with only t's fields, strings
// where the schema has text, objects for the billing address and
// metadata. Errors name the field under prefix ("credential"), never a
// value. Required fields are left to Credential.Validate.
func DecodeFields(t vault.Type, raw []byte, prefix string) (vault.Credential, error) {
	fs, ok := schema[t]
	if !ok {
		return vault.Credential{}, vault.InvalidType("credential_type")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return vault.Credential{}, problem.Invalid(prefix, "must be a JSON object")
	}
	known := map[string]field{}
	for _, f := range fs {
		known[f.name] = f
	}
	for name, v := range m {
		f, ok := known[name]
		if !ok {
			return vault.Credential{}, problem.Invalid(prefix, "unknown field %s", quoteName(name))
		}
		if err := checkKind(f, v, prefix+"."+name); err != nil {
			return vault.Credential{}, err
		}
	}
	var w wireCredential
	if err := json.Unmarshal(raw, &w); err != nil {
		return vault.Credential{}, problem.Invalid(prefix, "must be a JSON object")
	}
	w.Type = wireString(t)
	c := build(w, false)
	if t == vault.TypePassword {
		var id string
		if v := m["totp_identifier"]; len(v) > 0 {
			_ = json.Unmarshal(v, &id)
		}
		c.Password.TOTPIdentifier = id
	}
	return c, nil
}

// checkKind checks one value's JSON kind against its field.
func checkKind(f field, v json.RawMessage, path string) error {
	v = bytes.TrimSpace(v)
	if string(v) == "null" {
		return nil
	}
	switch f.kind {
	case text:
		if len(v) == 0 || v[0] != '"' {
			return problem.Invalid(path, "must be a JSON string")
		}
	case metadata:
		var m map[string]*string
		if err := json.Unmarshal(v, &m); err != nil {
			return problem.Invalid(path, "must be a JSON object of strings")
		}
	case address:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return problem.Invalid(path, "must be a JSON object")
		}
		for name, sub := range m {
			if !isAddressField(name) {
				return problem.Invalid(path, "unknown field %s", quoteName(name))
			}
			if err := checkKind(field{name: name}, sub, path+"."+name); err != nil {
				return err
			}
		}
	}
	return nil
}

func isAddressField(name string) bool {
	for _, n := range vault.AddressFieldNames {
		if n == name {
			return true
		}
	}
	return false
}

// quoteName quotes a client-chosen field name, cut to 64 characters.
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	b, _ := json.Marshal(name)
	return string(b)
}
