package vault

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The credential schema is the `wire` tags of the credential structs
// (Password, CreditCard, BillingAddress, SecretValue): each field's wire
// name, then options — "required" (a service's answer and an API request
// must carry it), "apirequired" (only an API request must), "api"
// (accepted from credvault's API, never sent to a service), "max=N" (its
// length bound in bytes, default 4096). A Secret field is secret, a Metadata field is metadata
// (its values secret), the *BillingAddress is an object of secrets; other
// fields are plain text. Everything that needs the schema — the wire
// codecs, the API decoder, the redactor's list of secret fields, the text
// checks — reads it from here: adding a field is adding it, tagged, to
// its struct.

// FieldKind is what a field holds.
type FieldKind int

// Field kinds.
const (
	KindText     FieldKind = iota // a plain string
	KindSecret                    // a Secret
	KindAddress                   // *BillingAddress
	KindMetadata                  // Metadata
)

// Field is one field of a credential type's schema.
type Field struct {
	Name     string
	Kind     FieldKind
	Required bool
	// APIRequired fields must be given in credvault's API (Validate),
	// though a service's answer may leave them out.
	APIRequired bool
	// APIOnly fields are accepted from credvault's API and never sent to
	// a service.
	APIOnly bool
	// Max is the length bound in bytes of a text or secret field.
	Max   int
	index int
}

var (
	secretType   = reflect.TypeFor[Secret]()
	metadataType = reflect.TypeFor[Metadata]()
	addressType  = reflect.TypeFor[*BillingAddress]()
)

func fieldsOf(t reflect.Type) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("wire")
		if tag == "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := Field{Name: name, index: i, Max: maxFieldLen}
		for _, o := range strings.Split(opts, ",") {
			switch {
			case o == "required":
				f.Required = true
			case o == "apirequired":
				f.APIRequired = true
			case o == "api":
				f.APIOnly = true
			case strings.HasPrefix(o, "max="):
				n, err := strconv.Atoi(strings.TrimPrefix(o, "max="))
				if err != nil || n <= 0 {
					panic(fmt.Sprintf("vault: bad %q on %s.%s", o, t.Name(), sf.Name))
				}
				f.Max = n
			case o == "":
			default:
				panic(fmt.Sprintf("vault: unknown wire tag option %q on %s.%s", o, t.Name(), sf.Name))
			}
		}
		switch sf.Type {
		case secretType:
			f.Kind = KindSecret
		case metadataType:
			f.Kind = KindMetadata
		case addressType:
			f.Kind = KindAddress
		default:
			if sf.Type.Kind() != reflect.String {
				panic(fmt.Sprintf("vault: wire field %s.%s is neither text, Secret, Metadata nor *BillingAddress", t.Name(), sf.Name))
			}
		}
		out = append(out, f)
	}
	return out
}

var (
	schema = map[Type][]Field{
		TypePassword:   fieldsOf(reflect.TypeFor[Password]()),
		TypeCreditCard: fieldsOf(reflect.TypeFor[CreditCard]()),
		TypeSecret:     fieldsOf(reflect.TypeFor[SecretValue]()),
	}
	addressSchema = fieldsOf(reflect.TypeFor[BillingAddress]())
	// AddressFieldNames are the billing address's sub-field names.
	AddressFieldNames = func() []string {
		var out []string
		for _, f := range addressSchema {
			out = append(out, f.Name)
		}
		return out
	}()
)

// Fields lists the fields of credential type t in order (nil for an
// unknown type).
func Fields(t Type) []Field { return schema[t] }

// AddressFields lists the billing address's fields.
func AddressFields() []Field { return addressSchema }

// part is the struct holding c's fields (its Password, CreditCard or
// Secret), allocated when alloc is set; the zero Value when c has none.
func (c *Credential) part(alloc bool) reflect.Value {
	var p any
	switch c.Type {
	case TypePassword:
		if c.Password == nil && alloc {
			c.Password = &Password{}
		}
		p = c.Password
	case TypeCreditCard:
		if c.CreditCard == nil && alloc {
			c.CreditCard = &CreditCard{}
		}
		p = c.CreditCard
	case TypeSecret:
		if c.Secret == nil && alloc {
			c.Secret = &SecretValue{}
		}
		p = c.Secret
	}
	v := reflect.ValueOf(p)
	if !v.IsValid() || v.IsNil() {
		return reflect.Value{}
	}
	return v.Elem()
}

// Prepare gives c the (empty) struct of its type if it has none.
func (c *Credential) Prepare() { c.part(true) }

// Has reports whether c carries the struct of its type.
func (c *Credential) Has() bool { return c.part(false).IsValid() }

// Text returns field f of c as a string ("" when absent); for a Secret,
// its revealed value.
func (c *Credential) Text(f Field) string {
	p := c.part(false)
	if !p.IsValid() {
		return ""
	}
	return textOf(p.Field(f.index))
}

// textOf and setText reach a field through its address, so no value is
// copied into an interface (no allocation on the read path).
func textOf(v reflect.Value) string {
	if v.Type() == secretType {
		return v.Addr().Interface().(*Secret).Reveal()
	}
	return v.String()
}

// SetText sets text or secret field f of c to s.
func (c *Credential) SetText(f Field, s string) {
	setText(c.part(true).Field(f.index), s)
}

func setText(v reflect.Value, s string) {
	if v.Type() == secretType {
		*v.Addr().Interface().(*Secret) = NewSecret(s)
		return
	}
	v.SetString(s)
}

// MetadataOf returns metadata field f of c.
func (c *Credential) MetadataOf(f Field) Metadata {
	p := c.part(false)
	if !p.IsValid() {
		return nil
	}
	return *p.Field(f.index).Addr().Interface().(*Metadata)
}

// SetMetadata sets metadata field f of c.
func (c *Credential) SetMetadata(f Field, m Metadata) {
	*c.part(true).Field(f.index).Addr().Interface().(*Metadata) = m
}

// AddressOf returns the billing address field f of c (nil when unset).
func (c *Credential) AddressOf(f Field) *BillingAddress {
	p := c.part(false)
	if !p.IsValid() {
		return nil
	}
	return *p.Field(f.index).Addr().Interface().(**BillingAddress)
}

// SetAddress sets the billing address field f of c.
func (c *Credential) SetAddress(f Field, a *BillingAddress) {
	*c.part(true).Field(f.index).Addr().Interface().(**BillingAddress) = a
}

// Get returns address field f of a ("" when a is nil).
func (a *BillingAddress) Get(f Field) string {
	if a == nil {
		return ""
	}
	return textOf(reflect.ValueOf(a).Elem().Field(f.index))
}

// Set sets address field f of a.
func (a *BillingAddress) Set(f Field, s string) {
	setText(reflect.ValueOf(a).Elem().Field(f.index), s)
}
