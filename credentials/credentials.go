// Package credentials is credvault's credential service: the secret of
// each credential goes to the organization's vault, its metadata to the
// store, and the two are kept consistent. Every create is recorded before
// it is sent; an item whose row cannot be written is deleted again; an
// update re-points the row with optimistic concurrency and records the old
// item's deletion with it; a delete soft-deletes the row and records its
// item's deletion in one transaction. Recorded deletions go through the
// Outbox, retried until the service confirms; Maintenance reconciles rows
// with their items and moves credentials between services; Folders files
// them.
//
// It knows the vault and the store; it does not know HTTP.
package credentials

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/wire"
)

// VaultTypeCustom is the only vault type credvault serves.
const VaultTypeCustom = "custom"

// Page size bounds for List (Skyvern's UI asks for 200 at a time).
const (
	DefaultPageSize = 10
	MaxPageSize     = 1000
)

// View is a credential as the API shows it — Skyvern's CredentialResponse
// plus created_at and modified_at: metadata only, never a secret.
type View struct {
	CredentialID   string     `json:"credential_id"`
	Name           string     `json:"name"`
	CredentialType vault.Type `json:"credential_type"`
	VaultType      string     `json:"vault_type"`
	Credential     any        `json:"credential"`
	Settings
	CreatedAt  time.Time `json:"created_at"`
	ModifiedAt time.Time `json:"modified_at"`
	// ItemMissingAt is when `credvault reconcile --fix` found the secret
	// gone from the service that stored it; absent otherwise.
	ItemMissingAt *time.Time `json:"item_missing_at,omitempty"`
}

// PasswordView is a password credential's metadata.
type PasswordView struct {
	Username       string  `json:"username"`
	TOTPType       string  `json:"totp_type"`
	TOTPIdentifier *string `json:"totp_identifier"`
}

// CreditCardView is a card's metadata.
type CreditCardView struct {
	LastFour string `json:"last_four"`
	Brand    string `json:"brand"`
}

// SecretView is an API secret's metadata.
type SecretView struct {
	SecretLabel *string `json:"secret_label"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewOf(r store.Credential) View {
	v := View{CredentialID: r.ID, Name: r.Name, CredentialType: vault.Type(r.CredentialType), VaultType: r.VaultType,
		Settings: settingsOf(r), CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
	if r.ItemMissingAt != nil {
		t := r.ItemMissingAt.UTC()
		v.ItemMissingAt = &t
	}
	switch v.CredentialType {
	case vault.TypePassword:
		v.Credential = PasswordView{Username: r.Username, TOTPType: r.TOTPType, TOTPIdentifier: optional(r.TOTPIdentifier)}
	case vault.TypeCreditCard:
		v.Credential = CreditCardView{LastFour: r.CardLastFour, Brand: r.CardBrand}
	default:
		v.Credential = SecretView{SecretLabel: &r.SecretLabel}
	}
	return v
}

// Service manages credentials. It is safe for concurrent use.
type Service struct {
	store Storage
	vault vault.SourcedVault
	log   *slog.Logger
	now   func() time.Time
	rows  *rowCache
	// owner names this Service in the creates it records: it settles only
	// its own, and takes over others' once their lease ends.
	owner string
	// outbox deletes the items that must go (its own state: the lease,
	// the attempts, the run of failed ticks).
	outbox *Outbox
	// spool holds the audit events of secret reads served while the
	// database was out, until the worker writes them.
	spool auditSpool
	// createLease is how long a recorded create is this process's.
	createLease time.Duration
	// noReadBack skips reading written items back (WithoutReadBack).
	noReadBack bool
	// rowCheck is the row cache's revalidation rule (WithRevalidate).
	rowCheck func(age time.Duration) bool
}

// WithoutReadBack turns off reading every created or updated item back
// and comparing it with what was sent, for services known to answer GET
// with less than they store (CREDVAULT_READ_BACK=off). By default a write
// the service does not keep whole fails with a *vault.NotStoredError.
func WithoutReadBack() Option { return func(s *Service) { s.noReadBack = true } }

// DefaultCreateLease is how long a recorded create is its process's
// (WithCreateLease): the vault call is bounded well within it, so a create
// still unsettled past it was left by a process that stopped (or lost its
// answer), and a worker of any live process may take it over.
const DefaultCreateLease = 2 * time.Minute

// WithCreateLease sets the create lease (DefaultCreateLease; at least 20
// seconds: the vault call is bounded 15 seconds within it).
func WithCreateLease(d time.Duration) Option {
	return func(s *Service) {
		if d >= 20*time.Second {
			s.createLease = d
		}
	}
}

// Option tunes New.
type Option func(*Service)

// WithOutboxLease sets how long a deletion a worker claimed is hidden from
// the others (DefaultOutboxLease): a worker that dies holding one leaves
// it to another once the lease ends.
func WithOutboxLease(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.outbox.lease = d
		}
	}
}

// WithRevalidate makes the row cache ask mustCheck of every hit's age:
// true reads the row again first (the change feed is down, so a change
// made elsewhere would not be heard); a read the database cannot answer
// then serves the cached row.
func WithRevalidate(mustCheck func(age time.Duration) bool) Option {
	return func(s *Service) { s.rowCheck = mustCheck }
}

// WithRowCacheSize sets how many credential rows the Service caches
// (DefaultRowCacheSize), evicting the least recently used beyond it.
func WithRowCacheSize(n int) Option {
	return func(s *Service) {
		if n > 0 {
			s.rows = newRowCache(time.Minute, n)
		}
	}
}

// New returns a Service storing secrets in v and metadata in s (Store
// adapts a *sqlstore.Store). A plain CredentialVault becomes a SourcedVault
// with vault.Sourced.
func New(s Storage, v vault.SourcedVault, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	svc := &Service{store: s, vault: v, log: log, now: time.Now, rows: newRowCache(time.Minute, 0), owner: store.NewID("proc"),
		createLease: DefaultCreateLease, outbox: newOutbox(s, v, log)}
	for _, o := range opts {
		o(svc)
	}
	svc.rows.mustCheck = svc.rowCheck
	svc.outbox.recover = svc.Maintenance().RecoverCreates
	return svc
}

// metadataRow fills the metadata columns of r from c.
func metadataRow(r *store.Credential, c vault.Credential) {
	r.Name, r.CredentialType, r.VaultType = c.Name, string(c.Type), VaultTypeCustom
	r.Username, r.TOTPType, r.TOTPIdentifier, r.CardLastFour, r.CardBrand, r.SecretLabel = "", "", "", "", "", ""
	switch c.Type {
	case vault.TypePassword:
		r.Username, r.TOTPType, r.TOTPIdentifier = c.Password.Username, string(c.Password.TOTPType), c.Password.TOTPIdentifier
	case vault.TypeCreditCard:
		r.CardLastFour, r.CardBrand = c.CreditCard.LastFour(), c.CreditCard.Brand
	case vault.TypeSecret:
		r.SecretLabel = c.Secret.Label
	}
}

// checkID rejects an id no credential can have before it reaches the
// database (PostgreSQL refuses NUL and invalid UTF-8 with an error).
func checkID(id string) error {
	if err := vault.CheckText("credential_id", id); err != nil {
		return err
	}
	if len(id) > 128 || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return problem.Invalid("credential_id", "is not a valid credential id")
	}
	return nil
}

// Audit actions of credential changes.
const (
	ActionCreate   = "credential.create"
	ActionUpdate   = "credential.update"
	ActionRename   = "credential.rename"
	ActionSettings = "credential.settings"
	ActionDelete   = "credential.delete"
	ActionMove     = "credential.move"
	// ActionReadSecret is a credential's secret revealed (GetWithSecret).
	ActionReadSecret = "credential.read_secret"
	// ActionTOTPCode is a TOTP code derived from a credential's secret.
	ActionTOTPCode = "credential.totp_code"
)

// audited runs fn and records an audit event (organization, acting key,
// action, credential id, time — never a name or value) in the same
// transaction.
func (s *Service) audited(ctx context.Context, orgID, action, credID string, fn func(tx Storage) error) error {
	return audited(ctx, s.store, orgID, action, credID, fn)
}

// audited runs fn in a transaction of st that also records the audit
// event of action on credID.
func audited(ctx context.Context, st Storage, orgID, action, credID string, fn func(tx Storage) error) error {
	return st.Tx(ctx, func(tx Storage) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.InsertAuditEvent(ctx, store.Event(ctx, orgID, action, credID))
	})
}

// target is where createItem sends an item and why: the organization, the
// credential, the base of its Idempotency-Key, the operation (create,
// update, migrate), the configuration decided by the caller, and for an
// existing credential the row version the change read.
type target struct {
	orgID, credID, base, op, src string
	version                      int64
}

// createItem sends c to the organization's current vault and returns the
// item and the Idempotency-Key the create carried: base, or its next
// attempt ("<base>/a<n>") if an item once stored under base was deleted
// since. The attempt is recorded first and settled by the caller's row
// write; if the answer is lost (a timeout, a reset, an answer without a
// readable id) the record stays, marked lost, for `credvault reconcile` to
// report: the service may hold an item no row points to. An answer naming
// an item credvault recorded as deleted is refused.
func (s *Service) createItem(ctx context.Context, t target, c vault.Credential) (vault.ItemRef, string, error) {
	orgID, credID, op, src := t.orgID, t.credID, t.op, t.src
	key := t.base
	if op != "create" { // a create's base is a new credential id
		var err error
		if key, err = s.store.NextCreateKey(ctx, t.base); err != nil {
			return vault.ItemRef{}, "", err
		}
	}
	// Where the create goes was decided by the caller, once, and is
	// recorded before it is sent.
	lease := s.store.Now().Add(s.createLease)
	attempt := store.CreateAttempt{ID: key, OrganizationID: orgID, CredentialID: credID, VaultSource: src,
		Operation: op, Owner: s.owner, LeaseUntil: &lease}
	var record error
	if op == "create" {
		record = s.store.RecordCreate(ctx, attempt)
	} else {
		// An existing credential: only one change at a time sends its key,
		// and only while the row is still the one the change read.
		record = s.store.ReserveCreate(ctx, attempt, t.version)
	}
	if record != nil {
		return vault.ItemRef{}, key, record
	}
	// The answer must come well within the lease: past it, another process
	// may recover the create.
	cctx, cancel := context.WithTimeout(ctx, s.createLease-15*time.Second)
	defer cancel()
	ref, err := s.vault.CreateAt(vault.WithIdempotencyKey(cctx, key), orgID, src, c)
	if err == nil {
		deleted, derr := s.store.ItemDeleted(ctx, orgID, ref.Source, ref.ID)
		switch {
		case derr != nil:
			s.cleanup(ctx, orgID, ref, key, "its create could not be checked against deleted items", nil)
			return vault.ItemRef{}, key, derr
		case deleted:
			// A service replaying a key whose item is gone: pointing a row
			// at it would lose the secret. The key is retired with it.
			s.cleanup(ctx, orgID, ref, key, "the create's answer named an item credvault had deleted", nil)
			return vault.ItemRef{}, key, &vault.ContractError{Op: "create",
				Problem: "the service answered with an item credvault deleted before (a replayed Idempotency-Key); nothing was stored, retry"}
		}
		if err := s.readBack(ctx, orgID, ref, op, c); err != nil {
			s.cleanup(ctx, orgID, ref, key, "the service did not store the credential whole", nil)
			return vault.ItemRef{}, key, err
		}
		return ref, key, nil
	}
	bctx := context.WithoutCancel(ctx)
	if !vault.OutcomeUnknown(err) {
		// Refused: nothing was stored.
		if serr := s.store.SettleCreate(bctx, key, s.owner); serr != nil && !errors.Is(serr, store.ErrCreateTakenOver) {
			s.log.WarnContext(ctx, "could not forget a refused create; a worker recovers it once its lease ends", slog.String("key", key), slog.String("error", serr.Error()))
		}
		return ref, key, err
	}
	if merr := s.store.MarkCreateLost(bctx, key, err.Error()); merr != nil {
		s.log.WarnContext(ctx, "could not mark a create lost; it stays in flight for reconcile", slog.String("key", key), slog.String("error", merr.Error()))
	}
	s.log.WarnContext(ctx, "a create's answer was lost: the service may hold an item no credential points to; `credvault reconcile` lists it",
		slog.String("organization_id", orgID), slog.String("credential_id", credID), slog.String("idempotency_key", key),
		slog.String("operation", op), slog.String("error", err.Error()))
	return ref, key, err
}

// readBack reads a written item back (one GET, on the connection the
// create used) and compares every field sent: a service that acknowledged
// a write it did not keep whole is a *vault.NotStoredError naming the
// fields, so nothing is acknowledged that was not stored. An item that
// cannot be read back fails the write too (its error): its storage is not
// proven.
func (s *Service) readBack(ctx context.Context, orgID string, ref vault.ItemRef, op string, sent vault.Credential) error {
	if s.noReadBack {
		return nil
	}
	got, err := s.vault.Get(ctx, orgID, ref)
	var ce *vault.ContractError
	switch {
	case errors.Is(err, vault.ErrItemGone):
		return &vault.NotStoredError{Op: op, Fields: []string{"the item (GET answered 404 right after the " + op + ")"}}
	case errors.As(err, &ce) && len(ce.Missing) > 0:
		return &vault.NotStoredError{Op: op, Fields: ce.Missing}
	case errors.As(err, &ce):
		return &vault.NotStoredError{Op: op, Fields: []string{"the credential (" + ce.Problem + ")"}}
	case err != nil:
		return err
	}
	if missing := wire.Unstored(sent, got); len(missing) > 0 {
		return &vault.NotStoredError{Op: op, Fields: missing}
	}
	return nil
}

// ItemMissingError is a read of a credential whose item reconcile found
// gone from the service that stored it, and which is still gone.
type ItemMissingError struct{ Since time.Time }

func (e *ItemMissingError) Error() string {
	return fmt.Sprintf("this credential's secret is gone from the custom credential service that stored it (found missing by reconcile at %s): "+
		"update the credential with its secret to store it again, or delete it", e.Since.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, vault.ErrItemGone) true.
func (e *ItemMissingError) Is(target error) bool {
	return target == vault.ErrItemGone || target == problem.KindOf(vault.ErrItemGone)
}

// getItem reads a row's item through the configuration that stored it.
func (s *Service) getItem(ctx context.Context, orgID string, r store.Credential) (vault.Credential, error) {
	c, err := s.vault.Get(ctx, orgID, refOf(r))
	if r.ItemMissingAt != nil && errors.Is(err, vault.ErrItemGone) {
		return c, &ItemMissingError{Since: *r.ItemMissingAt}
	}
	return c, err
}

// refOf is where a row's item lives: its id and the configuration that
// stored it. Every read and delete goes through that configuration.
func refOf(r store.Credential) vault.ItemRef {
	return vault.ItemRef{ID: r.ItemID, Source: r.VaultSource}
}

// Create stores c with its settings (Patch{} for none; the name in
// settings is ignored: c.Name is the name): the vault item first, then the
// row. The create is recorded before it is sent (see createItem); if the
// row cannot be written, the item's deletion goes through the outbox.
func (s *Service) Create(ctx context.Context, orgID string, c vault.Credential, settings Patch) (View, error) {
	if err := c.Validate(); err != nil {
		return View{}, err
	}
	settings.Name = Field[string]{}
	if err := settings.validate(); err != nil {
		return View{}, err
	}
	// The credential id is the create's idempotency key: a service that
	// honours it stores one item even if the answer is lost and the create
	// sent again.
	credID := store.NewID("cred")
	src, err := s.vault.CurrentSource(ctx, orgID)
	if err != nil {
		return View{}, err
	}
	ref, _, err := s.createItem(ctx, target{orgID: orgID, credID: credID, base: credID, op: "create", src: src}, c)
	if err != nil {
		return View{}, err
	}
	now := s.store.Now()
	row := store.Credential{ID: credID, OrganizationID: orgID, ItemID: ref.ID, VaultSource: ref.Source,
		Version: 1, CreatedAt: now, ModifiedAt: now}
	metadataRow(&row, c)
	settings.apply(&row)
	if err := s.audited(ctx, orgID, ActionCreate, row.ID, func(tx Storage) error {
		if err := tx.CreateCredential(ctx, row); err != nil {
			return err
		}
		return tx.SettleCreate(ctx, credID, s.owner)
	}); err != nil {
		s.cleanup(ctx, orgID, ref, credID, "credential row write failed", err)
		return View{}, err
	}
	return viewOf(row), nil
}

// Get returns a credential's view.
func (s *Service) Get(ctx context.Context, orgID, id string) (View, error) {
	if err := checkID(id); err != nil {
		return View{}, err
	}
	// The REST read of one credential: served from the row cache, as the
	// hot read is, and dropped with it on every change.
	r, err := s.rows.get(ctx, orgID, id, s.store.GetCredentialLean)
	if err != nil {
		return View{}, err
	}
	return viewOf(r), nil
}

// WithSecret is a credential with its secret, for the automation at run
// time. Credential's secret fields are vault.Secret values: reveal them
// only where they are used.
type WithSecret struct {
	View       View
	Credential vault.Credential
}

// GetWithSecret returns the credential with its secret, read through the
// configuration that stored it.
func (s *Service) GetWithSecret(ctx context.Context, orgID, id string) (WithSecret, error) {
	if err := checkID(id); err != nil {
		return WithSecret{}, err
	}
	r, err := s.rows.get(ctx, orgID, id, s.store.GetCredentialLean)
	if err != nil {
		return WithSecret{}, err
	}
	c, err := s.getItem(ctx, orgID, r)
	if err != nil {
		return WithSecret{}, err
	}
	if string(c.Type) != r.CredentialType {
		return WithSecret{}, &vault.ContractError{Op: "get", Problem: fmt.Sprintf("the service returned a %s credential for a %s item", c.Type, r.CredentialType)}
	}
	c.Name = r.Name
	if c.Password != nil {
		c.Password.TOTPIdentifier = r.TOTPIdentifier
	}
	if err := s.recordRead(ctx, orgID, ActionReadSecret, id); err != nil {
		return WithSecret{}, err
	}
	return WithSecret{View: viewOf(r), Credential: c}, nil
}

// recordRead audits a read that reveals or derives from a secret. The
// event joins the spool, which the audit writer (RunAudit) writes in
// batches within auditFlushEvery — off the read's path, which a database
// round trip per read would double — and which holds the events while
// the database is out. A full spool (the database out for long, or
// slower than the reads) takes the event synchronously, and a read whose
// event can be neither spooled nor written fails.
func (s *Service) recordRead(ctx context.Context, orgID, action, credID string) error {
	e := store.Event(ctx, orgID, action, credID)
	e.ID, e.CreatedAt = store.NewID("evt"), s.store.Now()
	if s.spool.add(e) {
		return nil
	}
	return s.store.InsertAuditEvent(ctx, e)
}

// ListOptions select a page of credentials.
type ListOptions struct {
	Page     int // 1-based
	PageSize int // 1..MaxPageSize
	Type     vault.Type
	Search   string
	// FolderID keeps only the credentials in that folder.
	FolderID string
	// VaultType keeps only credentials of that vault type: every row is
	// "custom", so any other value lists nothing.
	VaultType string
	// Cursor continues after the last credential of a previous page (its
	// Page.Next); Page is then ignored.
	Cursor string
}

// MaxOffset bounds how many rows page and page_size may skip; deeper
// reads use the cursor, which skips nothing.
const MaxOffset = 10_000

// Page is one page of a listing and the cursor of the next ("" at the
// end).
type Page struct {
	Views []View
	Next  string
}

// cursorPrefix versions the cursor format.
const cursorPrefix = "c1."

func encodeCursor(p store.Position) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.CreatedAt.UnixMicro(), 10)+"."+p.ID))
}

func decodeCursor(c string) (*store.Position, error) {
	bad := problem.Invalid("cursor", "is not a cursor from X-Next-Cursor")
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok || len(c) > 256 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, bad
	}
	us, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || checkID(id) != nil {
		return nil, bad
	}
	return &store.Position{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// List returns a page of the organization's credentials, newest first,
// and the cursor of the next page: pass it back as ListOptions.Cursor to
// continue without reading what is skipped.
func (s *Service) List(ctx context.Context, orgID string, o ListOptions) (Page, error) {
	views, next, err := s.list(ctx, orgID, o)
	return Page{Views: views, Next: next}, err
}

func (s *Service) list(ctx context.Context, orgID string, o ListOptions) ([]View, string, error) {
	after, err := o.check()
	if err != nil {
		return nil, "", err
	}
	if o.VaultType != "" && o.VaultType != VaultTypeCustom {
		return []View{}, "", nil
	}
	rows, err := s.store.ListCredentials(ctx, orgID, store.CredentialFilter{
		Type: string(o.Type), Search: o.Search, FolderID: o.FolderID, After: after, Offset: (o.Page - 1) * o.PageSize, Limit: o.PageSize})
	if err != nil {
		return nil, "", err
	}
	out := make([]View, len(rows))
	for i, r := range rows {
		out[i] = viewOf(r)
	}
	next := ""
	if len(rows) == o.PageSize {
		last := rows[len(rows)-1]
		next = encodeCursor(store.Position{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return out, next, nil
}

// check fills o's defaults and checks every parameter, naming the wrong
// one; it returns the cursor's position (nil without a cursor).
func (o *ListOptions) check() (*store.Position, error) {
	if o.Page == 0 {
		o.Page = 1
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	switch {
	case o.Page < 1:
		return nil, problem.Invalid("page", "must be 1 or more")
	case o.Page > 1_000_000:
		return nil, problem.Invalid("page", "is too large")
	case o.PageSize < 1 || o.PageSize > MaxPageSize:
		return nil, problem.Invalid("page_size", "must be between 1 and %d", MaxPageSize)
	case o.Type != "" && !o.Type.Valid():
		return nil, vault.InvalidType("credential_type")
	case len(o.Search) > 256:
		return nil, problem.Invalid("search", "must be at most 256 characters")
	}
	if err := vault.CheckText("search", o.Search); err != nil {
		return nil, err
	}
	if err := vault.CheckText("folder_id", o.FolderID); err != nil || len(o.FolderID) > 128 {
		return nil, problem.Invalid("folder_id", "is not a valid folder id")
	}
	if err := vault.CheckText("vault_type", o.VaultType); err != nil {
		return nil, err
	}
	if o.Cursor != "" {
		return decodeCursor(o.Cursor)
	}
	if (o.Page-1)*o.PageSize > MaxOffset {
		return nil, problem.Invalid("page", "is too deep: (page-1) × page_size may skip at most %d credentials; "+
			"continue with the cursor this listing returns in X-Next-Cursor (?cursor=...), which skips nothing", MaxOffset)
	}
	return nil, nil
}

// Keep names the optional parts of a credential that an update left out
// and that are therefore taken from the stored item, as Skyvern does: a
// form that does not show metadata or billing details must not wipe them.
// A part sent as null is not kept: it is cleared.
type Keep struct {
	// Metadata keeps a password's or card's metadata.
	Metadata bool
	// BillingAddress keeps a card's whole billing address.
	BillingAddress bool
	// AddressFields keeps these sub-fields (line1, city, ...) of a billing
	// address that was sent without them.
	AddressFields []string
	BillingEmail  bool
	BillingPhone  bool
}

func (k Keep) any() bool {
	return k.Metadata || k.BillingAddress || len(k.AddressFields) > 0 || k.BillingEmail || k.BillingPhone
}

// merge copies into c what k keeps from the stored item.
func (k Keep) merge(c *vault.Credential, stored vault.Credential) {
	switch {
	case c.Password != nil && stored.Password != nil:
		if k.Metadata {
			c.Password.Metadata = stored.Password.Metadata
		}
	case c.CreditCard != nil && stored.CreditCard != nil:
		cc, old := c.CreditCard, stored.CreditCard
		if k.Metadata {
			cc.Metadata = old.Metadata
		}
		if k.BillingEmail {
			cc.BillingEmail = old.BillingEmail
		}
		if k.BillingPhone {
			cc.BillingPhone = old.BillingPhone
		}
		if k.BillingAddress {
			cc.BillingAddress = old.BillingAddress
		} else if len(k.AddressFields) > 0 && old.BillingAddress != nil {
			if cc.BillingAddress == nil {
				cc.BillingAddress = &vault.BillingAddress{}
			}
			cc.BillingAddress.CopyFields(old.BillingAddress, k.AddressFields)
		}
	}
}

// keepAllowed refuses to keep stored fields of an item that current, the
// configuration the update goes to, did not store.
func keepAllowed(current string, old store.Credential, keep Keep) error {
	if old.VaultSource == current {
		return nil
	}
	return &problem.StateError{Reason: fmt.Sprintf("this credential is stored in another custom credential service than the current one, "+
		"so credvault does not copy its stored fields across: the update must carry every field; missing: %s", strings.Join(keep.names(), ", "))}
}

// names lists what k keeps, as request field names.
func (k Keep) names() []string {
	var out []string
	if k.Metadata {
		out = append(out, "credential.metadata")
	}
	if k.BillingAddress {
		out = append(out, "credential.billing_address")
	}
	for _, f := range k.AddressFields {
		out = append(out, "credential.billing_address."+f)
	}
	if k.BillingEmail {
		out = append(out, "credential.billing_email")
	}
	if k.BillingPhone {
		out = append(out, "credential.billing_phone")
	}
	return out
}

// Update replaces a credential's secret, keeping what keep names from the
// stored item (read first, through its storing configuration, and only if
// the current configuration stored it) and applying settings (Keep{} and
// Patch{} for neither): a new item is created through the current
// configuration, the row is re-pointed if nobody changed it meanwhile
// (else problem.ErrConflict and the new item is deleted), then the old item's
// deletion goes through the outbox.
func (s *Service) Update(ctx context.Context, orgID, id string, c vault.Credential, keep Keep, settings Patch) (View, error) {
	if err := checkID(id); err != nil {
		return View{}, err
	}
	if err := c.Validate(); err != nil {
		return View{}, err
	}
	settings.Name = Field[string]{}
	if err := settings.validate(); err != nil {
		return View{}, err
	}
	old, err := s.store.GetCredential(ctx, orgID, id)
	if err != nil {
		return View{}, err
	}
	// The destination is decided once: the fields kept from the stored
	// item go only where that item lives, even if the organization saves
	// another configuration while this update runs.
	dest, err := s.vault.CurrentSource(ctx, orgID)
	if err != nil {
		return View{}, err
	}
	if keep.any() && old.CredentialType == string(c.Type) {
		// What the form left out must not be wiped: read it first. If it
		// cannot be read, the update fails rather than lose it. It is read
		// only from the current service: copying stored fields from
		// another service into the current one would let whoever changed
		// the configuration move secrets they never proved they hold.
		if err := keepAllowed(dest, old, keep); err != nil {
			return View{}, err
		}
		stored, err := s.getItem(ctx, orgID, old)
		switch {
		case errors.Is(err, vault.ErrSourceUnavailable):
			// The old item is out of reach for good: nothing can be kept,
			// and this update is how the credential moves on.
			s.log.WarnContext(ctx, "updating a credential whose stored item is unreachable; omitted fields cannot be kept",
				slog.String("organization_id", orgID), slog.String("credential_id", id), slog.String("stored_by", old.VaultSource))
		case err != nil:
			return View{}, err
		default:
			keep.merge(&c, stored)
			if err := c.Validate(); err != nil {
				return View{}, err
			}
		}
	}
	// One key per version: a retried update stores one item, and a later
	// update never gets an earlier one back.
	ref, key, err := s.createItem(ctx, target{orgID: orgID, credID: id, base: fmt.Sprintf("%s/v%d", id, old.Version+1), op: "update",
		src: dest, version: old.Version}, c)
	if err != nil {
		return View{}, err
	}
	row := old
	row.ItemID, row.VaultSource, row.ItemMissingAt = ref.ID, ref.Source, nil
	metadataRow(&row, c)
	settings.apply(&row)
	// The old item's deletion is recorded with the row change, so it is
	// retried until done even if this process stops right after the
	// commit; it goes through the configuration that stored the old item.
	oldItem := s.outbox.deletion(orgID, refOf(old), "replaced by an update")
	var updated store.Credential
	err = s.audited(ctx, orgID, ActionUpdate, id, func(tx Storage) error {
		var err error
		if updated, err = tx.UpdateCredential(ctx, row, old.Version); err != nil {
			return err
		}
		if err := tx.SettleCreate(ctx, key, s.owner); err != nil {
			return err
		}
		return tx.EnqueueDeletion(ctx, oldItem)
	})
	s.rows.drop(orgID, id)
	if err != nil {
		s.cleanup(ctx, orgID, ref, key, "credential row update failed", err)
		return View{}, err
	}
	s.outbox.attempt(context.WithoutCancel(ctx), oldItem)
	return viewOf(updated), nil
}

// Patch changes a credential's name and settings; the secret and the
// vault are not touched (Skyvern's PATCH /credentials/{id}). At least one
// field must be given.
func (s *Service) Patch(ctx context.Context, orgID, id string, p Patch) (View, error) {
	if err := checkID(id); err != nil {
		return View{}, err
	}
	if p.Empty() {
		return View{}, problem.Invalid("", "at least one credential metadata field must be provided")
	}
	if err := p.validate(); err != nil {
		return View{}, err
	}
	old, err := s.store.GetCredential(ctx, orgID, id)
	if err != nil {
		return View{}, err
	}
	row := old
	p.apply(&row)
	action := ActionSettings
	if p.Name.Set {
		action = ActionRename
	}
	var updated store.Credential
	err = s.audited(ctx, orgID, action, id, func(tx Storage) error {
		var err error
		updated, err = tx.UpdateCredential(ctx, row, old.Version)
		return err
	})
	s.rows.drop(orgID, id)
	if err != nil {
		return View{}, err
	}
	return viewOf(updated), nil
}

// Delete soft-deletes the row and records the deletion of its item (in
// one transaction), then tries that deletion at once through the
// configuration that stored the item. Once recorded the delete has
// succeeded: a service that is down, slow or refusing is retried by the
// outbox worker until it confirms (2xx or 404).
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	r, err := s.store.GetCredential(ctx, orgID, id)
	if err != nil {
		return err
	}
	item := s.outbox.deletion(orgID, refOf(r), "credential deleted")
	err = s.audited(ctx, orgID, ActionDelete, id, func(tx Storage) error {
		if err := tx.SoftDeleteCredential(ctx, orgID, id, r.Version); err != nil {
			return err
		}
		return tx.EnqueueDeletion(ctx, item)
	})
	s.rows.drop(orgID, id)
	if err != nil {
		return err
	}
	s.outbox.attempt(context.WithoutCancel(ctx), item)
	return nil
}

// Code is a current TOTP code.
type Code struct {
	Code             string `json:"code"`
	SecondsRemaining int    `json:"seconds_remaining"`
}

// TOTPCode computes the current code of a password credential whose
// totp_type is authenticator.
func (s *Service) TOTPCode(ctx context.Context, orgID, id string) (Code, error) {
	if err := checkID(id); err != nil {
		return Code{}, err
	}
	r, err := s.rows.get(ctx, orgID, id, s.store.GetCredentialLean)
	if err != nil {
		return Code{}, err
	}
	if r.CredentialType != string(vault.TypePassword) || r.TOTPType != string(vault.TOTPAuthenticator) {
		return Code{}, problem.Invalid("credential", "has no authenticator TOTP: only password credentials with totp_type authenticator have codes")
	}
	c, err := s.getItem(ctx, orgID, r)
	if err != nil {
		return Code{}, err
	}
	if c.Password == nil || c.Password.TOTP.IsZero() {
		return Code{}, &vault.ContractError{Op: "get", Problem: "the service returned no totp for an authenticator credential"}
	}
	code, rem, err := vault.TOTPCode(c.Password.TOTP, s.now())
	if err != nil {
		var inv *problem.InvalidError
		if errors.As(err, &inv) {
			return Code{}, problem.Invalid("totp", "the stored authenticator secret is not usable (%s); update the credential with a valid one", inv.Reason)
		}
		return Code{}, &vault.ContractError{Op: "get", Problem: "the service returned a totp seed that is not valid"}
	}
	if err := s.recordRead(ctx, orgID, ActionTOTPCode, id); err != nil {
		return Code{}, err
	}
	return Code{Code: code, SecondsRemaining: rem}, nil
}

// maxSpooled bounds the audit events waiting to be written.
const maxSpooled = 10_000

// auditFlushEvery is how often the audit writer writes the spool: the
// most a crash can lose of the trail of reads.
const auditFlushEvery = 100 * time.Millisecond

// auditBatch is how many events one statement writes.
const auditBatch = 500

// RunAudit writes the spooled audit events every auditFlushEvery until
// ctx ends, then once more.
func (s *Service) RunAudit(ctx context.Context) {
	t := time.NewTicker(auditFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.FlushAudit(fctx)
			cancel()
			return
		case <-t.C:
			s.FlushAudit(ctx)
		}
	}
}

// auditSpool holds audit events not written yet.
type auditSpool struct {
	mu      sync.Mutex
	pending []store.AuditEvent
	// failing says the last flush failed (logged once per outage).
	failing bool
}

func (a *auditSpool) failed(ctx context.Context, log *slog.Logger, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.failing {
		a.failing = true
		log.WarnContext(ctx, "could not write the audit events of secret reads; they wait in memory (reads are refused once 10,000 wait)",
			slog.Int("waiting", len(a.pending)), slog.String("error", err.Error()))
	}
}

func (a *auditSpool) recovered(ctx context.Context, log *slog.Logger) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failing {
		a.failing = false
		log.InfoContext(ctx, "wrote the waiting audit events of secret reads")
	}
}

// add holds e, and reports false when the spool is full.
func (a *auditSpool) add(e store.AuditEvent) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) >= maxSpooled {
		return false
	}
	a.pending = append(a.pending, e)
	return true
}

// Spooled is how many audit events of secret reads wait for the
// database.
func (s *Service) Spooled() int {
	s.spool.mu.Lock()
	defer s.spool.mu.Unlock()
	return len(s.spool.pending)
}

// FlushAudit writes the spooled audit events, oldest first, in batches,
// until one fails (they wait for the next flush then).
func (s *Service) FlushAudit(ctx context.Context) {
	s.spool.mu.Lock()
	pending := s.spool.pending
	s.spool.pending = nil
	s.spool.mu.Unlock()
	for i := 0; i < len(pending); i += auditBatch {
		batch := pending[i:min(i+auditBatch, len(pending))]
		if err := s.store.InsertAuditEvents(ctx, batch); err != nil {
			s.spool.mu.Lock()
			s.spool.pending = append(pending[i:], s.spool.pending...)
			s.spool.mu.Unlock()
			s.spool.failed(ctx, s.log, err)
			return
		}
	}
	if len(pending) > 0 {
		s.spool.recovered(ctx, s.log)
	}
}
