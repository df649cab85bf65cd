package org

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/credvault/credvault/sealed"

	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
)

// TokenTypeCustomCredential is the token_type of a custom credential
// service configuration.
const TokenTypeCustomCredential = "custom_credential_service"

// Audit actions.
const (
	ActionConfigSave   = "custom_credential.create"
	ActionConfigUpdate = "custom_credential.update"
	ActionConfigClear  = "custom_credential.delete"
)

// ServiceConfig is a custom credential service configuration as an admin
// submits it.
type ServiceConfig struct {
	APIBaseURL string
	APIToken   vault.Secret
	// TLS is the service's own trust: a CA bundle to verify it with
	// instead of the system roots, a client certificate and key for
	// mutual TLS (PEM). Sealed with the token; never shown again but for
	// the certificates' subjects, fingerprints and expiry.
	TLS netpolicy.TLSOptions
}

// ConfigView is the saved configuration as the API shows it (Skyvern's token shape):
// Token is a JSON string {"api_base_url", "api_token"} with the token
// masked.
type ConfigView struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	TokenType      string    `json:"token_type"`
	Valid          bool      `json:"valid"`
	Token          string    `json:"token"`
	CreatedAt      time.Time `json:"created_at"`
	ModifiedAt     time.Time `json:"modified_at"`
	// TLS describes the configuration's TLS options, when it has any.
	TLS *TLSView `json:"tls,omitempty"`
}

// storedConfig is the plaintext that is encrypted into a row.
type storedConfig struct {
	APIBaseURL        string `json:"api_base_url"`
	APIToken          string `json:"api_token"`
	CABundle          string `json:"ca_bundle,omitempty"`
	ClientCertificate string `json:"client_certificate,omitempty"`
	ClientKey         string `json:"client_key,omitempty"`
}

// MaskToken shows at most the last four characters of a long token.
func MaskToken(token vault.Secret) string {
	t := token.Reveal()
	if len(t) < 16 {
		return "********"
	}
	return "********" + t[len(t)-4:]
}

func associatedData(orgID, tokenType string) []byte {
	return sealed.AssociatedData("credvault", "org_auth_token", orgID, tokenType)
}

// ConfigSource reads and decrypts organizations' saved configurations. It
// implements orgvault.ConfigSource.
type ConfigSource struct {
	store   ConfigStore
	keyring sealed.Sealer
}

// NewConfigSource returns a ConfigSource.
func NewConfigSource(s ConfigStore, k sealed.Sealer) *ConfigSource {
	return &ConfigSource{store: s, keyring: k}
}

// ActiveConfig implements orgvault.ConfigSource.
func (s *ConfigSource) ActiveConfig(ctx context.Context, orgID string) (orgvault.Config, error) {
	cfg, _, err := s.load(ctx, orgID)
	return cfg, err
}

// ConfigByID implements orgvault.ConfigSource: the organization's
// configuration id, current or replaced, decrypted. One that does not exist
// for orgID or does not decrypt is a *vault.SourceUnavailableError.
func (s *ConfigSource) ConfigByID(ctx context.Context, orgID, id string) (orgvault.Config, error) {
	row, err := s.store.AuthTokenByID(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.TokenType != TokenTypeCustomCredential) {
		return orgvault.Config{}, &vault.SourceUnavailableError{Source: id, Reason: "it no longer exists"}
	}
	if err != nil {
		return orgvault.Config{}, err
	}
	cfg, err := s.decrypt(row)
	if err != nil {
		return orgvault.Config{}, &vault.SourceUnavailableError{Source: id, Reason: "it can no longer be decrypted with the configured keyset"}
	}
	return cfg, nil
}

func (s *ConfigSource) load(ctx context.Context, orgID string) (orgvault.Config, store.AuthToken, error) {
	row, err := s.store.ValidAuthToken(ctx, orgID, TokenTypeCustomCredential)
	if errors.Is(err, store.ErrNotFound) {
		return orgvault.Config{}, row, vault.ErrNotConfigured
	}
	if err != nil {
		return orgvault.Config{}, row, err
	}
	cfg, err := s.decrypt(row)
	return cfg, row, err
}

func (s *ConfigSource) decrypt(row store.AuthToken) (orgvault.Config, error) {
	pt, err := s.keyring.Decrypt(row.EncryptedToken, associatedData(row.OrganizationID, row.TokenType))
	if err != nil {
		return orgvault.Config{}, fmt.Errorf("configuration %s of organization %s: %w", row.ID, row.OrganizationID, err)
	}
	var sc storedConfig
	if err := json.Unmarshal(pt, &sc); err != nil {
		return orgvault.Config{}, fmt.Errorf("configuration %s: undecodable plaintext", row.ID)
	}
	return orgvault.Config{ID: row.ID, BaseURL: sc.APIBaseURL, Token: vault.NewSecret(sc.APIToken),
		TLS: netpolicy.TLSOptions{CABundle: sc.CABundle, ClientCertificate: sc.ClientCertificate, ClientKey: vault.NewSecret(sc.ClientKey)}}, nil
}

// ConfigVault is what Configs needs of the organization-configured vault.
type ConfigVault interface {
	Invalidate(orgID string)
	ClientFor(cfg orgvault.Config) (*contract.Client, error)
	Policy() netpolicy.AddressPolicy
	// Env is the operator's env-configured service, or nil.
	Env() *contract.Client
}

// Status sources.
const (
	SourceOrganization = "organization"
	SourceEnvironment  = "environment"
	SourceNone         = "none"
)

// StatusView says which service an organization's new credentials go to:
// its own saved configuration, the operator's env-configured service, or
// none. It never holds a token, masked or not, of the operator's service.
type StatusView struct {
	Source          string     `json:"source"`
	APIBaseURL      *string    `json:"api_base_url"`
	ConfigurationID *string    `json:"configuration_id,omitempty"`
	APIToken        *string    `json:"api_token,omitempty"` // masked, organization's own only
	ModifiedAt      *time.Time `json:"modified_at,omitempty"`
}

// Status reports which service serves orgID.
func (c *Configs) Status(ctx context.Context, orgID string) (StatusView, error) {
	cfg, row, err := c.source.load(ctx, orgID)
	switch {
	case err == nil:
		masked := MaskToken(cfg.Token)
		mod := row.ModifiedAt.UTC()
		return StatusView{Source: SourceOrganization, APIBaseURL: &cfg.BaseURL, ConfigurationID: &row.ID, APIToken: &masked, ModifiedAt: &mod}, nil
	case !errors.Is(err, vault.ErrNotConfigured):
		return StatusView{}, err
	}
	if env := c.vault.Env(); env != nil {
		u := env.BaseURL()
		return StatusView{Source: SourceEnvironment, APIBaseURL: &u}, nil
	}
	return StatusView{Source: SourceNone}, nil
}

// Configs saves, shows, clears and tests organizations' custom credential
// service configurations.
type Configs struct {
	source *ConfigSource
	store  ConfigStore
	vault  ConfigVault
	// TestTimeout bounds a connection test (default 10s).
	TestTimeout time.Duration
}

// NewConfigs returns a Configs.
func NewConfigs(src *ConfigSource, v ConfigVault) *Configs {
	return &Configs{source: src, store: src.store, vault: v, TestTimeout: 10 * time.Second}
}

// validate checks in and returns it normalised.
func (c *Configs) validate(in ServiceConfig) (ServiceConfig, error) {
	if _, err := c.vault.Policy().CheckURL("config.api_base_url", in.APIBaseURL); err != nil {
		return in, err
	}
	tok := strings.TrimSpace(in.APIToken.Reveal())
	switch {
	case tok == "":
		return in, problem.Invalid("config.api_token", "is required")
	case len(tok) > 4096:
		return in, problem.Invalid("config.api_token", "must be at most 4096 bytes")
	case strings.ContainsAny(tok, "\r\n"):
		return in, problem.Invalid("config.api_token", "must be a single line")
	case strings.IndexFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || !utf8.ValidString(tok):
		return in, problem.Invalid("config.api_token", "must be printable text")
	}
	if len(in.TLS.CABundle) > 256<<10 || len(in.TLS.ClientCertificate) > 64<<10 || len(in.TLS.ClientKey.Reveal()) > 64<<10 {
		return in, problem.Invalid("config.ca_bundle", "ca_bundle must be at most 256 KiB, client_certificate and client_key at most 64 KiB each")
	}
	if err := in.TLS.Check("config."); err != nil {
		return in, err
	}
	// Kept as typed (a trailing slash included): the URL is normalised only
	// to compare it and to build item URLs.
	return ServiceConfig{APIBaseURL: strings.TrimSpace(in.APIBaseURL), APIToken: vault.NewSecret(tok), TLS: in.TLS}, nil
}

const maskPrefix = "********"

// complete applies the one rule for reusing the saved token, shared by
// Save and TestConnection: a token that is empty, or equal to the masked
// form that Get shows, means "keep the saved token" — and the saved token
// is reused only for the exact (normalised) URL it was saved with. Any
// other URL needs its token: an API key, which never reveals a secret,
// must not be able to send the saved token somewhere else.
func (c *Configs) complete(ctx context.Context, orgID string, in ServiceConfig) (ServiceConfig, error) {
	u, err := c.vault.Policy().CheckURL("config.api_base_url", in.APIBaseURL)
	if err != nil {
		return in, err
	}
	tok := strings.TrimSpace(in.APIToken.Reveal())
	if tok != "" && !strings.HasPrefix(tok, maskPrefix) {
		if in.TLS.IsZero() {
			// A new token for the saved service keeps the saved trust (its
			// CA bundle and client certificate go only to that URL): a
			// token rotation must not drop mTLS. To drop it, clear the
			// configuration first.
			if saved, err := c.source.ActiveConfig(ctx, orgID); err == nil && sameURL(c.vault.Policy(), u.String(), saved.BaseURL) {
				in.TLS = saved.TLS
			} else if err != nil && !errors.Is(err, vault.ErrNotConfigured) {
				return in, err
			}
		}
		return c.validate(in)
	}
	saved, err := c.source.ActiveConfig(ctx, orgID)
	switch {
	case errors.Is(err, vault.ErrNotConfigured):
		if tok != "" {
			return in, problem.Invalid("config.api_token", "looks like a masked token; enter the full token")
		}
		return in, problem.Invalid("config.api_token", "is required: no configuration is saved to take it from")
	case err != nil:
		return in, err
	}
	if tok != "" && tok != MaskToken(saved.Token) {
		return in, problem.Invalid("config.api_token", "looks like a masked token but is not the saved one; enter the full token")
	}
	if !sameURL(c.vault.Policy(), u.String(), saved.BaseURL) {
		return in, problem.Invalid("config.api_token", "is required when api_base_url differs from the saved URL: the saved token is only ever sent to the URL it was saved with")
	}
	tlsOpts := in.TLS
	switch {
	case tlsOpts.IsZero():
		// The saved key goes with the saved token: to the same URL only.
		tlsOpts = saved.TLS
	case strings.TrimSpace(tlsOpts.CABundle) != strings.TrimSpace(saved.TLS.CABundle):
		// Other roots would let whoever they trust answer for the service:
		// the saved token goes only to the service verified as it was.
		return in, problem.Invalid("config.api_token", "is required when ca_bundle differs from the saved one: the saved token is only ever sent to the service it was saved with, verified as it was")
	}
	return c.validate(ServiceConfig{APIBaseURL: in.APIBaseURL, APIToken: saved.Token, TLS: tlsOpts})
}

// SourceProof is what a caller sends to prove control of a saved
// configuration: the URL and the full token it was saved with.
type SourceProof = ServiceConfig

// ProveSources returns the ids of orgID's saved configurations (current
// or replaced) that proofs match: same URL and the same token, compared
// in constant time with the decrypted saved token. A proof matching none
// is refused naming it; one naming the operator's env-configured service
// is refused too: only the operator moves what that service stores
// (`credvault credentials migrate`). Nothing is sent anywhere.
func (c *Configs) ProveSources(ctx context.Context, orgID string, proofs []SourceProof) (map[string]bool, error) {
	if len(proofs) > 16 {
		return nil, problem.Invalid("sources", "must list at most 16 configurations")
	}
	type proof struct {
		url   string
		token []byte
	}
	env := ""
	if e := c.vault.Env(); e != nil {
		env = e.BaseURL()
	}
	ps := make([]proof, len(proofs))
	for i, p := range proofs {
		field := fmt.Sprintf("sources[%d]", i)
		if env != "" && looselySame(p.APIBaseURL, env) {
			// Before the organization address rules, which the operator's
			// service (often on a private network) need not meet.
			return nil, envRefusal(field, orgID)
		}
		u, err := c.vault.Policy().CheckURL(field+".api_base_url", p.APIBaseURL)
		if err != nil {
			return nil, err
		}
		tok := strings.TrimSpace(p.APIToken.Reveal())
		if tok == "" || strings.HasPrefix(tok, maskPrefix) {
			return nil, problem.Invalid(field+".api_token", "is required: the full token the configuration was saved with (a masked token proves nothing)")
		}
		ps[i] = proof{url: u.String(), token: []byte(tok)}
	}
	rows, err := c.store.AuthTokens(ctx, orgID, TokenTypeCustomCredential)
	if err != nil {
		return nil, err
	}
	saved := make([]orgvault.Config, 0, len(rows))
	for _, r := range rows {
		if cfg, err := c.source.decrypt(r); err == nil {
			saved = append(saved, cfg)
		}
	}
	ids := map[string]bool{}
	for i, p := range ps {
		field := fmt.Sprintf("sources[%d]", i)
		matched := false
		for _, cfg := range saved {
			// Every saved configuration is compared, whatever matched
			// before: the time taken does not say which one did.
			same := subtle.ConstantTimeCompare(p.token, []byte(cfg.Token.Reveal())) == 1
			if same && sameURL(c.vault.Policy(), p.url, cfg.BaseURL) {
				ids[cfg.ID], matched = true, true
			}
		}
		switch {
		case matched:
		case env != "" && sameURL(c.vault.Policy(), p.url, env):
			return nil, envRefusal(field, orgID)
		default:
			return nil, problem.Forbidden(field, "matches no saved configuration of this organization: "+
				"send the URL and the full token that configuration was saved with")
		}
	}
	return ids, nil
}

// envRefusal is the answer to a proof naming the operator's service.
func envRefusal(field, orgID string) error {
	return problem.Forbidden(field, "names the operator's env-configured service: only the operator moves what it stores, "+
		"with `credvault credentials migrate --org %s` on the command line", orgID)
}

// looselySame compares two service URLs by scheme, host and path, case
// and trailing slashes aside, without the address rules.
func looselySame(a, b string) bool {
	ua, err1 := url.Parse(strings.TrimSpace(a))
	ub, err2 := url.Parse(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

// sameURL compares a normalised URL with a saved one, normalising the
// saved one under today's rules too.
func sameURL(p netpolicy.AddressPolicy, normalised, saved string) bool {
	if s, err := p.CheckURL("api_base_url", saved); err == nil {
		saved = s.String()
	}
	return normalised == saved
}

// Save validates cfg and makes it the organization's configuration, with
// an audit event. A configuration's identity is its service, the
// normalised base URL: saving a service already saved (current or
// replaced) keeps that configuration's id and reseals it with the
// submitted token, together with every other saved configuration of the
// same service, so each item the service stored is read, updated and
// deleted with the current token (a token rotation breaks nothing).
// Saving exactly what is current (same URL as typed, same token) changes
// nothing and writes nothing. Only a service never saved gets a new id.
func (c *Configs) Save(ctx context.Context, p Principal, in ServiceConfig) (ConfigView, error) {
	cfg, err := c.complete(ctx, p.OrganizationID, in)
	if err != nil {
		return ConfigView{}, err
	}
	u, err := c.vault.Policy().CheckURL("config.api_base_url", cfg.APIBaseURL)
	if err != nil {
		return ConfigView{}, err
	}
	rows, err := c.store.AuthTokens(ctx, p.OrganizationID, TokenTypeCustomCredential)
	if err != nil {
		return ConfigView{}, err
	}
	// Newest first: the newest configuration of this service keeps its id;
	// older ones of the same service (saved before identity was the
	// service) are resealed beside it.
	var same []store.AuthToken
	for _, r := range rows {
		saved, err := c.source.decrypt(r)
		if err != nil || !sameURL(c.vault.Policy(), u.String(), saved.BaseURL) || saved.TLS.Identity() != cfg.TLS.Identity() {
			continue
		}
		if len(same) == 0 && r.Valid && saved.BaseURL == cfg.APIBaseURL &&
			subtle.ConstantTimeCompare([]byte(saved.Token.Reveal()), []byte(cfg.APIToken.Reveal())) == 1 &&
			subtle.ConstantTimeCompare([]byte(saved.TLS.ClientKey.Reveal()), []byte(cfg.TLS.ClientKey.Reveal())) == 1 {
			// Unchanged: no new id, no write, nothing becomes stale.
			return view(r, cfg), nil
		}
		same = append(same, r)
	}
	ct, err := c.seal(p.OrganizationID, cfg)
	if err != nil {
		return ConfigView{}, err
	}
	now := c.store.Now()
	row := store.AuthToken{ID: store.NewID("cfg"), OrganizationID: p.OrganizationID, TokenType: TokenTypeCustomCredential,
		EncryptedToken: ct, Valid: true, CreatedAt: now, ModifiedAt: now}
	action := ActionConfigSave
	var reseal []store.AuthToken
	if len(same) > 0 {
		row.ID, row.CreatedAt, action = same[0].ID, same[0].CreatedAt, ActionConfigUpdate
		for _, r := range same[1:] {
			// Each ciphertext is its own (a fresh nonce), though the
			// plaintext is the same.
			rct, err := c.seal(p.OrganizationID, cfg)
			if err != nil {
				return ConfigView{}, err
			}
			r.EncryptedToken, r.ModifiedAt = rct, now
			reseal = append(reseal, r)
		}
	}
	audit := auditOf(ctx, p, action, row.ID)
	audit.CreatedAt = now
	err = c.store.SaveAuthToken(ctx, row, reseal, audit)
	c.vault.Invalidate(p.OrganizationID)
	if err != nil {
		return ConfigView{}, err
	}
	return view(row, cfg), nil
}

// seal encrypts a configuration for orgID's row.
func (c *Configs) seal(orgID string, cfg ServiceConfig) ([]byte, error) {
	pt, err := json.Marshal(storedConfig{APIBaseURL: cfg.APIBaseURL, APIToken: cfg.APIToken.Reveal(),
		CABundle: cfg.TLS.CABundle, ClientCertificate: cfg.TLS.ClientCertificate, ClientKey: cfg.TLS.ClientKey.Reveal()})
	if err != nil {
		return nil, err
	}
	return c.source.keyring.Encrypt(pt, associatedData(orgID, TokenTypeCustomCredential))
}

func view(row store.AuthToken, cfg ServiceConfig) ConfigView {
	t, _ := json.Marshal(map[string]string{"api_base_url": cfg.APIBaseURL, "api_token": MaskToken(cfg.APIToken)})
	return ConfigView{ID: row.ID, OrganizationID: row.OrganizationID, TokenType: row.TokenType, Valid: row.Valid,
		Token: string(t), CreatedAt: row.CreatedAt.UTC(), ModifiedAt: row.ModifiedAt.UTC(), TLS: tlsView(cfg.TLS, time.Now())}
}

// TLSView is what a configuration shows of its TLS options: the
// certificates' subjects, issuers, fingerprints and expiry — never a PEM,
// never the key.
type TLSView struct {
	CABundle          []netpolicy.CertificateInfo `json:"ca_bundle,omitempty"`
	ClientCertificate *netpolicy.CertificateInfo  `json:"client_certificate,omitempty"`
	// Warnings says what expires within 30 days (or has).
	Warnings []string `json:"warnings,omitempty"`
}

func tlsView(o netpolicy.TLSOptions, now time.Time) *TLSView {
	if o.IsZero() {
		return nil
	}
	v := &TLSView{CABundle: netpolicy.DescribeAll(o.CABundle, now)}
	if ci, ok := netpolicy.Describe(o.ClientCertificate, now); ok {
		v.ClientCertificate = &ci
		v.Warnings = expiryWarnings("client certificate", ci, v.Warnings)
	}
	for _, ci := range v.CABundle {
		v.Warnings = expiryWarnings("CA certificate "+ci.Subject, ci, v.Warnings)
	}
	return v
}

// expiryWarnings adds a warning for a certificate expiring within
// netpolicy.ExpiryWarning (or expired).
func expiryWarnings(what string, ci netpolicy.CertificateInfo, ws []string) []string {
	switch left := time.Until(ci.NotAfter); {
	case left <= 0:
		return append(ws, fmt.Sprintf("the %s expired on %s", what, ci.NotAfter.Format(time.DateOnly)))
	case left < netpolicy.ExpiryWarning:
		return append(ws, fmt.Sprintf("the %s expires in %d days (%s)", what, ci.DaysLeft, ci.NotAfter.Format(time.DateOnly)))
	}
	return ws
}

// Get returns the organization's saved configuration, masked, or
// ErrNoConfiguration.
func (c *Configs) Get(ctx context.Context, orgID string) (ConfigView, error) {
	cfg, row, err := c.source.load(ctx, orgID)
	if errors.Is(err, vault.ErrNotConfigured) {
		return ConfigView{}, ErrNoConfiguration
	}
	if err != nil {
		return ConfigView{}, err
	}
	return view(row, ServiceConfig{APIBaseURL: cfg.BaseURL, APIToken: cfg.Token, TLS: cfg.TLS}), nil
}

// Clear removes the organization's configuration (the row is kept, not
// valid). Clearing when none is saved succeeds.
func (c *Configs) Clear(ctx context.Context, p Principal) error {
	audit := auditOf(ctx, p, ActionConfigClear, "")
	_, err := c.store.InvalidateAuthTokens(ctx, p.OrganizationID, TokenTypeCustomCredential, audit)
	c.vault.Invalidate(p.OrganizationID)
	return err
}

// TestStep is one step of a round-trip connection test.
type TestStep struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// TestResult is a connection test's outcome.
type TestResult struct {
	Success    bool       `json:"success"`
	StatusCode int        `json:"status_code"`
	Detail     string     `json:"detail"`
	Steps      []TestStep `json:"steps,omitempty"`
	// Warnings says what needs attention though the test passed: a
	// certificate (the service's, or credvault's client certificate) that
	// expires within 30 days.
	Warnings []string `json:"warnings,omitempty"`
}

// TestConnection checks a configuration: in, or the saved one when in is
// nil. A token left empty or masked is completed by the rule of Save: the
// saved token, only for the saved URL. A GET of the base URL answering
// 2xx, 404 or 405 means reachable; 401/403 means the token was rejected.
// With roundtrip, a throw-away password credential is also created, read
// back, compared field by field and deleted. The returned error is for
// problems with the request itself (invalid input, nothing saved); a
// failed test is a TestResult with Success false.
func (c *Configs) TestConnection(ctx context.Context, orgID string, in *ServiceConfig, roundtrip bool) (TestResult, error) {
	var cfg orgvault.Config
	if in == nil {
		saved, err := c.source.ActiveConfig(ctx, orgID)
		if errors.Is(err, vault.ErrNotConfigured) {
			if env := c.vault.Env(); env != nil {
				// Nothing saved: test the operator's service in use.
				return c.test(ctx, env, roundtrip, netpolicy.TLSOptions{}), nil
			}
			return TestResult{}, problem.Invalid("config", "is required: no configuration is saved to take it from, and the operator configured no service")
		}
		if err != nil {
			return TestResult{}, err
		}
		cfg = saved
	} else {
		done, err := c.complete(ctx, orgID, *in)
		if err != nil {
			return TestResult{}, err
		}
		cfg = orgvault.Config{BaseURL: done.APIBaseURL, Token: done.APIToken, TLS: done.TLS}
	}
	client, err := c.vault.ClientFor(cfg)
	if err != nil {
		return TestResult{}, err
	}
	return c.test(ctx, client, roundtrip, cfg.TLS), nil
}

func (c *Configs) test(ctx context.Context, client *contract.Client, roundtrip bool, o netpolicy.TLSOptions) TestResult {
	tctx, cancel := context.WithTimeout(ctx, c.TestTimeout)
	defer cancel()
	res := probe(tctx, client)
	if res.Success {
		if res = tokenCheck(tctx, client, res); res.Success && roundtrip {
			res = roundTrip(tctx, client, res)
		}
	}
	now := time.Now()
	if at, ok := client.PeerCertificateExpiry(); ok {
		res.Warnings = expiryWarnings("service's TLS certificate", netpolicy.CertificateInfo{NotAfter: at, DaysLeft: int(at.Sub(now).Hours() / 24)}, res.Warnings)
	}
	if ci, ok := netpolicy.Describe(o.ClientCertificate, now); ok {
		res.Warnings = expiryWarnings("client certificate", ci, res.Warnings)
	}
	return res
}

func probe(ctx context.Context, client *contract.Client) TestResult {
	r := conformance.Probe(ctx, client)
	switch {
	case r.Err != nil:
		return TestResult{Detail: "Connection failed: " + r.Err.Error()}
	case r.Reachable:
		return TestResult{Success: true, StatusCode: r.Status,
			Detail: fmt.Sprintf("Connection successful: the service is reachable (HTTP %d)", r.Status)}
	case r.Rejected:
		return TestResult{StatusCode: r.Status,
			Detail: fmt.Sprintf("The service is reachable but rejected the API token (HTTP %d)", r.Status)}
	}
	return TestResult{StatusCode: r.Status, Detail: fmt.Sprintf("Connection failed: the service answered HTTP %d", r.Status)}
}

// tokenCheck asks, with the token, for an item that does not exist: 404
// means the token was accepted, 401/403 that it was not. The seed's rule
// that a base URL answering 404/405 is reachable stays (res is
// reachable); this says whether the token works too. Any other answer
// leaves the test successful and says the token could not be checked.
func tokenCheck(ctx context.Context, client *contract.Client, res TestResult) TestResult {
	var b [9]byte
	_, _ = rand.Read(b[:])
	_, err := client.GetItem(ctx, "credvault-token-check-"+base64.RawURLEncoding.EncodeToString(b[:]))
	var ue *vault.UpstreamError
	switch {
	case errors.Is(err, vault.ErrItemGone):
		res.Detail += "; the API token was accepted (an unknown item answered 404)"
	case errors.As(err, &ue) && (ue.StatusCode == 401 || ue.StatusCode == 403):
		return TestResult{StatusCode: ue.StatusCode,
			Detail: fmt.Sprintf("The service is reachable but rejected the API token (HTTP %d on an item request)", ue.StatusCode)}
	case err == nil:
		res.Detail += "; the token could not be checked (an unknown item answered 200)"
	default:
		res.Detail += "; the token could not be checked (" + err.Error() + ")"
	}
	return res
}

// roundTrip creates, reads back, compares and deletes one throw-away
// credential of each type, and says which types the service stores whole
// ("password ✓, credit_card ✗ drops card_number, …, secret ✓"). The test
// succeeds when passwords are stored whole: the one type every service
// of the seed's contract supports. StatusCode is the failing step's.
func roundTrip(ctx context.Context, client *contract.Client, res TestResult) TestResult {
	var summary []string
	failedAt := ""
	for _, sample := range conformance.Samples() {
		typ := string(sample.Type)
		_, steps := conformance.RoundTrip(ctx, client, sample)
		line := typ + " ✓"
		for _, st := range steps {
			if st.Err == nil {
				res.Steps = append(res.Steps, TestStep{Step: typ + ": " + st.Name, OK: true})
				continue
			}
			res.Steps = append(res.Steps, TestStep{Step: typ + ": " + st.Name, Detail: st.Err.Error()})
			switch {
			case st.Name == "read back" && len(st.Fields) == 1 && st.Fields[0] == "metadata":
				// Metadata is not in the seed's contract: a service
				// without it stores credentials whole.
				line = typ + " ✓ (metadata not stored)"
				res.Steps[len(res.Steps)-1].OK = true
				continue
			case st.Name == "read back" && len(st.Fields) > 0:
				line = typ + " ✗ drops " + strings.Join(st.Fields, ", ")
			case line == typ+" ✓":
				line = typ + " ✗ " + st.Name + " failed"
			}
			var ue *vault.UpstreamError
			if sample.Type == vault.TypePassword && res.Success {
				res.Success, failedAt = false, "password's "+st.Name
				switch {
				case errors.As(st.Err, &ue):
					res.StatusCode = ue.StatusCode
				case st.Name == "read back":
					res.StatusCode = http.StatusOK // it answered, with something else
				default:
					res.StatusCode = 0 // no answer
				}
			}
			if st.Name != "read back" {
				break
			}
		}
		summary = append(summary, line)
	}
	if res.Success {
		res.Detail = "Round trip successful: " + strings.Join(summary, ", ")
	} else {
		res.Detail = "Round trip failed at " + failedAt + ": " + strings.Join(summary, ", ")
	}
	return res
}

// SealedTokens is where saved configurations' ciphertexts are stored, for
// key rotation (`credvault keys`).
func SealedTokens(st sealed.Database) sealed.Set {
	return st.Sealed("configurations", sealed.Column{Table: "org_auth_tokens", ID: "id", Ciphertext: "encrypted_token",
		Extra: []string{"organization_id", "token_type"}}, func(v sealed.Value) []byte { return associatedData(v.Extra[0], v.Extra[1]) })
}
