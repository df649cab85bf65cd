// Package testdb gives each test its own real database: a fresh PostgreSQL
// schema (dropped when the test ends) or a fresh SQLite file. Tests using
// it can run in parallel and repeatedly.
package testdb

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/tcpproxy"
	"github.com/credvault/credvault/migrations"
)

// EnvURL names the variable that overrides the PostgreSQL server used by
// tests.
const EnvURL = "CREDVAULT_TEST_DATABASE_URL"

// BaseURL is the PostgreSQL database tests create their schemas in.
func BaseURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// PostgresURL creates an empty schema and returns a URL whose connections
// use it. The schema is dropped when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", BaseURL())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testdb: PostgreSQL at %s is required (set %s): %v", BaseURL(), EnvURL, err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(BaseURL())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLitePath returns a path for a fresh SQLite database file.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "credvault.db")
}

// Kind selects a database: the dialects of package migrations.
type Kind = migrations.Dialect

// The kinds.
const (
	Postgres = migrations.Postgres
	SQLite   = migrations.SQLite
)

// Kinds lists every supported database, for table-driven tests.
var Kinds = []Kind{Postgres, SQLite}

// Database is a store whose every table AssertAbsent can read.
type Database interface {
	SQLDB() *sql.DB
	Dialect() migrations.Dialect
}

// AssertAbsent fails t if needle occurs in any column of any row of any
// table of s's database (the test's own schema): the proof that a secret
// was never stored in plaintext.
func AssertAbsent(t testing.TB, s Database, needle string) {
	t.Helper()
	ctx := context.Background()
	db := s.SQLDB()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if s.Dialect() == migrations.Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("testdb: list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("testdb: no tables to search")
	}
	for _, table := range tables {
		r, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("testdb: dump %s: %v", table, err)
		}
		cols, _ := r.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bytes.Contains(v, []byte(needle)) {
					t.Errorf("secret found in plaintext in %s.%s", table, cols[i])
				}
			}
		}
		r.Close()
	}
}

// Config returns credvault's configuration from an empty environment for
// a test on a fresh database of kind: its own data folder, rate limits no
// test meets, and, on PostgreSQL, a fresh schema and a keyset.
func Config(t testing.TB, kind Kind) config.Config {
	t.Helper()
	cfg, err := config.Parse(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	// Tests drive the API far faster than any person.
	cfg.RateConfig = config.Rate{PerSecond: 1e6, Burst: 1e6}
	cfg.RateCredentials = config.Rate{PerSecond: 1e6, Burst: 1e6}
	if kind == Postgres {
		cfg.DatabaseURL = config.SecretURL(PostgresURL(t))
		b, err := keyring.Generate()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keyset = config.Secret(b)
	}
	return cfg
}

// ThroughProxy puts a TCP proxy the test can cut, refuse or black-hole in
// front of rawURL's host, and returns rawURL through it. The proxy is
// closed when t ends.
func ThroughProxy(t testing.TB, rawURL string) (string, *tcpproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()
	return u.String(), proxy
}
