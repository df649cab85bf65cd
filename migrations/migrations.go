// Package migrations holds credvault's versioned SQL schema, embedded in the
// binary, one set per dialect, and applies it with goose. Applying is
// idempotent: a database already at the newest version is left alone.
//
// A Set is one program's migrations with its own version table, so
// several may share a database: Credvault here, and the reference
// credential-service's own (credservice.Migrations), built with NewSet.
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

//go:embed credvault
var files embed.FS

// Set is a group of migrations: one folder per dialect in fsys, applied
// and versioned in table.
type Set struct {
	fsys  fs.FS
	name  string
	table string
}

// NewSet is the migrations in fsys (folders "postgres" and "sqlite" of
// numbered goose SQL files), named name, versioned in table.
func NewSet(fsys fs.FS, name, table string) Set { return Set{fsys: fsys, name: name, table: table} }

// Credvault is the schema of the credvault server.
var Credvault = NewSet(mustSub(files, "credvault"), "credvault", "credvault_schema_version")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

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
		return 0, fmt.Errorf("migrations: %s: %w", set.name, err)
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
	sub, err := fs.Sub(set.fsys, string(dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations: no %s set for dialect %q", set.name, dialect)
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
