package vault

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
)

// Type is a credential type.
type Type string

// Credential types (SPEC §2).
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

func (a *BillingAddress) isZero() bool {
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
// Errors are *InvalidError naming the field, never showing a value.
func (c *Credential) Validate() error {
	for _, f := range c.textFields() {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	if strings.TrimSpace(c.Name) == "" {
		return Invalid("name", "is required")
	}
	if len(c.Name) > maxNameLen {
		return Invalid("name", "must be at most %d bytes", maxNameLen)
	}
	set := 0
	for _, p := range []bool{c.Password != nil, c.CreditCard != nil, c.Secret != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return Invalid("credential", "exactly one set of credential fields is required")
	}
	switch c.Type {
	case TypePassword:
		if c.Password == nil {
			return Invalid("credential_type", "is password but the fields are not")
		}
		return c.Password.validate()
	case TypeCreditCard:
		if c.CreditCard == nil {
			return Invalid("credential_type", "is credit_card but the fields are not")
		}
		return c.CreditCard.validate()
	case TypeSecret:
		if c.Secret == nil {
			return Invalid("credential_type", "is secret but the fields are not")
		}
		return c.Secret.validate()
	}
	return Invalid("credential_type", "must be one of password, credit_card, secret")
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
		return Invalid(field, "must be valid UTF-8 text")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return Invalid(field, "must not contain NUL characters")
	}
	return nil
}

// CheckTextMax is CheckText with a size bound in bytes.
func CheckTextMax(field, v string, max int) error {
	if err := CheckText(field, v); err != nil {
		return err
	}
	if len(v) > max {
		return Invalid(field, "must be at most %d bytes", max)
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Invalid(field, "is required")
	}
	return limit(field, v)
}

func limit(field, v string) error {
	if len(v) > maxFieldLen {
		return Invalid(field, "must be at most %d bytes", maxFieldLen)
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
		return Invalid("totp_type", "must be one of authenticator, email, text, passkey, none")
	}
	if err := limit("totp_identifier", p.TOTPIdentifier); err != nil {
		return err
	}
	if err := validateMetadata(p.Metadata); err != nil {
		return err
	}
	if p.TOTPType == TOTPAuthenticator {
		if p.TOTP.IsZero() {
			return Invalid("totp", "is required when totp_type is authenticator")
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
		return Invalid("secret_value", "is required")
	}
	if len(s.Value.Reveal()) > maxSecretValueLen {
		return Invalid("secret_value", "must be at most %d bytes", maxSecretValueLen)
	}
	return limit("secret_label", s.Label)
}

func validateMetadata(m Metadata) error {
	if len(m) > maxMetadata {
		return Invalid("metadata", "must have at most %d entries", maxMetadata)
	}
	for k, v := range m {
		if k == "" || len(k) > 256 || len(v) > maxFieldLen {
			return Invalid("metadata", "keys must be 1 to 256 bytes and values at most %d bytes", maxFieldLen)
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

// SameFields reports whether c and o carry the same type and field values
// (metadata included). The name is not compared: the contract's GET answer
// need not carry it.
func (c Credential) SameFields(o Credential) bool {
	a, err1 := encodeWire(c, false)
	b, err2 := encodeWire(o, false)
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
// service (SPEC §2). Unset optionals are left out.
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

func r(s Secret) wireString { return wireString(s.Reveal()) }

func wireMetadata(m Metadata) map[string]wireString {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]wireString, len(m))
	for k, v := range m {
		out[k] = wireString(v)
	}
	return out
}

// EncodeWire returns the JSON body that creates c in a custom credential
// service: {"name", "type", ...fields}. It reveals secrets: the result must
// only be written to the service.
func EncodeWire(c Credential) ([]byte, error) { return encodeWire(c, true) }

func encodeWire(c Credential, withName bool) ([]byte, error) {
	w := wireCredential{Type: wireString(c.Type)}
	if withName {
		w.Name = wireString(c.Name)
	}
	switch {
	case c.Type == TypePassword && c.Password != nil:
		p := c.Password
		w.Username, w.Password, w.TOTP = wireString(p.Username), r(p.Password), r(p.TOTP)
		w.TOTPType = wireString(p.TOTPType)
		if w.TOTPType == "" {
			w.TOTPType = wireString(TOTPNone)
		}
		w.Metadata = wireMetadata(p.Metadata)
	case c.Type == TypeCreditCard && c.CreditCard != nil:
		cc := c.CreditCard
		w.CardHolderName, w.CardNumber, w.CardExpMonth = r(cc.CardHolderName), r(cc.CardNumber), r(cc.ExpMonth)
		w.CardExpYear, w.CardCVV, w.CardBrand = r(cc.ExpYear), r(cc.CVV), wireString(cc.Brand)
		w.BillingEmail, w.BillingPhone = r(cc.BillingEmail), r(cc.BillingPhone)
		if a := cc.BillingAddress; !a.isZero() {
			w.BillingAddress = &wireAddress{r(a.Line1), r(a.Line2), r(a.City), r(a.State), r(a.StateCode),
				r(a.PostalCode), r(a.Country), r(a.CountryCode)}
		}
		w.Metadata = wireMetadata(cc.Metadata)
	case c.Type == TypeSecret && c.Secret != nil:
		w.SecretValue, w.SecretLabel = r(c.Secret.Value), wireString(c.Secret.Label)
	default:
		return nil, Invalid("credential_type", "must be one of password, credit_card, secret")
	}
	return json.Marshal(w)
}

// DecodeWire parses a custom credential service's GET answer. Extra fields
// and null optionals are accepted; a non-JSON body, an unknown type or a
// missing required field is a *ContractError that names the problem and
// never a value.
func DecodeWire(body []byte) (Credential, error) {
	var w wireCredential
	if err := json.Unmarshal(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Credential{}, &ContractError{Op: "get", Problem: fmt.Sprintf("field %q has the wrong JSON type", fieldName(te.Field))}
		}
		return Credential{}, &ContractError{Op: "get", Problem: "the answer is not a JSON object"}
	}
	c := Credential{Name: string(w.Name), Type: Type(w.Type)}
	missing := func(fields ...string) error {
		vals := map[string]wireString{
			"username": w.Username, "password": w.Password, "card_holder_name": w.CardHolderName,
			"card_number": w.CardNumber, "card_exp_month": w.CardExpMonth, "card_exp_year": w.CardExpYear,
			"card_cvv": w.CardCVV, "card_brand": w.CardBrand, "secret_value": w.SecretValue,
		}
		for _, f := range fields {
			if vals[f] == "" {
				return &ContractError{Op: "get", Problem: fmt.Sprintf("required field %q is missing from the %s credential", f, c.Type)}
			}
		}
		return nil
	}
	s := func(w wireString) Secret { return NewSecret(string(w)) }
	meta := func() Metadata {
		if len(w.Metadata) == 0 {
			return nil
		}
		m := make(Metadata, len(w.Metadata))
		for k, v := range w.Metadata {
			m[k] = string(v)
		}
		return m
	}
	switch c.Type {
	case TypePassword:
		if err := missing("username", "password"); err != nil {
			return Credential{}, err
		}
		tt := TOTPType(w.TOTPType)
		if tt == "" {
			tt = TOTPNone
		}
		c.Password = &Password{Username: string(w.Username), Password: s(w.Password), TOTP: s(w.TOTP), TOTPType: tt, Metadata: meta()}
	case TypeCreditCard:
		if err := missing("card_holder_name", "card_number", "card_exp_month", "card_exp_year", "card_cvv"); err != nil {
			return Credential{}, err
		}
		cc := &CreditCard{CardHolderName: s(w.CardHolderName), CardNumber: s(w.CardNumber), ExpMonth: s(w.CardExpMonth),
			ExpYear: s(w.CardExpYear), CVV: s(w.CardCVV), Brand: string(w.CardBrand), BillingEmail: s(w.BillingEmail),
			BillingPhone: s(w.BillingPhone), Metadata: meta()}
		if a := w.BillingAddress; a != nil {
			cc.BillingAddress = &BillingAddress{s(a.Line1), s(a.Line2), s(a.City), s(a.State), s(a.StateCode),
				s(a.PostalCode), s(a.Country), s(a.CountryCode)}
			if cc.BillingAddress.isZero() {
				cc.BillingAddress = nil
			}
		}
		c.CreditCard = cc
	case TypeSecret:
		if err := missing("secret_value"); err != nil {
			return Credential{}, err
		}
		c.Secret = &SecretValue{Value: s(w.SecretValue), Label: string(w.SecretLabel)}
	case "":
		return Credential{}, &ContractError{Op: "get", Problem: `required field "type" is missing`}
	default:
		// The value is not shown: a hostile service could put a secret there.
		return Credential{}, &ContractError{Op: "get", Problem: `field "type" is not one of password, credit_card, secret`}
	}
	return c, nil
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

// truncate shortens s to n runes for messages.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// DiffFields lists the wire fields whose values differ between a and b
// (name excluded), by name only, for reports that must not show values.
func DiffFields(a, b Credential) []string {
	ea, err1 := encodeWire(a, false)
	eb, err2 := encodeWire(b, false)
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
func DecodeCreate(body []byte) (Credential, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireCredential
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return Credential{}, Invalid(fieldName(te.Field), "has the wrong JSON type")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Credential{}, Invalid("", "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return Credential{}, Invalid("", "the body is not a valid JSON object")
	}
	switch Type(w.Type) {
	case TypePassword, TypeCreditCard, TypeSecret:
	case "":
		return Credential{}, Invalid("type", "is required")
	default:
		return Credential{}, Invalid("type", "must be one of password, credit_card, secret")
	}
	b, _ := json.Marshal(w)
	c, err := DecodeWire(b)
	if err != nil {
		var ce *ContractError
		if errors.As(err, &ce) {
			return Credential{}, Invalid("", "%s", ce.Problem)
		}
		return Credential{}, err
	}
	c.Name = string(w.Name)
	return c, nil
}
