package credentials_test

import (
	"errors"
	"fmt"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

func field[T any](v T) credentials.Field[T] { return credentials.Field[T]{Set: true, Value: &v} }

func invalidField(err error) string {
	var inv *problem.InvalidError
	if errors.As(err, &inv) {
		return inv.Field
	}
	return "(not invalid: " + fmt.Sprint(err) + ")"
}

func password(name, seed string) vault.Credential {
	return vault.Credential{Name: name, Type: vault.TypePassword, Password: &vault.Password{Username: "alice", Password: vault.NewSecret("pw"),
		TOTP: vault.NewSecret(seed), TOTPType: vault.TOTPAuthenticator, TOTPIdentifier: "alice@example.com"}}
}
