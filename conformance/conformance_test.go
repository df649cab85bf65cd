package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/credservice/credservicetest"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/vault"
)

const token = "conformance-token-0123456789"

func run(t *testing.T, base string) conformance.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return conformance.Run(ctx, base, vault.NewSecret(token), conformance.Options{Timeout: 2 * time.Second})
}

func status(rep conformance.Report, check string) (conformance.Status, string) {
	for _, r := range rep.Results {
		if r.Check == check {
			return r.Status, r.Detail
		}
	}
	return "", "not run"
}

func TestPassesAgainstCredentialService(t *testing.T) {
	t.Parallel()
	st := credservicetest.Open(t, testdb.Postgres)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	svc, _ := credservice.New(st, kr, []string{token}, nil)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	rep := run(t, srv.URL+credservice.Prefix)
	var out strings.Builder
	rep.Print(&out)
	if !rep.OK {
		t.Fatalf("credential-service does not conform:\n%s", out.String())
	}
	for _, r := range rep.Results {
		if r.Status != conformance.Pass {
			t.Errorf("check %q = %s (%s), want pass", r.Check, r.Status, r.Detail)
		}
	}
	if strings.Contains(out.String(), token) {
		t.Fatal("the report shows the token")
	}
	if n := len(rep.Results); n < 17 {
		t.Fatalf("only %d checks ran", n)
	}
}

func TestFailsNamingTheBrokenRule(t *testing.T) {
	t.Parallel()
	type breaker func(w http.ResponseWriter, r *http.Request) bool
	item := func(r *http.Request) bool { return strings.Count(r.URL.Path, "/") > 3 }
	cases := []struct {
		name   string
		fail   breaker
		check  string
		status conformance.Status
		ok     bool
	}{
		{"ignores the token", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("Authorization") != "Bearer "+token && item(r) {
				w.WriteHeader(404)
				return true
			}
			return false
		}, "wrong token → 401/403", conformance.Fail, false},
		{"unknown id answers 200", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == "GET" && strings.Contains(r.URL.Path, "credvault-check-missing") && r.Header.Get("Authorization") == "Bearer "+token {
				w.Write([]byte(`{"type":"secret","secret_value":"x"}`))
				return true
			}
			return false
		}, "unknown id → 404", conformance.Fail, false},
		{"no delete", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == "DELETE" {
				w.WriteHeader(405)
				return true
			}
			return false
		}, "delete password", conformance.Fail, false},
		{"no credit cards", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == "POST" && r.ContentLength > 0 && strings.Contains(readPeek(r), `"credit_card"`) {
				w.WriteHeader(400)
				w.Write([]byte(`{"detail":"unsupported type"}`))
				return true
			}
			return false
		}, "create credit_card", conformance.Warn, true},
		{"token rejected", func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(401)
			return true
		}, "reachable", conformance.Fail, false},
		{"no id on create", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == "POST" {
				w.Write([]byte(`{"ok":true}`))
				return true
			}
			return false
		}, "create password", conformance.Fail, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := fakeservice.New(t, token)
			svc.Fail = tc.fail
			rep := run(t, svc.Base())
			st, detail := status(rep, tc.check)
			if st != tc.status || rep.OK != tc.ok {
				var out strings.Builder
				rep.Print(&out)
				t.Fatalf("check %q = %s (%s), ok=%v; want %s, ok=%v\n%s", tc.check, st, detail, rep.OK, tc.status, tc.ok, out.String())
			}
		})
	}
}

func TestFieldLossIsCaught(t *testing.T) {
	t.Parallel()
	// A service that forgets the billing address and metadata.
	lossy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.WriteHeader(401)
		case r.Method == "POST":
			w.Write([]byte(`{"id":"only"}`))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/only"):
			w.Write([]byte(`{"type":"password","username":"someone","password":"other"}`))
		case r.Method == "DELETE" && strings.HasSuffix(r.URL.Path, "/only"):
		default:
			w.WriteHeader(404)
		}
	}))
	defer lossy.Close()
	rep := run(t, lossy.URL+"/creds")
	st, detail := status(rep, "read back password")
	if st != conformance.Fail || !strings.Contains(detail, "password") || !strings.Contains(detail, "username") || rep.OK {
		t.Fatalf("read back password = %s (%s)", st, detail)
	}
	if strings.Contains(detail, "other") {
		t.Fatal("the report shows a value")
	}
	if st, _ := status(rep, "read after delete password → 404"); st != conformance.Fail {
		t.Fatalf("a service keeping items after delete passed: %s", st)
	}
}

// readPeek reads the body and puts it back for the next handler.
func readPeek(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// TestTheSeedsExampleIsConformant: a service that behaves as the seed's
// FastAPI example (it keeps name, type, username, password, totp and
// totp_type, nothing else) passes: metadata is optional in the seed's
// contract (a warning), cards and secrets are warnings too.
func TestTheSeedsExampleIsConformant(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	items := map[string]map[string]any{}
	next := 0
	seed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		switch {
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.WriteHeader(401)
		case r.Method == "POST":
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			kept := map[string]any{}
			for _, k := range []string{"name", "type", "username", "password", "totp", "totp_type"} {
				kept[k] = in[k]
			}
			next++
			id := fmt.Sprintf("cred_%d", next)
			items[id] = kept
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
		case r.Method == "GET" && items[id] != nil:
			_ = json.NewEncoder(w).Encode(items[id])
		case r.Method == "DELETE" && items[id] != nil:
			delete(items, id)
			_, _ = w.Write([]byte(`{"status":"deleted"}`))
		default:
			w.WriteHeader(404)
		}
	}))
	defer seed.Close()
	rep := run(t, seed.URL+"/api/v1/credentials")
	if st, detail := status(rep, "read back password"); st != conformance.Warn || !strings.Contains(detail, "metadata") || !rep.OK {
		var out strings.Builder
		rep.Print(&out)
		t.Fatalf("read back password = %s (%s), ok=%v\n%s", st, detail, rep.OK, out.String())
	}
}
