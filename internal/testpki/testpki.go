// Package testpki makes the certificates TLS tests need, in Go: a CA,
// server certificates for the loopback addresses (IP SANs 127.0.0.1 and
// ::1, and the name localhost), client certificates, all in PEM, so no
// test depends on a file it did not make or on a network name.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// T is what the issuing functions need of a test: testing.TB has it, and
// so does a program's own reporter (the failover proof's, which exits).
type T interface {
	Helper()
	Fatal(args ...any)
}

// CA is a certificate authority for one test.
type CA struct {
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	CertPEM string
}

// Pair is a certificate and its key, in PEM.
type Pair struct {
	CertPEM, KeyPEM string
	NotAfter        time.Time
}

// NewCA returns a new CA named name, valid for a day.
func NewCA(t T, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: name, Organization: []string{"credvault tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, key: key, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// Server issues a server certificate for the loopback addresses, valid
// from notBefore for lifetime.
func (ca *CA) Server(t T, notBefore time.Time, lifetime time.Duration) Pair {
	t.Helper()
	return ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: notBefore, NotAfter: notBefore.Add(lifetime)})
}

// ServerFor issues a server certificate for ip only (a name mismatch for
// any other address).
func (ca *CA) ServerFor(t T, ip net.IP) Pair {
	t.Helper()
	return ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: ip.String()}, IPAddresses: []net.IP{ip},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)})
}

// Client issues a client certificate named name, valid for lifetime.
func (ca *CA) Client(t T, name string, lifetime time.Duration) Pair {
	t.Helper()
	return ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(lifetime)})
}

func (ca *CA) issue(t T, tmpl *x509.Certificate) Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial(t)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Pair{CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})), NotAfter: tmpl.NotAfter}
}

// Write writes content to a new file named name in dir (mode 0600) and
// returns its path.
func Write(t T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func serial(t T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Serve serves h over HTTPS on a loopback port with server, requiring
// client certificates signed by clientCA when it is not "", until t ends,
// and returns the https:// URL of the root.
func Serve(t testing.TB, h http.Handler, server Pair, clientCA string) string {
	t.Helper()
	pair, err := tls.X509KeyPair([]byte(server.CertPEM), []byte(server.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		cfg.ClientCAs = x509.NewCertPool()
		cfg.ClientCAs.AppendCertsFromPEM([]byte(clientCA))
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// MutualTLSService serves a contract service that answers every request
// with one secret item, over HTTPS from a new CA that also signs the
// client certificate it requires, and returns its /api base URL, the CA
// and that client certificate.
func MutualTLSService(t testing.TB, caName string) (base string, ca *CA, client Pair) {
	t.Helper()
	ca = NewCA(t, caName)
	client = ca.Client(t, "credvault", time.Hour)
	base = Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	}), ca.Server(t, time.Now().Add(-time.Hour), 3*time.Hour), ca.CertPEM) + "/api"
	return base, ca, client
}
