package netpolicy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// MinTLSVersion is the oldest TLS credvault speaks to a service.
const MinTLSVersion = tls.VersionTLS12

// TLSOptions are a service's own trust: the roots to verify it with
// instead of the system's (an internal CA), and a client certificate for
// mutual TLS. PEM, as a customer's PKI hands them out. Hostname
// verification is always on; there is no way to skip it.
type TLSOptions struct {
	// CABundle holds the PEM certificates of the roots to trust.
	CABundle string
	// ClientCertificate is the PEM certificate chain credvault presents;
	// ClientKey its PEM private key, printed redacted however it is
	// printed.
	ClientCertificate string
	ClientKey         vault.Secret
}

// IsZero reports options that change nothing: the system roots, no client
// certificate.
func (o TLSOptions) IsZero() bool {
	return o.CABundle == "" && o.ClientCertificate == "" && o.ClientKey.IsZero()
}

// Identity names the trust the options set up (the CA bundle and the
// client certificate; the key follows the certificate): equal options
// share a transport, and a configuration's identity includes it.
func (o TLSOptions) Identity() string {
	if o.CABundle == "" && o.ClientCertificate == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(strings.TrimSpace(o.CABundle)))
	h.Write([]byte{0})
	h.Write([]byte(strings.TrimSpace(o.ClientCertificate)))
	return hex.EncodeToString(h.Sum(nil))
}

// Check validates the options, each error naming its field under prefix
// ("config."): the bundle must hold certificates, the certificate and key
// must go together and match. It never quotes a key.
func (o TLSOptions) Check(prefix string) error {
	_, err := o.config(prefix)
	return err
}

// ClientConfig is the tls.Config for a service with these options (nil
// options: the system roots, TLS 1.2 at least).
func (o TLSOptions) ClientConfig() (*tls.Config, error) { return o.config("") }

func (o TLSOptions) config(prefix string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: MinTLSVersion}
	if strings.TrimSpace(o.CABundle) != "" {
		certs, err := parseCertificates(o.CABundle)
		if err != nil {
			return nil, problem.Invalid(prefix+"ca_bundle", "%v", err)
		}
		pool := x509.NewCertPool()
		for _, cert := range certs {
			pool.AddCert(cert)
		}
		c.RootCAs = pool
	}
	switch {
	case o.ClientCertificate == "" && o.ClientKey.IsZero():
	case o.ClientCertificate == "":
		return nil, problem.Invalid(prefix+"client_certificate", "is required with client_key")
	case o.ClientKey.IsZero():
		return nil, problem.Invalid(prefix+"client_key", "is required with client_certificate")
	default:
		if _, err := parseCertificates(o.ClientCertificate); err != nil {
			return nil, problem.Invalid(prefix+"client_certificate", "%v", err)
		}
		pair, err := tls.X509KeyPair([]byte(o.ClientCertificate), []byte(o.ClientKey.Reveal()))
		if err != nil {
			return nil, problem.Invalid(prefix+"client_key", "is not a PEM private key matching client_certificate")
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// parseCertificates reads every PEM CERTIFICATE block of s: at least one,
// and nothing else.
func parseCertificates(s string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(s))
	var out []*x509.Certificate
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("must be PEM certificates (-----BEGIN CERTIFICATE-----)")
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("must hold only certificates, not a %s", strings.ToLower(b.Type))
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, errors.New("holds a certificate that does not parse")
		}
		out = append(out, cert)
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(out) == 0 {
		return nil, errors.New("must hold at least one PEM certificate")
	}
	return out, nil
}

// CertificateInfo describes a certificate without its key: what a
// configuration shows instead of the PEM.
type CertificateInfo struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	SHA256   string    `json:"sha256"`
	NotAfter time.Time `json:"not_after"`
	// DaysLeft is how many whole days remain before NotAfter (negative:
	// expired).
	DaysLeft int `json:"days_left"`
}

// Describe returns the first certificate of pem as CertificateInfo, as
// of now.
func Describe(pemText string, now time.Time) (CertificateInfo, bool) {
	certs, err := parseCertificates(pemText)
	if err != nil {
		return CertificateInfo{}, false
	}
	return describe(certs[0], now), true
}

// DescribeAll returns every certificate of pem as CertificateInfo.
func DescribeAll(pemText string, now time.Time) []CertificateInfo {
	certs, _ := parseCertificates(pemText)
	out := make([]CertificateInfo, len(certs))
	for i, c := range certs {
		out[i] = describe(c, now)
	}
	return out
}

func describe(c *x509.Certificate, now time.Time) CertificateInfo {
	sum := sha256.Sum256(c.Raw)
	return CertificateInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), SHA256: hex.EncodeToString(sum[:]),
		NotAfter: c.NotAfter.UTC(), DaysLeft: int(c.NotAfter.Sub(now).Hours() / 24)}
}

// ExpiryWarning is how close to its expiry a certificate is reported.
const ExpiryWarning = 30 * 24 * time.Hour
