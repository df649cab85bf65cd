package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/credservice/credservicetest"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/serve"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/internal/testpki"
)

// tlsService is the reference credential-service over HTTPS with its
// files, requiring client certificates when clientCA is set.
type tlsService struct {
	files             *serve.TLSFiles
	certFile, keyFile string
	addr              string
	base              string
}

func startTLSService(t *testing.T, ca *testpki.CA, server testpki.Pair, clientCA string) *tlsService {
	t.Helper()
	dir := t.TempDir()
	s := &tlsService{certFile: testpki.Write(t, dir, "server.pem", server.CertPEM), keyFile: testpki.Write(t, dir, "server.key", server.KeyPEM)}
	caFile := ""
	if clientCA != "" {
		caFile = testpki.Write(t, dir, "clients.pem", clientCA)
	}
	var err error
	if s.files, err = serve.LoadTLSFiles(s.certFile, s.keyFile, caFile); err != nil {
		t.Fatal(err)
	}
	st := credservicetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	svc, err := credservice.New(st, kr, []string{refToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(tls.NewListener(ln, s.files.Config())) }()
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	s.base = "https://" + s.addr + credservice.Prefix
	return s
}

func tlsCfgBody(base string, extra map[string]string) map[string]any {
	c := map[string]string{"api_base_url": base, "api_token": refToken}
	for k, v := range extra {
		c[k] = v
	}
	return map[string]any{"config": c}
}

// TestTheWholePathOverMutualTLS: a customer's service on its own CA that
// requires client certificates. Without the bundle credvault refuses it
// by name; with the bundle but no client certificate the service's
// refusal is named; with both, a credential is created, read, gives a
// TOTP code and is deleted, all over mTLS; the service's certificate
// rotated on SIGHUP keeps working; a client without a certificate is
// refused by the service; the client certificate's expiry is shown and
// warned about, its key never.
func TestTheWholePathOverMutualTLS(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "Acme internal CA")
	client := ca.Client(t, "credvault for Acme", 20*24*time.Hour)
	svc := startTLSService(t, ca, ca.Server(t, time.Now().Add(-time.Hour), 24*time.Hour), ca.CertPEM)
	h := newHarness(t, testdb.Postgres)
	_, key := h.org("Acme")
	test := func(extra map[string]string) (int, string) {
		r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, tlsCfgBody(svc.base, extra))
		d, _ := r.json(t)["detail"].(string)
		return r.status, d
	}
	if code, d := test(nil); code != 400 || !strings.Contains(d, "signed by an authority this configuration does not trust") {
		t.Fatalf("without the bundle: %d %q", code, d)
	}
	if code, d := test(map[string]string{"ca_bundle": ca.CertPEM}); code != 400 || !strings.Contains(d, "requires a client certificate") {
		t.Fatalf("without a client certificate: %d %q", code, d)
	}
	mtls := map[string]string{"ca_bundle": ca.CertPEM, "client_certificate": client.CertPEM, "client_key": client.KeyPEM}
	if code, d := test(mtls); code != 200 {
		t.Fatalf("with both: %d %q", code, d)
	}
	tested := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, tlsCfgBody(svc.base, mtls))
	if !strings.Contains(string(tested.body), "the client certificate expires in 19 days") ||
		!strings.Contains(string(tested.body), "the service's TLS certificate expires in 0 days") {
		t.Fatalf("the test's warnings: %s", tested.body)
	}
	saved := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tlsCfgBody(svc.base, mtls))
	if saved.status != 200 {
		t.Fatalf("save: %d %s", saved.status, saved.body)
	}
	body := string(saved.body)
	if strings.Contains(body, "PRIVATE KEY") || strings.Contains(body, "BEGIN CERTIFICATE") ||
		!strings.Contains(body, "CN=credvault for Acme") || !strings.Contains(body, "expires in 19 days") {
		t.Fatalf("the saved configuration shows %s", body)
	}

	created := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank"))
	if created.status != 201 {
		t.Fatalf("create over mTLS: %d %s", created.status, scrub(string(created.body)))
	}
	id := created.json(t)["credential_id"].(string)
	for _, path := range []string{"/api/v1/credentials/" + id, "/api/v1/credentials/" + id + "/totp-code"} {
		if r := h.do("GET", path, key, nil); r.status != 200 {
			t.Fatalf("GET %s over mTLS: %d %s", path, r.status, scrub(string(r.body)))
		}
	}

	// Rotate the service's certificate: write the new files, SIGHUP's
	// reload; new handshakes present it, and credvault keeps working.
	next := ca.Server(t, time.Now().Add(-time.Minute), 48*time.Hour)
	testpki.Write(t, "", svc.certFile, next.CertPEM)
	testpki.Write(t, "", svc.keyFile, next.KeyPEM)
	if err := svc.files.Reload(); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.CertPEM))
	pair, _ := tls.X509KeyPair([]byte(client.CertPEM), []byte(client.KeyPEM))
	conn, err := tls.Dial("tcp", svc.addr, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().PeerCertificates[0].NotAfter; !got.Equal(next.NotAfter.Truncate(time.Second)) {
		t.Fatalf("after the reload the service presents a certificate until %v, want %v", got, next.NotAfter)
	}
	conn.Close()
	h.p.Vault.Close() // drop pooled connections: the next request handshakes anew
	if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil); r.status != 200 {
		t.Fatalf("after the rotation: %d %s", r.status, scrub(string(r.body)))
	}
	if r := h.do("DELETE", "/api/v1/credentials/"+id, key, nil); r.status != 204 {
		t.Fatalf("delete over mTLS: %d", r.status)
	}

	// The service refuses a client without a certificate.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := plain.Get(svc.base + "/nope")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d", resp.StatusCode)
	}
	h.assertNoSecret(client.KeyPEM[40:80])
}

// TestTLSFailuresAreNamed: a certificate for another address, an expired
// one, a bad bundle and a key that does not match its certificate are
// each named.
func TestTLSFailuresAreNamed(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "Acme internal CA")
	h := newHarness(t, testdb.SQLite)
	_, key := h.org("Acme")
	for _, c := range []struct {
		name   string
		server testpki.Pair
		want   string
	}{
		{"name mismatch", ca.ServerFor(t, net.IPv6loopback), "is not valid for that host name"},
		{"expired", ca.Server(t, time.Now().Add(-48*time.Hour), 24*time.Hour), "has expired or is not valid yet"},
	} {
		svc := startTLSService(t, ca, c.server, "")
		r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, tlsCfgBody(svc.base, map[string]string{"ca_bundle": ca.CertPEM}))
		if d, _ := r.json(t)["detail"].(string); r.status != 400 || !strings.Contains(d, c.want) {
			t.Errorf("%s: %d %q, want %q", c.name, r.status, d, c.want)
		}
	}
	other := ca.Client(t, "other", time.Hour)
	mine := ca.Client(t, "mine", time.Hour)
	for _, c := range []struct {
		extra map[string]string
		field string
	}{
		{map[string]string{"ca_bundle": "not a certificate"}, "config.ca_bundle"},
		{map[string]string{"ca_bundle": mine.KeyPEM}, "config.ca_bundle"},
		{map[string]string{"client_certificate": mine.CertPEM}, "config.client_key"},
		{map[string]string{"client_key": mine.KeyPEM}, "config.client_certificate"},
		{map[string]string{"client_certificate": mine.CertPEM, "client_key": other.KeyPEM}, "config.client_key"},
	} {
		r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tlsCfgBody("https://127.0.0.1:1/api", c.extra))
		d, _ := r.json(t)["detail"].(string)
		if r.status != 400 || !strings.HasPrefix(d, c.field+": ") || strings.Contains(d, "PRIVATE KEY") {
			t.Errorf("%v: %d %q, want a 400 naming %s", c.field, r.status, d, c.field)
		}
	}
}

// The configuration's identity includes its trust: the same URL with
// another CA bundle or client certificate is another configuration, whose
// items are read with their own trust.
func TestTrustIsPartOfAConfigurationsIdentity(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "Acme internal CA")
	svc := startTLSService(t, ca, ca.Server(t, time.Now().Add(-time.Hour), 24*time.Hour), "")
	h := newHarness(t, testdb.SQLite)
	_, key := h.org("Acme")
	first := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tlsCfgBody(svc.base, map[string]string{"ca_bundle": ca.CertPEM}))
	again := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tlsCfgBody(svc.base, map[string]string{"ca_bundle": ca.CertPEM}))
	if first.status != 200 || again.status != 200 || first.json(t)["token"].(map[string]any)["id"] != again.json(t)["token"].(map[string]any)["id"] {
		t.Fatalf("re-saving the same trust: %s / %s", first.body, again.body)
	}
	client := ca.Client(t, "credvault", time.Hour)
	withCert := h.do("POST", "/api/v1/credentials/custom_credential/create", key, tlsCfgBody(svc.base,
		map[string]string{"ca_bundle": ca.CertPEM, "client_certificate": client.CertPEM, "client_key": client.KeyPEM}))
	if withCert.status != 200 || withCert.json(t)["token"].(map[string]any)["id"] == first.json(t)["token"].(map[string]any)["id"] {
		t.Fatalf("another client certificate kept the id: %s", withCert.body)
	}
}

// TestTheOperatorsServiceOverMutualTLS: the env-configured service on its
// own CA with client certificates, from CUSTOM_CREDENTIAL_CA_FILE and the
// client certificate files: credentials go there over mTLS, and /readyz
// and the metrics warn of the client certificate's near expiry.
func TestTheOperatorsServiceOverMutualTLS(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "Operator CA")
	client := ca.Client(t, "credvault", 10*24*time.Hour)
	svc := startTLSService(t, ca, ca.Server(t, time.Now().Add(-time.Hour), 24*time.Hour), ca.CertPEM)
	dir := t.TempDir()
	cfg := loopbackConfig(t, testdb.SQLite)
	cfg.VaultType, cfg.CustomBaseURL, cfg.CustomToken = "custom", svc.base, refToken
	cfg.CustomCAFile = testpki.Write(t, dir, "ca.pem", ca.CertPEM)
	cfg.CustomClientCertFile = testpki.Write(t, dir, "client.pem", client.CertPEM)
	cfg.CustomClientKeyFile = testpki.Write(t, dir, "client.key", client.KeyPEM)
	h := newHarnessWithConfig(t, cfg)
	_, key := h.org("Acme")
	created := h.do("POST", "/api/v1/credentials", key, secretBody("OpenAI", "prod"))
	if created.status != 201 {
		t.Fatalf("create through the operator's service over mTLS: %d %s", created.status, scrub(string(created.body)))
	}
	ready := h.do("GET", "/readyz", "", nil)
	if ready.status != 200 || !strings.Contains(string(ready.body), "expires in 9 days") {
		t.Fatalf("readyz: %d %s", ready.status, ready.body)
	}
	metrics := h.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics.body), "credvault_env_client_certificate_expiry_seconds 8") {
		t.Fatalf("the expiry metric is missing: %.300s", metrics.body)
	}

	// A key that does not match its certificate stops start-up, naming
	// the variable.
	bad := cfg
	bad.CustomClientKeyFile = testpki.Write(t, dir, "other.key", ca.Client(t, "other", time.Hour).KeyPEM)
	if _, err := credvault.Open(context.Background(), bad, credvault.Options{Migrate: true}); err == nil ||
		!strings.Contains(err.Error(), "CUSTOM_CREDENTIAL_CLIENT_KEY_FILE") {
		t.Fatalf("a mismatched key: %v", err)
	}
}
