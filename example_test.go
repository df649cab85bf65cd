package credvault_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

// Example shows a platform backend embedding credvault: open it from the
// environment's configuration, point an organization at its custom
// credential service, then store a login and read it back with its secret
// at automation time.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "credvault-example")
	defer os.RemoveAll(dir)

	// A stand-in for the customer's credential service.
	svc := fakeservice.NewExample("customer-token-1234567890")
	defer svc.Close()

	// Normally config.FromEnv(); here the embedded SQLite default in a
	// temporary directory, with loopback allowed for the stand-in.
	cfg, err := config.Parse(func(string) (string, bool) { return "", false })
	if err != nil {
		log.Fatal(err)
	}
	cfg.DataDir = dir
	cfg.AllowedHosts = []string{"127.0.0.1"}

	p, err := credvault.Open(ctx, cfg, credvault.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	acme, err := p.Organizations.Create(ctx, "Acme")
	if err != nil {
		log.Fatal(err)
	}
	admin := org.Principal{OrganizationID: acme.OrganizationID, KeyID: acme.APIKeyID}
	if _, err := p.Configs.Save(ctx, admin, org.ServiceConfig{
		APIBaseURL: svc.Base(), APIToken: vault.NewSecret("customer-token-1234567890"),
	}); err != nil {
		log.Fatal(err)
	}

	view, err := p.Credentials.Create(ctx, acme.OrganizationID, vault.Credential{
		Name: "Bank", Type: vault.TypePassword,
		Password: &vault.Password{
			Username: "alice@example.com", Password: vault.NewSecret("correct horse"),
			TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", view.Name, view.CredentialType)

	// At run time the automation reads the secret.
	full, err := p.Credentials.GetWithSecret(ctx, acme.OrganizationID, view.CredentialID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("username:", full.Credential.Password.Username)
	fmt.Println("printed password:", full.Credential.Password.Password)
	fmt.Println("password matches:", full.Credential.Password.Password.Reveal() == "correct horse")

	code, err := p.Credentials.TOTPCode(ctx, acme.OrganizationID, view.CredentialID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("totp digits:", len(code.Code), code.SecondsRemaining <= int(30*time.Second/time.Second))
	// Output:
	// stored: Bank password
	// username: alice@example.com
	// printed password: [REDACTED]
	// password matches: true
	// totp digits: 6 true
}
