package e2e

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
)

// TestRevocationReachesAReplicaWhoseListenerIsDown: the change listener's
// connection is killed and the database refuses new connections, while
// the replica's pooled connections keep working. Another replica revokes
// the API key and deletes the credential: this replica refuses both
// within the bound (the caches check entries older than a second with the
// database while the feed is down), where it used to serve them for
// about a minute.
func TestRevocationReachesAReplicaWhoseListenerIsDown(t *testing.T) {
	t.Parallel()
	px := newProxied(t, "Unfed", nil)
	h, proxy, orgID, key, code, direct := px.harness, px.proxy, px.orgID, px.key, px.code, px.direct
	other := px.cfg
	other.DatabaseURL = config.SecretURL(direct)
	p2 := openPlatform(t, other, credvault.Options{})
	id := px.credentialID()

	// The listener's connection goes, and no new connection gets through.
	proxy.RefuseNew()
	admin, err := sql.Open("pgx", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	channel := testStore(h.p).Channel()
	deadline := time.Now().Add(10 * time.Second)
	for killed == 0 && time.Now().Before(deadline) {
		_ = admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`,
			channel).Scan(&killed)
	}
	if killed == 0 {
		t.Fatal("found no listener connection to kill")
	}
	for !strings.Contains(h.logs.String(), "change listener lost its connection") {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not notice its connection was gone")
		}
		time.Sleep(10 * time.Millisecond) // polling the log with a deadline
	}
	// Served from the pool while nothing changed.
	if r := h.do("GET", code, key, nil); r.status != 200 {
		t.Fatalf("a read with the listener down = %d %s", r.status, r.body)
	}

	// Another replica deletes the credential, then revokes the key.
	if err := p2.Credentials.Delete(t.Context(), orgID, id); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		r := h.do("GET", code, key, nil)
		if r.status == 404 {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("the deleted credential still answers %d after %v", r.status, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond) // the load's pace
	}
	t.Logf("deleted credential refused %v after the delete", time.Since(start).Round(time.Millisecond))
	keys, err := p2.Organizations.Keys(t.Context(), orgID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := p2.Organizations.RevokeKey(t.Context(), orgID, keys[0].APIKeyID); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for {
		r := h.do("GET", "/api/v1/credentials", key, nil)
		if r.status == 401 {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("the revoked key still answers %d after %v", r.status, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("revoked key refused %v after the revocation", time.Since(start).Round(time.Millisecond))
	proxy.Restore()
}
