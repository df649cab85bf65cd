// Package vaulttest holds the credentials, token and client the vault
// packages' tests share. Its values are test secrets: Scrub hides them in
// failure messages.
package vaulttest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
)

// Test secrets.
const (
	Token         = "tok-9f8e7d6c5b4a"
	PasswordValue = "hunter2-P@ssw0rd-unique"
	CardNumber    = "4111111111111111"
	APIValue      = "sk_live_abcdef123456"
)

// Scrub hides the test's secrets in failure messages: a failing test must
// not print the secret it caught.
func Scrub(s string) string {
	for _, sec := range []string{Token, PasswordValue, CardNumber, APIValue, "JBSWY3DPEHPK3PXP", "Alice Smith", "1 Main St", "billing@example.com", "4111abcd"} {
		s = strings.ReplaceAll(s, sec, "<secret>")
	}
	return s
}

// URL parses raw or fails the test.
func URL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Client is a contract client for base with Token, short timeouts and
// backoff unless opts says otherwise.
func Client(t testing.TB, base string, opts contract.Options) *contract.Client {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	c, err := contract.New(URL(t, base), vault.NewSecret(Token), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Password is a password credential with every field.
func Password() vault.Credential {
	return vault.Credential{Name: "Bank", Type: vault.TypePassword, Password: &vault.Password{
		Username: "alice@example.com", Password: vault.NewSecret(PasswordValue), TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"),
		TOTPType: vault.TOTPAuthenticator, TOTPIdentifier: "alice@example.com", Metadata: vault.Metadata{"env": "prod"},
	}}
}

// Card is a card with a billing address.
func Card() vault.Credential {
	return vault.Credential{Name: "Visa", Type: vault.TypeCreditCard, CreditCard: &vault.CreditCard{
		CardHolderName: vault.NewSecret("Alice Smith"), CardNumber: vault.NewSecret(CardNumber),
		ExpMonth: vault.NewSecret("07"), ExpYear: vault.NewSecret("2030"), CVV: vault.NewSecret("123"), Brand: "visa",
		BillingAddress: &vault.BillingAddress{Line1: vault.NewSecret("1 Main St"), City: vault.NewSecret("Springfield"),
			CountryCode: vault.NewSecret("US")},
		BillingEmail: vault.NewSecret("billing@example.com"),
	}}
}

// Secret is an API secret.
func Secret() vault.Credential {
	return vault.Credential{Name: "Stripe", Type: vault.TypeSecret, Secret: &vault.SecretValue{
		Value: vault.NewSecret(APIValue), Label: "stripe"}}
}
