package credvault_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
)

func testConfig(t testing.TB, kind testdb.Kind) config.Config { return testdb.Config(t, kind) }

func TestKeysetRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// PostgreSQL without a keyset: refuse, naming the variable.
	cfg := testConfig(t, testdb.Postgres)
	cfg.Keyset = ""
	if _, err := credvault.Open(ctx, cfg, credvault.Options{Migrate: true}); err == nil || !strings.Contains(err.Error(), "CREDVAULT_KEYSET_FILE") {
		t.Fatalf("postgres without keyset: %v, want an error naming CREDVAULT_KEYSET_FILE", err)
	}

	// Embedded default: generated once, 0600, reused.
	cfg = testConfig(t, testdb.SQLite)
	p, err := credvault.Open(ctx, cfg, credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	path := filepath.Join(cfg.DataDir, "keyset.json")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated keyset: %v %v", fi, err)
	}
	before, _ := os.ReadFile(path)
	p, err = credvault.Open(ctx, cfg, credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("keyset regenerated on second start")
	}
}

func TestOrganizationKeys(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p, err := credvault.Open(ctx, testConfig(t, kind), credvault.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			created, err := p.Organizations.Create(ctx, "Acme")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(created.APIKey, "cvk_") || created.OrganizationID == "" {
				t.Fatalf("created = %+v", created.OrganizationID)
			}
			testdb.AssertAbsent(t, p.TestStore(), created.APIKey)
			testdb.AssertAbsent(t, p.TestStore(), strings.TrimPrefix(created.APIKey, "cvk_"))

			pr, err := p.Organizations.Authenticate(ctx, created.APIKey)
			if err != nil || pr.OrganizationID != created.OrganizationID {
				t.Fatalf("authenticate: %+v %v", pr, err)
			}
			added, err := p.Organizations.AddKey(ctx, created.OrganizationID, org.KeyOptions{})
			second, secondID := added.APIKey, added.APIKeyID
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Organizations.RevokeKey(ctx, created.OrganizationID, created.APIKeyID); err != nil {
				t.Fatal(err)
			}
			for name, key := range map[string]string{"revoked": created.APIKey, "wrong": "cvk_nope", "empty": "", "foreign": "sk-abc"} {
				if _, err := p.Organizations.Authenticate(ctx, key); !errors.Is(err, org.ErrUnauthorized) {
					t.Errorf("%s key: %v, want ErrUnauthorized", name, err)
				}
			}
			if pr, err := p.Organizations.Authenticate(ctx, second); err != nil || pr.KeyID != secondID {
				t.Fatalf("second key: %+v %v", pr, err)
			}
		})
	}
}

func TestReadyzFailsWhenDatabaseIsDown(t *testing.T) {
	t.Parallel()
	p, err := credvault.Open(context.Background(), testConfig(t, testdb.Postgres), credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	get := func(path string) (int, map[string]string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz = %d, want 200", code)
	}
	p.Close() // the database goes away
	if code, body := get("/readyz"); code != 503 || body["detail"] == "" {
		t.Fatalf("readyz with the database down = %d %v, want 503 with detail", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz = %d, want 200 (process is up)", code)
	}
}

// TestFailFastOnWrongKeysetOrSchema: a process started with another
// keyset, or on a schema older than the binary, refuses to start with a
// message naming what to fix, instead of answering 500 to every request.
func TestFailFastOnWrongKeysetOrSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t, testdb.Postgres)
	p, err := credvault.Open(ctx, cfg, credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()

	other := cfg
	ks, _ := keyring.Generate()
	other.Keyset = config.Secret(ks)
	if _, err := credvault.Open(ctx, other, credvault.Options{}); err == nil || !strings.Contains(err.Error(), "CREDVAULT_KEYSET") {
		t.Fatalf("another keyset: %v, want a refusal naming the keyset", err)
	}
	added, id, err := keyring.AddKey([]byte(cfg.Keyset.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := keyring.Promote(added, id)
	if err != nil {
		t.Fatal(err)
	}
	cfgRotated := cfg
	cfgRotated.Keyset = config.Secret(rotated)
	p, err = credvault.Open(ctx, cfgRotated, credvault.Options{})
	if err != nil {
		t.Fatalf("a rotated keyset holding the old key: %v", err)
	}
	p.Close()

	// A schema behind the binary: a fresh database without migrations.
	fresh := testConfig(t, testdb.Postgres)
	if _, err := credvault.Open(ctx, fresh, credvault.Options{}); err == nil || !strings.Contains(err.Error(), "credvault migrate") {
		t.Fatalf("an unmigrated database: %v, want a refusal naming credvault migrate", err)
	}
}

// TestSecondOpenOnOneRegistryIsAnError: a second Platform on the registry
// of the first is refused with an error saying what to do, not a panic;
// the first keeps serving its metrics.
func TestSecondOpenOnOneRegistryIsAnError(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	opts := credvault.Options{Migrate: true, Registerer: reg, Gatherer: reg}
	cfg := testConfig(t, testdb.SQLite)
	p, err := credvault.Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	second, err := credvault.Open(context.Background(), cfg, opts)
	if err == nil {
		second.Close()
		t.Fatal("a second Open on the same registry succeeded")
	}
	if !strings.Contains(err.Error(), "WrapRegistererWith") {
		t.Fatalf("error %q does not say what to do", err)
	}
	if n, err := testutil.GatherAndCount(reg, "credvault_outbox_pending"); err != nil || n != 1 {
		t.Fatalf("the first platform's metrics: %d %v", n, err)
	}
}

// TestOpenWithACancelledContext: the error says the context was
// cancelled, with no "%!w(<nil>)".
func TestOpenWithACancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := credvault.Open(ctx, testConfig(t, testdb.Postgres), credvault.Options{})
	if err == nil || strings.Contains(err.Error(), "%!") || !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context = %v", err)
	}
}

// TestHostDatabaseHandle: an embedding backend brings its own PostgreSQL
// pool (Options.DB, pgx driver, schema by search_path). credvault migrates
// and serves through it, hears another replica's key revocation through
// it, and leaves it open on Close.
func TestHostDatabaseHandle(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, testdb.Postgres)
	url := cfg.DatabaseURL.Reveal()
	host, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	cfg.DatabaseURL = ""
	p, err := credvault.Open(context.Background(), cfg, credvault.Options{Migrate: true, DB: host})
	if err != nil {
		t.Fatal(err)
	}
	created, err := p.Organizations.Create(context.Background(), "Host")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	status := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/credentials", nil)
		req.Header.Set("x-api-key", created.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("list through the host's pool = %d", s)
	}
	// Another replica, on its own URL, revokes the key.
	other := cfg
	other.DatabaseURL = config.SecretURL(url)
	replica, err := credvault.Open(context.Background(), other, credvault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	if err := replica.Organizations.RevokeKey(context.Background(), created.OrganizationID, created.APIKeyID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for status() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a key revoked by another replica is still accepted after 3 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := host.Ping(); err != nil {
		t.Fatalf("Close closed the host's pool: %v", err)
	}
	var n int
	if err := host.QueryRow("SELECT COUNT(*) FROM organizations").Scan(&n); err != nil || n != 1 {
		t.Fatalf("credvault's tables are not in the pool's schema: %d %v", n, err)
	}
	if _, err := credvault.Open(context.Background(), other, credvault.Options{DB: host}); err == nil {
		t.Fatal("Options.DB with Config.DatabaseURL accepted")
	}
}

// TestHostPoolWithAMissingSchemaSaysSo: a host pool whose search_path
// names a schema that does not exist is refused naming it and the
// statement that creates it.
func TestHostPoolWithAMissingSchemaSaysSo(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, testdb.Postgres)
	u := cfg.DatabaseURL.Reveal()
	if i := strings.Index(u, "search_path="); i >= 0 {
		u = u[:i] + "search_path=credvault_absent_x" + strings.TrimLeft(u[i+len("search_path="):], "abcdefghijklmnopqrstuvwxyz0123456789_")
	} else if strings.Contains(u, "?") {
		u += "&search_path=credvault_absent_x"
	} else {
		u += "?search_path=credvault_absent_x"
	}
	host, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	cfg.DatabaseURL = ""
	_, err = credvault.Open(context.Background(), cfg, credvault.Options{Migrate: true, DB: host})
	if err == nil || !strings.Contains(err.Error(), `schema "credvault_absent_x" does not exist`) || !strings.Contains(err.Error(), `CREATE SCHEMA "credvault_absent_x"`) {
		t.Fatalf("Open on a pool without its schema = %v", err)
	}
}

// TestAsynchronousReplicationIsWarned: a primary with a standby and no
// synchronous_standby_names is warned about (start-up log, /readyz); a
// synchronous one, or one without standbys, is not. The database's own
// answer is read too (this test server has no standby: no warning).
func TestAsynchronousReplicationIsWarned(t *testing.T) {
	t.Parallel()
	if w := credvault.ReplicationWarning(1, ""); !strings.Contains(w, "asynchronous replication") || !strings.Contains(w, "synchronous_standby_names") {
		t.Fatalf("1 standby, async: %q", w)
	}
	for _, c := range []struct {
		n     int
		names string
	}{{0, ""}, {1, "*"}, {2, "FIRST 1 (s1, s2)"}} {
		if w := credvault.ReplicationWarning(c.n, c.names); w != "" {
			t.Fatalf("%d standbys, %q: %q", c.n, c.names, w)
		}
	}
	cfg := testConfig(t, testdb.Postgres)
	p, err := credvault.Open(context.Background(), cfg, credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body["status"] != "ok" || body["warnings"] != nil {
		t.Fatalf("/readyz on a server without standbys = %d %v", resp.StatusCode, body)
	}
}

// TestConfigDefaultsAreThePackagesDefaults: the defaults config shows
// (and passes on) are those of the packages that use them.
func TestConfigDefaultsAreThePackagesDefaults(t *testing.T) {
	t.Parallel()
	if config.DefaultCacheKeys != org.DefaultKeyCacheSize || config.DefaultCacheRows != credentials.DefaultRowCacheSize ||
		config.DefaultCacheClients != orgvault.DefaultCacheSize || config.DefaultConnsPerHost != netpolicy.DefaultConnsPerHost {
		t.Fatal("config's cache or connection defaults drifted from the packages'")
	}
}
