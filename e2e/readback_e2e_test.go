package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// droppingService behaves as the seed's FastAPI example does: it keeps
// only name, type, username, password, totp and totp_type (its pydantic
// model), answers 200 with an id to any create, and returns what it kept
// (null for the rest).
type droppingService struct {
	*httptest.Server
	mu    sync.Mutex
	items map[string]map[string]any
	next  int
}

func newDroppingService(t *testing.T, token string) *droppingService {
	t.Helper()
	d := &droppingService{items: map[string]map[string]any{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"detail":"Invalid API token"}`, http.StatusUnauthorized)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/credentials")
		id = strings.TrimPrefix(id, "/")
		d.mu.Lock()
		defer d.mu.Unlock()
		switch {
		case r.Method == http.MethodPost && id == "":
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				http.Error(w, `{"detail":"bad body"}`, http.StatusUnprocessableEntity)
				return
			}
			kept := map[string]any{}
			for _, k := range []string{"name", "type", "username", "password", "totp", "totp_type"} {
				kept[k] = in[k]
			}
			d.next++
			id := fmt.Sprintf("cred_%012d", d.next)
			d.items[id] = kept
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
		case r.Method == http.MethodGet && id != "":
			it, ok := d.items[id]
			if !ok {
				http.Error(w, `{"detail":"Credential not found"}`, http.StatusNotFound)
				return
			}
			_ = json.NewEncoder(w).Encode(it)
		case r.Method == http.MethodDelete && id != "":
			if _, ok := d.items[id]; !ok {
				http.Error(w, `{"detail":"Credential not found"}`, http.StatusNotFound)
				return
			}
			delete(d.items, id)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "deleted"})
		default:
			http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *droppingService) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.items)
}

// TestAServiceThatDropsFieldsLosesNothing: against a service that keeps
// only a password's fields, a password round-trips, while a card, a secret
// and an update whose metadata the service throws away answer 502 naming
// the fields; no row is written or changed, and the items it did make are
// deleted through the outbox. With CREDVAULT_READ_BACK=off the same card
// is acknowledged (the knob's documented trade).
func TestAServiceThatDropsFieldsLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Droppers")
	svc := newDroppingService(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.URL+"/api/v1/credentials", svcToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	pw := passwordBody("Bank")
	delete(pw["credential"].(map[string]any), "metadata")
	delete(pw["credential"].(map[string]any), "totp_identifier")
	r := h.do("POST", "/api/v1/credentials", key, pw)
	if r.status != 201 {
		t.Fatalf("password: %d %s", r.status, scrub(string(r.body)))
	}
	pwID := r.json(t)["credential_id"].(string)
	for _, c := range []struct {
		body   map[string]any
		fields []string
	}{
		{cardBody("Card"), []string{"card_number", "card_cvv", "card_exp_month", "card_exp_year", "card_holder_name"}},
		{secretBody("API", "label"), []string{"secret_value"}},
	} {
		r := h.do("POST", "/api/v1/credentials", key, c.body)
		if r.status != 502 {
			t.Fatalf("%s create = %d %s, want 502", c.body["credential_type"], r.status, scrub(string(r.body)))
		}
		for _, f := range c.fields {
			if !strings.Contains(r.detail(), f) {
				t.Fatalf("%s create's answer %q does not name %s", c.body["credential_type"], r.detail(), f)
			}
		}
	}
	upd := passwordBody("Bank") // with metadata, which the service drops
	if r := h.do("POST", "/api/v1/credentials/"+pwID+"/update", key, upd); r.status != 502 || !strings.Contains(r.detail(), "metadata") {
		t.Fatalf("update with metadata = %d %s, want 502 naming metadata", r.status, scrub(string(r.body)))
	}
	if r := h.do("GET", "/api/v1/credentials/"+pwID+"/totp-code", key, nil); r.status != 200 {
		t.Fatalf("the password after the refused update: %d %s", r.status, r.body)
	}
	var rows int
	_ = testStore(h.p).SQLDB().QueryRow("SELECT COUNT(*) FROM credentials WHERE organization_id = $1 AND deleted_at IS NULL", orgID).Scan(&rows)
	h.p.Outbox.RunOnce(t.Context())
	if rows != 1 || svc.count() != 1 {
		t.Fatalf("rows %d, service items %d: want 1 and 1 (the refused writes' items deleted)", rows, svc.count())
	}
	h.assertNoSecret(allSecrets...)

	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.NoReadBack = true
	off := newHarnessWithConfig(t, cfg)
	_, key2 := off.org("Trusting")
	if r := off.do("POST", "/api/v1/credentials/custom_credential/create", key2, cfgBody(svc.URL+"/api/v1/credentials", svcToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	if r := off.do("POST", "/api/v1/credentials", key2, cardBody("Card")); r.status != 201 {
		t.Fatalf("card with read-back off = %d %s", r.status, scrub(string(r.body)))
	}
}

// TestConnectionTestSaysWhatTheServiceStores: the round trip covers the
// three types and says which the service stores whole; the plain test
// says whether the token was accepted, asking for an unknown item.
func TestConnectionTestSaysWhatTheServiceStores(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	_, key := h.org("Testers")
	svc := newDroppingService(t, svcToken)
	body := cfgBody(svc.URL+"/api/v1/credentials", svcToken)
	r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection?mode=roundtrip", key, body)
	d := r.detail()
	if r.status != 200 || r.json(t)["success"] != true || !strings.Contains(d, "password ✓") ||
		!strings.Contains(d, "credit_card ✗ drops") || !strings.Contains(d, "card_number") || !strings.Contains(d, "secret ✗ drops secret_value") {
		t.Fatalf("round trip against a service keeping passwords only = %d %s", r.status, r.body)
	}
	r = h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, body)
	if r.status != 200 || !strings.Contains(r.detail(), "token was accepted") {
		t.Fatalf("plain test = %d %s", r.status, r.body)
	}
	// A service whose base URL answers 404 to anyone, and whose items
	// need the token: reachable, and the wrong token is named.
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") == "/api/v1/credentials" || r.Header.Get("Authorization") != "Bearer "+svcToken {
			if strings.TrimSuffix(r.URL.Path, "/") != "/api/v1/credentials" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer gate.Close()
	r = h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, cfgBody(gate.URL+"/api/v1/credentials", "wrong-token-0123456789"))
	if r.status != 400 || r.json(t)["status_code"] != float64(401) || !strings.Contains(r.detail(), "rejected the API token") {
		t.Fatalf("plain test with a wrong token = %d %s", r.status, r.body)
	}
}
