package vault

import "context"

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
	// ErrNotFound if it is already gone.
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
