package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// TestBackupUnderLoadRestores follows the README's backup and restore:
// `credvault backup --out FILE` (Admin.Backup) while credentials are being
// created, then the copy restored into a fresh data directory with the
// same keyset. Every credential created before the backup began is there
// and reads its secret; so is every one the copy holds. A PostgreSQL
// database is refused, naming pg_dump.
func TestBackupUnderLoadRestores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t, testdb.SQLite)
	cfg.AllowedHosts = []string{"127.0.0.1"}
	h := newHarnessWithConfig(t, cfg)
	orgID, key := h.org("Backed up")
	svc := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure: %d", r.status)
	}
	const before = 20
	for range before {
		if r := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, scrub(string(r.body)))
		}
	}
	// Load while the backup runs.
	stop := make(chan struct{})
	var during atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := h.do("POST", "/api/v1/credentials", key, secretBody("during", "l")); r.status == 201 {
				during.Add(1)
			}
		}
	})
	out := filepath.Join(t.TempDir(), "credvault-backup.db")
	a, err := credvault.OpenAdmin(ctx, cfg, credvault.AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Backup(ctx, out)
	a.Close()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}

	// Restore: the copy becomes credvault.db of a fresh data directory,
	// beside the same keyset.
	restored := t.TempDir()
	copyFile(t, out, filepath.Join(restored, "credvault.db"))
	copyFile(t, cfg.GeneratedKeysetPath(), filepath.Join(restored, "keyset.json"))
	cfg2 := cfg
	cfg2.DataDir = restored
	p2, err := credvault.Open(ctx, cfg2, credvault.Options{NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	page, err := p2.Credentials.List(ctx, orgID, credentials.ListOptions{PageSize: credentials.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Views) < before {
		t.Fatalf("the restored database lists %d credentials, want at least the %d created before the backup (%d during it)", len(page.Views), before, during.Load())
	}
	for _, v := range page.Views {
		if _, err := p2.Credentials.GetWithSecret(ctx, orgID, v.CredentialID); err != nil {
			t.Fatalf("restored %s: %v", v.CredentialID, err)
		}
	}
	t.Logf("restored %d credentials (%d before the backup, %d created during the run)", len(page.Views), before, during.Load())

	pg, err := credvault.OpenAdmin(ctx, testConfig(t, testdb.Postgres), credvault.AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Backup(ctx, filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, credvault.ErrBackupPostgres) {
		t.Fatalf("backup of PostgreSQL = %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestACopyWithoutItsWALIsRefused: credvault.db present but holding no
// table (what copying it without credvault.db-wal gives) is refused at
// start-up, naming the cause and the backup command, instead of serving
// an empty database.
func TestACopyWithoutItsWALIsRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, testdb.SQLite)
	if err := os.WriteFile(cfg.SQLitePath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := credvault.Open(context.Background(), cfg, credvault.Options{Migrate: true})
	if err == nil || !strings.Contains(err.Error(), "holds no table") || !strings.Contains(err.Error(), "credvault backup") {
		t.Fatalf("Open on an empty credvault.db = %v", err)
	}
}
