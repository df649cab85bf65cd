package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
)

// instances are two credvault processes on one database, each restartable
// with another keyset while traffic flows.
type instances struct {
	t   *testing.T
	mu  sync.RWMutex
	hs  [2]*harness
	cfg config.Config
}

func (in *instances) restart(i int, keyset []byte) {
	in.t.Helper()
	c := in.cfg
	c.Keyset = config.Secret(keyset)
	next := newHarnessWithConfig(in.t, c)
	in.mu.Lock()
	old := in.hs[i]
	in.hs[i] = next
	in.mu.Unlock()
	if old != nil {
		old.srv.Close() // waits for the requests in flight
		old.p.Close()
	}
}

// call sends one request to instance i and returns its status (0 when the
// request could not be sent).
func (in *instances) call(i int, method, path, key, body string) int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, _ := http.NewRequest(method, in.hs[i].srv.URL+path, rd)
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestKeyRotationWithoutDowntime rotates the keyset in Tink's safe order —
// add, deploy, promote, deploy, reencrypt, disable, deploy — while both
// instances serve requests that encrypt and decrypt (pushed TOTP codes,
// the saved configuration, credentials through it). At every moment one
// instance runs the previous step's keyset; no request gets a 5xx, and at
// the end nothing is stored under the disabled key.
func TestKeyRotationWithoutDowntime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := loopbackConfig(t, testdb.Postgres)
	k0 := []byte(cfg.Keyset.Reveal())
	in := &instances{t: t, cfg: cfg}
	in.restart(0, k0)
	in.restart(1, k0)
	svc := fakeservice.New(t, svcToken)
	_, key := in.hs[0].org("Rotators")
	if r := in.hs[0].do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure = %d", r.status)
	}
	cred := in.hs[0].do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)

	stop := make(chan struct{})
	var bad atomic.Value
	var requests atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				checks := []struct{ method, path, body string }{
					{"POST", "/v1/credentials/totp", fmt.Sprintf(`{"totp_identifier":"u%d@example.com","content":"code %06d"}`, i, n%1000000)},
					{"GET", "/v1/credentials/totp?totp_identifier=u0@example.com", ""},
					{"GET", "/v1/credentials/totp?totp_identifier=u1@example.com", ""},
					{"GET", "/v1/credentials/custom_credential/get", ""},
					{"GET", "/v1/credentials/" + cred + "/totp-code", ""},
				}
				for _, c := range checks {
					requests.Add(1)
					if st := in.call(i, c.method, c.path, key, c.body); st >= 500 || st == 0 {
						bad.CompareAndSwap(nil, fmt.Sprintf("instance %d: %s %s = %d", i, c.method, c.path, st))
					}
				}
			}
		}()
	}
	// waitTraffic lets both instances serve a few rounds on the current
	// keysets.
	waitTraffic := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for target := requests.Load() + 40; requests.Load() < target && bad.Load() == nil; {
			if time.Now().After(deadline) {
				t.Fatal("the traffic stalled")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	st, err := credvault.OpenAdmin(ctx, cfg, credvault.AdminOptions{}) // the operator's command
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	counts := func() map[uint32]int {
		t.Helper()
		n, err := keyring.CountByKey(ctx, st.Sets())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitTraffic()

	// 1. add: instance 0 gets the new key (not primary); 1 keeps k0.
	k1, newID, err := keyring.AddKey(k0)
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := keyring.Parse(k0)
	in.restart(0, k1)
	waitTraffic()
	in.restart(1, k1) // deployed everywhere
	waitTraffic()

	// 2. promote on instance 0; instance 1 still encrypts under the old key.
	k2, err := keyring.Promote(k1, newID)
	if err != nil {
		t.Fatal(err)
	}
	in.restart(0, k2)
	waitTraffic()
	in.restart(1, k2)
	waitTraffic()

	// 3. reencrypt while both serve.
	kr2, _ := keyring.Parse(k2)
	if _, err := kr2.Reencrypt(ctx, st.Sets(), nil); err != nil {
		t.Fatal(err)
	}
	waitTraffic()
	if n := counts(); n[oldID.PrimaryID()] != 0 || n[newID] == 0 {
		t.Fatalf("after reencrypt: %v, want nothing under the old key %d", n, oldID.PrimaryID())
	}

	// 4. disable the old key on instance 0, then everywhere.
	k3, err := keyring.DisableKey(k2, oldID.PrimaryID())
	if err != nil {
		t.Fatal(err)
	}
	in.restart(0, k3)
	waitTraffic()
	in.restart(1, k3)
	waitTraffic()
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	if n := counts(); n[oldID.PrimaryID()] != 0 {
		t.Fatalf("ciphertexts under the disabled key: %v", n)
	}
	if requests.Load() < 400 {
		t.Fatalf("only %d requests ran during the rotation", requests.Load())
	}
}
