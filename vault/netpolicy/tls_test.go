package netpolicy_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testpki"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
)

func TestTLSOptions(t *testing.T) {
	ca := testpki.NewCA(t, "Test CA")
	client := ca.Client(t, "credvault", 10*24*time.Hour)
	other := ca.Client(t, "other", time.Hour)
	zero := netpolicy.TLSOptions{}
	if !zero.IsZero() || zero.Identity() != "" {
		t.Fatal("zero options")
	}
	c, err := zero.ClientConfig()
	if err != nil || c.MinVersion != tls.VersionTLS12 || c.RootCAs != nil || c.InsecureSkipVerify {
		t.Fatalf("zero config: %+v %v", c, err)
	}
	full := netpolicy.TLSOptions{CABundle: ca.CertPEM, ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}
	c, err = full.ClientConfig()
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.InsecureSkipVerify {
		t.Fatalf("full config: %v", err)
	}
	if full.Identity() == "" || full.Identity() == (netpolicy.TLSOptions{CABundle: ca.CertPEM}).Identity() {
		t.Fatal("the client certificate is not part of the identity")
	}
	for _, c := range []struct {
		o     netpolicy.TLSOptions
		field string
	}{
		{netpolicy.TLSOptions{CABundle: "junk"}, "config.ca_bundle"},
		{netpolicy.TLSOptions{CABundle: client.KeyPEM}, "config.ca_bundle"},
		{netpolicy.TLSOptions{CABundle: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "config.ca_bundle"},
		{netpolicy.TLSOptions{ClientCertificate: client.CertPEM}, "config.client_key"},
		{netpolicy.TLSOptions{ClientKey: vault.NewSecret(client.KeyPEM)}, "config.client_certificate"},
		{netpolicy.TLSOptions{ClientCertificate: "junk", ClientKey: vault.NewSecret(client.KeyPEM)}, "config.client_certificate"},
		{netpolicy.TLSOptions{ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(other.KeyPEM)}, "config.client_key"},
	} {
		err := c.o.Check("config.")
		var inv *problem.InvalidError
		if !errors.As(err, &inv) || inv.Field != c.field || strings.Contains(err.Error(), "PRIVATE") {
			t.Errorf("%+v: %v, want %s", c.field, err, c.field)
		}
		if _, err := netpolicy.NewTLSTransport(netpolicy.AddressPolicy{}, 0, c.o); err == nil {
			t.Errorf("a transport over bad options (%s)", c.field)
		}
	}
	info, ok := netpolicy.Describe(client.CertPEM, time.Now())
	if !ok || info.Subject != "CN=credvault" || info.Issuer != "CN=Test CA,O=credvault tests" || len(info.SHA256) != 64 || info.DaysLeft != 9 {
		t.Fatalf("describe: %+v", info)
	}
	if _, ok := netpolicy.Describe("junk", time.Now()); ok {
		t.Fatal("described junk")
	}
	if all := netpolicy.DescribeAll(ca.CertPEM+client.CertPEM, time.Now()); len(all) != 2 {
		t.Fatalf("describe all: %+v", all)
	}
}

// The client key never prints, however the options are printed.
func TestTLSOptionsPrintNoKey(t *testing.T) {
	client := testpki.NewCA(t, "Test CA").Client(t, "credvault", time.Hour)
	o := netpolicy.TLSOptions{ClientCertificate: client.CertPEM, ClientKey: vault.NewSecret(client.KeyPEM)}
	b, _ := json.Marshal(o)
	for _, out := range []string{fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), string(b)} {
		if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, client.KeyPEM[40:70]) {
			t.Fatalf("the key printed: %s", out)
		}
	}
}
