package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// TestCredentialChangesAreAudited: create, update, rename, move and delete
// each leave an event (organization, acting key, action, credential id,
// time) beside the configuration events; GET /audit-events lists them
// newest first, per organization, with no name or value.
func TestCredentialChangesAreAudited(t *testing.T) {
	t.Parallel()
	h, _, orgID, key := configured(t, testdb.Postgres)
	_, keyB := h.org("B")
	p, err := h.p.Organizations.Authenticate(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	id := h.do("POST", "/api/v1/credentials", key, secretBody("Audited name", "label")).json(t)["credential_id"].(string)
	h.do("POST", "/api/v1/credentials/"+id+"/update", key, secretBody("Audited name", "label"))
	h.do("PATCH", "/api/v1/credentials/"+id, key, map[string]any{"name": "Renamed"})
	h.do("PATCH", "/api/v1/credentials/"+id, key, map[string]any{"tested_url": "https://example.com/login"})
	fid := h.do("POST", "/api/v1/credential_folders", key, map[string]any{"title": "F"}).json(t)["folder_id"].(string)
	h.do("PUT", "/api/v1/credentials/"+id+"/folder", key, map[string]any{"folder_id": fid})
	h.do("DELETE", "/api/v1/credentials/"+id, key, nil)

	r := h.do("GET", "/api/v1/audit-events?page_size=20", key, nil)
	var es []map[string]any
	if err := json.Unmarshal(r.body, &es); err != nil || r.status != 200 {
		t.Fatalf("audit-events = %d %s", r.status, r.body)
	}
	var actions []string
	for _, e := range es {
		if e["organization_id"] != orgID {
			t.Fatalf("an event of another organization: %v", e)
		}
		if e["target_id"] == id {
			if e["actor_key_id"] != p.KeyID {
				t.Errorf("event %v: actor %v, want %s", e["action"], e["actor_key_id"], p.KeyID)
			}
			actions = append(actions, e["action"].(string))
		}
	}
	want := "credential.delete credential.move credential.settings credential.rename credential.update credential.create"
	if strings.Join(actions, " ") != want {
		t.Fatalf("actions newest first = %v, want %s", actions, want)
	}
	if strings.Contains(string(r.body), "Audited name") || strings.Contains(string(r.body), "Renamed") || strings.Contains(string(r.body), apiSecret) {
		t.Fatal("the audit trail shows a name or a value")
	}
	// The configuration save is there too, and B sees none of A's.
	if !strings.Contains(string(r.body), "custom_credential.create") {
		t.Error("the configuration event is missing")
	}
	if r := h.do("GET", "/api/v1/audit-events", keyB, nil); strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("organization B sees %s", r.body)
	}
	if r := h.do("GET", "/api/v1/audit-events?page_size=501", key, nil); r.status != 400 {
		t.Errorf("page_size 501 = %d", r.status)
	}
}
