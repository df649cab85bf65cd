package credvault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
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

	// A stand-in for the customer's credential service (the contract:
	// POST {base} → {"id"}, GET and DELETE {base}/{id}, Bearer token).
	svc := httptest.NewServer(customerService("customer-token-1234567890"))
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
		APIBaseURL: svc.URL + "/api/v1/credentials", APIToken: vault.NewSecret("customer-token-1234567890"),
	}); err != nil {
		log.Fatal(err)
	}

	view, err := p.Credentials.Create(ctx, acme.OrganizationID, vault.Credential{
		Name: "Bank", Type: vault.TypePassword,
		Password: &vault.Password{
			Username: "alice@example.com", Password: vault.NewSecret("correct horse"),
			TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator,
		},
	}, credentials.Patch{})
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

	// The REST API, settings page and probes mount in the backend's own mux.
	mux := http.NewServeMux()
	mux.Handle("/credvault/", http.StripPrefix("/credvault", p.Handler()))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/credvault/healthz", nil))
	fmt.Println("healthz:", rec.Code)
	// Output:
	// stored: Bank password
	// username: alice@example.com
	// printed password: [REDACTED]
	// password matches: true
	// totp digits: 6 true
	// healthz: 200
}

// customerService is an in-memory custom credential service, enough for
// the example.
func customerService(token string) http.Handler {
	var mu sync.Mutex
	items := map[string]json.RawMessage{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"detail":"Invalid API token"}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/credentials/")
		switch {
		case r.Method == http.MethodPost:
			var body json.RawMessage
			_ = json.NewDecoder(r.Body).Decode(&body)
			id = fmt.Sprintf("item-%d", len(items)+1)
			items[id] = body
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
		case r.Method == http.MethodGet && items[id] != nil:
			_, _ = w.Write(items[id])
		case r.Method == http.MethodDelete && items[id] != nil:
			delete(items, id)
		default:
			http.Error(w, `{"detail":"Credential not found"}`, http.StatusNotFound)
		}
	})
}
