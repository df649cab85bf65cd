package contract_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testpki"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/vaulttest"
)

// TLS failures are named for what to fix; a trusted service's certificate
// expiry is known after an answer.
func TestTLSFailuresSayWhatToFix(t *testing.T) {
	ca := testpki.NewCA(t, "Test CA")
	client := ca.Client(t, "credvault", time.Hour)
	item := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	})
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	trusting := netpolicy.TLSOptions{CABundle: ca.CertPEM}
	get := func(base string, o netpolicy.TLSOptions) (*contract.Client, error) {
		tr, err := netpolicy.NewTLSTransport(policy, 0, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.CloseIdleConnections)
		u, _ := url.Parse(base + "/api")
		c, err := contract.New(u, vault.NewSecret(vaulttest.Token), contract.Options{Transport: tr, MaxAttempts: 1, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetItem(context.Background(), "x")
		return c, err
	}
	good := testpki.Serve(t, item, ca.Server(t, time.Now().Add(-time.Hour), 20*24*time.Hour), "")
	for _, c := range []struct {
		name, base string
		o          netpolicy.TLSOptions
		want       string
	}{
		{"unknown authority", good, netpolicy.TLSOptions{}, "signed by an authority this configuration does not trust"},
		{"name mismatch", testpki.Serve(t, item, ca.ServerFor(t, net.IPv6loopback), ""), trusting, "not valid for that host name"},
		{"expired", testpki.Serve(t, item, ca.Server(t, time.Now().Add(-48*time.Hour), 24*time.Hour), ""), trusting, "has expired or is not valid yet"},
		{"client certificate required", testpki.Serve(t, item, ca.Server(t, time.Now().Add(-time.Hour), 3*time.Hour), ca.CertPEM), trusting,
			"requires a client certificate"},
		{"client certificate refused", testpki.Serve(t, item, ca.Server(t, time.Now().Add(-time.Hour), 3*time.Hour), testpki.NewCA(t, "Other").CertPEM),
			netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}, "refused credvault's client certificate"},
	} {
		_, err := get(c.base, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	c, err := get(good, trusting)
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := c.PeerCertificateExpiry(); !ok || time.Until(at) < 18*24*time.Hour || time.Until(at) > 20*24*time.Hour {
		t.Fatalf("the service's certificate expiry: %v %v", at, ok)
	}
	mtls := testpki.Serve(t, item, ca.Server(t, time.Now().Add(-time.Hour), 3*time.Hour), ca.CertPEM)
	if _, err := get(mtls, netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}); err != nil {
		t.Fatalf("over mTLS: %v", err)
	}
}
