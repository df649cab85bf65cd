package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// TestParallelUpdatesOfOneCredential: 40 updates of one credential at
// once, each with its own secret, against the reference service (which
// answers 422 to an Idempotency-Key reused with another body). Each gets
// 200 or 409, never a 502; the winner's secret is the one stored, and the
// service ends holding exactly the item the row points to.
func TestParallelUpdatesOfOneCredential(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Racers")
	rs := newRefService(t)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(rs.base(), refToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	r := h.do("POST", "/api/v1/credentials", key, secretBody("API", "l"))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, scrub(string(r.body)))
	}
	id := r.json(t)["credential_id"].(string)
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := map[string]any{"name": "API", "credential_type": "secret", "credential": map[string]any{
				"secret_value": fmt.Sprintf("parallel-secret-%02d", i), "secret_label": "l"}}
			r := h.do("POST", "/api/v1/credentials/"+id+"/update", key, body)
			statuses[i] = r.status
			if r.status != 200 && r.status != 409 {
				t.Errorf("update %d = %d %s", i, r.status, r.body)
			}
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		if s == 200 {
			won++
		}
	}
	if won == 0 {
		t.Fatalf("no update won: %v", statuses)
	}
	got, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Credential.Secret.Value.Reveal(); len(v) != len("parallel-secret-00") {
		t.Fatalf("stored secret %q is none of the updates'", v)
	}
	h.p.Outbox.RunOnce(t.Context())
	items := rs.items(t)
	row, _ := testStore(h.p).GetCredential(t.Context(), orgID, id)
	if len(items) != 1 || items[0] != row.ItemID {
		t.Fatalf("service items %v, row points to %s (%d updates won of %d)", items, row.ItemID, won, n)
	}
}
