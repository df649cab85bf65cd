package vault

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/credvault/credvault/config"
)

// NewEnvClient builds the env-configured vault from cfg, or returns nil
// when CREDENTIAL_VAULT_TYPE is not "custom". The self-hoster's own service
// may live on a private network, so only the scheme rule applies to it.
func NewEnvClient(cfg config.Config, transport http.RoundTripper) (*Client, error) {
	if !cfg.EnvVaultEnabled() {
		return nil, nil
	}
	policy, err := NewAddressPolicy(cfg.AllowedHosts, false)
	if err != nil {
		return nil, err
	}
	u, err := policy.CheckURL(config.EnvCustomBaseURL, cfg.CustomBaseURL)
	if err != nil {
		return nil, err
	}
	return NewClient(u, NewSecret(cfg.CustomToken), ClientOptions{
		Transport: transport, Timeout: cfg.CustomTimeout, Source: SourceEnv,
	})
}

// OrgConfig is an organization's saved custom credential service
// configuration, decrypted.
type OrgConfig struct {
	ID      string
	BaseURL string
	Token   Secret
}

// ConfigSource loads an organization's saved configuration. It returns
// ErrNotConfigured when the organization has none.
type ConfigSource interface {
	ActiveConfig(ctx context.Context, orgID string) (OrgConfig, error)
}

// OrgVaultOptions tune an OrgVault.
type OrgVaultOptions struct {
	// Env is the env-configured vault used by organizations without a
	// saved configuration; nil when there is none.
	Env *Client
	// Policy applies to organization-configured URLs (BlockPrivate is
	// forced on).
	Policy AddressPolicy
	// Timeout bounds each request to a service.
	Timeout time.Duration
	// TTL bounds how long a resolved client is trusted without a database
	// check, for deployments with several replicas where an invalidation
	// reaches only one (default 1 minute).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// OrgVault is the organization-configured CredentialVault: for each
// organization it uses the saved configuration, else the env-configured
// vault, else fails with ErrNotConfigured. A ready Client is cached per
// organization, so steady-state calls make no database query and no
// decryption; Invalidate drops the entry when the configuration changes.
type OrgVault struct {
	source    ConfigSource
	env       *Client
	policy    AddressPolicy
	transport *http.Transport
	timeout   time.Duration
	ttl       time.Duration
	now       func() time.Time

	mu    sync.RWMutex
	cache map[string]cacheEntry
	gen   map[string]uint64
	group singleflight.Group
}

type cacheEntry struct {
	client  *Client // nil: not configured
	expires time.Time
}

// NewOrgVault returns an OrgVault reading configurations from source.
func NewOrgVault(source ConfigSource, opts OrgVaultOptions) *OrgVault {
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	policy := opts.Policy.WithBlockPrivate(true)
	return &OrgVault{
		source: source, env: opts.Env, policy: policy, transport: NewTransport(policy),
		timeout: opts.Timeout, ttl: opts.TTL, now: opts.Now,
		cache: map[string]cacheEntry{}, gen: map[string]uint64{},
	}
}

// Policy returns the address rules applied to organization-configured
// services.
func (v *OrgVault) Policy() AddressPolicy { return v.policy }

// ClientFor builds a Client for an organization-configured service, with
// the organization address rules and the shared transport. The URL is
// checked again here, so a configuration saved under looser rules cannot
// bypass them.
func (v *OrgVault) ClientFor(cfg OrgConfig) (*Client, error) {
	u, err := v.policy.CheckURL("api_base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	return NewClient(u, cfg.Token, ClientOptions{Transport: v.transport, Timeout: v.timeout, Source: cfg.ID})
}

// Resolve returns the Client serving orgID.
func (v *OrgVault) Resolve(ctx context.Context, orgID string) (*Client, error) {
	v.mu.RLock()
	e, ok := v.cache[orgID]
	v.mu.RUnlock()
	if ok && v.now().Before(e.expires) {
		return e.orThrow()
	}
	res, err, _ := v.group.Do(orgID, func() (any, error) {
		v.mu.RLock()
		gen := v.gen[orgID]
		e, ok := v.cache[orgID]
		v.mu.RUnlock()
		if ok && v.now().Before(e.expires) {
			// Loaded by a flight that finished after our miss.
			return e, nil
		}
		// The load must not be cancelled by the first caller leaving:
		// others share its result.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		e, err := v.load(lctx, orgID)
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		if v.gen[orgID] == gen { // not invalidated while loading
			v.cache[orgID] = e
		}
		v.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(cacheEntry).orThrow()
}

func (e cacheEntry) orThrow() (*Client, error) {
	if e.client == nil {
		return nil, ErrNotConfigured
	}
	return e.client, nil
}

func (v *OrgVault) load(ctx context.Context, orgID string) (cacheEntry, error) {
	e := cacheEntry{expires: v.now().Add(v.ttl)}
	cfg, err := v.source.ActiveConfig(ctx, orgID)
	switch {
	case errors.Is(err, ErrNotConfigured):
		e.client = v.env
		return e, nil
	case err != nil:
		return cacheEntry{}, err
	}
	if e.client, err = v.ClientFor(cfg); err != nil {
		return cacheEntry{}, err
	}
	return e, nil
}

// Invalidate drops orgID's cached client; the next call reloads it.
func (v *OrgVault) Invalidate(orgID string) {
	v.mu.Lock()
	delete(v.cache, orgID)
	v.gen[orgID]++
	v.mu.Unlock()
}

// Create implements CredentialVault.
func (v *OrgVault) Create(ctx context.Context, orgID string, c Credential) (ItemRef, error) {
	cl, err := v.Resolve(ctx, orgID)
	if err != nil {
		return ItemRef{}, err
	}
	return cl.Create(ctx, orgID, c)
}

// Get implements CredentialVault.
func (v *OrgVault) Get(ctx context.Context, orgID, itemID string) (Credential, error) {
	cl, err := v.Resolve(ctx, orgID)
	if err != nil {
		return Credential{}, err
	}
	return cl.GetItem(ctx, itemID)
}

// Delete implements CredentialVault.
func (v *OrgVault) Delete(ctx context.Context, orgID, itemID string) error {
	cl, err := v.Resolve(ctx, orgID)
	if err != nil {
		return err
	}
	return cl.DeleteItem(ctx, itemID)
}

var (
	_ CredentialVault = (*Client)(nil)
	_ CredentialVault = (*OrgVault)(nil)
)
