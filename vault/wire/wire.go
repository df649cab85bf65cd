// Package wire is the JSON of the custom credential service contract: the
// one place that knows the shape of a credential on the wire (create body,
// GET answer), how to compare two credentials field by field without
// showing a value, which wire fields hold secrets, and the contract's
// idempotency headers. Both sides use it: credvault's client and the
// reference credential-service.
package wire

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// Idempotency headers: credvault sends IdempotencyKeyHeader on every
// create; a service that honours it answers with IdempotentReplayedHeader
// ("true" when the key was seen before and no new item was stored).
const (
	IdempotencyKeyHeader     = "Idempotency-Key"
	IdempotentReplayedHeader = "Idempotent-Replayed"
)

// SameFields reports whether c and o carry the same type and field values
// (metadata included). The name is not compared: the contract's GET answer
// need not carry it.
func SameFields(c, o vault.Credential) bool {
	a, err1 := encode(c, false)
	b, err2 := encode(o, false)
	return err1 == nil && err2 == nil && subtle.ConstantTimeCompare(a, b) == 1
}

// wireString decodes a JSON string, number or null (as ""), so services
// that send expiry months as numbers, or null for unset optionals, are
// accepted.
type wireString string

func (w *wireString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*w = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*w = wireString(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*w = wireString(b)
	default:
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	return nil
}

type wireAddress struct {
	Line1       wireString `json:"line1,omitempty"`
	Line2       wireString `json:"line2,omitempty"`
	City        wireString `json:"city,omitempty"`
	State       wireString `json:"state,omitempty"`
	StateCode   wireString `json:"state_code,omitempty"`
	PostalCode  wireString `json:"postal_code,omitempty"`
	Country     wireString `json:"country,omitempty"`
	CountryCode wireString `json:"country_code,omitempty"`
}

// wireCredential is the JSON shape exchanged with a custom credential
// service (the custom credential service contract). Unset optionals are left out.
type wireCredential struct {
	Name           wireString            `json:"name,omitempty"`
	Type           wireString            `json:"type"`
	Username       wireString            `json:"username,omitempty"`
	Password       wireString            `json:"password,omitempty"`
	TOTP           wireString            `json:"totp,omitempty"`
	TOTPType       wireString            `json:"totp_type,omitempty"`
	CardHolderName wireString            `json:"card_holder_name,omitempty"`
	CardNumber     wireString            `json:"card_number,omitempty"`
	CardExpMonth   wireString            `json:"card_exp_month,omitempty"`
	CardExpYear    wireString            `json:"card_exp_year,omitempty"`
	CardCVV        wireString            `json:"card_cvv,omitempty"`
	CardBrand      wireString            `json:"card_brand,omitempty"`
	BillingAddress *wireAddress          `json:"billing_address,omitempty"`
	BillingEmail   wireString            `json:"billing_email,omitempty"`
	BillingPhone   wireString            `json:"billing_phone,omitempty"`
	SecretValue    wireString            `json:"secret_value,omitempty"`
	SecretLabel    wireString            `json:"secret_label,omitempty"`
	Metadata       map[string]wireString `json:"metadata,omitempty"`
}

func r(s vault.Secret) wireString { return wireString(s.Reveal()) }

func wireMetadata(m vault.Metadata) map[string]wireString {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]wireString, len(m))
	for k, v := range m {
		out[k] = wireString(v)
	}
	return out
}

// Encode returns the JSON body that creates c in a custom credential
// service: {"name", "type", ...fields}. It reveals secrets: the result must
// only be written to the service.
func Encode(c vault.Credential) ([]byte, error) { return encode(c, true) }

func encode(c vault.Credential, withName bool) ([]byte, error) {
	w := wireCredential{Type: wireString(c.Type)}
	if withName {
		w.Name = wireString(c.Name)
	}
	switch {
	case c.Type == vault.TypePassword && c.Password != nil:
		p := c.Password
		w.Username, w.Password, w.TOTP = wireString(p.Username), r(p.Password), r(p.TOTP)
		w.TOTPType = wireString(p.TOTPType)
		if w.TOTPType == "" {
			w.TOTPType = wireString(vault.TOTPNone)
		}
		w.Metadata = wireMetadata(p.Metadata)
	case c.Type == vault.TypeCreditCard && c.CreditCard != nil:
		cc := c.CreditCard
		w.CardHolderName, w.CardNumber, w.CardExpMonth = r(cc.CardHolderName), r(cc.CardNumber), r(cc.ExpMonth)
		w.CardExpYear, w.CardCVV, w.CardBrand = r(cc.ExpYear), r(cc.CVV), wireString(cc.Brand)
		w.BillingEmail, w.BillingPhone = r(cc.BillingEmail), r(cc.BillingPhone)
		if a := cc.BillingAddress; !a.IsZero() {
			w.BillingAddress = &wireAddress{r(a.Line1), r(a.Line2), r(a.City), r(a.State), r(a.StateCode),
				r(a.PostalCode), r(a.Country), r(a.CountryCode)}
		}
		w.Metadata = wireMetadata(cc.Metadata)
	case c.Type == vault.TypeSecret && c.Secret != nil:
		w.SecretValue, w.SecretLabel = r(c.Secret.Value), wireString(c.Secret.Label)
	default:
		return nil, vault.InvalidType("credential_type")
	}
	return json.Marshal(w)
}

// Decode parses a custom credential service's GET answer. Extra fields
// and null optionals are accepted; a non-JSON body, an unknown type or a
// missing required field is a *ContractError that names the problem and
// never a value.
func Decode(body []byte) (vault.Credential, error) {
	var w wireCredential
	if err := json.Unmarshal(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return vault.Credential{}, &vault.ContractError{Op: "get", Problem: fmt.Sprintf("field %q has the wrong JSON type", fieldName(te.Field))}
		}
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: "the answer is not a JSON object"}
	}
	t := vault.Type(w.Type)
	switch _, known := schema[t]; {
	case t == "":
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `required field "type" is missing`}
	case !known:
		// The value is not shown: a hostile service could put a secret there.
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `field "type" is not one of password, credit_card, secret`}
	}
	present := presentFields(w)
	for _, f := range schema[t] {
		if f.required && present[f.name] == "" {
			return vault.Credential{}, &vault.ContractError{Op: "get", Problem: fmt.Sprintf("required field %q is missing from the %s credential", f.name, t)}
		}
	}
	return build(w, true), nil
}

// build makes the credential w describes (its type known). From a
// service, an absent totp_type is none and an empty billing address none;
// from the API both are kept as sent, for validation to judge.
func build(w wireCredential, fromService bool) vault.Credential {
	c := vault.Credential{Name: string(w.Name), Type: vault.Type(w.Type)}
	s := func(w wireString) vault.Secret { return vault.NewSecret(string(w)) }
	meta := func() vault.Metadata {
		if len(w.Metadata) == 0 {
			return nil
		}
		m := make(vault.Metadata, len(w.Metadata))
		for k, v := range w.Metadata {
			m[k] = string(v)
		}
		return m
	}
	switch c.Type {
	case vault.TypePassword:
		tt := vault.TOTPType(w.TOTPType)
		if tt == "" && fromService {
			tt = vault.TOTPNone
		}
		c.Password = &vault.Password{Username: string(w.Username), Password: s(w.Password), TOTP: s(w.TOTP), TOTPType: tt, Metadata: meta()}
	case vault.TypeCreditCard:
		cc := &vault.CreditCard{CardHolderName: s(w.CardHolderName), CardNumber: s(w.CardNumber), ExpMonth: s(w.CardExpMonth),
			ExpYear: s(w.CardExpYear), CVV: s(w.CardCVV), Brand: string(w.CardBrand), BillingEmail: s(w.BillingEmail),
			BillingPhone: s(w.BillingPhone), Metadata: meta()}
		if a := w.BillingAddress; a != nil {
			cc.BillingAddress = &vault.BillingAddress{Line1: s(a.Line1), Line2: s(a.Line2), City: s(a.City), State: s(a.State),
				StateCode: s(a.StateCode), PostalCode: s(a.PostalCode), Country: s(a.Country), CountryCode: s(a.CountryCode)}
			if fromService && cc.BillingAddress.IsZero() {
				cc.BillingAddress = nil
			}
		}
		c.CreditCard = cc
	case vault.TypeSecret:
		c.Secret = &vault.SecretValue{Value: s(w.SecretValue), Label: string(w.SecretLabel)}
	}
	return c
}

// fieldName is a decoder's field path safe to show: the path inside a
// metadata object is the service's (or user's) own key, so it stops at
// "metadata".
func fieldName(path string) string {
	if path == "metadata" || strings.HasPrefix(path, "metadata.") {
		return "metadata"
	}
	if len(path) > 64 {
		return "(a field)"
	}
	return path
}

// DiffFields lists the wire fields whose values differ between a and b
// (name excluded), by name only, for reports that must not show values.
func DiffFields(a, b vault.Credential) []string {
	ea, err1 := encode(a, false)
	eb, err2 := encode(b, false)
	if err1 != nil || err2 != nil {
		return []string{"type"}
	}
	var ma, mb map[string]any
	_ = json.Unmarshal(ea, &ma)
	_ = json.Unmarshal(eb, &mb)
	var out []string
	for k, va := range ma {
		if vb, ok := mb[k]; !ok || !reflect.DeepEqual(va, vb) {
			out = append(out, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// DecodeCreate strictly parses a create request as a service receives it:
// the JSON must be an object with a known "type", no unknown fields and the
// right JSON types. Errors name the field, never a value. Call Validate on
// the result for the field rules.
func DecodeCreate(body []byte) (vault.Credential, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireCredential
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return vault.Credential{}, problem.Invalid(fieldName(te.Field), "has the wrong JSON type")
		case isUnknownField(err):
			name, _ := problem.UnknownField(err)
			return vault.Credential{}, problem.Invalid("", "unknown field %s", name)
		}
		return vault.Credential{}, problem.Invalid("", "the body is not a valid JSON object")
	}
	switch vault.Type(w.Type) {
	case vault.TypePassword, vault.TypeCreditCard, vault.TypeSecret:
	case "":
		return vault.Credential{}, problem.Invalid("type", "is required")
	default:
		return vault.Credential{}, vault.InvalidType("type")
	}
	b, _ := json.Marshal(w)
	c, err := Decode(b)
	if err != nil {
		var ce *vault.ContractError
		if errors.As(err, &ce) {
			return vault.Credential{}, problem.Invalid("", "%s", ce.Problem)
		}
		return vault.Credential{}, err
	}
	c.Name = string(w.Name)
	return c, nil
}

// secretWireKeys are the wire fields whose values are secrets, for
// harvesting values a service echoes back in an error body.
var secretWireKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, fs := range schema {
		for _, f := range fs {
			if f.secret && f.kind == text {
				m[f.name] = true
			}
		}
	}
	for _, name := range vault.AddressFieldNames {
		m[name] = true
	}
	return m
}()

// EchoedSecrets returns the string values found under secret field names
// (and in any "metadata" object) anywhere in a JSON body: what a service
// revealed of a stored item in an error answer.
func EchoedSecrets(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	depth := 0
	var walk func(v any, secret bool)
	walk = func(v any, secret bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(x, secret || secretWireKeys[k] || k == "metadata")
			}
		case []any:
			for _, x := range t {
				walk(x, secret)
			}
		case string:
			if secret {
				out = append(out, t)
			} else if strings.HasPrefix(strings.TrimSpace(t), "{") && depth < 4 {
				// A JSON document quoted inside a message.
				depth++
				var inner any
				if json.Unmarshal([]byte(t), &inner) == nil {
					walk(inner, false)
				}
				depth--
			}
		case json.Number, float64:
			if secret {
				out = append(out, strings.TrimSpace(strings.Trim(jsonString(t), `"`)))
			}
		}
	}
	walk(v, false)
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func isUnknownField(err error) bool {
	_, ok := problem.UnknownField(err)
	return ok
}
