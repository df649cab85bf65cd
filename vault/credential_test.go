package vault_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/vaulttest"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		mut   func(c *vault.Credential)
		base  func() vault.Credential
		field string // "" = valid
	}{
		{"password ok", func(c *vault.Credential) {}, vaulttest.Password, ""},
		{"card ok", func(c *vault.Credential) {}, vaulttest.Card, ""},
		{"secret ok", func(c *vault.Credential) {}, vaulttest.Secret, ""},
		{"empty name", func(c *vault.Credential) { c.Name = " " }, vaulttest.Password, "name"},
		{"unknown type", func(c *vault.Credential) { c.Type = "ssh" }, vaulttest.Password, "credential_type"},
		{"type mismatch", func(c *vault.Credential) { c.Type = vault.TypeSecret }, vaulttest.Password, "credential_type"},
		{"empty username", func(c *vault.Credential) { c.Password.Username = "" }, vaulttest.Password, "username"},
		{"empty password", func(c *vault.Credential) { c.Password.Password = vault.Secret{} }, vaulttest.Password, "password"},
		{"bad totp type", func(c *vault.Credential) { c.Password.TOTPType = "sms" }, vaulttest.Password, "totp_type"},
		{"bad totp seed", func(c *vault.Credential) { c.Password.TOTP = vault.NewSecret("not base32!!") }, vaulttest.Password, "totp"},
		{"authenticator without seed", func(c *vault.Credential) { c.Password.TOTP = vault.Secret{} }, vaulttest.Password, "totp"},
		// Skyvern's rules: required strings non-empty, values kept as sent.
		{"card number 11 digits", func(c *vault.Credential) { c.CreditCard.CardNumber = vault.NewSecret("41111111111") }, vaulttest.Card, ""},
		{"cvv 5 digits", func(c *vault.Credential) { c.CreditCard.CVV = vault.NewSecret("12345") }, vaulttest.Card, ""},
		{"empty card number", func(c *vault.Credential) { c.CreditCard.CardNumber = vault.NewSecret(" ") }, vaulttest.Card, "card_number"},
		{"empty month", func(c *vault.Credential) { c.CreditCard.ExpMonth = vault.Secret{} }, vaulttest.Card, "card_exp_month"},
		{"empty year", func(c *vault.Credential) { c.CreditCard.ExpYear = vault.Secret{} }, vaulttest.Card, "card_exp_year"},
		{"empty cvv", func(c *vault.Credential) { c.CreditCard.CVV = vault.Secret{} }, vaulttest.Card, "card_cvv"},
		{"empty brand", func(c *vault.Credential) { c.CreditCard.Brand = "" }, vaulttest.Card, "card_brand"},
		{"name 1 KiB", func(c *vault.Credential) { c.Name = strings.Repeat("n", 1024) }, vaulttest.Secret, ""},
		{"name over 1 KiB", func(c *vault.Credential) { c.Name = strings.Repeat("n", 1025) }, vaulttest.Secret, "name"},
		{"secret 64 KiB", func(c *vault.Credential) { c.Secret.Value = vault.NewSecret(strings.Repeat("s", 64<<10)) }, vaulttest.Secret, ""},
		{"secret over 64 KiB", func(c *vault.Credential) { c.Secret.Value = vault.NewSecret(strings.Repeat("s", 64<<10+1)) }, vaulttest.Secret, "secret_value"},
		{"256 metadata entries", func(c *vault.Credential) { c.Password.Metadata = metadataOf(256) }, vaulttest.Password, ""},
		{"257 metadata entries", func(c *vault.Credential) { c.Password.Metadata = metadataOf(257) }, vaulttest.Password, "metadata"},
		{"empty holder", func(c *vault.Credential) { c.CreditCard.CardHolderName = vault.Secret{} }, vaulttest.Card, "card_holder_name"},
		{"empty secret", func(c *vault.Credential) { c.Secret.Value = vault.Secret{} }, vaulttest.Secret, "secret_value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base()
			tc.mut(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *problem.InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want an problem.InvalidError for %s", err, tc.field)
			}
			for _, s := range []string{vaulttest.PasswordValue, vaulttest.CardNumber, vaulttest.APIValue, "4111abcd"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error echoes a secret: %s", vaulttest.Scrub(err.Error()))
				}
			}
		})
	}
}

func metadataOf(n int) vault.Metadata {
	m := vault.Metadata{}
	for i := range n {
		m[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	return m
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	c := vaulttest.Card()
	c.CreditCard.CardNumber = vault.NewSecret("4111 1111-1111 1112")
	c.CreditCard.ExpYear = vault.NewSecret("31")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.CreditCard.CardNumber.Reveal() != "4111 1111-1111 1112" || c.CreditCard.ExpYear.Reveal() != "31" || c.CreditCard.LastFour() != "1112" {
		t.Fatal("card values were reformatted, or last four not taken from the digits")
	}
	p := vaulttest.Password()
	p.Password.TOTP = vault.NewSecret("jbsw y3dp ehpk 3pxp")
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Password.TOTP.Reveal() != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("seed not normalised")
	}
	p.Password.TOTPType = ""
	p.Password.TOTP = vault.Secret{}
	if err := p.Validate(); err != nil || p.Password.TOTPType != vault.TOTPNone {
		t.Fatalf("default totp_type = %q, %v", p.Password.TOTPType, err)
	}
}

func TestTOTPCode(t *testing.T) {
	t.Parallel()
	// RFC 6238 test vector: SHA1 seed "12345678901234567890" at 59s → 94287082 (8 digits).
	seed := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	at := time.Unix(59, 0)
	code, rem, err := vault.TOTPCode(vault.NewSecret(seed), at)
	if err != nil || code != "287082" || rem != 1 {
		t.Fatalf("seed: code %q rem %d err %v; want 287082, 1", code, rem, err)
	}
	uri := "otpauth://totp/Example:alice?secret=" + seed + "&issuer=Example&digits=8&period=30"
	code, _, err = vault.TOTPCode(vault.NewSecret(uri), at)
	if err != nil || code != "94287082" {
		t.Fatalf("uri: code %q err %v; want 94287082", code, err)
	}
	if _, _, err := vault.TOTPCode(vault.NewSecret("!!"), at); !errors.Is(err, problem.ErrInvalid) {
		t.Fatalf("bad seed: %v", err)
	}
}
