// Package migrations holds credvault's versioned SQL schema, embedded in the
// binary, one set per dialect, and applies it with goose. Applying is
// idempotent: a database already at the newest version is left alone.
//
// Two independent sets exist: Credvault (the credvault server) and
// CredentialService (the reference custom credential service). Each keeps
// its own version table, so both may share one database.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed credvault credservice
var files embed.FS

// Set names a group of migrations.
type Set struct {
	dir   string
	table string
}

var (
	// Credvault is the schema of the credvault server.
	Credvault = Set{dir: "credvault", table: "credvault_schema_version"}
	// CredentialService is the schema of the reference credential service.
	CredentialService = Set{dir: "credservice", table: "credential_service_schema_version"}
)

// Dialect is a supported SQL dialect.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Up applies every pending migration of set and returns how many ran.
func Up(ctx context.Context, db *sql.DB, dialect Dialect, set Set) (int, error) {
	p, err := provider(ctx, db, dialect, set)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", set.dir, err)
	}
	return len(res), nil
}

// Version reports the current and newest schema version of set.
func Version(ctx context.Context, db *sql.DB, dialect Dialect, set Set) (current, newest int64, err error) {
	p, err := provider(ctx, db, dialect, set)
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func provider(ctx context.Context, db *sql.DB, dialect Dialect, set Set) (*goose.Provider, error) {
	sub, err := fs.Sub(files, set.dir+"/"+string(dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations: no %s set for dialect %q", set.dir, dialect)
	}
	opts := []goose.ProviderOption{goose.WithTableName(set.table)}
	gd := goose.DialectSQLite3
	if dialect == Postgres {
		gd = goose.DialectPostgres
		// Serialise concurrent starts of several replicas.
		// The advisory lock is scoped to the schema and set, so replicas
		// sharing a schema wait for each other and nothing else does.
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte(set.table + "/" + schema))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64()&math.MaxInt64)),
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}
