package credservice

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/credvault/credvault/sealed"
	"io/fs"
	"time"

	"gorm.io/gorm"

	"github.com/credvault/credvault/internal/sqldb"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/problem"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrations is the service's schema: its own SQL per dialect and its own
// version table, so it may share a database with credvault or not.
var Migrations = func() migrations.Set {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return migrations.NewSet(sub, "credential-service", "credential_service_schema_version")
}()

// Errors of the storage.
var (
	errNotFound = problem.Kind("credential-service: item not found", problem.ErrNotFound)
	errConflict = problem.Kind("credential-service: conflicting write", problem.ErrConflict)
)

// Storage keeps the service's items, encrypted, and the idempotency keys
// of recent creates, in PostgreSQL or embedded SQLite. It is safe for
// concurrent use.
type Storage struct {
	db      *gorm.DB
	dialect migrations.Dialect
	now     func() time.Time
}

// OpenStorage opens the service's database: PostgreSQL at databaseURL, or
// SQLite at sqlitePath when databaseURL is empty.
func OpenStorage(ctx context.Context, databaseURL, sqlitePath string) (*Storage, error) {
	db, dialect, err := sqldb.Open(ctx, sqldb.Options{DatabaseURL: databaseURL, SQLitePath: sqlitePath})
	if err != nil {
		return nil, err
	}
	return &Storage{db: db, dialect: dialect, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}, nil
}

// Migrate applies the service's pending migrations.
func (s *Storage) Migrate(ctx context.Context) (int, error) {
	return migrations.Up(ctx, s.SQLDB(), s.dialect, Migrations)
}

// SQLDB is the underlying pool.
func (s *Storage) SQLDB() *sql.DB {
	db, _ := s.db.DB()
	return db
}

// Dialect is the database in use.
func (s *Storage) Dialect() migrations.Dialect { return s.dialect }

// Close releases the pool.
func (s *Storage) Close() error { return s.SQLDB().Close() }

// item is one stored credential, encrypted.
type item struct {
	ID         string
	ItemType   string
	Ciphertext []byte
	CreatedAt  time.Time
}

func (item) TableName() string { return "service_items" }

// idempotencyKey remembers which item a create's key produced.
type idempotencyKey struct {
	KeyHash []byte
	ItemID  string
	// BodyHash is the SHA-256 of the body the key first came with (empty
	// for keys recorded before it was kept).
	BodyHash  []byte
	CreatedAt time.Time
}

func (idempotencyKey) TableName() string { return "service_idempotency_keys" }

func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, errNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, errConflict)
	case sqldb.Unavailable(err):
		return fmt.Errorf("credential-service: %s: %w: %w", op, problem.ErrUnavailable, err)
	}
	return fmt.Errorf("credential-service: %s failed: %w", op, err)
}

func (s *Storage) createItem(ctx context.Context, it item) error {
	return wrap("create item", s.db.WithContext(ctx).Create(&it).Error)
}

// idempotentItem returns the key recorded since after: the item it
// produced and the hash of the body it came with.
func (s *Storage) idempotentItem(ctx context.Context, keyHash []byte, after time.Time) (idempotencyKey, error) {
	var k idempotencyKey
	err := s.db.WithContext(ctx).Where("key_hash = ? AND created_at > ?", keyHash, after).Take(&k).Error
	return k, wrap("find idempotency key", err)
}

// createItemOnce inserts it and records keyHash (with bodyHash) for it in
// one transaction (a key already recorded is a conflict), dropping keys
// recorded before expired.
func (s *Storage) createItemOnce(ctx context.Context, it item, keyHash, bodyHash []byte, expired time.Time) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("created_at <= ?", expired).Delete(&idempotencyKey{}).Error; err != nil {
			return wrap("purge idempotency keys", err)
		}
		if err := tx.Create(&idempotencyKey{KeyHash: keyHash, ItemID: it.ID, BodyHash: bodyHash, CreatedAt: it.CreatedAt}).Error; err != nil {
			return wrap("record idempotency key", err)
		}
		return wrap("create item", tx.Create(&it).Error)
	})
}

func (s *Storage) getItem(ctx context.Context, id string) (item, error) {
	var it item
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&it).Error
	return it, wrap("get item", err)
}

// deleteItem deletes the item and forgets the keys that produced it, in
// one transaction: a key whose item is gone is never replayed.
func (s *Storage) deleteItem(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&item{})
		if res.Error == nil && res.RowsAffected == 0 {
			return wrap("delete item", gorm.ErrRecordNotFound)
		}
		if res.Error != nil {
			return wrap("delete item", res.Error)
		}
		return wrap("forget the item's idempotency keys", tx.Where("item_id = ?", id).Delete(&idempotencyKey{}).Error)
	})
}

// Sealed is where the items are stored encrypted, for key rotation
// (`credential-service keys`).
func (s *Storage) Sealed() sealed.Set {
	return sqldb.Sealed(s.db, "items", sealed.Column{Table: "service_items", ID: "id", Ciphertext: "ciphertext"},
		func(v sealed.Value) []byte { return itemAD(v.ID) })
}
