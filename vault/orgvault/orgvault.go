// Package orgvault is the organization-configured vault.CredentialVault:
// new items go to the organization's current configuration (else the
// env-configured service), existing items are read and deleted only
// through the configuration that stored them, and ready clients are cached
// per organization and configuration with singleflight loads.
package orgvault

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/credvault/credvault/internal/lru"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
	"golang.org/x/sync/singleflight"
)

// Config is an organization's saved custom credential service
// configuration, decrypted. Its identity is its service (the normalised
// base URL): saving another service makes a new one with a new ID, and
// the old one is kept (not valid) so the items it stored can still be
// read and deleted through it; saving a new token for a service already
// saved replaces that configuration's token under the same ID.
type Config struct {
	ID      string
	BaseURL string
	Token   vault.Secret
	// TLS is the service's own trust (a CA bundle, a client certificate
	// for mTLS); zero: the system roots, no client certificate.
	TLS netpolicy.TLSOptions
}

// ConfigSource loads organizations' saved configurations.
type ConfigSource interface {
	// ActiveConfig returns the organization's current configuration, or
	// ErrNotConfigured when it has none.
	ActiveConfig(ctx context.Context, orgID string) (Config, error)
	// ConfigByID returns the organization's configuration id, current or
	// replaced. A configuration that does not exist for that organization,
	// or can no longer be decrypted, is a *SourceUnavailableError.
	ConfigByID(ctx context.Context, orgID, id string) (Config, error)
}

// Options tune an Vault.
type Options struct {
	// Env is the env-configured vault used by organizations without a
	// saved configuration; nil when there is none.
	Env *envvault.Vault
	// Policy applies to organization-configured URLs (BlockPrivate is
	// forced on).
	Policy netpolicy.AddressPolicy
	// Timeout bounds each request to a service.
	Timeout time.Duration
	// TTL bounds how long a resolved client is trusted without a database
	// check, for deployments with several replicas where an invalidation
	// reaches only one (default 1 minute).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CacheSize bounds the cached clients (DefaultCacheSize): beyond it
	// the least recently used is dropped (an organization's current one
	// and each configuration its items name count one each).
	CacheSize int
	// ConnsPerHost caps the connections to one service host, all of which
	// may stay idle (netpolicy.DefaultConnsPerHost).
	ConnsPerHost int
	// MustCheck, when set, is asked of every cached client's age: true
	// loads its configuration again first (the change feed is down, so a
	// change made elsewhere would not be heard); a load that fails then
	// serves the cached client.
	MustCheck func(age time.Duration) bool
}

// DefaultCacheSize is how many clients a Vault caches when
// Options.CacheSize is not set (CREDVAULT_CACHE_CLIENTS).
const DefaultCacheSize = 20_000

// Vault is the organization-configured CredentialVault. New items go to
// the organization's current service: its saved configuration, else the
// env-configured vault, else ErrNotConfigured. Existing items are read and
// deleted only through the configuration that stored them (ItemRef.Source),
// never through whatever is current: an item id means something only to
// the service that issued it.
//
// Ready Clients are cached per configuration, and which configuration is
// current is cached per organization, so steady-state calls make no
// database query and no decryption; Invalidate drops an organization's
// current pointer when its configuration changes.
type Vault struct {
	source    ConfigSource
	env       *contract.Client
	policy    netpolicy.AddressPolicy
	transport *netpolicy.Transport
	// http is the http.Client every client of the vault shares.
	http      *http.Client
	timeout   time.Duration
	ttl       time.Duration
	now       func() time.Time
	mustCheck func(age time.Duration) bool
	// connsPerHost sizes every transport (Options.ConnsPerHost).
	connsPerHost int
	// pools holds a transport per TLS identity (a service's CA bundle and
	// client certificate): connections made under one trust are reused
	// only under the same. Evicted pools close their idle connections.
	pools *lru.Cache[string, *pool]
	// retired counts the connections evicted pools had opened.
	retired atomic.Uint64

	// cache holds, per organization, the client of its current source
	// (config ""), and the client of each saved configuration its items
	// name. A configuration changes only by a save of the organization
	// (a new token), which invalidates the organization's entries; they
	// also expire by TTL. It is bounded (least
	// recently used out); gen counts invalidations, under the cache's
	// lock.
	cache *lru.Cache[cacheKey, *contract.Client]
	gen   uint64
	group singleflight.Group
}

// cacheKey is an organization and a configuration id ("" = whichever is
// current).
type cacheKey struct{ org, config string }

func (k cacheKey) flight() string { return k.org + "\x00" + k.config }

// New returns an Vault reading configurations from source.
func New(source ConfigSource, opts Options) *Vault {
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	policy := opts.Policy.WithBlockPrivate(true)
	var env *contract.Client
	if opts.Env != nil {
		env = opts.Env.Client
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	transport := netpolicy.NewSizedTransport(policy, opts.ConnsPerHost)
	v := &Vault{
		source: source, env: env, policy: policy, transport: transport, http: contract.NewHTTPClient(transport),
		timeout: opts.Timeout, ttl: opts.TTL, now: opts.Now, mustCheck: opts.MustCheck, cache: lru.New[cacheKey, *contract.Client](opts.CacheSize, opts.Now, nil),
		connsPerHost: opts.ConnsPerHost,
	}
	v.pools = lru.New[string, *pool](maxPools, opts.Now, func(_ string, p *pool) {
		v.retired.Add(p.transport.ConnectionsOpened())
		p.transport.CloseIdleConnections()
	})
	return v
}

// maxPools bounds the TLS identities with a transport of their own.
const maxPools = 1024

// pool is the transport and http.Client of one TLS identity.
type pool struct {
	transport *netpolicy.Transport
	http      *http.Client
}

// poolFor is the transport for o: the shared one without options, else
// o's own (made once per identity).
func (v *Vault) poolFor(o netpolicy.TLSOptions) (*netpolicy.Transport, *http.Client, error) {
	id := o.Identity()
	if id == "" && o.IsZero() {
		return v.transport, v.http, nil
	}
	if p, ok := v.pools.Get(id); ok {
		return p.transport, p.http, nil
	}
	t, err := netpolicy.NewTLSTransport(v.policy, v.connsPerHost, o)
	if err != nil {
		return nil, nil, err
	}
	p := &pool{transport: t, http: contract.NewHTTPClient(t)}
	v.pools.Add(id, p, 24*time.Hour)
	return p.transport, p.http, nil
}

// Policy returns the address rules applied to organization-configured
// services.
func (v *Vault) Policy() netpolicy.AddressPolicy { return v.policy }

// ClientFor builds a contract.Client for an organization-configured service, with
// the organization address rules and the shared transport. The URL is
// checked again here, so a configuration saved under looser rules cannot
// bypass them.
func (v *Vault) ClientFor(cfg Config) (*contract.Client, error) {
	u, err := v.policy.CheckURL("api_base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	tr, hc, err := v.poolFor(cfg.TLS)
	if err != nil {
		return nil, err
	}
	return contract.New(u, cfg.Token, contract.Options{Transport: tr, HTTP: hc, Timeout: v.timeout, Source: cfg.ID})
}

// Env returns the env-configured vault, or nil.
func (v *Vault) Env() *contract.Client { return v.env }

// Resolve returns the contract.Client serving orgID's new items: its current
// configuration's, else the env-configured vault's.
func (v *Vault) Resolve(ctx context.Context, orgID string) (*contract.Client, error) {
	cl, err := v.cached(ctx, cacheKey{org: orgID}, func(lctx context.Context) (*contract.Client, error) {
		cfg, err := v.source.ActiveConfig(lctx, orgID)
		switch {
		case errors.Is(err, vault.ErrNotConfigured):
			return v.env, nil
		case err != nil:
			return nil, err
		}
		return v.ClientFor(cfg)
	})
	if err == nil && cl == nil {
		err = vault.ErrNotConfigured
	}
	return cl, err
}

// ResolveSource returns the contract.Client of the configuration that stored an
// item: the env-configured vault for SourceEnv, else the organization's
// saved configuration with that id, current or replaced. A source that can
// no longer be used is a *SourceUnavailableError; it never falls back to
// another service.
func (v *Vault) ResolveSource(ctx context.Context, orgID, source string) (*contract.Client, error) {
	switch source {
	case vault.SourceEnv:
		if v.env == nil {
			return nil, &vault.SourceUnavailableError{Source: source, Reason: "the operator's env-configured service is no longer set up"}
		}
		return v.env, nil
	case "":
		return nil, &vault.SourceUnavailableError{Source: "unknown", Reason: "the credential does not record which configuration stored it"}
	}
	cl, err := v.cached(ctx, cacheKey{org: orgID, config: source}, func(lctx context.Context) (*contract.Client, error) {
		cfg, err := v.source.ConfigByID(lctx, orgID, source)
		if err != nil {
			return nil, err
		}
		if cfg.ID != source {
			return nil, &vault.SourceUnavailableError{Source: source, Reason: "it does not belong to this organization"}
		}
		return v.ClientFor(cfg)
	})
	if err == nil && cl == nil {
		err = &vault.SourceUnavailableError{Source: source, Reason: "it is not available"}
	}
	return cl, err
}

// cached returns the client under key, loading it once (singleflight)
// when absent or expired. Loads racing an invalidation are not stored.
func (v *Vault) cached(ctx context.Context, key cacheKey, load func(context.Context) (*contract.Client, error)) (*contract.Client, error) {
	stale, age, ok := v.cache.GetAge(key)
	if ok && (v.mustCheck == nil || !v.mustCheck(age)) {
		return stale, nil
	}
	checking := ok
	res, err, _ := v.group.Do(key.flight(), func() (any, error) {
		if cl, age, ok := v.cache.GetAge(key); ok && (v.mustCheck == nil || !v.mustCheck(age)) {
			// Loaded by a flight that finished after our miss.
			return cl, nil
		}
		var gen uint64
		v.cache.WithLock(func() { gen = v.gen })
		// The load must not be cancelled by the first caller leaving:
		// others share its result.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		cl, err := load(lctx)
		if err != nil {
			return nil, err
		}
		v.cache.WithLock(func() {
			if v.gen != gen { // invalidated while loading
				return
			}
			v.cache.AddLocked(key, cl, v.ttl)
		})
		return cl, nil
	})
	if err != nil {
		if checking && errors.Is(err, problem.ErrUnavailable) {
			return stale, nil // the database is out: nothing can have changed it
		}
		if checking {
			v.cache.Remove(key)
		}
		return nil, err
	}
	return res.(*contract.Client), nil
}

// Invalidate drops what is cached for orgID; the next call reloads it.
// It walks the cache (configuration changes are rare), so nothing is
// kept per organization beyond its cached clients.
func (v *Vault) Invalidate(orgID string) {
	v.cache.WithLock(func() {
		v.gen++
		v.cache.RemoveIfLocked(func(k cacheKey, _ *contract.Client) bool { return k.org == orgID })
	})
}

// Flush drops everything cached, for every organization (a change
// notification may have been missed).
func (v *Vault) Flush() {
	v.cache.WithLock(func() { v.gen++ })
	v.cache.Purge()
}

// Close drops the cached clients and closes the idle connections of the
// vault's transport: nothing of it outlives its owner's Close.
func (v *Vault) Close() {
	v.Flush()
	v.transport.CloseIdleConnections()
	v.pools.Purge()
}

// ConnectionsOpened is how many connections the vault's transport has
// opened to organizations' services.
func (v *Vault) ConnectionsOpened() uint64 {
	n := v.transport.ConnectionsOpened() + v.retired.Load()
	v.pools.RemoveIf(func(_ string, p *pool) bool { n += p.transport.ConnectionsOpened(); return false })
	return n
}

// Cached is how many clients are cached (at most Options.CacheSize).
func (v *Vault) Cached() int { return v.cache.Len() }

// Create implements CredentialVault: the item goes to the organization's
// current service, and the returned ref names that configuration.
func (v *Vault) Create(ctx context.Context, orgID string, c vault.Credential) (vault.ItemRef, error) {
	cl, err := v.Resolve(ctx, orgID)
	if err != nil {
		return vault.ItemRef{}, err
	}
	return cl.Create(ctx, orgID, c)
}

// Get implements CredentialVault, through the configuration that stored
// the item.
func (v *Vault) Get(ctx context.Context, orgID string, ref vault.ItemRef) (vault.Credential, error) {
	cl, err := v.ResolveSource(ctx, orgID, ref.Source)
	if err != nil {
		return vault.Credential{}, err
	}
	return cl.GetItem(ctx, ref.ID)
}

// Delete implements CredentialVault, through the configuration that
// stored the item.
func (v *Vault) Delete(ctx context.Context, orgID string, ref vault.ItemRef) error {
	cl, err := v.ResolveSource(ctx, orgID, ref.Source)
	if err != nil {
		return err
	}
	return cl.DeleteItem(ctx, ref.ID)
}

// CurrentSource implements CurrentSourcer: the configuration Create uses.
func (v *Vault) CurrentSource(ctx context.Context, orgID string) (string, error) {
	cl, err := v.Resolve(ctx, orgID)
	if err != nil {
		return "", err
	}
	return cl.Source(), nil
}

// CreateAt implements SourceCreator.
func (v *Vault) CreateAt(ctx context.Context, orgID, source string, c vault.Credential) (vault.ItemRef, error) {
	cl, err := v.ResolveSource(ctx, orgID, source)
	if err != nil {
		return vault.ItemRef{}, err
	}
	return cl.Create(ctx, orgID, c)
}

// ReplayCreate implements SourceCreator.
func (v *Vault) ReplayCreate(ctx context.Context, orgID, source, key string) (vault.ItemRef, bool, error) {
	cl, err := v.ResolveSource(ctx, orgID, source)
	if err != nil {
		return vault.ItemRef{}, false, err
	}
	return cl.ReplayCreate(ctx, orgID, source, key)
}

var (
	_ vault.SourcedVault = (*Vault)(nil)
)
