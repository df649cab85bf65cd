package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gorm.io/gorm"

	"github.com/credvault/credvault/internal/sqldb"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

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
	// StatementTimeout bounds every statement (DefaultStatementTimeout;
	// negative: unbounded): past it the statement fails as ErrUnavailable.
	StatementTimeout time.Duration
	// DB is a PostgreSQL pool the caller owns, used instead of
	// DatabaseURL: opened with the pgx driver (github.com/jackc/pgx/v5/stdlib,
	// which change notifications need), its schema chosen by its
	// search_path. Close leaves it open.
	DB *sql.DB
}

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	// stmtTimeout bounds statements and transactions (Options).
	stmtTimeout time.Duration
	db          *gorm.DB
	dialect     migrations.Dialect
	now         func() time.Time
	// dsn and channel serve change notifications (PostgreSQL only).
	dsn     string
	channel string
	origin  string // this Store's id in the notifications it publishes
	// borrowed says the pool is the caller's (Options.DB): Close leaves
	// it open, and the change listener holds one of its connections.
	borrowed bool
}

// Open connects to the database described by opts and checks it answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	db, dialect, err := sqldb.Open(ctx, sqldb.Options{DatabaseURL: opts.DatabaseURL, SQLitePath: opts.SQLitePath,
		MaxOpenConns: opts.MaxOpenConns, DB: opts.DB, Naming: naming{}})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: dialect, now: func() time.Time { return time.Now().UTC() }, dsn: opts.DatabaseURL,
		origin: store.NewID("p"), borrowed: opts.DB != nil}
	if opts.StatementTimeout == 0 {
		opts.StatementTimeout = DefaultStatementTimeout
	}
	s.stmtTimeout = opts.StatementTimeout
	if opts.StatementTimeout > 0 {
		if err := boundStatements(db, opts.StatementTimeout); err != nil {
			s.Close()
			return nil, err
		}
	}
	if dialect == migrations.Postgres {
		// One channel per database and schema, so deployments (and tests)
		// sharing a database in different schemas do not hear each other.
		var row struct {
			Database   string
			Schema     *string
			SearchPath string
		}
		if err := db.WithContext(ctx).Raw("SELECT current_database() AS database, current_schema() AS schema, current_setting('search_path') AS search_path").
			Scan(&row).Error; err != nil {
			s.Close()
			return nil, wrap("read the current schema", err)
		}
		if row.Schema == nil {
			// No schema of the search_path exists: say which to create,
			// rather than fail later on a NULL.
			s.Close()
			return nil, missingSchema(row.SearchPath)
		}
		schema := row.Database + "." + *row.Schema
		sum := sha256.Sum256([]byte(schema))
		s.channel = "credvault_changes_" + hex.EncodeToString(sum[:8])
	}
	return s, nil
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
		return fmt.Errorf("store: database unreachable: %w", sqldb.RedactDSN(err, s.dsn))
	}
	return nil
}

// Close releases the pool.
func (s *Store) Close() error {
	if s.borrowed {
		return nil
	}
	return s.SQLDB().Close()
}

// Tx runs fn in one transaction: fn's Store writes commit together or not
// at all.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	if s.stmtTimeout > 0 {
		// The whole transaction, its BEGIN and COMMIT included, is bounded
		// too: a link that goes dark mid-transaction fails it, rolled back.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*s.stmtTimeout)
		defer cancel()
	}
	// committing says fn succeeded, so an error is COMMIT's (gorm's
	// nested transactions are savepoints that commit nothing: fn's error
	// is theirs).
	committing := false
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		if err := fn(&Store{db: gtx, dialect: s.dialect, now: s.now, dsn: s.dsn, channel: s.channel, origin: s.origin, borrowed: s.borrowed,
			stmtTimeout: s.stmtTimeout}); err != nil {
			return err
		}
		committing = true
		return nil
	})
	switch {
	case err == nil:
		return nil
	case committing && commitUnknown(s.dialect, err):
		return fmt.Errorf("store: commit: %w (%w): %w", store.ErrUnavailable, store.ErrCommitUnknown, err)
	case committing || errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, store.ErrUnavailable):
		return wrap("transaction", err)
	}
	return err
}

// commitUnknown reports whether a failed COMMIT may have been made: on
// PostgreSQL, unless the server answered it with an error of its own (a
// serialization failure, a deferred constraint), which rolls back. A lost
// link, a deadline or a server shutting down leaves it unknown. SQLite
// commits in this process: its error is its answer.
func commitUnknown(d migrations.Dialect, err error) bool {
	if d != migrations.Postgres {
		return false
	}
	var pe *pgconn.PgError
	return !errors.As(err, &pe) || sqldb.Unavailable(err)
}

// Now is the store's clock (UTC, microsecond precision, as both databases
// keep it).
func (s *Store) Now() time.Time { return s.now().Truncate(time.Microsecond) }

func (s *Store) ctx(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// wrap turns driver errors into the package's typed errors.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey), errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: %w", op, store.ErrConflict)
	case errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		// A statement's own bound (boundStatements) or a caller's
		// deadline: the database did not answer in time.
		return fmt.Errorf("store: %s: %w: no answer in time: %w", op, store.ErrUnavailable, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("store: %s: %w", op, err)
	case sqldb.Unavailable(err):
		return fmt.Errorf("store: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s failed: %w", op, err)
}

// missingSchema is the error of a connection whose search_path names no
// existing schema: the first one named, and the statement that creates it.
func missingSchema(searchPath string) error {
	for _, part := range strings.Split(searchPath, ",") {
		name := strings.Trim(strings.TrimSpace(part), `"`)
		if name == "" || name == "$user" {
			continue
		}
		return fmt.Errorf("store: schema %q does not exist (the connection's search_path is %q): create it first with CREATE SCHEMA %s, "+
			"or point search_path at an existing schema", name, searchPath, pgx.Identifier{name}.Sanitize())
	}
	return fmt.Errorf("store: the connection's search_path (%q) names no existing schema: set search_path to one (e.g. search_path=credvault after CREATE SCHEMA credvault)", searchPath)
}

// Replication reports, on PostgreSQL, how many standbys stream from this
// server and its synchronous_standby_names (0 and "" on SQLite, or when
// the role may not see pg_stat_replication).
func (s *Store) Replication(ctx context.Context) (standbys int, syncNames string, err error) {
	if s.dialect != migrations.Postgres {
		return 0, "", nil
	}
	var row struct {
		Standbys  int
		SyncNames string
	}
	err = s.ctx(ctx).Raw("SELECT (SELECT count(*) FROM pg_stat_replication) AS standbys, current_setting('synchronous_standby_names') AS sync_names").
		Scan(&row).Error
	return row.Standbys, row.SyncNames, wrap("read the replication state", err)
}
