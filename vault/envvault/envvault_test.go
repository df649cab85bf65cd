package envvault_test

import (
	"context"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testpki"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/vaulttest"
)

// TestEnvVault: the operator's service may be plain http on loopback (or
// an allowed host), never on another host; its refs name vault.SourceEnv
// and it serves a whole lifecycle.
func TestEnvVault(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	v, err := envvault.New(svc.Base(), vault.NewSecret(vaulttest.Token), envvault.Options{Field: "CUSTOM_CREDENTIAL_API_BASE_URL"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := v.Create(ctx, "org", vaulttest.Secret())
	if err != nil || ref.Source != vault.SourceEnv {
		t.Fatalf("create: %+v %v", ref, err)
	}
	if src, _ := v.CurrentSource(ctx, "org"); src != vault.SourceEnv {
		t.Fatalf("current source %q", src)
	}
	if _, err := v.Get(ctx, "org", ref); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, "org", ref); err != nil {
		t.Fatal(err)
	}
	if _, err := envvault.New("http://creds.example.com/x", vault.NewSecret(vaulttest.Token), envvault.Options{Field: "CUSTOM_CREDENTIAL_API_BASE_URL"}); err == nil {
		t.Fatal("plain http to a non-loopback host accepted")
	}
	if _, err := envvault.New("http://creds.example.com/x", vault.NewSecret(vaulttest.Token), envvault.Options{AllowedHosts: []string{"creds.example.com"}}); err != nil {
		t.Fatalf("an allowed host: %v", err)
	}
}

// The operator's service with its own trust: a bad option is refused at
// construction, a good one reaches it over mTLS, and the vault counts
// the connections its transport opened.
func TestEnvVaultOverMutualTLS(t *testing.T) {
	t.Parallel()
	base, ca, client := testpki.MutualTLSService(t, "Operator CA")
	if _, err := envvault.New(base, vault.NewSecret(vaulttest.Token), envvault.Options{TLS: netpolicy.TLSOptions{ClientKey: vault.NewSecret(client.KeyPEM)}}); err == nil {
		t.Fatal("a key without its certificate accepted")
	}
	v, err := envvault.New(base, vault.NewSecret(vaulttest.Token), envvault.Options{AllowedHosts: []string{"127.0.0.1"},
		TLS: netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Get(context.Background(), "org", vault.ItemRef{ID: "x", Source: vault.SourceEnv}); err != nil {
		t.Fatal(err)
	}
	if v.ConnectionsOpened() != 1 {
		t.Fatalf("%d connections opened", v.ConnectionsOpened())
	}
}
