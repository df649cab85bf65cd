package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credvault/credvault/internal/sqldb"
)

// TestLockedSQLiteIsUnavailable: a write that waits out the busy timeout
// behind another process's write lock is "unavailable" (a 503 with
// Retry-After), not a failed statement (a 500).
func TestLockedSQLiteIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	ctx := context.Background()
	holder, _, err := sqldb.Open(ctx, sqldb.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Exec("CREATE TABLE t (x int)").Error; err != nil {
		t.Fatal(err)
	}
	other, _, err := sqldb.Open(ctx, sqldb.Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Exec("PRAGMA busy_timeout = 50").Error; err != nil {
		t.Fatal(err)
	}
	tx := holder.Begin()
	if err := tx.Exec("INSERT INTO t VALUES (1)").Error; err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = other.Exec("INSERT INTO t VALUES (2)").Error
	if err == nil || !sqldb.Unavailable(err) {
		t.Fatalf("a write behind another's lock = %v, want it unavailable", err)
	}
}

func TestUnavailableKinds(t *testing.T) {
	for code, want := range map[string]bool{"3D000": true, "57P01": true, "08006": true, "53300": true, "23505": false, "42P01": false} {
		if got := sqldb.Unavailable(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("PostgreSQL %s: unavailable %v, want %v", code, got, want)
		}
	}
	// What a failover left the pool with: a connection pgx closed when the
	// primary went away (a 500 in the failover proof before).
	if !sqldb.Unavailable(fmt.Errorf("update credential: %w", pgconn.ErrConnClosed)) {
		t.Error("a connection the driver closed is unavailability")
	}
	if sqldb.Unavailable(errors.New("constraint failed")) || sqldb.Unavailable(nil) {
		t.Error("a failed statement is not unavailability")
	}
}

// TestOpenWithACancelledContextSaysWhy: the error names the cause, not
// "%!w(<nil>)".
func TestOpenWithACancelledContextSaysWhy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := sqldb.Open(ctx, sqldb.Options{DatabaseURL: "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=2"})
	if err == nil || strings.Contains(err.Error(), "%!") || !errors.Is(err, context.Canceled) {
		t.Fatalf("open with a cancelled context = %v", err)
	}
}
