package credentials_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// TestOutboxLogsAnOutageOnce: while the database is out, the worker's
// failed ticks are logged once (then at most once a minute), and its
// recovery once; a delayed deletion that succeeds at last is logged.
func TestOutboxLogsAnOutageOnce(t *testing.T) {
	t.Parallel()
	_, st, v := setup(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	healthy := credentials.New(credentials.Store(st), v, log)
	ctx := t.Context()
	view, _ := healthy.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	v.failDelete = &vault.UpstreamError{Op: "delete", StatusCode: 503}
	if err := healthy.Delete(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatal(err)
	}
	v.failDelete = nil
	dueNow(t, st)
	healthy.Outbox().RunOnce(ctx)
	if !strings.Contains(logs.String(), "a delayed vault item deletion succeeded") {
		t.Fatalf("the delayed deletion's success was not logged: %s", logs.String())
	}
	down := credentials.New(claimOutage{credentials.Store(st)}, v, log)
	for range 5 {
		down.Outbox().RunOnce(ctx)
	}
	if n := strings.Count(logs.String(), "could not claim deletions"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once", n)
	}
	if !strings.Contains(logs.String(), `"failed_ticks":1`) {
		t.Fatalf("no count of failed ticks: %s", logs.String())
	}
}

// claimOutage is a Storage whose outbox cannot be claimed.
type claimOutage struct{ credentials.Storage }

func (claimOutage) ClaimDeletions(context.Context, int, time.Duration) ([]store.VaultDeletion, error) {
	return nil, store.ErrUnavailable
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
