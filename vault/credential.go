package vault

import (
	"strings"
	"unicode/utf8"

	"github.com/credvault/credvault/problem"
)

// Type is a credential type.
type Type string

// InvalidType is the validation error of a field that must name a
// credential type.
func InvalidType(field string) error {
	return problem.Invalid(field, "must be one of password, credit_card, secret")
}

// Credential types of the custom credential service contract.
const (
	TypePassword   Type = "password"
	TypeCreditCard Type = "credit_card"
	TypeSecret     Type = "secret"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool {
	return t == TypePassword || t == TypeCreditCard || t == TypeSecret
}

// TOTPType says how a password credential's second factor is obtained.
type TOTPType string

// TOTP types.
const (
	TOTPAuthenticator TOTPType = "authenticator"
	TOTPEmail         TOTPType = "email"
	TOTPText          TOTPType = "text"
	TOTPPasskey       TOTPType = "passkey"
	TOTPNone          TOTPType = "none"
)

// Valid reports whether t is a known TOTP type.
func (t TOTPType) Valid() bool {
	switch t {
	case TOTPAuthenticator, TOTPEmail, TOTPText, TOTPPasskey, TOTPNone:
		return true
	}
	return false
}

// Credential is one credential: a name, a type, and the fields of exactly
// that type.
type Credential struct {
	Name       string
	Type       Type
	Password   *Password
	CreditCard *CreditCard
	Secret     *SecretValue
}

// Password is a login. Username, TOTPType and TOTPIdentifier are metadata;
// TOTPIdentifier (the email or phone receiving codes) is never sent to the
// service.
type Password struct {
	Username       string   `wire:"username,required"`
	Password       Secret   `wire:"password,required"`
	TOTP           Secret   `wire:"totp"` // base32 seed or otpauth:// URI; optional
	TOTPType       TOTPType `wire:"totp_type"`
	TOTPIdentifier string   `wire:"totp_identifier,api"`
	Metadata       Metadata `wire:"metadata"`
}

// CreditCard is a payment card. Brand is metadata; the last four digits of
// the number are kept as metadata by the credentials layer.
type CreditCard struct {
	CardHolderName Secret          `wire:"card_holder_name,required"`
	CardNumber     Secret          `wire:"card_number,required"`
	ExpMonth       Secret          `wire:"card_exp_month,required"`
	ExpYear        Secret          `wire:"card_exp_year,required"`
	CVV            Secret          `wire:"card_cvv,required"`
	Brand          string          `wire:"card_brand,apirequired"`
	BillingAddress *BillingAddress `wire:"billing_address"`
	BillingEmail   Secret          `wire:"billing_email"`
	BillingPhone   Secret          `wire:"billing_phone"`
	Metadata       Metadata        `wire:"metadata"`
}

// LastFour returns the last four digits of the card number (separators
// such as spaces and dashes are skipped; the number itself is kept as
// sent).
func (c *CreditCard) LastFour() string {
	var digits []byte
	n := c.CardNumber.Reveal()
	for i := len(n) - 1; i >= 0 && len(digits) < 4; i-- {
		if n[i] >= '0' && n[i] <= '9' {
			digits = append([]byte{n[i]}, digits...)
		}
	}
	if len(digits) < 4 {
		return ""
	}
	return string(digits)
}

// BillingAddress is a card's billing address; every field is optional.
type BillingAddress struct {
	Line1       Secret `wire:"line1"`
	Line2       Secret `wire:"line2"`
	City        Secret `wire:"city"`
	State       Secret `wire:"state"`
	StateCode   Secret `wire:"state_code"`
	PostalCode  Secret `wire:"postal_code"`
	Country     Secret `wire:"country"`
	CountryCode Secret `wire:"country_code"`
}

// IsZero reports whether no field of a is set.
func (a *BillingAddress) IsZero() bool {
	return a == nil || *a == (BillingAddress{})
}

// SecretValue is an API secret; Label is metadata.
type SecretValue struct {
	Value Secret `wire:"secret_value,required,max=65536"`
	Label string `wire:"secret_label"`
}

// Bounds that only stop abuse; real data (long names, 5-digit CVVs, many
// metadata entries) fits well inside them.
const (
	maxNameLen        = 1024     // bytes
	maxFieldLen       = 4096     // bytes, every other string
	maxSecretValueLen = 64 << 10 // bytes, a secret credential's value
	maxMetadata       = 256      // entries
)

// Validate checks every field: required strings non-empty, the TOTP secret
// parseable when totp_type is authenticator, generous size bounds. Values
// are kept as sent (card numbers, months and years are not reformatted);
// only the TOTP secret is normalised, and the default TOTP type filled in.
// Errors are *problem.InvalidError naming the field, never showing a value.
func (c *Credential) Validate() error {
	for _, f := range c.textFields() {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	if strings.TrimSpace(c.Name) == "" {
		return problem.Invalid("name", "is required")
	}
	if len(c.Name) > maxNameLen {
		return problem.Invalid("name", "must be at most %d bytes", maxNameLen)
	}
	set := 0
	for _, p := range []bool{c.Password != nil, c.CreditCard != nil, c.Secret != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return problem.Invalid("credential", "exactly one set of credential fields is required")
	}
	if !c.Type.Valid() {
		return InvalidType("credential_type")
	}
	if !c.Has() {
		return problem.Invalid("credential_type", "is %s but the fields are not", c.Type)
	}
	if err := c.validateFields(); err != nil {
		return err
	}
	if c.Password != nil {
		return c.Password.validate() // the TOTP rules
	}
	return nil
}

type namedText struct{ name, value string }

// textFields lists every string of c with its field name, for the text
// rules that apply to all of them.
func (c *Credential) textFields() []namedText {
	out := []namedText{{"name", c.Name}, {"credential_type", string(c.Type)}}
	for _, f := range Fields(c.Type) {
		switch f.Kind {
		case KindText, KindSecret:
			out = append(out, namedText{f.Name, c.Text(f)})
		case KindMetadata:
			for k, v := range c.MetadataOf(f) {
				out = append(out, namedText{f.Name, k}, namedText{f.Name, v})
			}
		case KindAddress:
			if a := c.AddressOf(f); a != nil {
				for _, af := range addressSchema {
					out = append(out, namedText{f.Name + "." + af.Name, a.Get(af)})
				}
			}
		}
	}
	return out
}

// CheckText rejects what no text field may hold: invalid UTF-8 and NUL
// characters (which PostgreSQL text cannot store). The error names the
// field, never the value.
func CheckText(field, v string) error {
	if !utf8.ValidString(v) {
		return problem.Invalid(field, "must be valid UTF-8 text")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return problem.Invalid(field, "must not contain NUL characters")
	}
	return nil
}

// CheckTextMax is CheckText with a size bound in bytes.
func CheckTextMax(field, v string, max int) error {
	if err := CheckText(field, v); err != nil {
		return err
	}
	if len(v) > max {
		return problem.Invalid(field, "must be at most %d bytes", max)
	}
	return nil
}

func (p *Password) validate() error {
	if p.TOTPType == "" {
		p.TOTPType = TOTPNone
	}
	if !p.TOTPType.Valid() {
		return problem.Invalid("totp_type", "must be one of authenticator, email, text, passkey, none")
	}
	if p.TOTPType == TOTPAuthenticator {
		if p.TOTP.IsZero() {
			return problem.InvalidCode(problem.CodeAuthenticatorKeyRequired, "totp", "is required when totp_type is authenticator")
		}
		norm, err := NormalizeTOTP(p.TOTP.Reveal())
		if err != nil {
			return err
		}
		p.TOTP = NewSecret(norm)
	}
	return nil
}

// validateFields applies the schema's rules to every field of c: required
// ones present, each within its length bound, metadata within its bounds.
func (c *Credential) validateFields() error {
	for _, f := range Fields(c.Type) {
		switch f.Kind {
		case KindText, KindSecret:
			v := c.Text(f)
			if (f.Required || f.APIRequired) && strings.TrimSpace(v) == "" {
				return problem.Invalid(f.Name, "is required")
			}
			if len(v) > f.Max {
				return problem.Invalid(f.Name, "must be at most %d bytes", f.Max)
			}
		case KindMetadata:
			if err := validateMetadata(c.MetadataOf(f)); err != nil {
				return err
			}
		case KindAddress:
			a := c.AddressOf(f)
			for _, af := range addressSchema {
				if len(a.Get(af)) > af.Max {
					return problem.Invalid(f.Name+"."+af.Name, "must be at most %d bytes", af.Max)
				}
			}
		}
	}
	return nil
}

func validateMetadata(m Metadata) error {
	if len(m) > maxMetadata {
		return problem.Invalid("metadata", "must have at most %d entries", maxMetadata)
	}
	for k, v := range m {
		if k == "" || len(k) > 256 || len(v) > maxFieldLen {
			return problem.Invalid("metadata", "keys must be 1 to 256 bytes and values at most %d bytes", maxFieldLen)
		}
	}
	return nil
}

// CopyFields copies the named sub-fields (line1, line2, city, state,
// state_code, postal_code, country, country_code) from o into a.
func (a *BillingAddress) CopyFields(o *BillingAddress, names []string) {
	for _, f := range addressSchema {
		for _, n := range names {
			if f.Name == n {
				a.Set(f, o.Get(f))
			}
		}
	}
}

// SecretValues lists every secret value of c — each Secret field and every
// metadata value — for redaction. The order is unspecified.
func (c Credential) SecretValues() []string {
	var out []string
	add := func(v string) {
		if v != "" {
			out = append(out, v)
		}
	}
	for _, f := range Fields(c.Type) {
		switch f.Kind {
		case KindSecret:
			add(c.Text(f))
		case KindMetadata:
			for _, v := range c.MetadataOf(f) {
				add(v)
			}
		case KindAddress:
			a := c.AddressOf(f)
			for _, af := range addressSchema {
				add(a.Get(af))
			}
		}
	}
	return out
}

// truncate shortens s to n runes for messages.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
