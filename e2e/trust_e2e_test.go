package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/vault"
)

const envToken = "env-token-1234567890abcdef"

// TestCrossOrganizationItemIDIsNotResolvedElsewhere replays the attack:
// organization A points its configuration at a service it controls, which
// answers create with the id of an item organization B stored in the
// shared env-configured service; A then clears its configuration. A's
// credential must still be read and deleted only through A's (cleared)
// configuration: never B's secret, never B's item deleted.
func TestCrossOrganizationItemIDIsNotResolvedElsewhere(t *testing.T) {
	t.Parallel()
	h, envSvc := envHarness(t, testdb.Postgres)
	orgA, keyA := h.org("A")
	_, keyB := h.org("B")

	// B stores a credential with an authenticator seed in the env service.
	r := h.do("POST", "/api/v1/credentials", keyB, passwordBody("B's bank"))
	if r.status != 201 {
		t.Fatalf("B create = %d %s", r.status, scrub(string(r.body)))
	}
	credB := r.json(t)["credential_id"].(string)
	if envSvc.Items() != 1 {
		t.Fatalf("env service holds %d items, want 1", envSvc.Items())
	}
	const victimItem = "cred_1" // the fake's first id

	// A's own service stores honestly, and its ids are those of B's
	// service: A's item is B's item id, elsewhere.
	evil := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", keyA, cfgBody(evil.Base(), svcToken)); r.status != 200 {
		t.Fatalf("A configure = %d %s", r.status, r.body)
	}
	body := passwordBody("A's decoy")
	body["credential"].(map[string]any)["totp"] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	r = h.do("POST", "/api/v1/credentials", keyA, body)
	if r.status != 201 {
		t.Fatalf("A create = %d %s", r.status, scrub(string(r.body)))
	}
	credA := r.json(t)["credential_id"].(string)
	if row, err := testStore(h.p).GetCredential(t.Context(), orgA, credA); err != nil || row.ItemID != victimItem {
		t.Fatalf("A's item id = %q %v, want B's %q", row.ItemID, err, victimItem)
	}
	if r := h.do("DELETE", "/api/v1/credentials/custom_credential", keyA, nil); r.status != 200 {
		t.Fatalf("A clear = %d", r.status)
	}
	// B's code, for comparison.
	codeB := h.do("GET", "/api/v1/credentials/"+credB+"/totp-code", keyB, nil)
	if codeB.status != 200 {
		t.Fatalf("B totp = %d %s", codeB.status, codeB.body)
	}
	envBefore := envSvc.Requests.Load()

	// A's TOTP and secret read go to A's own (cleared) configuration's
	// service, which holds A's decoy under that id: never the env service.
	r = h.do("GET", "/api/v1/credentials/"+credA+"/totp-code", keyA, nil)
	if r.status == 200 && r.json(t)["code"] == codeB.json(t)["code"] {
		t.Fatalf("A's totp-code returned B's code")
	}
	if got, err := h.p.Credentials.GetWithSecret(t.Context(), orgIDOf(t, h, keyA), credA); err != nil ||
		got.Credential.Password.TOTP.Reveal() != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("A's GetWithSecret did not read A's own decoy (%v): it must never reach B's item", err)
	}
	r = h.do("DELETE", "/api/v1/credentials/"+credA, keyA, nil)
	if r.status != 204 && r.status != 409 && r.status != 502 {
		t.Fatalf("A delete = %d %s", r.status, r.body)
	}
	if n := envSvc.Requests.Load() - envBefore; n != 0 {
		t.Fatalf("A's reads and delete sent %d requests to the env service that stored B's item", n)
	}
	if envSvc.Items() != 1 {
		t.Fatal("A's delete removed B's item from the env service")
	}
	if r := h.do("GET", "/api/v1/credentials/"+credB+"/totp-code", keyB, nil); r.status != 200 {
		t.Fatalf("B's credential broke after A's attack: %d %s", r.status, r.body)
	}
}

// TestUnusableStoringConfigurationIsAConflict: an item whose storing
// configuration is gone is never looked up elsewhere; the answer is a 409
// that says what happened and how to move the credential.
func TestUnusableStoringConfigurationIsAConflict(t *testing.T) {
	t.Parallel()
	h, envSvc := envHarness(t, testdb.Postgres)
	orgA, keyA := h.org("A")
	r := h.do("POST", "/api/v1/credentials", keyA, secretBody("api", "label"))
	if r.status != 201 {
		t.Fatalf("create = %d %s", r.status, scrub(string(r.body)))
	}
	id := r.json(t)["credential_id"].(string)
	// The row's storing configuration is purged (simulated by pointing
	// the row at a configuration id that does not exist).
	if _, err := testStore(h.p).SQLDB().Exec("UPDATE credentials SET vault_source = 'cfg_purged' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgA, id); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("GetWithSecret through a purged configuration = %v, want ErrSourceUnavailable", err)
	}
	if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", keyA, nil); r.status != 400 {
		t.Fatalf("totp-code of a secret = %d", r.status)
	}
	// A delete removes the row and records the item's deletion; the outbox
	// keeps it (never sending it to another service) with the reason.
	for _, path := range []string{"/api/v1/credentials/%s", "/api/v1/credentials/%s/delete"} {
		del := h.do("POST", "/api/v1/credentials", keyA, secretBody("gone", "label")).json(t)["credential_id"].(string)
		if _, err := testStore(h.p).SQLDB().Exec("UPDATE credentials SET vault_source = 'cfg_purged' WHERE id = $1", del); err != nil {
			t.Fatal(err)
		}
		h.p.Credentials.Flush()
		before := envSvc.Requests.Load()
		method := "DELETE"
		if strings.HasSuffix(path, "/delete") {
			method = "POST"
		}
		if r := h.do(method, fmt.Sprintf(path, del), keyA, nil); r.status != 204 {
			t.Fatalf("%s %s = %d %s, want 204", method, path, r.status, r.body)
		}
		if n := envSvc.Requests.Load() - before; n != 0 {
			t.Fatalf("%d requests went to the env service for an item it did not store", n)
		}
	}
	ds, err := testStore(h.p).ListDeletions(t.Context(), 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("outbox = %v %v, want the 2 deletions", ds, err)
	}
	for _, d := range ds {
		if d.VaultSource != "cfg_purged" || !strings.Contains(d.LastError, "earlier custom credential service configuration") {
			t.Fatalf("outbox entry %+v does not keep the storing configuration and why it is unusable", d)
		}
	}
	// A password stored by a purged configuration can be moved too, by an
	// update that carries every field: one that omits its metadata is a
	// 409 naming it (stored fields are kept only from the current
	// service's items).
	pw := h.do("POST", "/api/v1/credentials", keyA, passwordBody("Bank"))
	pwID := pw.json(t)["credential_id"].(string)
	if _, err := testStore(h.p).SQLDB().Exec("UPDATE credentials SET vault_source = 'cfg_purged' WHERE id = $1", pwID); err != nil {
		t.Fatal(err)
	}
	h.p.Credentials.Flush()
	upd := passwordBody("Bank")
	delete(upd["credential"].(map[string]any), "metadata")
	if r := h.do("POST", "/api/v1/credentials/"+pwID+"/update", keyA, upd); r.status != 409 || !strings.Contains(r.detail(), "credential.metadata") {
		t.Fatalf("moving a password by an update that omits its metadata = %d %s, want 409 naming it", r.status, scrub(string(r.body)))
	}
	if r := h.do("POST", "/api/v1/credentials/"+pwID+"/update", keyA, passwordBody("Bank")); r.status != 200 {
		t.Fatalf("moving a password by update = %d %s", r.status, scrub(string(r.body)))
	}
	// The credential can be moved by updating it: the new item goes to the
	// current service.
	if r := h.do("POST", "/api/v1/credentials/"+id+"/update", keyA, secretBody("api", "label")); r.status != 200 {
		t.Fatalf("update = %d %s", r.status, scrub(string(r.body)))
	}
	if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgA, id); err != nil {
		t.Fatalf("after update: %v", err)
	}
}

func orgIDOf(t *testing.T, h *harness, key string) string {
	t.Helper()
	p, err := h.p.Organizations.Authenticate(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p.OrganizationID
}

// TestSavedTokenIsNeverSentToAnotherURL: holding an organization's API key
// must not let anyone send the saved service token to a URL of their
// choosing, by leaving the token out or echoing the masked form.
func TestSavedTokenIsNeverSentToAnotherURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	good := fakeservice.New(t, svcToken)
	_, keyA := h.org("A")
	_, keyB := h.org("B")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", keyA, cfgBody(good.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure = %d %s", r.status, r.body)
	}
	var captured atomicStrings
	thief := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		captured.add(r.Header.Get("Authorization"))
		w.WriteHeader(200)
	})
	mask := maskedToken(t, h, keyA)
	for _, tc := range []struct {
		name string
		body any
	}{
		{"no token", map[string]any{"config": map[string]string{"api_base_url": thief + "/api"}}},
		{"empty token", cfgBody(thief+"/api", "")},
		{"masked token", cfgBody(thief+"/api", mask)},
		{"another path on the saved host", cfgBody(good.URL+"/other", "")},
	} {
		for _, route := range []string{"test_connection", "test_connection?mode=roundtrip", "create"} {
			r := h.do("POST", "/api/v1/credentials/custom_credential/"+route, keyA, tc.body)
			if r.status != 400 || !strings.Contains(r.detail(), "config.api_token") {
				t.Errorf("%s via %s = %d %s, want 400 naming config.api_token", tc.name, route, r.status, r.body)
			}
		}
	}
	// Another organization has nothing saved: it cannot borrow A's.
	if r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", keyB, cfgBody(good.Base(), mask)); r.status != 400 ||
		!strings.Contains(r.detail(), "config.api_token") {
		t.Errorf("org B with A's mask = %d %s", r.status, r.body)
	}
	if got := captured.all(); len(got) != 0 {
		t.Fatalf("the thief's server received %d requests", len(got))
	}

	// Skyvern's settings page: load, keep the pre-filled masked token,
	// test, save. The saved token is kept (not the mask) and still works.
	r := h.do("GET", "/api/v1/credentials/custom_credential/get", keyA, nil)
	url := innerToken(t, r)["api_base_url"]
	for _, route := range []string{"test_connection", "create", "test_connection?mode=roundtrip"} {
		if r := h.do("POST", "/api/v1/credentials/custom_credential/"+route, keyA, cfgBody(url, mask)); r.status != 200 {
			t.Fatalf("frontend round trip %s with the masked token = %d %s", route, r.status, r.body)
		}
	}
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", keyA, cfgBody(url+"/", "")); r.status != 200 {
		t.Fatalf("save with an empty token and the same URL (trailing slash) = %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/credentials", keyA, secretBody("after", "x")); r.status != 201 {
		t.Fatalf("the kept token no longer works: %d %s", r.status, scrub(string(r.body)))
	}
	if m := maskedToken(t, h, keyA); m != mask {
		t.Fatalf("mask after the round trip = %q, want %q (the token must be kept)", m, mask)
	}
	h.assertNoSecret(svcToken)
}
