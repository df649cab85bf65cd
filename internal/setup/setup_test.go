package setup_test

import (
	"testing"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/setup"
	"github.com/credvault/credvault/vault"
)

func TestNewEnvClient(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CREDENTIAL_VAULT_TYPE": "custom", "CUSTOM_CREDENTIAL_API_BASE_URL": "http://127.0.0.1:8081/api/v1/credentials",
		"CUSTOM_CREDENTIAL_API_TOKEN": "env-token-0123456789",
	}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	c, err := setup.NewEnvClient(cfg, nil)
	if err != nil || c == nil || c.Source() != vault.SourceEnv {
		t.Fatalf("env client: %v %v", c, err)
	}
	cfg.CustomBaseURL = "http://creds.example.com/x"
	if _, err := setup.NewEnvClient(cfg, nil); err == nil {
		t.Fatal("env client accepted plain http to a non-loopback host")
	}
	cfg.VaultType = ""
	if c, err := setup.NewEnvClient(cfg, nil); c != nil || err != nil {
		t.Fatalf("vault type unset: %v %v, want nil, nil", c, err)
	}
}
