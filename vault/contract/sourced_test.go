package contract_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/vaulttest"
)

// TestClientAsASourcedVault: a client names its configuration, creates
// only through it, probes, and replays a create with the recovery header.
func TestClientAsASourcedVault(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var recovered []string
	svc := fakeservice.New(t, vaulttest.Token)
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Idempotency-Recover") != "" {
			mu.Lock()
			recovered = append(recovered, r.Header.Get("Idempotency-Key"))
			mu.Unlock()
		}
		return false
	}
	c := vaulttest.Client(t, svc.Base(), contract.Options{Source: "cfg_1"})
	ctx := context.Background()
	if c.Source() != "cfg_1" || c.BaseURL() != svc.Base() {
		t.Fatalf("source %q base %q", c.Source(), c.BaseURL())
	}
	if cur, _ := c.CurrentSource(ctx, "org"); cur != "cfg_1" {
		t.Fatalf("current source %q", cur)
	}
	if _, err := c.CreateAt(ctx, "org", "cfg_2", vaulttest.Secret()); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("creating through another configuration: %v", err)
	}
	ref, err := c.CreateAt(ctx, "org", "cfg_1", vaulttest.Secret())
	if err != nil || ref.Source != "cfg_1" {
		t.Fatalf("create at: %+v %v", ref, err)
	}
	if _, err := c.Get(ctx, "org", vault.ItemRef{ID: ref.ID, Source: "cfg_2"}); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("reading another configuration's ref: %v", err)
	}
	if err := c.Delete(ctx, "org", vault.ItemRef{ID: ref.ID, Source: "cfg_2"}); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("deleting another configuration's ref: %v", err)
	}
	if status, err := c.Probe(ctx); err != nil || status == 0 {
		t.Fatalf("probe: %d %v", status, err)
	}
	if _, _, err := c.ReplayCreate(ctx, "org", "cfg_1", "cred_1/v2"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recovered) != 1 || recovered[0] != "cred_1/v2" {
		t.Fatalf("the replay did not ask for recovery: %v", recovered)
	}
	if _, _, err := c.ReplayCreate(ctx, "org", "cfg_9", "k"); !errors.Is(err, vault.ErrSourceUnavailable) {
		t.Fatalf("replaying through another configuration: %v", err)
	}
}

// TestStatusDescriptions: every error status gets credvault's own words.
func TestStatusDescriptions(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{401: "rejected the API token", 403: "rejected the API token", 429: "rate-limiting",
		413: "too large", 409: "conflict", 400: "as invalid", 422: "as invalid", 503: "the service failed", 418: "refused the request"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
		c := vaulttest.Client(t, srv.URL+"/api", contract.Options{MaxAttempts: 1})
		_, err := c.Get(context.Background(), "org", vault.ItemRef{ID: "x"})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("HTTP %d: %v, want %q", status, err, want)
		}
	}
}

// TestInstrumentCountsEveryOperation: an instrumented vault counts each
// operation by outcome, sourced ones included.
func TestInstrumentCountsEveryOperation(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	reg := prometheus.NewRegistry()
	v := contract.NewMetrics(reg, func() uint64 { return 0 }).Instrument(vaulttest.Client(t, svc.Base(), contract.Options{Source: "cfg_1"}))
	ctx := context.Background()
	ref, err := v.Create(ctx, "org", vaulttest.Secret())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = v.CreateAt(ctx, "org", "cfg_1", vaulttest.Secret())
	_, _, _ = v.ReplayCreate(ctx, "org", "cfg_1", "k")
	if _, err := v.Get(ctx, "org", ref); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, "org", ref); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "org", ref); !errors.Is(err, vault.ErrItemGone) {
		t.Fatal(err)
	}
	if cur, _ := v.CurrentSource(ctx, "org"); cur != "cfg_1" {
		t.Fatal(cur)
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "create", "ok")); n != 3 {
		t.Fatalf("creates counted: %v", n)
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "get", "not_found")); n != 1 {
		t.Fatalf("not-found gets counted: %v", n)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, op, outcome string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "credvault_vault_operations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == op && labels["outcome"] == outcome {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no %s/%s counter", op, outcome)
	return nil
}
