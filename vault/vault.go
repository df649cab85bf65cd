package vault

import (
	"context"
	"errors"
)

// SourceEnv is the Source of the env-configured vault's items.
const SourceEnv = "env"

// ItemRef identifies an item stored in a vault: its id in the service and
// the configuration that stored it ("env" or an organization
// configuration id).
type ItemRef struct {
	ID     string
	Source string
}

// CredentialVault stores credential secrets for organizations. Every
// implementation is safe for concurrent use.
type CredentialVault interface {
	// Create stores c and returns where it went.
	Create(ctx context.Context, orgID string, c Credential) (ItemRef, error)
	// Get returns the credential stored under ref, read through the
	// configuration that stored it (ref.Source), never another.
	Get(ctx context.Context, orgID string, ref ItemRef) (Credential, error)
	// Delete removes the item through the configuration that stored it;
	// ErrItemGone if it is already gone.
	Delete(ctx context.Context, orgID string, ref ItemRef) error
}

type idempotencyKey struct{}

// WithIdempotencyKey makes the creates made with ctx carry key, so a
// service that honours it stores one item however many times the create
// is sent.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// IdempotencyKey is the key WithIdempotencyKey put on ctx ("" for none).
func IdempotencyKey(ctx context.Context) string {
	k, _ := ctx.Value(idempotencyKey{}).(string)
	return k
}

// CurrentSourcer is a vault that can say which configuration stores an
// organization's new items (vault.SourceEnv or a configuration id).
type CurrentSourcer interface {
	CurrentSource(ctx context.Context, orgID string) (string, error)
}

// SourcedVault is what credvault's credential service needs of a vault:
// a CredentialVault that names the configuration storing an
// organization's new items, creates through a named configuration (so a
// create is recorded with where it goes before it is sent), and replays a
// create to recover a lost answer. orgvault.Vault is one; Sourced turns
// any CredentialVault into one.
type SourcedVault interface {
	CredentialVault
	CurrentSourcer
	SourceCreator
}

// ErrReplayUnsupported is ReplayCreate of a vault that cannot replay a
// create (Sourced over a plain CredentialVault).
var ErrReplayUnsupported = errors.New("this vault cannot replay a create to find what a lost answer stored")

// Sourced returns v as a SourcedVault: v itself if it is one, else an
// adapter for a vault serving one configuration, named source, whose
// items' refs carry it. CreateAt accepts only that source; ReplayCreate
// answers ErrReplayUnsupported.
func Sourced(v CredentialVault, source string) SourcedVault {
	if sv, ok := v.(SourcedVault); ok {
		return sv
	}
	return sourced{v, source}
}

type sourced struct {
	CredentialVault
	source string
}

func (s sourced) CurrentSource(context.Context, string) (string, error) { return s.source, nil }

func (s sourced) CreateAt(ctx context.Context, orgID, source string, c Credential) (ItemRef, error) {
	if source != s.source {
		return ItemRef{}, &SourceUnavailableError{Source: source, Reason: "this vault serves another configuration"}
	}
	return s.Create(ctx, orgID, c)
}

func (sourced) ReplayCreate(context.Context, string, string, string) (ItemRef, bool, error) {
	return ItemRef{}, false, ErrReplayUnsupported
}

// SourceCreator is a vault that creates through a named configuration, so
// a create can be recorded with where it goes before it is sent.
type SourceCreator interface {
	// CreateAt creates c through the configuration source of orgID.
	CreateAt(ctx context.Context, orgID, source string, c Credential) (ItemRef, error)
	// ReplayCreate sends a placeholder create under key through source.
	// A service that honours Idempotency-Key (honoured) answers with the
	// item an earlier create under key stored, or stores the placeholder
	// if there was none; one that does not stores the placeholder. Either
	// way the returned item is the caller's to delete.
	ReplayCreate(ctx context.Context, orgID, source, key string) (ref ItemRef, honoured bool, err error)
}
