package org

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/credvault/credvault/internal/lru"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// Errors of organizations and their configurations (besides the shared
// kinds of package problem: a missing organization, key or configuration
// is problem.ErrNotFound).
var (
	// ErrUnauthorized means an API key is missing, unknown or revoked.
	ErrUnauthorized = problem.Public("invalid or missing organization API key", problem.ErrUnauthorized)
	// ErrNoConfiguration means the organization has no saved custom
	// credential service configuration (a kind of problem.ErrNotFound).
	ErrNoConfiguration = problem.Kind("no custom credential service configuration is saved for this organization", problem.ErrNotFound)
)

// ErrInvalidName means an organization name is empty or too long.
var ErrInvalidName = problem.Public("organization name must be 1 to 200 characters", problem.ErrInvalid)

// apiKeyPrefix marks credvault API keys so secret scanners can find them.
const apiKeyPrefix = "cvk_"

// Principal is the authenticated caller of an API request.
type Principal struct {
	OrganizationID string
	KeyID          string
	// Role is what the key may do.
	Role Role
}

// ErrKeyExpired is a key past its expiry: a 401 saying so.
var ErrKeyExpired = problem.Public("this API key has expired: use another, or create one (credvault org add-key, or POST /api/v1/keys with an admin key)",
	problem.ErrUnauthorized)

// MaxKeyLifetime bounds a key's expiry (ten years).
const MaxKeyLifetime = 10 * 365 * 24 * time.Hour

// KeyOptions describe a new API key.
type KeyOptions struct {
	// Role is what the key may do (RoleAdmin when zero).
	Role Role
	// Name says what the key is for (at most 200 characters).
	Name string
	// Expires is how long the key works (0: until revoked; at most
	// MaxKeyLifetime).
	Expires time.Duration
}

// CreatedKey is a new API key. Key is shown once: only its hash is kept.
type CreatedKey struct {
	APIKeyID  string     `json:"api_key_id"`
	APIKey    string     `json:"api_key"`
	Role      Role       `json:"role"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// CreatedOrganization is the answer to creating an organization. APIKey is shown
// once.
type CreatedOrganization struct {
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	APIKey         string `json:"api_key"`
	APIKeyID       string `json:"api_key_id"`
}

// Organizations creates organizations and authenticates their API keys.
// Valid keys are cached (hash → principal), so a steady stream of requests
// makes no database query; a revocation drops the entry at once in this
// process and, through the change notification, in every other within a
// second, and entries expire after KeyTTL anyway. The cache holds at most
// its size in keys (DefaultKeyCacheSize unless set), evicting the least
// recently used.
type Organizations struct {
	store OrgStore
	// KeyTTL bounds how long a cached key is trusted (default 1 minute).
	KeyTTL time.Duration
	// MustCheck, when set, is asked of every cached key's age: true looks
	// the key up again first (the change feed is down, so a revocation
	// elsewhere would not be heard); a lookup the database cannot answer
	// then serves the cached key.
	MustCheck func(age time.Duration) bool
	now       func() time.Time

	keys *lru.Cache[uint64, cachedKey] // by the key hash's first 8 bytes
	// gen counts invalidations: a lookup that raced one is not cached.
	gen atomic.Uint64
}

// DefaultKeyCacheSize is how many API keys a process caches when the
// size is not set (CREDVAULT_CACHE_KEYS).
const DefaultKeyCacheSize = 100_000

// NewOrganizations returns an Organizations over s caching up to
// keyCacheSize API keys (0: DefaultKeyCacheSize).
func NewOrganizations(s OrgStore, keyCacheSize int) *Organizations {
	if keyCacheSize <= 0 {
		keyCacheSize = DefaultKeyCacheSize
	}
	o := &Organizations{store: s, KeyTTL: time.Minute, now: time.Now}
	o.keys = lru.New[uint64, cachedKey](keyCacheSize, func() time.Time { return o.now() }, nil)
	return o
}

// cachedKey is a cached API key in the least memory (a cache entry of
// 96 bytes, plus its ids): the rest of its hash (the cache's map is keyed
// by the first 8 bytes, so two keys sharing them are told apart here)
// and its two ids in one string. A key's expiry is its entry's: the
// entry's time to live ends when the key does (lookup).
type cachedKey struct {
	rest   [sha256.Size - 8]byte
	ids    string // the organization id, then the key id
	orgLen uint16
	role   Role
}

func cacheKeyOf(p Principal, hash []byte) (cachedKey, bool) {
	if len(p.OrganizationID) > math.MaxUint16 {
		return cachedKey{}, false
	}
	return cachedKey{rest: [sha256.Size - 8]byte(hash[8:]), ids: p.OrganizationID + p.KeyID, orgLen: uint16(len(p.OrganizationID)),
		role: p.Role}, true
}

// is reports whether k is the key with hash, found in hash's slot.
func (k cachedKey) is(hash []byte) bool { return k.rest == [sha256.Size - 8]byte(hash[8:]) }

func (k cachedKey) principal() Principal {
	return Principal{OrganizationID: k.ids[:k.orgLen], KeyID: k.ids[k.orgLen:], Role: k.role}
}

// slot is where the key with hash is cached.
func slot(hash []byte) uint64 { return binary.LittleEndian.Uint64(hash) }

// InvalidateKey drops the cached key with that id (it was revoked).
func (o *Organizations) InvalidateKey(keyID string) {
	o.gen.Add(1)
	o.keys.RemoveIf(func(_ uint64, k cachedKey) bool { return k.principal().KeyID == keyID })
}

// FlushKeys drops every cached key.
func (o *Organizations) FlushKeys() {
	o.gen.Add(1)
	o.keys.Purge()
}

// HashAPIKey is the stored form of an API key. Keys carry 256 bits of
// entropy, so a fast hash is enough: there is nothing to brute-force.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func newAPIKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Create makes an organization and its first API key.
func (o *Organizations) Create(ctx context.Context, name string) (CreatedOrganization, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return CreatedOrganization{}, ErrInvalidName
	}
	key, err := newAPIKey()
	if err != nil {
		return CreatedOrganization{}, err
	}
	now := o.store.Now()
	org := store.Organization{ID: store.NewID("org"), Name: name, CreatedAt: now, ModifiedAt: now}
	k := store.APIKey{ID: store.NewID("key"), OrganizationID: org.ID, KeyHash: HashAPIKey(key), CreatedAt: now, Role: RoleAdmin.String()}
	if err := o.store.CreateOrganization(ctx, org, k); err != nil {
		return CreatedOrganization{}, err
	}
	return CreatedOrganization{OrganizationID: org.ID, Name: org.Name, APIKey: key, APIKeyID: k.ID}, nil
}

// AddKey creates another API key for an existing organization (to rotate
// keys without downtime, or to give a run a key that can only read).
func (o *Organizations) AddKey(ctx context.Context, orgID string, opts KeyOptions) (CreatedKey, error) {
	if opts.Role == 0 {
		opts.Role = RoleAdmin
	}
	opts.Name = strings.TrimSpace(opts.Name)
	if err := vault.CheckText("name", opts.Name); err != nil {
		return CreatedKey{}, err
	}
	switch {
	case strings.IndexFunc(opts.Name, unicode.IsControl) >= 0:
		return CreatedKey{}, problem.Invalid("name", "must be one line of printable text")
	case opts.Role.String() == "none":
		return CreatedKey{}, problem.Invalid("role", "must be admin, member or agent")
	case utf8.RuneCountInString(opts.Name) > 200:
		return CreatedKey{}, problem.Invalid("name", "must be at most 200 characters")
	case opts.Expires < 0 || opts.Expires > MaxKeyLifetime:
		return CreatedKey{}, problem.Invalid("expires", "must be between 1s and 87600h (ten years), or unset for a key that works until revoked")
	}
	if err := o.Exists(ctx, orgID); err != nil {
		return CreatedKey{}, err
	}
	key, err := newAPIKey()
	if err != nil {
		return CreatedKey{}, err
	}
	now := o.store.Now()
	k := store.APIKey{ID: store.NewID("key"), OrganizationID: orgID, KeyHash: HashAPIKey(key), CreatedAt: now,
		Role: opts.Role.String(), Name: opts.Name}
	if opts.Expires > 0 {
		at := now.Add(opts.Expires)
		k.ExpiresAt = &at
	}
	if err := o.store.CreateAPIKey(ctx, k); err != nil {
		return CreatedKey{}, err
	}
	return CreatedKey{APIKeyID: k.ID, APIKey: key, Role: opts.Role, Name: k.Name, CreatedAt: now.UTC(), ExpiresAt: utc(k.ExpiresAt)}, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// RevokeKey revokes an API key of orgID; requests with it then get 401.
func (o *Organizations) RevokeKey(ctx context.Context, orgID, keyID string) error {
	err := o.store.RevokeAPIKey(ctx, orgID, keyID)
	o.InvalidateKey(keyID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("organization %s has no API key %s: %w", orgID, keyID, problem.ErrNotFound)
	}
	return err
}

// Authenticate returns the principal owning key, or ErrUnauthorized.
func (o *Organizations) Authenticate(ctx context.Context, key string) (Principal, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 128 {
		return Principal{}, ErrUnauthorized
	}
	hash := HashAPIKey(key)
	ck, age, ok := o.keys.GetAge(slot(hash))
	if !ok || !ck.is(hash) {
		return o.lookup(ctx, hash)
	}
	p := ck.principal()
	if o.MustCheck == nil || !o.MustCheck(age) {
		return p, nil
	}
	fresh, err := o.lookup(ctx, hash)
	switch {
	case err == nil:
		return fresh, nil
	case errors.Is(err, problem.ErrUnavailable):
		return p, nil // the database is out: nothing can have changed it
	}
	o.keys.Remove(slot(hash)) // (another key sharing the slot would only be read again)
	return Principal{}, err
}

// lookup reads the key with hash from the store and caches it if valid.
func (o *Organizations) lookup(ctx context.Context, hash []byte) (Principal, error) {
	gen := o.gen.Load()
	k, err := o.store.APIKeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(k.KeyHash, hash) != 1 || k.RevokedAt != nil {
		return Principal{}, ErrUnauthorized
	}
	role, err := ParseRole(k.Role)
	if err != nil {
		return Principal{}, ErrUnauthorized // a role this binary does not know grants nothing
	}
	p := Principal{OrganizationID: k.OrganizationID, KeyID: k.ID, Role: role}
	ttl := o.KeyTTL
	if k.ExpiresAt != nil {
		left := k.ExpiresAt.Sub(o.now())
		if left <= 0 {
			return Principal{}, ErrKeyExpired
		}
		ttl = min(ttl, left) // a cached key expires with the key

	}
	// A lookup happens about once a minute per key and process (the
	// cache), so recording the use here costs little.
	_ = o.store.TouchAPIKey(ctx, k.ID)
	o.keys.WithLock(func() {
		if ck, ok := cacheKeyOf(p, hash); ok && o.gen.Load() == gen { // nothing was revoked while we read
			o.keys.AddLocked(slot(hash), ck, ttl)
		}
	})
	return p, nil
}

// OrganizationView is an organization as the CLI lists it.
type OrganizationView struct {
	OrganizationID string    `json:"organization_id"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"created_at"`
}

// List lists every organization, oldest first.
func (o *Organizations) List(ctx context.Context) ([]OrganizationView, error) {
	orgs, err := o.store.ListOrganizations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OrganizationView, len(orgs))
	for i, x := range orgs {
		out[i] = OrganizationView{OrganizationID: x.ID, Name: x.Name, CreatedAt: x.CreatedAt.UTC()}
	}
	return out, nil
}

// KeyView is an API key as the CLI lists it: never the key or its hash.
type KeyView struct {
	APIKeyID   string     `json:"api_key_id"`
	Role       Role       `json:"role"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Active reports whether the key still works at now.
func (k KeyView) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Exists reports an organization that does not exist as "organization
// ID: not found" (problem.ErrNotFound), for commands taking --org.
func (o *Organizations) Exists(ctx context.Context, orgID string) error {
	if _, err := o.store.GetOrganization(ctx, orgID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("organization %s: %w", orgID, problem.ErrNotFound)
		}
		return err
	}
	return nil
}

// Keys lists an organization's API keys, oldest first.
func (o *Organizations) Keys(ctx context.Context, orgID string) ([]KeyView, error) {
	if err := o.Exists(ctx, orgID); err != nil {
		return nil, err
	}
	ks, err := o.store.ListAPIKeys(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]KeyView, len(ks))
	for i, k := range ks {
		role, _ := ParseRole(k.Role)
		out[i] = KeyView{APIKeyID: k.ID, Role: role, Name: k.Name, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: utc(k.LastUsedAt),
			ExpiresAt: utc(k.ExpiresAt), RevokedAt: utc(k.RevokedAt)}
	}
	return out, nil
}

// AuditView is an audit event as the CLI lists it: who did what, when,
// never a secret.
type AuditView struct {
	EventID        string    `json:"event_id"`
	OrganizationID string    `json:"organization_id"`
	ActorKeyID     string    `json:"actor_key_id"`
	ActorRole      string    `json:"actor_role"`
	RequestID      string    `json:"request_id"`
	Action         string    `json:"action"`
	TargetID       string    `json:"target_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// Audit lists an organization's audit events, newest first (as the REST
// route does); an unknown organization is problem.ErrNotFound, naming it.
func (o *Organizations) Audit(ctx context.Context, orgID string, f store.AuditFilter) ([]AuditView, error) {
	if err := o.Exists(ctx, orgID); err != nil {
		return nil, err
	}
	es, err := o.store.FindAuditEvents(ctx, orgID, f)
	if err != nil {
		return nil, err
	}
	return auditViews(es), nil
}

// AuditPage lists a page of an organization's audit events, newest first
// (page from 1, pageSize 1 to 500).
func (o *Organizations) AuditPage(ctx context.Context, orgID string, page, pageSize int) ([]AuditView, error) {
	if page == 0 {
		page = 1
	}
	if pageSize == 0 {
		pageSize = 50
	}
	switch {
	case page < 1 || page > 100_000:
		return nil, problem.Invalid("page", "must be between 1 and 100000")
	case pageSize < 1 || pageSize > 500:
		return nil, problem.Invalid("page_size", "must be between 1 and 500")
	}
	es, err := o.store.ListAuditEventsPage(ctx, orgID, (page-1)*pageSize, pageSize)
	if err != nil {
		return nil, err
	}
	return auditViews(es), nil
}

func auditViews(es []store.AuditEvent) []AuditView {
	out := make([]AuditView, len(es))
	for i, e := range es {
		out[i] = AuditView{EventID: e.ID, OrganizationID: e.OrganizationID, ActorKeyID: e.ActorKeyID, ActorRole: e.ActorRole,
			RequestID: e.RequestID, Action: e.Action, TargetID: e.TargetID, CreatedAt: e.CreatedAt.UTC()}
	}
	return out
}

// CachedKeys is how many API keys are cached (at most the cache's size).
func (o *Organizations) CachedKeys() int { return o.keys.Len() }
