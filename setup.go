package credvault

// What both Open and the administration commands (OpenAdmin) need to reach
// a database and its keyset: the keyset rules, the schema and keyset
// checks, the places ciphertexts are stored, and the env-configured vault.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/otpcodes"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/sealed"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
)

// loadKeyring applies the keyset rules: an explicit keyset wins; the
// embedded default generates one once (with a warning); PostgreSQL without
// a keyset (a DATABASE_URL or the host's pool, embedded false) is refused.
func loadKeyring(cfg config.Config, embedded bool, log *slog.Logger) (*keyring.Keyring, error) {
	src := keyring.Source{File: cfg.KeysetFile, Inline: cfg.Keyset.Reveal()}
	if embedded {
		src.GenerateAt = cfg.GeneratedKeysetPath()
	}
	if mode, open := keyring.OpenToOthers(cfg.KeysetFile); cfg.KeysetFile != "" && open {
		log.Warn("the keyset file can be read by other users; restrict it to its owner (chmod 600)",
			slog.String("path", cfg.KeysetFile), slog.String("mode", mode.String()))
	}
	k, generated, err := keyring.Load(src)
	if errors.Is(err, keyring.ErrNoKeyset) {
		return nil, fmt.Errorf("no Tink keyset configured: with PostgreSQL (DATABASE_URL or Options.DB), %s (or %s) is required; create one with `credvault keys init --out FILE`",
			config.EnvKeysetFile, config.EnvKeyset)
	}
	if err != nil {
		return nil, err
	}
	if generated {
		log.Warn("generated a new Tink keyset for the embedded database; back it up, or set CREDVAULT_KEYSET_FILE",
			slog.String("path", src.GenerateAt))
	}
	return k, nil
}

// checkSchema refuses a database whose schema is older than this binary
// (run `credvault migrate`); a newer one (a rolling upgrade in progress) is
// only a warning.
func checkSchema(ctx context.Context, st *sqlstore.Store, log *slog.Logger) error {
	cur, newest, err := migrations.Version(ctx, st.SQLDB(), st.Dialect(), migrations.Credvault)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	switch {
	case cur < newest:
		return fmt.Errorf("the database schema is at version %d and this binary needs %d: "+
			"embedding credvault, set credvault.Options.Migrate; running it, run `credvault migrate` (or start `credvault serve` without --no-migrate)", cur, newest)
	case cur > newest && log != nil:
		log.Warn("the database schema is newer than this binary (an upgrade in progress?)",
			slog.Int64("schema_version", cur), slog.Int64("binary_version", newest))
	}
	return nil
}

var canaryAD = sealed.AssociatedData("credvault", "keyset_canary")

const canaryText = "credvault keyset canary"

// checkKeyset proves the keyset decrypts what this database holds: the
// first process writes a canary, every later one must decrypt it.
func checkKeyset(ctx context.Context, st *sqlstore.Store, kr *keyring.Keyring) error {
	ct, err := kr.Encrypt([]byte(canaryText), canaryAD)
	if err != nil {
		return err
	}
	stored, err := st.KeysetCanary(ctx, ct)
	if err != nil {
		return err
	}
	return canaryDecrypts(kr, stored)
}

// canaryDecrypts checks the stored canary against kr.
func canaryDecrypts(kr *keyring.Keyring, stored []byte) error {
	if pt, err := kr.Decrypt(stored, canaryAD); err != nil || string(pt) != canaryText {
		return fmt.Errorf("the keyset (%s or %s) is not the one this database was set up with: it cannot decrypt the database's keyset canary. "+
			"Start with the database's keyset (a rotated keyset that still holds the old key works)", config.EnvKeysetFile, config.EnvKeyset)
	}
	return nil
}

// openStore opens the database described by cfg, or db when it is set
// (the host's own PostgreSQL pool).
func openStore(ctx context.Context, cfg config.Config, db *sql.DB) (*sqlstore.Store, error) {
	existed := false
	if db == nil && cfg.Embedded() {
		_, err := os.Stat(cfg.SQLitePath())
		existed = err == nil
	}
	st, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), SQLitePath: cfg.SQLitePath(), DB: db, StatementTimeout: cfg.DBTimeout})
	if err != nil || !existed {
		return st, err
	}
	// An embedded database file that exists but holds no table at all is
	// not one credvault made (it creates its tables with the file): most
	// likely credvault.db copied without its -wal file, which held every
	// commit. Serving it would answer [] to everything.
	var tables int
	if err := st.SQLDB().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err == nil && tables == 0 {
		st.Close()
		abs, _ := filepath.Abs(cfg.SQLitePath())
		return nil, fmt.Errorf("the embedded database %s exists but holds no table: a copy of credvault.db made without its "+
			"credvault.db-wal holds none of the commits still in the write-ahead log. Restore a copy made with `credvault backup` "+
			"(docs/OPERATIONS.md), or remove the file to start with an empty database", abs)
	}
	return st, nil
}

// newEnvVault builds the env-configured vault from cfg, or returns nil
// when CREDENTIAL_VAULT_TYPE is not "custom".
func newEnvVault(cfg config.Config) (*envvault.Vault, error) {
	if !cfg.EnvVaultEnabled() {
		return nil, nil
	}
	tlsOpts, err := envTLS(cfg)
	if err != nil {
		return nil, err
	}
	return envvault.New(cfg.CustomBaseURL, vault.NewSecret(cfg.CustomToken.Reveal()), envvault.Options{
		AllowedHosts: cfg.AllowedHosts, Timeout: cfg.CustomTimeout, Field: config.EnvCustomBaseURL,
		ConnsPerHost: cfg.UpstreamConnsPerHost, TLS: tlsOpts,
	})
}

// envTLS reads the env-configured service's CA bundle and client
// certificate files; an error names the variable.
func envTLS(cfg config.Config) (netpolicy.TLSOptions, error) {
	var o netpolicy.TLSOptions
	var key string
	for _, f := range []struct {
		env, path string
		into      *string
	}{
		{config.EnvCustomCAFile, cfg.CustomCAFile, &o.CABundle},
		{config.EnvCustomClientCertFile, cfg.CustomClientCertFile, &o.ClientCertificate},
		{config.EnvCustomClientKeyFile, cfg.CustomClientKeyFile, &key},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return o, fmt.Errorf("%s: cannot read %s: %w", f.env, f.path, errors.Unwrap(err))
		}
		*f.into = string(b)
	}
	o.ClientKey = vault.NewSecret(key)
	if err := o.Check(""); err != nil {
		var inv *problem.InvalidError
		if errors.As(err, &inv) {
			env := map[string]string{"ca_bundle": config.EnvCustomCAFile, "client_certificate": config.EnvCustomClientCertFile,
				"client_key": config.EnvCustomClientKeyFile}[inv.Field]
			return o, fmt.Errorf("%s: %s", env, inv.Reason)
		}
		return o, err
	}
	return o, nil
}

// sealedSets lists every place credvault's database keeps ciphertexts
// under its keyset — saved configurations, pushed TOTP codes and the
// keyset canary — for `credvault keys list` and `keys reencrypt`.
func sealedSets(st *sqlstore.Store) []sealed.Set {
	return []sealed.Set{
		org.SealedTokens(st),
		otpcodes.Sealed(st),
		st.Sealed("keyset_canary", sealed.Column{Table: "keyset_canary", ID: "id", IntID: true, Ciphertext: "ciphertext"},
			func(sealed.Value) []byte { return canaryAD }),
	}
}
