package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// recordingService records every request body it receives and stores
// nothing: the attacker's own service.
func recordingService(t *testing.T, got *atomicStrings) string {
	t.Helper()
	return httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.add(string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"stolen_1"}`))
	}) + "/api/v1/credentials"
}

// received reports whether any body the hostile service got holds a
// secret.
func received(got *atomicStrings, secrets ...string) bool {
	for _, b := range got.all() {
		for _, s := range secrets {
			if strings.Contains(b, s) {
				return true
			}
		}
	}
	return false
}

// TestAPIKeyCannotMoveSecretsOut replays the attack of issue 19: an API
// key saves a configuration pointing at its own service, then asks for a
// migration and an update that omits stored fields. The hostile service
// receives no secret, and every item stays where it was, readable.
func TestAPIKeyCannotMoveSecretsOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Victim")
	one := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(one.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	pw := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	card := h.do("POST", "/api/v1/credentials", key, cardBody("Card")).json(t)["credential_id"].(string)

	// The attacker switches the organization to its own service.
	var got atomicStrings
	evil := recordingService(t, &got)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(evil, "attacker-token-0123456789")); r.status != 200 {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	migrate := "/api/v1/credentials/custom_credential/migrate"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no body", nil, 400, "sources"},
		{"no sources", map[string]any{"sources": []any{}}, 400, "sources"},
		{"its own service", map[string]any{"sources": []any{cfgBody(evil, "attacker-token-0123456789")["config"]}}, 200, ""},
		{"the old URL with a guessed token", map[string]any{"sources": []any{cfgBody(one.Base(), "guess-0123456789abcdef")["config"]}}, 403, "sources[0]"},
		{"the old URL with the masked token", map[string]any{"sources": []any{cfgBody(one.Base(), "********cdef")["config"]}}, 400, "sources[0].api_token"},
		{"an unknown field", map[string]any{"sources": []any{}, "all": true}, 400, "all"},
	} {
		r := h.do("POST", migrate, key, tc.body)
		if r.status != tc.status || !strings.Contains(r.detail(), tc.field) {
			t.Errorf("%s: %d %s, want %d naming %q", tc.name, r.status, r.body, tc.status, tc.field)
		}
		if tc.status == 200 {
			rep := r.json(t)
			if rep["migrated"] != float64(0) || rep["to_move"] != float64(0) {
				t.Errorf("%s: moved what it did not prove: %s", tc.name, r.body)
			}
		}
	}
	// Keep-on-update: the form leaves metadata and billing details out;
	// they are not read from the old service to be sent to the new one.
	upd := cardBody("Card")
	inner := upd["credential"].(map[string]any)
	delete(inner, "billing_address")
	delete(inner, "billing_email")
	r := h.do("POST", "/api/v1/credentials/"+card+"/update", key, upd)
	if r.status != 409 || !strings.Contains(r.detail(), "credential.billing_address") || !strings.Contains(r.detail(), "credential.metadata") {
		t.Errorf("update leaving stored fields out across services = %d %s, want 409 naming them", r.status, scrub(string(r.body)))
	}
	if received(&got, allSecrets...) {
		t.Fatal("the hostile service received a secret")
	}
	if len(got.all()) != 0 {
		t.Fatalf("the hostile service received %d requests, want none", len(got.all()))
	}
	for _, id := range []string{pw, card} {
		c, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id)
		if err != nil {
			t.Fatalf("%s is no longer readable where it was: %v", id, err)
		}
		if c.View.CredentialID != id {
			t.Fatal("wrong credential")
		}
	}
	if one.Items() != 2 {
		t.Fatalf("the original service holds %d items, want 2", one.Items())
	}

	// With the proof of the old configuration (its URL and full token)
	// the move is allowed; but this service answers every request with an
	// id and stores nothing readable, so the read-back refuses each move
	// and every credential stays where it was.
	r = h.do("POST", migrate, key, map[string]any{"sources": []any{cfgBody(one.Base(), svcToken)["config"]}})
	if r.status != 200 || r.json(t)["to_move"] != float64(2) || r.json(t)["migrated"] != float64(0) || !strings.Contains(string(r.body), "did not store") {
		t.Fatalf("proven migration to a service that stores nothing = %d %s", r.status, scrub(string(r.body)))
	}
	for _, id := range []string{pw, card} {
		if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id); err != nil {
			t.Fatalf("%s after the refused move: %v", id, err)
		}
	}
	// To a service that stores, the proven move goes through.
	two := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(two.Base(), svcToken)); r.status != 200 {
		t.Fatalf("switch to a storing service: %d %s", r.status, r.body)
	}
	r = h.do("POST", migrate, key, map[string]any{"sources": []any{cfgBody(one.Base(), svcToken)["config"]}})
	if r.status != 200 || r.json(t)["migrated"] != float64(2) {
		t.Fatalf("proven migration = %d %s", r.status, scrub(string(r.body)))
	}
}

// TestEnvItemsMoveOnlyByTheOperator: items stored in the operator's env
// service are never moved over REST, whatever the caller sends.
func TestEnvItemsMoveOnlyByTheOperator(t *testing.T) {
	t.Parallel()
	h, envSvc := envHarness(t, testdb.Postgres)
	_, key := h.org("Env user")
	if r := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")); r.status != 201 {
		t.Fatalf("create: %d", r.status)
	}
	var got atomicStrings
	evil := recordingService(t, &got)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(evil, "attacker-token-0123456789")); r.status != 200 {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	for _, tok := range []string{envToken, "guess-0123456789abcdef"} {
		r := h.do("POST", "/api/v1/credentials/custom_credential/migrate", key,
			map[string]any{"sources": []any{cfgBody(envSvc.Base(), tok)["config"]}})
		if r.status != 403 || !strings.Contains(r.detail(), "credvault credentials migrate") {
			t.Errorf("moving env items over REST = %d %s, want 403 naming the CLI", r.status, r.body)
		}
	}
	if len(got.all()) != 0 || envSvc.Items() != 1 {
		t.Fatalf("hostile got %d requests; env service holds %d items", len(got.all()), envSvc.Items())
	}
}

// TestEnvMigrateIsRefusedBeforeTheAddressRules: the operator's service
// usually sits on a private network the organization address rules
// refuse; a REST migrate naming it still gets the documented 403 naming
// the command line, not a 400 about CREDVAULT_ALLOWED_HOSTS.
func TestEnvMigrateIsRefusedBeforeTheAddressRules(t *testing.T) {
	t.Parallel()
	envSvc := fakeservice.New(t, envToken)
	cfg := testConfig(t, testdb.Postgres)
	cfg.VaultType, cfg.CustomBaseURL, cfg.CustomToken = "custom", envSvc.Base(), config.Secret(envToken)
	h := newHarnessWithConfig(t, cfg) // no CREDVAULT_ALLOWED_HOSTS: loopback is private to organizations
	_, key := h.org("Env user")
	r := h.do("POST", "/api/v1/credentials/custom_credential/migrate", key,
		map[string]any{"sources": []any{cfgBody(envSvc.Base()+"/", envToken)["config"]}})
	if r.status != 403 || !strings.Contains(r.detail(), "credvault credentials migrate") {
		t.Fatalf("REST migrate from the env service = %d %s, want 403 naming the command", r.status, r.body)
	}
}
