package orgvault_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testpki"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
	"github.com/credvault/credvault/vault/vaulttest"
)

// Each TLS identity gets its own pooled transport: configurations of the
// same trust share connections, and one without the trust is refused.
func TestEachTrustHasItsOwnPool(t *testing.T) {
	t.Parallel()
	base, ca, client := testpki.MutualTLSService(t, "Test CA")
	p, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	v := orgvault.New(&countingSource{cfgs: map[string]orgvault.Config{}}, orgvault.Options{Policy: p, Timeout: 5 * time.Second})
	defer v.Close()
	trust := netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}
	for i := range 3 {
		c, err := v.ClientFor(orgvault.Config{ID: "cfg", BaseURL: base, Token: vault.NewSecret(vaulttest.Token), TLS: trust})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetItem(context.Background(), "x"); err != nil {
			t.Fatalf("request %d over mTLS: %v", i, err)
		}
	}
	if n := v.ConnectionsOpened(); n != 1 {
		t.Fatalf("%d connections for three requests of one trust, want 1", n)
	}
	c, err := v.ClientFor(orgvault.Config{ID: "other", BaseURL: base, Token: vault.NewSecret(vaulttest.Token)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetItem(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "does not trust") {
		t.Fatalf("without the trust: %v", err)
	}
	if _, err := v.ClientFor(orgvault.Config{ID: "bad", BaseURL: base, Token: vault.NewSecret(vaulttest.Token),
		TLS: netpolicy.TLSOptions{CABundle: "junk"}}); err == nil {
		t.Fatal("a bad bundle made a client")
	}
}
