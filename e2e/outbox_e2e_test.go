package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// flakyDeletes makes svc refuse DELETEs while failing is set, and counts
// the DELETEs that reach it per item.
type flakyDeletes struct {
	failing atomic.Bool
	mu      sync.Mutex
	deletes map[string]int
}

func newFlakyDeletes(svc *fakeservice.Service) *flakyDeletes {
	f := &flakyDeletes{deletes: map[string]int{}}
	f.failing.Store(true)
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		if f.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		f.mu.Lock()
		f.deletes[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
		f.mu.Unlock()
		return false
	}
	return f
}

func waitFor0Pending(t *testing.T, p *credvault.Platform, within time.Duration, skipBackoff bool) {
	t.Helper()
	if skipBackoff {
		// Skip the backoff the failures earned: make every entry due now, as
		// if that time had passed (only with one worker running: it would
		// also end another worker's lease).
		if _, err := testStore(p).SQLDB().ExecContext(context.Background(), "UPDATE vault_deletions SET next_attempt_at = now()"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(within)
	for {
		n, _, err := testStore(p).DeletionStats(context.Background())
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deletion(s) still pending after %v (%v)", n, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOutboxSurvivesFailuresAndRestart: an update's replaced item whose
// DELETE fails is recorded and retried — across a process restart — until
// the service holds exactly the items rows point to.
func TestOutboxSurvivesFailuresAndRestart(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	flaky := newFlakyDeletes(svc)

	// Process A: updates while the service refuses deletes, then stops.
	a := newHarnessWithConfig(t, cfg)
	_, key := a.org("Acme")
	a.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken))
	var ids []string
	for i := range 3 {
		ids = append(ids, a.do("POST", "/api/v1/credentials", key, secretBody("s", "l")).json(t)["credential_id"].(string))
		if r := a.do("POST", "/api/v1/credentials/"+ids[i]+"/update", key, secretBody("s", "l2")); r.status != 200 {
			t.Fatalf("update = %d %s", r.status, r.body)
		}
	}
	if n, _, _ := testStore(a.p).DeletionStats(context.Background()); n != 3 {
		t.Fatalf("%d deletions recorded, want 3", n)
	}
	if r := a.do("GET", "/metrics", "", nil); !strings.Contains(string(r.body), "credvault_outbox_pending 3") {
		t.Error("/metrics does not show 3 pending deletions")
	}
	a.srv.Close()
	a.p.Close()

	// Process B starts on the same database; the service recovers.
	b := newHarnessWithConfig(t, cfg)
	flaky.failing.Store(false)
	waitFor0Pending(t, b.p, 15*time.Second, true)
	if svc.Items() != len(ids) {
		t.Fatalf("the service holds %d items for %d credentials (orphans)", svc.Items(), len(ids))
	}
	for _, id := range ids {
		if _, err := b.p.Credentials.GetWithSecret(context.Background(), orgIDOf(t, b, key), id); err != nil {
			t.Fatalf("a credential lost its item: %v", err)
		}
	}
}

// TestOutboxTwoProcessesDeleteEachItemOnce: two processes share the
// database and both run the worker; every recorded deletion reaches the
// service exactly once.
func TestOutboxTwoProcessesDeleteEachItemOnce(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	flaky := newFlakyDeletes(svc)
	a := newHarnessWithConfig(t, cfg)
	b := newHarnessWithConfig(t, cfg)
	_, key := a.org("Acme")
	a.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken))
	const n = 12
	for i := range n {
		h := a
		if i%2 == 1 {
			h = b
		}
		id := h.do("POST", "/api/v1/credentials", key, secretBody("s", "l")).json(t)["credential_id"].(string)
		if r := h.do("POST", "/api/v1/credentials/"+id+"/update", key, secretBody("s", "l2")); r.status != 200 {
			t.Fatalf("update = %d", r.status)
		}
	}
	flaky.failing.Store(false)
	waitFor0Pending(t, a.p, 90*time.Second, false)
	flaky.mu.Lock()
	defer flaky.mu.Unlock()
	if len(flaky.deletes) != n {
		t.Fatalf("%d distinct items deleted, want %d", len(flaky.deletes), n)
	}
	for item, times := range flaky.deletes {
		if times != 1 {
			t.Fatalf("item %s was deleted %d times, want exactly once", item, times)
		}
	}
	if svc.Items() != n {
		t.Fatalf("the service holds %d items for %d credentials", svc.Items(), n)
	}
}
