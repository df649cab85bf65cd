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
	Username       string
	Password       Secret
	TOTP           Secret // base32 seed or otpauth:// URI; optional
	TOTPType       TOTPType
	TOTPIdentifier string
	Metadata       Metadata
}

// CreditCard is a payment card. Brand is metadata; the last four digits of
// the number are kept as metadata by the credentials layer.
type CreditCard struct {
	CardHolderName Secret
	CardNumber     Secret
	ExpMonth       Secret
	ExpYear        Secret
	CVV            Secret
	Brand          string
	BillingAddress *BillingAddress
	BillingEmail   Secret
	BillingPhone   Secret
	Metadata       Metadata
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
	Line1       Secret
	Line2       Secret
	City        Secret
	State       Secret
	StateCode   Secret
	PostalCode  Secret
	Country     Secret
	CountryCode Secret
}

// IsZero reports whether no field of a is set.
func (a *BillingAddress) IsZero() bool {
	return a == nil || *a == (BillingAddress{})
}

// SecretValue is an API secret; Label is metadata.
type SecretValue struct {
	Value Secret
	Label string
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
	switch c.Type {
	case TypePassword:
		if c.Password == nil {
			return problem.Invalid("credential_type", "is password but the fields are not")
		}
		return c.Password.validate()
	case TypeCreditCard:
		if c.CreditCard == nil {
			return problem.Invalid("credential_type", "is credit_card but the fields are not")
		}
		return c.CreditCard.validate()
	case TypeSecret:
		if c.Secret == nil {
			return problem.Invalid("credential_type", "is secret but the fields are not")
		}
		return c.Secret.validate()
	}
	return InvalidType("credential_type")
}

type namedText struct{ name, value string }

// textFields lists every string of c with its field name, for the text
// rules that apply to all of them.
func (c *Credential) textFields() []namedText {
	out := []namedText{{"name", c.Name}, {"credential_type", string(c.Type)}}
	add := func(name, v string) { out = append(out, namedText{name, v}) }
	meta := func(m Metadata) {
		for k, v := range m {
			add("metadata", k)
			add("metadata", v)
		}
	}
	if p := c.Password; p != nil {
		add("username", p.Username)
		add("password", p.Password.Reveal())
		add("totp", p.TOTP.Reveal())
		add("totp_type", string(p.TOTPType))
		add("totp_identifier", p.TOTPIdentifier)
		meta(p.Metadata)
	}
	if cc := c.CreditCard; cc != nil {
		for name, v := range map[string]Secret{"card_holder_name": cc.CardHolderName, "card_number": cc.CardNumber,
			"card_exp_month": cc.ExpMonth, "card_exp_year": cc.ExpYear, "card_cvv": cc.CVV,
			"billing_email": cc.BillingEmail, "billing_phone": cc.BillingPhone} {
			add(name, v.Reveal())
		}
		add("card_brand", cc.Brand)
		if a := cc.BillingAddress; a != nil {
			for name, v := range a.fields() {
				add("billing_address."+name, v.Reveal())
			}
		}
		meta(cc.Metadata)
	}
	if sv := c.Secret; sv != nil {
		add("secret_value", sv.Value.Reveal())
		add("secret_label", sv.Label)
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

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return problem.Invalid(field, "is required")
	}
	return limit(field, v)
}

func limit(field, v string) error {
	if len(v) > maxFieldLen {
		return problem.Invalid(field, "must be at most %d bytes", maxFieldLen)
	}
	return nil
}

func (p *Password) validate() error {
	if err := required("username", p.Username); err != nil {
		return err
	}
	if err := required("password", p.Password.Reveal()); err != nil {
		return err
	}
	if p.TOTPType == "" {
		p.TOTPType = TOTPNone
	}
	if !p.TOTPType.Valid() {
		return problem.Invalid("totp_type", "must be one of authenticator, email, text, passkey, none")
	}
	if err := limit("totp_identifier", p.TOTPIdentifier); err != nil {
		return err
	}
	if err := validateMetadata(p.Metadata); err != nil {
		return err
	}
	if p.TOTPType == TOTPAuthenticator {
		if p.TOTP.IsZero() {
			return problem.Invalid("totp", "is required when totp_type is authenticator")
		}
		norm, err := NormalizeTOTP(p.TOTP.Reveal())
		if err != nil {
			return err
		}
		p.TOTP = NewSecret(norm)
	}
	return limit("totp", p.TOTP.Reveal())
}

func (c *CreditCard) validate() error {
	for _, f := range []struct {
		name string
		v    string
	}{
		{"card_holder_name", c.CardHolderName.Reveal()}, {"card_number", c.CardNumber.Reveal()},
		{"card_exp_month", c.ExpMonth.Reveal()}, {"card_exp_year", c.ExpYear.Reveal()},
		{"card_cvv", c.CVV.Reveal()}, {"card_brand", c.Brand},
	} {
		if err := required(f.name, f.v); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{"billing_email": c.BillingEmail.Reveal(), "billing_phone": c.BillingPhone.Reveal()} {
		if err := limit(field, v); err != nil {
			return err
		}
	}
	if c.BillingAddress != nil {
		for field, v := range c.BillingAddress.fields() {
			if err := limit("billing_address."+field, v.Reveal()); err != nil {
				return err
			}
		}
	}
	return validateMetadata(c.Metadata)
}

func (s *SecretValue) validate() error {
	if strings.TrimSpace(s.Value.Reveal()) == "" {
		return problem.Invalid("secret_value", "is required")
	}
	if len(s.Value.Reveal()) > maxSecretValueLen {
		return problem.Invalid("secret_value", "must be at most %d bytes", maxSecretValueLen)
	}
	return limit("secret_label", s.Label)
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
	src, dst := o.ptrs(), a.ptrs()
	for _, n := range names {
		if d, ok := dst[n]; ok {
			*d = *src[n]
		}
	}
}

// AddressFieldNames are the billing address's sub-field names.
var AddressFieldNames = []string{"line1", "line2", "city", "state", "state_code", "postal_code", "country", "country_code"}

func (a *BillingAddress) ptrs() map[string]*Secret {
	return map[string]*Secret{
		"line1": &a.Line1, "line2": &a.Line2, "city": &a.City, "state": &a.State,
		"state_code": &a.StateCode, "postal_code": &a.PostalCode, "country": &a.Country, "country_code": &a.CountryCode,
	}
}

func (a *BillingAddress) fields() map[string]Secret {
	return map[string]Secret{
		"line1": a.Line1, "line2": a.Line2, "city": a.City, "state": a.State,
		"state_code": a.StateCode, "postal_code": a.PostalCode, "country": a.Country, "country_code": a.CountryCode,
	}
}

// SecretValues lists every secret value of c — each Secret field and every
// metadata value — for redaction. The order is unspecified.
func (c Credential) SecretValues() []string {
	var out []string
	add := func(ss ...Secret) {
		for _, s := range ss {
			if !s.IsZero() {
				out = append(out, s.Reveal())
			}
		}
	}
	meta := func(m Metadata) {
		for _, v := range m {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	if p := c.Password; p != nil {
		add(p.Password, p.TOTP)
		meta(p.Metadata)
	}
	if cc := c.CreditCard; cc != nil {
		add(cc.CardHolderName, cc.CardNumber, cc.ExpMonth, cc.ExpYear, cc.CVV, cc.BillingEmail, cc.BillingPhone)
		if a := cc.BillingAddress; a != nil {
			add(a.Line1, a.Line2, a.City, a.State, a.StateCode, a.PostalCode, a.Country, a.CountryCode)
		}
		meta(cc.Metadata)
	}
	if sv := c.Secret; sv != nil {
		add(sv.Value)
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
