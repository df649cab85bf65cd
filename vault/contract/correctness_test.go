package contract_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/vaulttest"
	"github.com/credvault/credvault/vault/wire"
)

func TestOTPAuthParametersAreBounded(t *testing.T) {
	t.Parallel()
	const base = "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme"
	for _, bad := range []string{"&period=18446744073709551615", "&period=0", "&period=301", "&period=-5", "&period=x",
		"&digits=5", "&digits=9", "&digits=x", "&algorithm=MD5", "&algorithm=sha3"} {
		if _, err := vault.NormalizeTOTP(base + bad); !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("%s accepted: %v", bad, err)
		}
		if _, _, err := vault.TOTPCode(vault.NewSecret(base+bad), time.Now()); !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("%s: a code was computed", bad)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	for good, digits := range map[string]int{"": 6, "&period=1": 6, "&period=300&digits=8&algorithm=SHA512": 8,
		"&digits=7&algorithm=sha256": 7, "&algorithm=SHA1": 6} {
		code, rem, err := vault.TOTPCode(vault.NewSecret(base+good), now)
		if err != nil || len(code) != digits || rem < 1 || rem > 300 {
			t.Errorf("%q: code of %d digits, %d s remaining, %v", good, len(code), rem, err)
		}
	}
}

// TestDeleteStatusBeforeBody: a 2xx answer to DELETE is success whatever
// its body, even one over the size limit or cut off; a 2xx GET over the
// limit is still a contract violation; an error answer over the limit
// keeps its status.
func TestDeleteStatusBeforeBody(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", contract.MaxResponseBytes+10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/big"):
			_, _ = w.Write([]byte(huge))
		case r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/cut"):
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("{"))
		case strings.HasSuffix(r.URL.Path, "/err"):
			w.WriteHeader(503)
			_, _ = w.Write([]byte(huge))
		default:
			_, _ = w.Write([]byte(huge))
		}
	}))
	t.Cleanup(srv.Close)
	c := vaulttest.Client(t, srv.URL+"/api", contract.Options{MaxAttempts: 1})
	ctx := context.Background()
	for _, id := range []string{"big", "cut"} {
		if err := c.DeleteItem(ctx, id); err != nil {
			t.Errorf("DELETE answered 2xx with a %s body: %v, want success", id, err)
		}
	}
	if _, err := c.GetItem(ctx, "big"); !errors.Is(err, vault.ErrContractViolation) {
		t.Errorf("GET over the limit: %v, want a contract violation", err)
	}
	var ue *vault.UpstreamError
	if err := c.DeleteItem(ctx, "err"); !errors.As(err, &ue) || ue.StatusCode != 503 {
		t.Errorf("DELETE 503 with a huge body: %v, want an upstream 503", err)
	}
}

// TestLostCreateAnswerIsRetriedWithItsKey: a create whose answer times out
// is sent again, once, with the same Idempotency-Key when the service has
// shown it honours keys — one item is stored and its id returned.
func TestLostCreateAnswerIsRetriedWithItsKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	byKey := map[string]string{}
	stored, posts := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // so the server notices the client leaving
		key := r.Header.Get(wire.IdempotencyKeyHeader)
		mu.Lock()
		posts++
		id, seen := byKey[key]
		if !seen {
			stored++
			id = fmt.Sprintf("item%d", stored)
			byKey[key] = id
		}
		first := !seen && key == "k-lost"
		mu.Unlock()
		if first {
			<-r.Context().Done() // stored, but the answer never arrives
			return
		}
		w.Header().Set(wire.IdempotentReplayedHeader, strconv.FormatBool(seen))
		_, _ = w.Write([]byte(`{"id":"` + id + `"}`))
	}))
	t.Cleanup(srv.Close)
	c := vaulttest.Client(t, srv.URL+"/api", contract.Options{Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	if _, err := c.CreateItem(vault.WithIdempotencyKey(ctx, "k-warm"), vaulttest.Secret()); err != nil || !c.HonoursIdempotency() {
		t.Fatalf("warm-up create: %v (honours %v)", err, c.HonoursIdempotency())
	}
	id, err := c.CreateItem(vault.WithIdempotencyKey(ctx, "k-lost"), vaulttest.Secret())
	if err != nil || id != "item2" {
		t.Fatalf("create with a lost answer: %q %v, want item2 from the retry", id, err)
	}
	mu.Lock()
	gotStored, gotPosts := stored, posts
	mu.Unlock()
	if gotStored != 2 || gotPosts != 3 {
		t.Fatalf("service stored %d items from %d creates, want 2 from 3", gotStored, gotPosts)
	}
}
