package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/keyring"
	"github.com/credvault/credvault/migrations"
)

const token = "cli-token-0123456789abcdef"

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckServiceExitCodes(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite, migrations.CredentialService)
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

	code, out, _ := runCLI("check-service", "--url", good.URL+credservice.Prefix, "--token-file", tokenFile)
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
	if code, _, e := runCLI("keys", "rotate", "--in", ks, "--out", ks+".2"); code != 0 {
		t.Fatalf("keys rotate: %d %s", code, e)
	}
	if code, _, _ := runCLI("bogus"); code != 2 {
		t.Fatal("unknown command did not exit 2")
	}
}
