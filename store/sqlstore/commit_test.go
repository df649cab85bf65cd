package sqlstore_test

import (
	"errors"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
)

// TestACommitWithoutAnAnswerIsUnknown: a transaction whose link dies once
// its statements are done fails with ErrCommitUnknown (and
// ErrUnavailable): the caller cannot tell whether COMMIT was made, and
// must not undo what may have been written. A link that dies before the
// last statement, and a COMMIT the server refuses itself (a deferred
// unique violation), are known failures: rolled back.
func TestACommitWithoutAnAnswerIsUnknown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL, proxy := testdb.ThroughProxy(t, testdb.PostgresURL(t))
	st, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: dbURL, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	cases := []struct {
		name             string
		fn               func(tx *sqlstore.Store) error
		unknown, unavail bool
	}{
		{"the link dies before COMMIT's answer", func(tx *sqlstore.Store) error {
			if err := tx.Exec(ctx, "SELECT 1"); err != nil {
				return err
			}
			proxy.Cut()
			return nil
		}, true, true},
		{"the link dies before a statement", func(tx *sqlstore.Store) error {
			if err := tx.Exec(ctx, "SELECT 1"); err != nil {
				return err
			}
			proxy.Cut()
			return tx.Exec(ctx, "SELECT 2")
		}, false, true},
		{"the server refuses COMMIT", func(tx *sqlstore.Store) error {
			for _, q := range []string{"CREATE TEMP TABLE deferred (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP",
				"INSERT INTO deferred VALUES (1)", "INSERT INTO deferred VALUES (1)"} {
				if err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}, false, false},
	}
	for _, c := range cases {
		proxy.Restore()
		err := st.Tx(ctx, func(tx *sqlstore.Store) error { return c.fn(tx) })
		if err == nil {
			t.Fatalf("%s: the transaction succeeded", c.name)
		}
		if got := errors.Is(err, store.ErrCommitUnknown); got != c.unknown {
			t.Errorf("%s: ErrCommitUnknown is %v, want %v (%v)", c.name, got, c.unknown, err)
		}
		if got := errors.Is(err, store.ErrUnavailable); got != c.unavail {
			t.Errorf("%s: ErrUnavailable is %v, want %v (%v)", c.name, got, c.unavail, err)
		}
	}
}
