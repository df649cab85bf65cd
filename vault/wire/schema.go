package wire

import (
	"encoding/json"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// DecodeFields strictly decodes the fields object of a credential of type
// t as credvault's API receives it (the inner "credential" of Skyvern's
// create and update bodies): a JSON object with only t's fields (the
// `wire` tags of its struct), strings where text is due, objects for the
// billing address and metadata. Errors name the field under prefix
// ("credential"), never a value. Required fields are left to
// Credential.Validate.
func DecodeFields(t vault.Type, raw []byte, prefix string) (vault.Credential, error) {
	fs := vault.Fields(t)
	if fs == nil {
		return vault.Credential{}, vault.InvalidType("credential_type")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return vault.Credential{}, problem.Invalid(prefix, "must be a JSON object")
	}
	for name, v := range obj {
		f, ok := fieldNamed(fs, name)
		if !ok {
			return vault.Credential{}, problem.Invalid(prefix, "unknown field %s", quoteName(name))
		}
		if f.Kind == vault.KindAddress {
			var sub map[string]json.RawMessage
			if json.Unmarshal(v, &sub) == nil {
				for k := range sub {
					if _, ok := fieldNamed(vault.AddressFields(), k); !ok {
						return vault.Credential{}, problem.Invalid(prefix+"."+name, "unknown field %s", quoteName(k))
					}
				}
			}
		}
	}
	c := vault.Credential{Type: t}
	if _, bad, kind := fill(&c, obj, strict, true); bad != "" {
		return vault.Credential{}, problem.Invalid(prefix+"."+bad, "must be a JSON %s", kind)
	}
	c.Prepare() // an empty object is the type's struct, every field unset
	return c, nil
}

func fieldNamed(fs []vault.Field, name string) (vault.Field, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return vault.Field{}, false
}

// quoteName quotes a client-chosen field name, cut to 64 characters.
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	b, _ := json.Marshal(name)
	return string(b)
}
