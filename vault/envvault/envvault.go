// Package envvault is the env-configured vault: the operator's own custom
// credential service (CREDENTIAL_VAULT_TYPE=custom with
// CUSTOM_CREDENTIAL_API_BASE_URL and _TOKEN in credvault's environment),
// which stores the items of every organization that saved no
// configuration of its own. Its items' refs name vault.SourceEnv.
//
// It stands beside the two other implementations of vault.SourcedVault:
// contract.Client (one custom credential service) and orgvault.Vault (the
// organization-configured vault, which falls back to this one).
package envvault

import (
	"net/http"
	"time"

	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
)

// Options tune New.
type Options struct {
	// AllowedHosts lift the plain-http rule for the hosts they name
	// (CREDVAULT_ALLOWED_HOSTS); loopback is always allowed.
	AllowedHosts []string
	// Timeout bounds each request (CUSTOM_CREDENTIAL_TIMEOUT).
	Timeout time.Duration
	// Transport is the keep-alive transport (default: one of its own,
	// without private-address blocking).
	Transport http.RoundTripper
	// Field names the base URL in errors (default "api_base_url"), such
	// as the environment variable it came from.
	Field string
	// ConnsPerHost caps the connections to the service when Transport is
	// nil (netpolicy.DefaultConnsPerHost).
	ConnsPerHost int
	// TLS is the service's own trust (a CA bundle, a client certificate)
	// when Transport is nil.
	TLS netpolicy.TLSOptions
}

// Vault is the env-configured vault: a contract.Client for the
// operator's service, whose refs name vault.SourceEnv. The operator's
// service may live on a private network, so only the scheme rule applies
// to its URL (https, or http for loopback and allowed hosts).
type Vault struct {
	*contract.Client
	// own is the transport New made (nil when the caller gave one).
	own *netpolicy.Transport
	// certNotAfter is when the client certificate of Options.TLS expires
	// (zero without one).
	certNotAfter time.Time
}

// ClientCertificateExpiry is when the client certificate credvault
// presents to the service expires (false without one).
func (v *Vault) ClientCertificateExpiry() (time.Time, bool) {
	return v.certNotAfter, !v.certNotAfter.IsZero()
}

// Close closes the idle connections of the transport New made for the
// vault; one given in Options stays its owner's.
func (v *Vault) Close() {
	if v.own != nil {
		v.own.CloseIdleConnections()
	}
}

// ConnectionsOpened is how many connections the transport New made has
// opened (0 when the caller gave one: its owner counts them).
func (v *Vault) ConnectionsOpened() uint64 {
	if v.own == nil {
		return 0
	}
	return v.own.ConnectionsOpened()
}

// New returns the env-configured vault for baseURL and token.
func New(baseURL string, token vault.Secret, o Options) (*Vault, error) {
	if o.Field == "" {
		o.Field = "api_base_url"
	}
	policy, err := netpolicy.NewAddressPolicy(o.AllowedHosts, false)
	if err != nil {
		return nil, err
	}
	var own *netpolicy.Transport
	if o.Transport == nil {
		if own, err = netpolicy.NewTLSTransport(policy, o.ConnsPerHost, o.TLS); err != nil {
			return nil, err
		}
		o.Transport = own
	}
	u, err := policy.CheckURL(o.Field, baseURL)
	if err != nil {
		return nil, err
	}
	c, err := contract.New(u, token, contract.Options{Transport: o.Transport, Timeout: o.Timeout, Source: vault.SourceEnv})
	if err != nil {
		return nil, err
	}
	v := &Vault{Client: c, own: own}
	if ci, ok := netpolicy.Describe(o.TLS.ClientCertificate, time.Now()); ok {
		v.certNotAfter = ci.NotAfter
	}
	return v, nil
}

var _ vault.SourcedVault = (*Vault)(nil)
