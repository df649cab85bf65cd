package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/credvault/credvault/internal/migrations"
	"github.com/credvault/credvault/problem"
)

// Typed errors returned by every Store method.
var (
	// ErrNotFound means the row does not exist (or belongs to another
	// organization, or was soft-deleted).
	ErrNotFound = problem.Kind("store: not found", problem.ErrNotFound)
	// ErrConflict means a uniqueness rule or an optimistic-concurrency
	// check refused the write.
	ErrConflict = problem.Kind("store: conflicting change", problem.ErrConflict)
	// ErrFolderNotFound means a credential was to be filed in a folder
	// that does not exist (for its organization).
	ErrFolderNotFound = errors.New("credential folder not found")
	// ErrUnavailable means the database could not be reached (refused,
	// reset, shutting down, too many connections): temporary, worth a
	// retry.
	ErrUnavailable = problem.Kind("the database is unreachable", problem.ErrUnavailable)
)

// unavailable recognises a database that cannot be reached, as opposed to
// a statement that failed.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &ne) && !errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return strings.Contains(err.Error(), "sql: database is closed")
}

// Options configure Open.
type Options struct {
	// DatabaseURL is a postgres:// URL. Empty selects SQLite at SQLitePath.
	DatabaseURL string
	// SQLitePath is the embedded database file (created if missing).
	SQLitePath string
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
	// Logger receives slow-query warnings; SQL text only, never values.
	Logger *slog.Logger
}

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	dialect migrations.Dialect
	now     func() time.Time
	// dsn and channel serve change notifications (PostgreSQL only).
	dsn     string
	channel string
	origin  string // this Store's id in the notifications it publishes
}

// Open connects to the database described by opts and checks it answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	gcfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		dialector gorm.Dialector
		dialect   migrations.Dialect
	)
	if opts.DatabaseURL != "" {
		dialector = postgres.New(postgres.Config{DSN: opts.DatabaseURL})
		dialect = migrations.Postgres
	} else {
		if opts.SQLitePath == "" {
			return nil, errors.New("store: no DATABASE_URL and no SQLite path")
		}
		if err := os.MkdirAll(filepath.Dir(opts.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		q := url.Values{}
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_txlock", "immediate")
		dialector = sqlite.Open("file:" + opts.SQLitePath + "?" + q.Encode())
		dialect = migrations.SQLite
	}
	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s database: %w", dialect, redactDSN(err, opts.DatabaseURL))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if dialect == migrations.Postgres {
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(time.Hour)
	} else {
		// SQLite allows one writer; one connection avoids SQLITE_BUSY
		// storms and keeps PRAGMAs on every statement.
		sqlDB.SetMaxOpenConns(1)
	}
	s := &Store{db: db, dialect: dialect, now: func() time.Time { return time.Now().UTC() }, dsn: opts.DatabaseURL,
		origin: NewID("p")}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if dialect == migrations.Postgres {
		// One channel per database and schema, so deployments (and tests)
		// sharing a database in different schemas do not hear each other.
		var schema string
		if err := db.WithContext(pingCtx).Raw("SELECT current_database() || '.' || current_schema()").Scan(&schema).Error; err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
		sum := sha256.Sum256([]byte(schema))
		s.channel = "credvault_changes_" + hex.EncodeToString(sum[:8])
	}
	return s, nil
}

// redactDSN keeps a password in DATABASE_URL out of error text.
func redactDSN(err error, dsn string) error {
	if dsn == "" {
		return err
	}
	if u, perr := url.Parse(dsn); perr == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return errors.New(strings.ReplaceAll(err.Error(), p, "[REDACTED]"))
		}
	}
	return err
}

// Dialect reports which database is in use.
func (s *Store) Dialect() migrations.Dialect { return s.dialect }

// SQLDB exposes the underlying pool (for migrations and tests).
func (s *Store) SQLDB() *sql.DB {
	db, _ := s.db.DB()
	return db
}

// Migrate applies the migrations of set.
func (s *Store) Migrate(ctx context.Context, set migrations.Set) (int, error) {
	return migrations.Up(ctx, s.SQLDB(), s.dialect, set)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.SQLDB().PingContext(ctx); err != nil {
		return fmt.Errorf("store: database unreachable: %w", errors.Unwrap(err))
	}
	return nil
}

// Close releases the pool.
func (s *Store) Close() error { return s.SQLDB().Close() }

// Tx runs fn in one transaction: fn's Store writes commit together or not
// at all.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		return fn(&Store{db: gtx, dialect: s.dialect, now: s.now, dsn: s.dsn, channel: s.channel, origin: s.origin})
	})
}

// Now is the store's clock (UTC, microsecond precision, as both databases
// keep it).
func (s *Store) Now() time.Time { return s.now().Truncate(time.Microsecond) }

// NewID returns a new unique, time-ordered identifier with prefix, such as
// "cred_0190b3...".
func NewID(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return prefix + "_" + hex.EncodeToString(b[:])
	}
	return prefix + "_" + hex.EncodeToString(id[:])
}

func (s *Store) ctx(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// wrap turns driver errors into the package's typed errors.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, ErrNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey), errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: %w", op, ErrConflict)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("store: %s: %w", op, err)
	case errors.Is(err, ErrUnavailable):
		return err
	case unavailable(err):
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s failed: %w", op, err)
}
