package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
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

// TestOutboxAcrossProcesses: two `credvault serve` OS processes on one
// PostgreSQL database. Deletions the service refused for a while are
// retried by both workers, and no entry is attempted by both. Then one
// process is killed (kill -9) while it holds the leases of deletions in
// flight: the other takes them once the lease ends, and every item is
// removed exactly once (a retry of one the dying process's request did
// remove finds it gone: delivery is at least once, removal exactly once).
func TestOutboxAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	cv, _ := buildCommands(t)
	ks := filepath.Join(t.TempDir(), "keyset.json")
	if err := keyring.WriteNewFile(ks); err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "CREDVAULT_KEYSET_FILE=" + ks, "CREDVAULT_ALLOWED_HOSTS=127.0.0.1",
		"CREDVAULT_OUTBOX_LEASE=2s", "CREDVAULT_RATE_LIMIT_CREDENTIALS=1000/s:1000"}
	if code, _, e := execCode(t, cv, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, e)
	}
	code, out, e := execCode(t, cv, env, "org", "create", "--name", "Acme")
	var created map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("org create: %d %s", code, e)
	}
	key := created["api_key"]

	// The service: deletions counted per item; while refusing, 503; while
	// holding, a delete waits (and does nothing if its caller is gone).
	var mu sync.Mutex
	deletes, missed := map[string]int{}, map[string]int{}
	var refusing, holding atomic.Bool
	var held atomic.Int64
	release := make(chan struct{})
	svc := fakeservice.New(t, token)
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		if refusing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		if holding.Load() {
			held.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			if r.Context().Err() != nil {
				return true // its process died: nothing was deleted
			}
		}
		// The item is removed here, so a deletion is counted only when it
		// removed something: a killed process's request the service still
		// answered (the kernel closed its socket after the release) is a
		// real deletion, and the survivor's retry of it a harmless 404.
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/credentials/")
		removed := svc.Drop(id)
		mu.Lock()
		if removed {
			deletes[id]++
		} else {
			missed[id]++
		}
		mu.Unlock()
		if !removed {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"deleted"}`)
		return true
	}
	a := startServe(t, cv, env)
	b := startServe(t, cv, env)
	call := func(s *server, method, path, body string) int {
		req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := call(a, "POST", "/api/v1/credentials/custom_credential/create",
		`{"config":{"api_base_url":"`+svc.Base()+`","api_token":"`+token+`"}}`); s != 200 {
		t.Fatalf("configure: %d", s)
	}
	var ids []string
	for i := range 20 {
		req, _ := http.NewRequest("POST", "http://"+a.addr+"/api/v1/credentials",
			strings.NewReader(fmt.Sprintf(`{"name":"s%d","credential_type":"secret","credential":{"secret_value":"v%d"}}`, i, i)))
		req.Header.Set("x-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create: %v %v", resp, err)
		}
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		ids = append(ids, v["credential_id"].(string))
	}
	waitDeleted := func(want int, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for svc.Items() != 20-want {
			if time.Now().After(deadline) {
				t.Fatalf("%d items left after %v, want %d", svc.Items(), within, 20-want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// 1. Both processes' workers retry the refused deletions.
	refusing.Store(true)
	for i, id := range ids[:10] {
		target := a
		if i%2 == 1 {
			target = b
		}
		if s := call(target, "DELETE", "/api/v1/credentials/"+id, ""); s != 204 {
			t.Fatalf("delete: %d", s)
		}
	}
	refusing.Store(false)
	waitDeleted(10, 30*time.Second)
	// Two live workers never attempt the same entry: no retry found its
	// item already gone.
	mu.Lock()
	if len(missed) != 0 {
		t.Errorf("deletions attempted twice by live processes: %v", missed)
	}
	mu.Unlock()

	// 2. A is killed holding the deletions it was attempting.
	holding.Store(true)
	for _, id := range ids[10:] {
		go call(a, "DELETE", "/api/v1/credentials/"+id, "")
	}
	deadline := time.Now().Add(10 * time.Second)
	for held.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deletions reached the service, want 10", held.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	_ = a.cmd.Wait()
	holding.Store(false)
	close(release)
	waitDeleted(20, 60*time.Second)

	mu.Lock()
	defer mu.Unlock()
	for id, n := range deletes {
		if n != 1 {
			t.Errorf("item %s was deleted %d times, want exactly once", id, n)
		}
	}
	if len(deletes) != 20 {
		t.Errorf("%d items deleted, want 20", len(deletes))
	}
	if s := call(b, "GET", "/api/v1/credentials?page_size=100", ""); s != 200 {
		t.Fatalf("B after A died: %d", s)
	}
}
