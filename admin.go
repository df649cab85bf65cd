package credvault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/sealed"
	"github.com/credvault/credvault/store/sqlstore"
)

// Admin is credvault's database opened for the administration commands
// that need no running platform: applying migrations and rotating the
// keyset. (The others — organizations, audit, outbox, reconcile,
// credentials migrate — run on a Platform from Open.)
type Admin struct {
	st *sqlstore.Store
}

// AdminOptions tune OpenAdmin.
type AdminOptions struct {
	// Create allows a new embedded database to be made (for migrate).
	// Without it an embedded database that does not exist is refused: run
	// from another folder, a command would otherwise make a second
	// database the server never sees.
	Create bool
}

// ErrNoDatabase is OpenAdmin refusing to create an embedded database.
var ErrNoDatabase = errors.New("no database")

// databaseExists refuses an embedded database that does not exist yet.
func databaseExists(cfg config.Config) error {
	if !cfg.Embedded() {
		return nil
	}
	path := cfg.SQLitePath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		abs, _ := filepath.Abs(path)
		return fmt.Errorf("%w at %s — run from the server's folder, set %s, or create it with `credvault migrate`",
			ErrNoDatabase, abs, config.EnvDataDir)
	}
	return nil
}

// OpenAdmin opens cfg's database, without migrating it.
func OpenAdmin(ctx context.Context, cfg config.Config, o AdminOptions) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if !o.Create {
		if err := databaseExists(cfg); err != nil {
			return nil, err
		}
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Admin{st: st}, nil
}

// Migrate applies credvault's pending migrations and reports how many ran
// and the schema version now.
func (a *Admin) Migrate(ctx context.Context) (applied int, version int64, err error) {
	if applied, err = a.st.Migrate(ctx, migrations.Credvault); err != nil {
		return applied, 0, err
	}
	version, _, err = migrations.Version(ctx, a.st.SQLDB(), a.st.Dialect(), migrations.Credvault)
	return applied, version, err
}

// Sets lists every place the database keeps ciphertexts under the keyset
// (saved configurations, pushed TOTP codes, the keyset canary), for
// counting and re-encrypting them (`credvault keys`).
func (a *Admin) Sets() []sealed.Set { return sealedSets(a.st) }

// Close releases the database.
func (a *Admin) Close() error { return a.st.Close() }

// ErrBackupPostgres is Backup refusing a PostgreSQL database: its backup
// is PostgreSQL's own (pg_dump, or a base backup with WAL archiving).
var ErrBackupPostgres = errors.New("credvault backup copies the embedded SQLite database only: back up PostgreSQL with its own tools " +
	"(pg_dump --format=custom DATABASE_URL > credvault.dump, restored with pg_restore; see docs/OPERATIONS.md)")

// Backup writes a consistent copy of the embedded database to out, while
// the server keeps running (SQLite's VACUUM INTO: one read transaction,
// so the copy holds every commit up to its start, the write-ahead log's
// included, and nothing half-written). out must not exist. The copy holds
// ciphertexts only: restoring it needs the same keyset, which is not in
// it (back up the keyset file apart, as key material).
func (a *Admin) Backup(ctx context.Context, out string) error {
	if a.st.Dialect() != migrations.SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s exists: choose a new file", out)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if _, err := a.st.SQLDB().ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		_ = os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	return os.Chmod(abs, 0o600)
}
