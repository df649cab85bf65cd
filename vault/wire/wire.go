// Package wire is the JSON of the custom credential service contract,
// driven by the credential schema (the `wire` tags of the vault structs,
// read through vault.Fields): the create body and the GET answer, the
// strict decoding of a service's create request and of credvault's API
// body, how to compare two credentials field by field without showing a
// value, which wire fields hold secrets, and the contract's idempotency
// headers. Both sides use it: credvault's client and the reference
// credential-service.
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
	"unicode/utf8"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// Idempotency headers: credvault sends IdempotencyKeyHeader on every
// create; a service that honours it answers with IdempotentReplayedHeader
// ("true" when the key was seen before and no new item was stored). A
// service may bind a key to its body and refuse the key with another body
// (422); IdempotencyRecoverHeader ("true") marks the one create that
// sends a placeholder on purpose — `credvault reconcile --fix` asking for
// the item a lost create stored — and asks for that item whatever the
// body.
const (
	IdempotencyKeyHeader     = "Idempotency-Key"
	IdempotentReplayedHeader = "Idempotent-Replayed"
	IdempotencyRecoverHeader = "Idempotency-Recover"
)

// SameFields reports whether c and o carry the same type and field values
// (metadata included). The name is not compared: the contract's GET answer
// need not carry it.
func SameFields(c, o vault.Credential) bool {
	a, err1 := encode(c, false)
	b, err2 := encode(o, false)
	return err1 == nil && err2 == nil && subtle.ConstantTimeCompare(a, b) == 1
}

// Encode returns the JSON body that creates c in a custom credential
// service: {"name", "type", ...fields}, in the schema's order, unset
// optionals left out. It reveals secrets: the result must only be written
// to the service.
func Encode(c vault.Credential) ([]byte, error) { return encode(c, true) }

func encode(c vault.Credential, withName bool) ([]byte, error) {
	if !c.Type.Valid() || !c.Has() {
		return nil, vault.InvalidType("credential_type")
	}
	buf := make([]byte, 0, 512)
	buf = append(buf, '{')
	key := func(name string) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, name)
		buf = append(buf, ':')
	}
	if withName && c.Name != "" {
		key("name")
		buf = appendString(buf, c.Name)
	}
	key("type")
	buf = appendString(buf, string(c.Type))
	for _, f := range vault.Fields(c.Type) {
		if f.APIOnly {
			continue
		}
		switch f.Kind {
		case vault.KindText, vault.KindSecret:
			v := c.Text(f)
			if v == "" && f.Name == "totp_type" {
				v = string(vault.TOTPNone)
			}
			if v != "" {
				key(f.Name)
				buf = appendString(buf, v)
			}
		case vault.KindMetadata:
			m := c.MetadataOf(f)
			if len(m) == 0 {
				continue
			}
			key(f.Name)
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			buf = append(buf, '{')
			for i, k := range keys {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = appendString(buf, k)
				buf = append(buf, ':')
				buf = appendString(buf, m[k])
			}
			buf = append(buf, '}')
		case vault.KindAddress:
			a := c.AddressOf(f)
			if a.IsZero() {
				continue
			}
			key(f.Name)
			buf = append(buf, '{')
			n := 0
			for _, af := range vault.AddressFields() {
				if v := a.Get(af); v != "" {
					if n > 0 {
						buf = append(buf, ',')
					}
					n++
					buf = appendString(buf, af.Name)
					buf = append(buf, ':')
					buf = appendString(buf, v)
				}
			}
			buf = append(buf, '}')
		}
	}
	return append(buf, '}'), nil
}

// appendString appends s as a JSON string exactly as encoding/json writes
// it (HTML characters, U+2028 and U+2029 escaped; invalid UTF-8 replaced).
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '\\', '"':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// strictness says how a decoder treats a value's JSON type.
type strictness int

const (
	// lenient accepts a string, a number (as its text) or null (as
	// unset): services that send expiry months as numbers are accepted.
	lenient strictness = iota
	// strict accepts only a string or null: credvault's own API.
	strict
)

// decodeText reads one text value.
func decodeText(raw json.RawMessage, mode strictness) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", true
	case raw[0] == '"':
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && plain(raw[1:len(raw)-1]) {
			return string(raw[1 : len(raw)-1]), true // no escapes: the bytes are the string
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case mode == lenient && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false
		}
		return string(n), true
	}
	return "", false
}

// plain reports whether b is JSON string content without escapes or
// control characters, in valid UTF-8 (so it is its own value).
func plain(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b)
}

// fill sets c's fields of its type from obj. A value of the wrong JSON
// type is reported by its path (bad). Keys not in the schema are left to
// the caller. set has bit i for each text field i of vault.Fields given a
// non-empty value, so callers need not read them back.
func fill(c *vault.Credential, obj map[string]json.RawMessage, mode strictness, withAPI bool) (set uint64, bad string, kind string) {
	for i, f := range vault.Fields(c.Type) {
		raw, ok := obj[f.Name]
		if !ok || (f.APIOnly && !withAPI) {
			continue
		}
		switch f.Kind {
		case vault.KindText, vault.KindSecret:
			v, ok := decodeText(raw, mode)
			if !ok {
				return set, f.Name, "string"
			}
			if v != "" {
				c.SetText(f, v)
				set |= 1 << i
			}
		case vault.KindMetadata:
			if string(bytes.TrimSpace(raw)) == "null" {
				continue
			}
			m, ok := members(raw)
			if !ok {
				return set, f.Name, "object of strings"
			}
			md := make(vault.Metadata, len(m))
			for k, rv := range m {
				v, ok := decodeText(rv, mode)
				if !ok {
					return set, f.Name, "object of strings"
				}
				md[k] = v
			}
			if len(md) > 0 {
				c.SetMetadata(f, md)
			}
		case vault.KindAddress:
			if string(bytes.TrimSpace(raw)) == "null" {
				continue
			}
			m, ok := members(raw)
			if !ok {
				return set, f.Name, "object"
			}
			a := &vault.BillingAddress{}
			for _, af := range vault.AddressFields() {
				rv, ok := m[af.Name]
				if !ok {
					continue
				}
				v, ok := decodeText(rv, mode)
				if !ok {
					return set, f.Name + "." + af.Name, "string"
				}
				a.Set(af, v)
			}
			if !a.IsZero() || mode == strict {
				c.SetAddress(f, a)
			}
		}
	}
	return set, "", ""
}

// Decode parses a custom credential service's GET answer. Extra fields
// and null optionals are accepted; a non-JSON body, an unknown type or a
// missing required field is a *ContractError that names the problem and
// never a value.
func Decode(body []byte) (vault.Credential, error) {
	obj, ok := members(body)
	if !ok {
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: "the answer is not a JSON object"}
	}
	typ, ok := decodeText(obj["type"], lenient)
	if !ok {
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `field "type" has the wrong JSON type`}
	}
	t := vault.Type(typ)
	switch {
	case t == "":
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `required field "type" is missing`}
	case !t.Valid():
		// The value is not shown: a hostile service could put a secret there.
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `field "type" is not one of password, credit_card, secret`}
	}
	name, ok := decodeText(obj["name"], lenient)
	if !ok {
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: `field "name" has the wrong JSON type`}
	}
	return finish(vault.Credential{Name: name, Type: t}, obj)
}

// finish fills c from obj as a service's answer: lenient types, required
// fields checked, an absent totp_type none, an empty billing address none.
func finish(c vault.Credential, obj map[string]json.RawMessage) (vault.Credential, error) {
	set, bad, _ := fill(&c, obj, lenient, false)
	if bad != "" {
		return vault.Credential{}, &vault.ContractError{Op: "get", Problem: fmt.Sprintf("field %q has the wrong JSON type", fieldName(bad))}
	}
	var missing []string
	for i, f := range vault.Fields(c.Type) {
		if set&(1<<i) != 0 {
			continue
		}
		switch {
		case f.Required:
			missing = append(missing, f.Name)
		case f.Name == "totp_type":
			c.SetText(f, string(vault.TOTPNone))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return vault.Credential{}, &vault.ContractError{Op: "get", Missing: missing,
			Problem: fmt.Sprintf("required field %q is missing from the %s credential", missing[0], c.Type)}
	default:
		return vault.Credential{}, &vault.ContractError{Op: "get", Missing: missing,
			Problem: fmt.Sprintf("required fields %s are missing from the %s credential", strings.Join(missing, ", "), c.Type)}
	}
	c.Prepare()
	return c, nil
}

// Unstored lists, by wire name in the schema's order, the fields of sent
// that got (the item read back) does not hold with the value sent:
// missing or different. The name is not compared (a GET answer need not
// carry it); fields got has and sent has not do not count. Values are
// never shown.
func Unstored(sent, got vault.Credential) []string {
	if sent.Type != got.Type {
		return []string{"type"}
	}
	ms, ok := fieldValues(sent)
	if !ok {
		return nil
	}
	mg, _ := fieldValues(got) // nothing readable: every field is missing
	var out []string
	for _, f := range vault.Fields(sent.Type) {
		if vs, ok := ms[f.Name]; ok {
			if vg, ok := mg[f.Name]; !ok || !reflect.DeepEqual(vs, vg) {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// fieldValues is c's wire fields (name excluded) as JSON values, for
// comparisons by name; false when c cannot be encoded.
func fieldValues(c vault.Credential) (map[string]any, bool) {
	b, err := encode(c, false)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m) == nil
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
	ma, ok1 := fieldValues(a)
	mb, ok2 := fieldValues(b)
	if !ok1 || !ok2 {
		return []string{"type"}
	}
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
// the JSON must be an object with a known "type", no field outside the
// contract and the right JSON types. Errors name the field, never a value.
// Call Validate on the result for the field rules.
func DecodeCreate(body []byte) (vault.Credential, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return vault.Credential{}, problem.Invalid("", "the body is not a valid JSON object")
	}
	for k := range obj {
		if k != "name" && k != "type" && !contractField(k) {
			return vault.Credential{}, problem.Invalid("", "unknown field %s", quoteName(k))
		}
	}
	typ, ok := decodeText(obj["type"], lenient)
	switch t := vault.Type(typ); {
	case !ok:
		return vault.Credential{}, problem.Invalid("type", "has the wrong JSON type")
	case t == "":
		return vault.Credential{}, problem.Invalid("type", "is required")
	case !t.Valid():
		return vault.Credential{}, vault.InvalidType("type")
	}
	name, ok := decodeText(obj["name"], lenient)
	if !ok {
		return vault.Credential{}, problem.Invalid("name", "has the wrong JSON type")
	}
	c := vault.Credential{Name: name, Type: vault.Type(typ)}
	if _, bad, _ := fill(&c, obj, lenient, false); bad != "" {
		return vault.Credential{}, problem.Invalid(fieldName(bad), "has the wrong JSON type")
	}
	c, err := finish(c, obj)
	if err != nil {
		var ce *vault.ContractError
		if errors.As(err, &ce) {
			return vault.Credential{}, problem.Invalid("", "%s", ce.Problem)
		}
		return vault.Credential{}, err
	}
	c.Name = name
	return c, nil
}

// contractField reports whether name is a field of some credential type
// that services receive.
func contractField(name string) bool {
	for _, t := range []vault.Type{vault.TypePassword, vault.TypeCreditCard, vault.TypeSecret} {
		for _, f := range vault.Fields(t) {
			if f.Name == name && !f.APIOnly {
				return true
			}
		}
	}
	return false
}

var secretWireKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range []vault.Type{vault.TypePassword, vault.TypeCreditCard, vault.TypeSecret} {
		for _, f := range vault.Fields(t) {
			if f.Kind == vault.KindSecret {
				m[f.Name] = true
			}
		}
	}
	for _, f := range vault.AddressFields() {
		m[f.Name] = true
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
