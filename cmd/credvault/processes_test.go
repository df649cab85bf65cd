package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// server is a `credvault serve` OS process.
type server struct {
	cmd  *exec.Cmd
	addr string
}

// startServe starts `credvault serve` on a free loopback port with env
// and returns once it announced its address; it is killed at cleanup.
func startServe(t *testing.T, bin string, env []string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), append([]string{"CREDVAULT_ADDR=127.0.0.1:0"}, env...)...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`"msg":"credvault listening".*"addr":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return &server{cmd: cmd, addr: a}
	case <-time.After(30 * time.Second):
		t.Fatal("credvault serve did not announce its address within 30 s")
		return nil
	}
}

func (s *server) status(t *testing.T, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevokedKeyAcrossProcessesOnSQLite: on the embedded database, a key
// revoked by `credvault org revoke-key` in another OS process is refused
// by a running server within about a second (its key cache lasts a
// minute: only the change log can tell it).
func TestRevokedKeyAcrossProcessesOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	cv, _ := buildCommands(t)
	env := []string{"CREDVAULT_DATA_DIR=" + t.TempDir()}
	if code, _, e := execCode(t, cv, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, e)
	}
	code, out, e := execCode(t, cv, env, "org", "create", "--name", "Acme")
	var created map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("org create: %d %s", code, e)
	}
	srv := startServe(t, cv, env)
	deadline := time.Now().Add(10 * time.Second)
	for srv.status(t, "/api/v1/credentials", created["api_key"]) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the key was never accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, e := execCode(t, cv, env, "org", "revoke-key", "--org", created["organization_id"], "--key", created["api_key_id"]); code != 0 {
		t.Fatalf("revoke-key: %d %s", code, e)
	}
	revoked := time.Now()
	for srv.status(t, "/api/v1/credentials", created["api_key"]) != 401 {
		if time.Since(revoked) > 5*time.Second {
			t.Fatal("the revoked key is still accepted after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(revoked); took > 2500*time.Millisecond {
		t.Fatalf("the revoked key was refused after %v, want about a second", took)
	}
}

// TestSecondServeOnOneEmbeddedDatabaseRefuses: a second `credvault serve`
// on the data directory of a running one exits 1 saying why; once the
// first has stopped, a new one starts.
func TestSecondServeOnOneEmbeddedDatabaseRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	cv, _ := buildCommands(t)
	env := []string{"CREDVAULT_DATA_DIR=" + t.TempDir(), "CREDVAULT_ADDR=127.0.0.1:0"}
	first := startServe(t, cv, env)
	code, _, errOut := execCode(t, cv, env, "serve")
	if code != 1 || !strings.Contains(errOut, "already running on the embedded database") {
		t.Fatalf("a second serve: exit %d: %s", code, errOut)
	}
	_ = first.cmd.Process.Kill()
	_ = first.cmd.Wait()
	second := startServe(t, cv, env)
	if s := second.status(t, "/healthz", ""); s != 200 {
		t.Fatalf("serve after the first stopped: /healthz = %d", s)
	}
}
