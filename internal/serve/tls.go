package serve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// TLSFiles serves HTTPS with a certificate and key read from files, and,
// with a client CA file, requires every client to present a certificate
// that CA signed (mutual TLS). Reload re-reads the files (on SIGHUP):
// handshakes from then on use the new ones, and no connection is dropped.
// TLS 1.2 is the minimum.
type TLSFiles struct {
	CertFile, KeyFile, ClientCAFile string
	cur                             atomic.Pointer[tlsState]
}

type tlsState struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool
	notAfter  time.Time
}

// LoadTLSFiles reads the files once; a missing or bad one is an error
// naming it.
func LoadTLSFiles(certFile, keyFile, clientCAFile string) (*TLSFiles, error) {
	f := &TLSFiles{CertFile: certFile, KeyFile: keyFile, ClientCAFile: clientCAFile}
	return f, f.Reload()
}

// Reload re-reads the files. On an error the previous certificate stays
// in use.
func (f *TLSFiles) Reload() error {
	pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", f.CertFile, f.KeyFile, unwrapPath(err))
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("TLS certificate %s: %w", f.CertFile, err)
	}
	st := &tlsState{cert: &pair, notAfter: leaf.NotAfter}
	if f.ClientCAFile != "" {
		pem, err := os.ReadFile(f.ClientCAFile)
		if err != nil {
			return fmt.Errorf("client CA file %s: %w", f.ClientCAFile, unwrapPath(err))
		}
		st.clientCAs = x509.NewCertPool()
		if !st.clientCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("client CA file %s holds no PEM certificate", f.ClientCAFile)
		}
	}
	f.cur.Store(st)
	return nil
}

// NotAfter is when the certificate in use expires.
func (f *TLSFiles) NotAfter() time.Time { return f.cur.Load().notAfter }

// Config is the server's tls.Config: each handshake takes the certificate
// (and client CAs) loaded last.
func (f *TLSFiles) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			st := f.cur.Load()
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*st.cert}, NextProtos: []string{"http/1.1"}}
			if st.clientCAs != nil {
				c.ClientCAs, c.ClientAuth = st.clientCAs, tls.RequireAndVerifyClientCert
			}
			return c, nil
		},
	}
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
