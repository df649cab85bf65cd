package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/testdb"
)

// TestTokenRotationAsTheReadmeSays follows the README's "Rotate a token
// with no downtime" verbatim against the reference service: the new token
// goes into the tokens file beside the old one (reloaded as SIGHUP
// does), is saved in credvault, then the old one is removed. Every
// credential stored before the rotation still answers — its TOTP code,
// its secret, an update keeping its metadata — reconcile stays clean, and
// re-saving the unchanged configuration changes nothing.
func TestTokenRotationAsTheReadmeSays(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Rotators")
	rs := newRefService(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	reload := func(toks string) {
		t.Helper()
		if err := os.WriteFile(tokens, []byte(toks), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.svc.ReloadTokensFile(tokens); err != nil {
			t.Fatal(err)
		}
	}
	const newToken = "ref-token-rotated-9876543210"
	r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(rs.base(), refToken))
	if r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	cfgID := r.json(t)["token"].(map[string]any)["id"]
	var ids []string
	for _, b := range []map[string]any{passwordBody("Bank"), cardBody("Card"), secretBody("API", "label")} {
		r := h.do("POST", "/api/v1/credentials", key, b)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, scrub(string(r.body)))
		}
		ids = append(ids, r.json(t)["credential_id"].(string))
	}

	// 1. Add the new token next to the old one.
	reload(refToken + "\n" + newToken + "\n")
	// 2. Save the new token in credvault.
	r = h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(rs.base(), newToken))
	if r.status != 200 || r.json(t)["token"].(map[string]any)["id"] != cfgID {
		t.Fatalf("saving the new token: %d %s, want configuration %v kept", r.status, r.body, cfgID)
	}
	// 3. Remove the old token.
	reload(newToken + "\n")

	if r := h.do("GET", "/api/v1/credentials/"+ids[0]+"/totp-code", key, nil); r.status != 200 || len(r.json(t)["code"].(string)) != 6 {
		t.Fatalf("TOTP code of a credential stored before the rotation: %d %s", r.status, r.body)
	}
	for _, id := range ids {
		if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id); err != nil {
			t.Fatalf("secret of %s after the rotation: %v", id, err)
		}
	}
	// An update leaving the metadata out keeps it: the current
	// configuration stored the item.
	upd := passwordBody("Bank")
	delete(upd["credential"].(map[string]any), "metadata")
	if r := h.do("POST", "/api/v1/credentials/"+ids[0]+"/update", key, upd); r.status != 200 {
		t.Fatalf("update after the rotation: %d %s", r.status, scrub(string(r.body)))
	}
	got, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, ids[0])
	if err != nil || got.Credential.Password.Metadata["site"] != "bank" {
		t.Fatalf("kept metadata after the update: %v %v", got.Credential.Password, err)
	}

	// The settings page's Update with nothing changed (the masked token).
	masked := maskedToken(t, h, key)
	r = h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(rs.base(), masked))
	if r.status != 200 || r.json(t)["token"].(map[string]any)["id"] != cfgID {
		t.Fatalf("unchanged re-save: %d %s", r.status, r.body)
	}
	rep, err := h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{OrganizationID: orgID})
	if err != nil || !rep.Clean() || rep.Checked != 3 {
		t.Fatalf("reconcile after the rotation: %+v %v", rep, err)
	}
}
