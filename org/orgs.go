package org

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/credvault/credvault/store"
)

// ErrUnauthorized means an API key is missing, unknown or revoked.
var ErrUnauthorized = errors.New("invalid or missing organization API key")

// ErrInvalidName means an organization name is empty or too long.
var ErrInvalidName = errors.New("organization name must be 1 to 200 characters")

// apiKeyPrefix marks credvault API keys so secret scanners can find them.
const apiKeyPrefix = "cvk_"

// Principal is the authenticated caller of an API request.
type Principal struct {
	OrganizationID string
	KeyID          string
}

// Created is the answer to creating an organization. APIKey is shown once.
type Created struct {
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	APIKey         string `json:"api_key"`
	APIKeyID       string `json:"api_key_id"`
}

// Organizations creates organizations and authenticates their API keys.
type Organizations struct {
	store *store.Store
}

// NewOrganizations returns an Organizations over s.
func NewOrganizations(s *store.Store) *Organizations { return &Organizations{store: s} }

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
func (o *Organizations) Create(ctx context.Context, name string) (Created, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return Created{}, ErrInvalidName
	}
	key, err := newAPIKey()
	if err != nil {
		return Created{}, err
	}
	now := o.store.Now()
	org := store.Organization{ID: store.NewID("org"), Name: name, CreatedAt: now, ModifiedAt: now}
	k := store.APIKey{ID: store.NewID("key"), OrganizationID: org.ID, KeyHash: HashAPIKey(key), CreatedAt: now}
	if err := o.store.CreateOrganization(ctx, org, k); err != nil {
		return Created{}, err
	}
	return Created{OrganizationID: org.ID, Name: org.Name, APIKey: key, APIKeyID: k.ID}, nil
}

// AddKey creates another API key for an existing organization (to rotate
// keys without downtime) and returns it with its id.
func (o *Organizations) AddKey(ctx context.Context, orgID string) (key, keyID string, err error) {
	if _, err := o.store.GetOrganization(ctx, orgID); err != nil {
		return "", "", err
	}
	key, err = newAPIKey()
	if err != nil {
		return "", "", err
	}
	k := store.APIKey{ID: store.NewID("key"), OrganizationID: orgID, KeyHash: HashAPIKey(key), CreatedAt: o.store.Now()}
	if err := o.store.CreateAPIKey(ctx, k); err != nil {
		return "", "", err
	}
	return key, k.ID, nil
}

// RevokeKey revokes an API key of orgID; requests with it then get 401.
func (o *Organizations) RevokeKey(ctx context.Context, orgID, keyID string) error {
	return o.store.RevokeAPIKey(ctx, orgID, keyID)
}

// Authenticate returns the principal owning key, or ErrUnauthorized.
func (o *Organizations) Authenticate(ctx context.Context, key string) (Principal, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 128 {
		return Principal{}, ErrUnauthorized
	}
	hash := HashAPIKey(key)
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
	return Principal{OrganizationID: k.OrganizationID, KeyID: k.ID}, nil
}
