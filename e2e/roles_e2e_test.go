package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/store"
)

// TestTheKeyARunUsesCannotRepointOrEmptyTheVault: an agent key made over
// REST reads what a run needs (the list, a credential, a TOTP code) and
// is refused everything else — repointing the service, clearing it,
// migrating, deleting, managing keys — with a 403 naming its role, before
// anything changes: the configuration stays, the credential stays, the
// hostile service never hears from credvault, and each refusal is in the
// audit trail.
func TestTheKeyARunUsesCannotRepointOrEmptyTheVault(t *testing.T) {
	t.Parallel()
	h, svc, orgID, admin := configured(t, testdb.Postgres)
	created := h.do("POST", "/api/v1/credentials", admin, passwordBody("Bank"))
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, scrub(string(created.body)))
	}
	credID := created.json(t)["credential_id"].(string)

	mk := h.do("POST", "/api/v1/keys", admin, map[string]any{"role": "agent", "name": "nightly run", "expires_in": "720h"})
	if mk.status != 201 {
		t.Fatalf("create an agent key: %d %s", mk.status, mk.body)
	}
	k := mk.json(t)
	agent := k["api_key"].(string)
	if k["role"] != "agent" || k["name"] != "nightly run" || k["expires_at"] == nil {
		t.Fatalf("created key: %v", k)
	}
	if r := h.do("GET", "/api/v1/keys/current", agent, nil); r.status != 200 || r.json(t)["role"] != "agent" {
		t.Fatalf("current key: %d %s", r.status, r.body)
	}

	// What a run needs.
	for _, path := range []string{"/api/v1/credentials", "/api/v1/credentials/" + credID, "/api/v1/credentials/" + credID + "/totp-code"} {
		if r := h.do("GET", path, agent, nil); r.status != 200 {
			t.Errorf("agent GET %s: %d %s", path, r.status, scrub(string(r.body)))
		}
	}

	// Everything else, with a hostile service ready to receive secrets.
	var hits atomic.Int32
	hostileSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(hostileSrv.Close)
	hostile := struct{ base string }{hostileSrv.URL + "/api/v1/credentials"}
	for _, c := range []struct {
		method, path string
		body         any
		what         string
	}{
		{"POST", "/api/v1/credentials/custom_credential/create", cfgBody(hostile.base, "hostile-token-0123456789"), "change the credential service configuration"},
		{"POST", "/api/v1/credentials/custom_credential/test_connection", cfgBody(hostile.base, "hostile-token-0123456789"), "change the credential service configuration"},
		{"DELETE", "/api/v1/credentials/custom_credential", nil, "change the credential service configuration"},
		{"POST", "/api/v1/credentials/custom_credential/migrate?all_sources=true", nil, "migrate credentials between credential services"},
		{"POST", "/api/v1/credentials/" + credID + "/update", passwordBody("Bank"), "create, change or delete credentials"},
		{"DELETE", "/api/v1/credentials/" + credID, nil, "create, change or delete credentials"},
		{"POST", "/api/v1/keys", map[string]any{"role": "admin"}, "manage API keys"},
		{"GET", "/api/v1/audit-events", nil, "read the audit trail"},
	} {
		r := h.do(c.method, c.path, agent, c.body)
		want := "this API key's role (agent) cannot " + c.what
		if r.status != 403 || r.json(t)["detail"] != want {
			t.Errorf("agent %s %s: %d %s, want 403 %q", c.method, c.path, r.status, r.body, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the hostile service received %d requests", n)
	}
	if st := h.do("GET", "/api/v1/credentials/custom_credential/get", admin, nil); st.status != 200 ||
		!strings.Contains(string(st.body), svc.Base()) {
		t.Fatalf("the configuration changed: %d %s", st.status, st.body)
	}
	if r := h.do("GET", "/api/v1/credentials/"+credID+"/totp-code", agent, nil); r.status != 200 {
		t.Fatalf("the credential is gone: %d", r.status)
	}
	events, err := h.p.Organizations.Audit(context.Background(), orgID, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, e := range events {
		if e.Action == org.ActionDenied && e.ActorKeyID == k["api_key_id"] {
			denied++
		}
	}
	if denied != 8 {
		t.Fatalf("%d refusals audited, want 8", denied)
	}
}

// TestKeysAreManagedByAdminsOnly: a member writes credentials but not the
// configuration; an expired key is told so; the last admin key that works
// cannot be revoked over REST; a revoked key is refused at once.
func TestKeysAreManagedByAdminsOnly(t *testing.T) {
	t.Parallel()
	h, _, orgID, admin := configured(t, testdb.SQLite)
	member, err := h.p.Organizations.AddKey(context.Background(), orgID, org.KeyOptions{Role: org.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do("POST", "/api/v1/credentials", member.APIKey, secretBody("OpenAI", "prod")); r.status != 201 {
		t.Fatalf("member create: %d %s", r.status, scrub(string(r.body)))
	}
	if r := h.do("DELETE", "/api/v1/credentials/custom_credential", member.APIKey, nil); r.status != 403 ||
		r.json(t)["detail"] != "this API key's role (member) cannot change the credential service configuration" {
		t.Fatalf("member clear: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/keys", admin, map[string]any{"role": "owner"}); r.status != 400 || !strings.Contains(string(r.body), "role") {
		t.Fatalf("an unknown role: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/keys", admin, map[string]any{"name": "x"}); r.status != 400 || !strings.Contains(string(r.body), "role") {
		t.Fatalf("no role: %d %s", r.status, r.body)
	}

	short, err := h.p.Organizations.AddKey(context.Background(), orgID, org.KeyOptions{Role: org.RoleAgent, Expires: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.do("GET", "/api/v1/credentials", short.APIKey, nil)
		if r.status == 401 && strings.Contains(string(r.body), "expired") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired key: %d %s", r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}

	ks := h.do("GET", "/api/v1/keys", admin, nil)
	if ks.status != 200 || !strings.Contains(string(ks.body), `"role":"member"`) || strings.Contains(string(ks.body), member.APIKey) {
		t.Fatalf("list keys: %d %s", ks.status, ks.body)
	}
	adminID := ""
	keys, _ := h.p.Organizations.Keys(context.Background(), orgID)
	for _, k := range keys {
		if k.Role == org.RoleAdmin {
			adminID = k.APIKeyID
		}
	}
	if r := h.do("DELETE", "/api/v1/keys/"+adminID, admin, nil); r.status != 409 {
		t.Fatalf("revoking the last admin key: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", "/api/v1/keys/"+member.APIKeyID, admin, nil); r.status != 200 {
		t.Fatalf("revoke the member key: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/v1/credentials", member.APIKey, nil); r.status != 401 {
		t.Fatalf("a revoked key: %d", r.status)
	}
	if r := h.do("DELETE", "/api/v1/keys/key_nope", admin, nil); r.status != 404 {
		t.Fatalf("an unknown key: %d", r.status)
	}
}

// TestTheAuditTrailNamesEveryReadAndStaysBounded: a TOTP code read over
// REST leaves an event naming the key, its role and the request id the
// answer carried; events past the retention are pruned, newer ones kept.
func TestTheAuditTrailNamesEveryReadAndStaysBounded(t *testing.T) {
	t.Parallel()
	h, _, orgID, admin := configured(t, testdb.Postgres)
	created := h.do("POST", "/api/v1/credentials", admin, passwordBody("Bank"))
	credID := created.json(t)["credential_id"].(string)
	agent, err := h.p.Organizations.AddKey(context.Background(), orgID, org.KeyOptions{Role: org.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/api/v1/credentials/"+credID+"/totp-code", agent.APIKey, nil)
	if r.status != 200 {
		t.Fatalf("totp-code: %d", r.status)
	}
	h.p.Credentials.FlushAudit(context.Background()) // the writer's next tick, now
	events, err := h.p.Organizations.Audit(context.Background(), orgID, store.AuditFilter{Action: credentials.ActionTOTPCode, ActorKeyID: agent.APIKeyID})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit: %v %+v", err, events)
	}
	if e := events[0]; e.TargetID != credID || e.ActorRole != "agent" || e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("the read's event: %+v (request id %q)", e, r.header.Get("X-Request-Id"))
	}

	// An event 401 days old goes; the rest stay.
	if _, err := testStore(h.p).SQLDB().ExecContext(context.Background(),
		"INSERT INTO audit_events (id, organization_id, actor_key_id, action, target_id, created_at) VALUES ('evt_old', $1, 'k', 'credential.totp_code', 'c', now() - interval '401 days')", orgID); err != nil {
		t.Fatal(err)
	}
	before, _ := h.p.Organizations.Audit(context.Background(), orgID, store.AuditFilter{})
	if n := h.p.PruneAudit(context.Background(), slog.New(slog.DiscardHandler)); n != 1 {
		t.Fatalf("pruned %d events, want 1", n)
	}
	after, _ := h.p.Organizations.Audit(context.Background(), orgID, store.AuditFilter{})
	if len(after) != len(before)-1 {
		t.Fatalf("%d events before, %d after", len(before), len(after))
	}
	for _, e := range after {
		if e.EventID == "evt_old" {
			t.Fatal("the old event stayed")
		}
	}
}
