package store

import "time"

// Organization is a customer of the platform.
type Organization struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// APIKey is an organization API key. Only the SHA-256 hash of the key is
// stored.
type APIKey struct {
	ID             string
	OrganizationID string
	KeyHash        []byte
	CreatedAt      time.Time
	RevokedAt      *time.Time
	// LastUsedAt is when the key was last looked up (requests in between
	// are served from the key cache).
	LastUsedAt *time.Time
	// Role is what the key may do: "admin", "member" or "agent".
	Role string
	// Name says what the key is for ("" when not given).
	Name string
	// ExpiresAt is when the key stops working (nil: never).
	ExpiresAt *time.Time
}

// AuthToken is an organization's saved service configuration. The whole
// configuration (URL and token) is one ciphertext.
type AuthToken struct {
	ID             string
	OrganizationID string
	TokenType      string
	EncryptedToken []byte
	Valid          bool
	CreatedAt      time.Time
	ModifiedAt     time.Time
}

// Credential is a credential's metadata row; its secret is in a vault under
// ItemID.
type Credential struct {
	ID             string
	OrganizationID string
	Name           string
	CredentialType string
	VaultType      string
	ItemID         string
	// VaultSource is the configuration that stored the item: an
	// AuthToken id, or "env".
	VaultSource    string
	Username       string
	TOTPType       string
	TOTPIdentifier string
	CardLastFour   string
	CardBrand      string
	SecretLabel    string
	// Skyvern's non-secret settings (nil: NULL).
	FolderID                 *string
	TestedURL                *string
	UserContext              *string
	BrowserProfileID         *string
	AutoProfileDisabled      *bool
	PinSavedSessionIP        bool
	SaveBrowserSessionIntent *bool
	RunSequentially          bool
	// ProxyLocation is JSON: a string or a geo-target object.
	ProxyLocation  *string
	ProxySessionID *string
	// ItemMissingAt is when reconcile found the item gone from the
	// service that stored it (nil: not known to be missing).
	ItemMissingAt *time.Time
	// Version increases on every change, for optimistic concurrency.
	Version    int64
	CreatedAt  time.Time
	ModifiedAt time.Time
	DeletedAt  *time.Time
}

// AuditEvent records who changed what. It never holds a secret.
type AuditEvent struct {
	ID             string
	OrganizationID string
	ActorKeyID     string
	// ActorRole is the acting key's role ("" for events recorded before
	// roles existed).
	ActorRole string
	// RequestID is the request the action came with ("" outside one).
	RequestID string
	Action    string
	TargetID  string
	CreatedAt time.Time
}

// CredentialFilter narrows ListCredentials.
type CredentialFilter struct {
	// Type, when set, keeps only credentials of that type.
	Type string
	// FolderID, when set, keeps only credentials in that folder.
	FolderID string
	// Search is a literal, case-insensitive substring matched against
	// name, username, secret label, card brand and last four.
	Search string
	// After, when set, continues after that (created_at, id) position
	// (keyset paging: nothing skipped is read); Offset is then ignored.
	After  *Position
	Offset int
	Limit  int
}

// Position is a place in the newest-first order of credentials.
type Position struct {
	CreatedAt time.Time
	ID        string
}

// Folder groups an organization's credentials (Skyvern's credential
// folders).
type Folder struct {
	ID             string
	OrganizationID string
	Title          string
	Description    *string
	CreatedAt      time.Time
	ModifiedAt     time.Time
	DeletedAt      *time.Time
	// CredentialCount is computed on read (live credentials in it).
	CredentialCount int64
}

// VaultDeletion is a vault item that must be deleted, through the
// configuration that stored it, until the service confirms.
type VaultDeletion struct {
	ID             string
	OrganizationID string
	ItemID         string
	VaultSource    string
	Reason         string
	// CreateKey is the Idempotency-Key that stored the item, when known:
	// it is retired with the item and never sent again (not a column of
	// this table; see Tombstone).
	CreateKey     string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
}

// CreateAttempt is a create sent to a vault whose credential row is not
// written yet. Its ID is the Idempotency-Key the create carried.
type CreateAttempt struct {
	ID             string
	OrganizationID string
	CredentialID   string
	// VaultSource is the configuration the create was sent through.
	VaultSource string
	// Operation is what asked for the item: create, update or migrate.
	Operation string
	// State is CreateInFlight until the answer is known; CreateLost when
	// it never came; CreateUnrecoverable when the service does not honour
	// Idempotency-Key, so the item cannot be found.
	State     string
	LastError string
	CreatedAt time.Time
	// Owner is the process waiting for the answer; LeaseUntil is when
	// another may take the record over (nil: at once).
	Owner      string
	LeaseUntil *time.Time
}

// OTPCode is a one-time code pushed for an email or SMS login. Its code
// and content are secrets: they live only inside Ciphertext.
type OTPCode struct {
	ID             string
	OrganizationID string
	TOTPIdentifier string
	TaskID         *string
	WorkflowID     *string
	WorkflowRunID  *string
	Source         *string
	OTPType        *string
	Ciphertext     []byte
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// OTPFilter narrows ListOTPCodes.
type OTPFilter struct {
	TOTPIdentifier string
	WorkflowRunID  string
	OTPType        string
	Limit          int
}

// AuditFilter narrows a listing of audit events.
type AuditFilter struct {
	// Since, when set, keeps events at or after it.
	Since time.Time
	// Action, when set, keeps events of that action.
	Action string
	// ActorKeyID, when set, keeps events of that key.
	ActorKeyID string
	// Limit bounds how many are returned (0: all).
	Limit int
}
