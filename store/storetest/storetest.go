// Package storetest opens real, migrated stores for tests: a fresh
// PostgreSQL schema (dropped when the test ends) or a fresh SQLite file,
// from internal/testdb's databases.
package storetest

import (
	"context"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
)

// Open returns a migrated store of kind, closed when t ends.
func Open(t testing.TB, kind migrations.Dialect, sets ...migrations.Set) *sqlstore.Store {
	t.Helper()
	opts := sqlstore.Options{MaxOpenConns: 4}
	if kind == testdb.Postgres {
		opts.DatabaseURL = testdb.PostgresURL(t)
	} else {
		opts.SQLitePath = testdb.SQLitePath(t)
	}
	s, err := sqlstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", kind, err)
	}
	t.Cleanup(func() { s.Close() })
	if len(sets) == 0 {
		sets = []migrations.Set{migrations.Credvault}
	}
	for _, set := range sets {
		if _, err := s.Migrate(context.Background(), set); err != nil {
			t.Fatalf("storetest: migrate: %v", err)
		}
	}
	return s
}

// Organizations creates organizations with the given ids (each named as
// its id, with an API key "key_<id>" whose hash is its id).
func Organizations(t testing.TB, st *sqlstore.Store, ids ...string) {
	t.Helper()
	now := st.Now()
	for _, id := range ids {
		if err := st.CreateOrganization(context.Background(), store.Organization{ID: id, Name: id, CreatedAt: now, ModifiedAt: now},
			store.APIKey{ID: "key_" + id, OrganizationID: id, KeyHash: []byte(id), CreatedAt: now, Role: "admin"}); err != nil {
			t.Fatalf("storetest: create organization %s: %v", id, err)
		}
	}
}
