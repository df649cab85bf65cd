// Package sqldb opens credvault's databases — PostgreSQL through pgx, or
// embedded SQLite — with the pool settings each needs, and recognises a
// database that cannot be reached. The platform's store and the reference
// credential-service's storage both open theirs here.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/credvault/credvault/migrations"
)

// Options configure Open.
type Options struct {
	// DatabaseURL is a postgres:// URL. Empty selects SQLite at SQLitePath.
	DatabaseURL string
	// SQLitePath is the embedded database file (created if missing).
	SQLitePath string
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
	// DB is a PostgreSQL pool the caller owns, used instead of
	// DatabaseURL; its pool settings are the caller's, and Close is the
	// caller's too.
	DB *sql.DB
	// Naming maps the caller's types to tables and columns (gorm's
	// defaults when nil), for plain types that carry no gorm tags.
	Naming schema.Namer
}

// Open connects to the database described by opts and checks it answers.
func Open(ctx context.Context, opts Options) (*gorm.DB, migrations.Dialect, error) {
	gcfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		NamingStrategy:         opts.Naming,
	}
	var (
		dialector gorm.Dialector
		dialect   migrations.Dialect
	)
	switch {
	case opts.DB != nil:
		dialector = postgres.New(postgres.Config{Conn: opts.DB})
		dialect = migrations.Postgres
	case opts.DatabaseURL != "":
		dialector = postgres.New(postgres.Config{DSN: opts.DatabaseURL})
		dialect = migrations.Postgres
	default:
		if opts.SQLitePath == "" {
			return nil, "", errors.New("store: no DATABASE_URL and no SQLite path")
		}
		if err := os.MkdirAll(filepath.Dir(opts.SQLitePath), 0o700); err != nil {
			return nil, "", fmt.Errorf("store: create data directory: %w", err)
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
		return nil, "", fmt.Errorf("store: open %s database: %w", dialect, RedactDSN(err, opts.DatabaseURL))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, "", fmt.Errorf("store: %w", err)
	}
	switch {
	case opts.DB != nil:
		// The caller's pool, sized by the caller.
	case dialect == migrations.Postgres:
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(time.Hour)
	default:
		// SQLite allows one writer; one connection avoids SQLITE_BUSY
		// storms and keeps PRAGMAs on every statement.
		sqlDB.SetMaxOpenConns(1)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		if opts.DB == nil {
			sqlDB.Close()
		}
		return nil, "", fmt.Errorf("store: database unreachable: %w", RedactDSN(err, opts.DatabaseURL))
	}
	return db, dialect, nil
}

// RedactDSN keeps a password in DATABASE_URL out of error text.
func RedactDSN(err error, dsn string) error {
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

// Unavailable recognises a database that cannot be reached or cannot be
// used for now, as opposed to a statement that failed: refused, reset or
// closed connections (pgx's "conn closed": a connection the driver closed
// when its server went away mid-use), a server shutting down, starting or out of
// connections, a database dropped under the connection (PostgreSQL
// 3D000), and an embedded database that stays locked by another process
// beyond its busy timeout or whose file cannot be read.
func Unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &pe):
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300", "3D000":
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &ne) && !errors.Is(err, context.DeadlineExceeded):
		return true
	}
	msg := err.Error()
	for _, m := range sqliteUnavailable {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return strings.Contains(msg, "sql: database is closed")
}

// sqliteUnavailable are the embedded database's result codes for a file
// that is locked by another connection or cannot be read for now.
var sqliteUnavailable = []string{"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "database is locked"}
