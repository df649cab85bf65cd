package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/credservice/credservicetest"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
)

const token = "cli-token-0123456789abcdef"

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckServiceExitCodes(t *testing.T) {
	st := credservicetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	svc, _ := credservice.New(st, kr, []string{token}, nil)
	good := httptest.NewServer(svc.Handler())
	defer good.Close()
	bad := fakeservice.New(t, token)
	bad.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete {
			w.WriteHeader(500)
			return true
		}
		return false
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)

	code, out, _ := runCLI("check-service", "--url", good.URL+credservice.Prefix, "--token-file", tokenFile, "--format", "text")
	if code != 0 || !strings.Contains(out, "conforms") {
		t.Fatalf("against credential-service: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI("check-service", "--url", bad.Base(), "--token", token, "--json")
	var rep struct {
		OK      bool
		Results []struct{ Check, Status string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK {
		t.Fatalf("against a broken service: exit %d, %v\n%s", code, err, out)
	}
	if strings.Contains(out, token) {
		t.Fatal("report shows the token")
	}
	if code, _, _ := runCLI("check-service", "--url", good.URL); code != 2 {
		t.Fatalf("missing --token: exit %d, want 2", code)
	}
}

func TestOrgCreateAndKeys(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDVAULT_DATA_DIR", dir)
	// An administration command never creates the embedded database.
	if code, _, errOut := runCLI("org", "create", "--name", "Acme"); code != 1 || !strings.Contains(errOut, "no database at") {
		t.Fatalf("org create without a database: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "credvault.db")); err == nil {
		t.Fatal("org create made a database")
	}
	if code, out, errOut := runCLI("migrate"); code != 0 || !strings.Contains(out, `"schema_version"`) {
		t.Fatalf("migrate: exit %d %s %s", code, out, errOut)
	}
	code, out, errOut := runCLI("org", "create", "--name", "Acme")
	if code != 0 {
		t.Fatalf("org create: exit %d: %s", code, errOut)
	}
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("stdout is not only JSON: %q", out)
	}
	if created["name"] != "Acme" || !strings.HasPrefix(created["api_key"], "cvk_") || created["organization_id"] == "" {
		t.Fatalf("created = %v", created)
	}
	if strings.Contains(errOut, created["api_key"]) {
		t.Fatal("the API key was logged")
	}
	if code, _, _ := runCLI("org", "create"); code != 2 {
		t.Fatalf("org create without --name: exit %d, want 2", code)
	}
	if code, _, e := runCLI("org", "revoke-key", "--org", created["organization_id"], "--key", created["api_key_id"]); code != 0 {
		t.Fatalf("revoke-key: %d %s", code, e)
	}

	ks := filepath.Join(dir, "k.json")
	if code, _, e := runCLI("keys", "init", "--out", ks); code != 0 {
		t.Fatalf("keys init: %d %s", code, e)
	}
	if fi, _ := os.Stat(ks); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyset mode %v", fi.Mode().Perm())
	}
	if code, _, _ := runCLI("keys", "init", "--out", ks); code == 0 {
		t.Fatal("keys init overwrote an existing keyset")
	}
	if code, _, _ := runCLI("bogus"); code != 2 {
		t.Fatal("unknown command did not exit 2")
	}
}

// TestKeysLifecycleCommands: keys add → promote → reencrypt → disable on
// the keyset file the server uses, each rewriting it in place (0600) and
// printing the keys as JSON; disable refuses while a ciphertext needs the
// key.
func TestKeysLifecycleCommands(t *testing.T) {
	dir := t.TempDir()
	ks := filepath.Join(dir, "keyset.json")
	t.Setenv("CREDVAULT_DATA_DIR", dir)
	t.Setenv("CREDVAULT_KEYSET_FILE", ks)
	if code, _, e := runCLI("keys", "init", "--out", ks); code != 0 {
		t.Fatalf("keys init: %d %s", code, e)
	}
	if code, _, e := runCLI("migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, e)
	}
	if code, _, e := runCLI("org", "create", "--name", "Acme"); code != 0 { // writes the keyset canary
		t.Fatalf("org create: %d %s", code, e)
	}
	type listing struct {
		Keys []struct {
			KeyID       uint32 `json:"key_id"`
			Status      string
			Primary     bool
			Ciphertexts int
		}
		Added uint32
	}
	keys := func(args ...string) listing {
		t.Helper()
		code, out, e := runCLI(args...)
		var l listing
		if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil {
			t.Fatalf("%v: exit %d %v\n%s%s", args, code, err, out, e)
		}
		return l
	}
	l := keys("keys", "list")
	if len(l.Keys) != 1 || !l.Keys[0].Primary || l.Keys[0].Ciphertexts != 1 {
		t.Fatalf("keys list = %+v, want one primary key protecting the canary", l)
	}
	oldID := l.Keys[0].KeyID
	l = keys("keys", "add")
	if len(l.Keys) != 2 || l.Added == 0 || l.Added == oldID {
		t.Fatalf("keys add = %+v", l)
	}
	newID := l.Added
	keys("keys", "promote", fmt.Sprint(newID))
	code, _, e := runCLI("keys", "disable", fmt.Sprint(oldID))
	if code != 1 || !strings.Contains(e, "keys reencrypt") {
		t.Fatalf("disable before reencrypt: exit %d %s, want a refusal", code, e)
	}
	if code, out, e := runCLI("keys", "reencrypt"); code != 0 || !strings.Contains(out, `"reencrypted":1`) {
		t.Fatalf("keys reencrypt: %d %s %s", code, out, e)
	}
	l = keys("keys", "disable", fmt.Sprint(oldID))
	for _, k := range l.Keys {
		if (k.KeyID == oldID && (k.Status != "disabled" || k.Ciphertexts != 0)) || (k.KeyID == newID && (!k.Primary || k.Ciphertexts != 1)) {
			t.Fatalf("after disable: %+v", l)
		}
	}
	if fi, _ := os.Stat(ks); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyset mode %v after rewrites", fi.Mode().Perm())
	}
	// The server starts on the rotated keyset.
	if code, _, e := runCLI("org", "list"); code != 0 {
		t.Fatalf("org list on the rotated keyset: %d %s", code, e)
	}
	for _, args := range [][]string{{"keys", "promote"}, {"keys", "promote", "abc"}, {"keys", "disable", "1", "2"}} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
	// Without CREDVAULT_KEYSET_FILE, the embedded database's generated
	// keyset is the one (here there is none).
	t.Setenv("CREDVAULT_KEYSET_FILE", "")
	t.Setenv("CREDVAULT_DATA_DIR", t.TempDir())
	if code, _, e := runCLI("keys", "list"); code != 2 || !strings.Contains(e, "CREDVAULT_KEYSET_FILE") {
		t.Fatalf("keys list without a keyset: %d %s", code, e)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeMetricsOnSeparateListener: with CREDVAULT_METRICS_ADDR, /metrics
// is served there and not on the main listener.
func TestServeMetricsOnSeparateListener(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("CREDVAULT_DATA_DIR", t.TempDir())
	t.Setenv("CREDVAULT_ADDR", addr)
	t.Setenv("CREDVAULT_METRICS_ADDR", metricsAddr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out, errb bytes.Buffer
		done <- run(ctx, []string{"serve"}, &out, &errb)
	}()
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get("http://" + addr + "/healthz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("http://" + metricsAddr + "/metrics"); code != 200 || !strings.Contains(body, "credvault_http_requests_total") {
		t.Fatalf("metrics listener: %d", code)
	}
	if code, _ := get("http://" + addr + "/metrics"); code == 200 {
		t.Fatal("main listener still serves /metrics")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d after shutdown", code)
	}
}

// TestReconcileAndMigrateCommands: reconcile exits 1 listing a dangling
// row and marks it with --fix; credentials migrate moves the rows of an
// earlier configuration and then has nothing left.
func TestReconcileAndMigrateCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDVAULT_DATA_DIR", dir)
	t.Setenv("CREDVAULT_ALLOWED_HOSTS", "127.0.0.1")
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p, err := credvault.Open(t.Context(), cfg, credvault.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	one, two := fakeservice.New(t, token), fakeservice.New(t, token)
	created, _ := p.Organizations.Create(t.Context(), "Acme")
	call := func(method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("x-api-key", created.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s = %d %v", method, path, resp.StatusCode, m)
		}
		return m
	}
	configure := func(base string) {
		call("POST", "/api/v1/credentials/custom_credential/create", map[string]any{"config": map[string]string{"api_base_url": base, "api_token": token}})
	}
	configure(one.Base())
	for i := range 3 {
		call("POST", "/api/v1/credentials", map[string]any{"name": fmt.Sprint("s", i), "credential_type": "secret",
			"credential": map[string]any{"secret_value": "v", "secret_label": "l"}})
	}
	one.Drop(one.IDs()[0])
	configure(two.Base())
	srv.Close()
	p.Close()

	var rep struct {
		Checked, OK, Marked int
		Dangling, Stale     []map[string]any
	}
	code, out, e := runCLI("reconcile")
	if err := json.Unmarshal([]byte(out), &rep); code != 1 || err != nil || rep.Checked != 3 || len(rep.Dangling) != 1 || len(rep.Stale) != 3 {
		t.Fatalf("reconcile: exit %d %v %s %s", code, err, out, e)
	}
	code, out, _ = runCLI("reconcile", "--fix", "--org", created.OrganizationID)
	if err := json.Unmarshal([]byte(out), &rep); code != 1 || err != nil || rep.Marked != 1 {
		t.Fatalf("reconcile --fix: exit %d %s", code, out)
	}
	// In words: each credential, what is wrong and what --fix does; stale
	// rows alone need attention (exit 1).
	code, out, _ = runCLI("reconcile", "--format", "text")
	if code != 1 || strings.Count(out, "\nstale ") != 3 || !strings.Contains(out, "credvault credentials migrate --org "+created.OrganizationID) ||
		!strings.Contains(out, "\ndangling ") || !strings.Contains(out, "marked missing") || strings.Contains(out, "all ok") {
		t.Fatalf("reconcile --format text: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI("credentials", "migrate", "--org", created.OrganizationID, "--dry-run", "--format", "text")
	if code != 0 || !strings.Contains(out, "by source ") {
		t.Fatalf("migrate --dry-run --format text: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI("reconcile", "--concurrency", "0"); code != 2 {
		t.Fatalf("reconcile --concurrency 0: exit %d, want 2", code)
	}
	var mig struct {
		ToMove    int `json:"to_move"`
		Migrated  int
		Remaining int
		Failed    []map[string]any
	}
	code, out, _ = runCLI("credentials", "migrate", "--org", created.OrganizationID, "--dry-run")
	if err := json.Unmarshal([]byte(out), &mig); code != 0 || err != nil || mig.ToMove != 3 || mig.Migrated != 0 {
		t.Fatalf("migrate --dry-run: exit %d %s", code, out)
	}
	// The dangling row cannot be moved (its item is gone): listed, exit 1.
	code, out, _ = runCLI("credentials", "migrate", "--org", created.OrganizationID)
	if err := json.Unmarshal([]byte(out), &mig); code != 1 || err != nil || mig.Migrated != 2 || len(mig.Failed) != 1 || mig.Remaining != 1 {
		t.Fatalf("migrate: exit %d %s", code, out)
	}
	if two.Items() != 2 {
		t.Fatalf("the new service holds %d items, want 2", two.Items())
	}
	// The moves are audited as the command line's.
	code, out, _ = runCLI("audit", "list", "--org", created.OrganizationID)
	var events []map[string]any
	_ = json.Unmarshal([]byte(out), &events)
	migrated := 0
	for _, e := range events {
		if e["action"] == "credential.migrate" {
			migrated++
			if e["actor_key_id"] != AuditActorCLI {
				t.Fatalf("a migration audited with actor %v, want %q", e["actor_key_id"], AuditActorCLI)
			}
		}
	}
	if code != 0 || migrated != 2 {
		t.Fatalf("audit list after migrate: exit %d, %d migrations in %s", code, migrated, out)
	}
	if code, _, _ := runCLI("credentials", "migrate"); code != 2 {
		t.Fatalf("migrate without --org: exit %d, want 2", code)
	}
}

// TestAuditListCommand: an unknown organization is an error naming it;
// events come newest first, bounded by --limit and --since.
func TestAuditListCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDVAULT_DATA_DIR", dir)
	if code, _, e := runCLI("migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, e)
	}
	for _, args := range [][]string{{"audit", "list"}, {"reconcile"}, {"credentials", "migrate"}} {
		code, _, errOut := runCLI(append(args, "--org", "org_nope")...)
		if code != 1 || !strings.Contains(errOut, "organization org_nope: not found") {
			t.Fatalf("%v of an unknown organization: exit %d %s", args, code, errOut)
		}
	}
	code, out, _ := runCLI("org", "create", "--name", "Acme")
	var created map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatal(out)
	}
	for range 2 {
		if code, _, e := runCLI("org", "add-key", "--org", created["organization_id"]); code != 0 {
			t.Fatal(e)
		}
	}
	code, out, _ = runCLI("org", "add-key", "--org", created["organization_id"], "--role", "agent", "--name", "nightly", "--expires", "720h")
	var agent map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &agent) != nil || agent["role"] != "agent" || agent["name"] != "nightly" || agent["expires_at"] == nil ||
		!strings.HasPrefix(agent["api_key"].(string), "cvk_") {
		t.Fatalf("add-key --role agent: exit %d %s", code, out)
	}
	if code, _, e := runCLI("org", "add-key", "--org", created["organization_id"], "--role", "owner"); code != 2 || !strings.Contains(e, "--role must be admin, member or agent") {
		t.Fatalf("add-key --role owner: exit %d %s", code, e)
	}
	code, out, _ = runCLI("org", "keys", "--org", created["organization_id"])
	if code != 0 || strings.Count(out, `"role":"admin"`) != 3 || strings.Count(out, `"role":"agent"`) != 1 || strings.Contains(out, agent["api_key"].(string)) {
		t.Fatalf("org keys: exit %d %s", code, out)
	}
	code, out, _ = runCLI("audit", "list", "--org", created["organization_id"], "--limit", "1")
	var events []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &events) != nil || len(events) > 1 {
		t.Fatalf("audit list --limit 1: exit %d %s", code, out)
	}
	if code, out, _ := runCLI("audit", "list", "--org", created["organization_id"], "--since", "1h"); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Fatalf("audit list --since 1h: exit %d %s", code, out)
	}
}
