package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/internal/loopback"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/vault"
)

// seedToken is the token the seed's example checks, as it writes it.
const seedToken = "your_expected_api_token"

// TestTheSeedsExampleAsAPeer runs the seed's FastAPI example
// (scripts/seed_example.py: its logic as the seed writes it) under
// uvicorn and points credvault at it. It keeps name, type, username,
// password, totp and totp_type: a password without metadata round-trips
// and gives TOTP codes; a card, a secret and a password with metadata are
// refused naming what it dropped, so nothing is acknowledged that it did
// not store. check-service finds it conformant. It needs python3 with
// fastapi and uvicorn (Debian's python3-fastapi, python3-uvicorn; .ci/run
// installs them); without them it is skipped, unless
// CREDVAULT_REQUIRE_SEED_EXAMPLE=1 (CI) makes that a failure.
func TestTheSeedsExampleAsAPeer(t *testing.T) {
	t.Parallel()
	// Debian's interpreter first: another python3 earlier on PATH (pyenv,
	// say) does not see Debian's packages.
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import fastapi, uvicorn").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		if os.Getenv("CREDVAULT_REQUIRE_SEED_EXAMPLE") == "1" {
			t.Fatal("python3 with fastapi and uvicorn is required (CREDVAULT_REQUIRE_SEED_EXAMPLE=1)")
		}
		t.Skip("python3 with fastapi and uvicorn is not installed (apt-get install python3-fastapi python3-uvicorn)")
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Abs("../scripts")
	cmd := exec.Command(python, "-m", "uvicorn", "seed_example:app", "--app-dir", scripts,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--log-level", "warning")
	// No __pycache__ beside the script: tests never write into the work tree.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := loopback.WaitHTTP(base+"/openapi.json", 30*time.Second); err != nil {
		t.Fatalf("the seed's example did not start: %v\n%s", err, logs.String())
	}
	svcURL := base + "/api/v1/credentials"

	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Seed")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svcURL, seedToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	pw := passwordBody("Bank")
	delete(pw["credential"].(map[string]any), "metadata")
	r := h.do("POST", "/api/v1/credentials", key, pw)
	if r.status != 201 {
		t.Fatalf("a password = %d %s", r.status, scrub(string(r.body)))
	}
	id := r.json(t)["credential_id"].(string)
	if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil); r.status != 200 {
		t.Fatalf("its TOTP code = %d %s", r.status, r.body)
	}
	if got, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id); err != nil || got.Credential.Password.Password.Reveal() != pwSecret {
		t.Fatalf("its secret: %v", err)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{{cardBody("Card"), "card_number"}, {secretBody("API", "l"), "secret_value"}, {passwordBody("With metadata"), "metadata"}} {
		r := h.do("POST", "/api/v1/credentials", key, c.body)
		if r.status != 502 || !strings.Contains(r.detail(), "did not store") || !strings.Contains(r.detail(), c.field) {
			t.Fatalf("%s = %d %s, want 502 naming %s", c.body["name"], r.status, scrub(string(r.body)), c.field)
		}
	}
	var rows int
	_ = testStore(h.p).SQLDB().QueryRow("SELECT COUNT(*) FROM credentials WHERE organization_id = $1 AND deleted_at IS NULL", orgID).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d rows, want 1: only the password was stored", rows)
	}
	rep := conformance.Run(context.Background(), svcURL, vault.NewSecret(seedToken), conformance.Options{Timeout: 5 * time.Second})
	if !rep.OK {
		var out strings.Builder
		rep.Print(&out)
		t.Fatalf("check-service finds the seed's example not conformant:\n%s", out.String())
	}
}
