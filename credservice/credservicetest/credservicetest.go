// Package credservicetest opens the reference credential-service's real,
// migrated storage for tests, on internal/testdb's databases.
package credservicetest

import (
	"context"
	"testing"

	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/migrations"
)

// Open returns the service's migrated storage of kind, closed when t ends.
func Open(t testing.TB, kind migrations.Dialect) *credservice.Storage {
	t.Helper()
	dsn, path := "", ""
	if kind == testdb.Postgres {
		dsn = testdb.PostgresURL(t)
	} else {
		path = testdb.SQLitePath(t)
	}
	st, err := credservice.OpenStorage(context.Background(), dsn, path)
	if err != nil {
		t.Fatalf("credservicetest: open %s: %v", kind, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("credservicetest: migrate: %v", err)
	}
	return st
}
