package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/credvault/credvault/internal/testpki"
)

// trust is the HTTPS variant's PKI, one CA made for the run: it issued the
// reference service's and both credvault processes' server certificates
// and credvault's client certificate, and the service requires a client
// certificate it signed (mTLS). Every organization's configuration names
// the CA as its ca_bundle and carries the client certificate and key.
type trust struct {
	dir    string
	ca     *testpki.CA
	client testpki.Pair
	pool   *x509.CertPool
	cert   tls.Certificate // the client certificate, for this program's own calls
}

// fatal is the reporter testpki needs: a certificate that cannot be made
// (crypto/rand failing) ends the run.
type fatal struct{}

func (fatal) Helper()           {}
func (fatal) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func newTrust(dir string) (*trust, error) {
	dir = filepath.Join(dir, "tls")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	ca := testpki.NewCA(fatal{}, "credvault failover CA")
	t := &trust{dir: dir, ca: ca, client: ca.Client(fatal{}, "credvault", 24*time.Hour), pool: x509.NewCertPool()}
	t.pool.AddCert(ca.Cert)
	var err error
	if t.cert, err = tls.X509KeyPair([]byte(t.client.CertPEM), []byte(t.client.KeyPEM)); err != nil {
		return nil, err
	}
	testpki.Write(fatal{}, dir, "ca.pem", ca.CertPEM)
	for _, name := range []string{"service", "credvault"} {
		if _, err := t.issue(name); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *trust) path(name string) string { return filepath.Join(t.dir, name) }

// issue writes a new server certificate and key for name (service or
// credvault), each by rename, so a process reading them on SIGHUP never
// sees half a file, and returns the certificate.
func (t *trust) issue(name string) (*x509.Certificate, error) {
	p := t.ca.Server(fatal{}, time.Now().Add(-time.Minute), 24*time.Hour)
	for _, f := range [][2]string{{".key", p.KeyPEM}, {".crt", p.CertPEM}} {
		tmp := t.path(name + f[0] + ".new")
		if err := os.WriteFile(tmp, []byte(f[1]), 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, t.path(name+f[0])); err != nil {
			return nil, err
		}
	}
	b, _ := pem.Decode([]byte(p.CertPEM))
	return x509.ParseCertificate(b.Bytes)
}

// serviceEnv and serveEnv are the TLS variables of the reference service
// (which requires a client certificate from the CA) and of credvault.
func (t *trust) serviceEnv() []string {
	return []string{"CREDENTIAL_SERVICE_TLS_CERT_FILE=" + t.path("service.crt"), "CREDENTIAL_SERVICE_TLS_KEY_FILE=" + t.path("service.key"),
		"CREDENTIAL_SERVICE_CLIENT_CA_FILE=" + t.path("ca.pem")}
}

func (t *trust) serveEnv() []string {
	return []string{"CREDVAULT_TLS_CERT_FILE=" + t.path("credvault.crt"), "CREDVAULT_TLS_KEY_FILE=" + t.path("credvault.key")}
}

// clientConfig trusts only the run's CA and presents the client
// certificate.
func (t *trust) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: t.pool, Certificates: []tls.Certificate{t.cert}, MinVersion: tls.VersionTLS12}
}

// configTLS is the TLS part of an organization's configuration body.
func (t *trust) configTLS() string {
	return fmt.Sprintf(`,"ca_bundle":%q,"client_certificate":%q,"client_key":%q`, t.ca.CertPEM, t.client.CertPEM, t.client.KeyPEM)
}

// presented is the certificate addr presents now, over a new connection.
func (t *trust) presented(addr string) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, t.clientConfig())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// rotate issues a new certificate for name, sends SIGHUP to the processes
// serving it and waits until each address presents it on new connections.
// The processes keep running and keep their connections: the load goes on.
func (t *trust) rotate(name string, procs []*os.Process, addrs []string) error {
	want, err := t.issue(name)
	if err != nil {
		return err
	}
	for _, p := range procs {
		if err := p.Signal(syscall.SIGHUP); err != nil {
			return fmt.Errorf("SIGHUP %s (pid %d): %w", name, p.Pid, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range addrs {
		for {
			got, err := t.presented(addr)
			if err == nil && bytes.Equal(got.Raw, want.Raw) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s still presents its previous certificate 10 s after SIGHUP (%v)", addr, err)
			}
			time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
	return nil
}

// httpClient is this program's client: plain, or over the run's trust.
func (e *env) httpClient() *http.Client {
	if e.trust == nil {
		return http.DefaultClient
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: e.trust.clientConfig()}}
}

// tlsConfig is the load's client TLS configuration (nil: plain HTTP).
func (e *env) tlsConfig() *tls.Config {
	if e.trust == nil {
		return nil
	}
	return e.trust.clientConfig()
}

// scheme is the scheme of every URL of the run.
func (e *env) scheme() string {
	if e.trust == nil {
		return "http"
	}
	return "https"
}
