package contract_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/vaulttest"
)

// TestTransportKeepsConnectionsForManyHosts: requests spread over 1,000
// distinct service hosts reuse their connections: after one warm-up
// round, at most 50 new connections per 1,000 requests (the transport
// used to keep 256 idle connections in all, so round-robin traffic over
// 1,000 hosts reconnected ~750 times per 1,000 requests).
func TestTransportKeepsConnectionsForManyHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 1,000 loopback servers")
	}
	const hosts = 1000
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	})
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	tr := netpolicy.NewTransport(policy)
	hc := contract.NewHTTPClient(tr)
	t.Cleanup(tr.CloseIdleConnections)
	clients := make([]*contract.Client, hosts)
	for i := range clients {
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		clients[i] = vaulttest.Client(t, srv.URL+"/api", contract.Options{Transport: tr, HTTP: hc})
	}
	round := func() {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, c := range clients {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := c.GetItem(context.Background(), "x"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	round() // warm-up: one connection per host
	before := tr.ConnectionsOpened()
	for range 3 {
		round()
	}
	perThousand := float64(tr.ConnectionsOpened()-before) / 3
	t.Logf("new connections per 1,000 requests over %d hosts: %.1f", hosts, perThousand)
	if perThousand > 50 {
		t.Fatalf("%.1f new connections per 1,000 requests, want at most 50", perThousand)
	}
}

// TestTransportCapsRequestsInFlightPerHost: 300 parallel reads of one
// service put at most netpolicy.DefaultConnsPerHost requests in flight there
// (the rest wait for a connection), and every one succeeds.
func TestTransportCapsRequestsInFlightPerHost(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		_, _ = w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	}))
	t.Cleanup(srv.Close)
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	tr := netpolicy.NewTransport(policy)
	t.Cleanup(tr.CloseIdleConnections)
	c := vaulttest.Client(t, srv.URL+"/api", contract.Options{Transport: tr, Timeout: 20 * time.Second})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 300 {
		wg.Go(func() {
			if _, err := c.GetItem(context.Background(), "x"); err != nil {
				failed.Add(1)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for peak.Load() < netpolicy.DefaultConnsPerHost && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != netpolicy.DefaultConnsPerHost || failed.Load() != 0 {
		t.Fatalf("peak in flight %d, want %d; %d failed", p, netpolicy.DefaultConnsPerHost, failed.Load())
	}
}

// Each transport counts its own connections: two owners (the org vault
// and the env vault, two platforms in one process) never add up in one
// process-wide counter, and a transport's owner releasing it leaves
// nothing behind.
func TestEachTransportCountsItsOwnConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	}))
	t.Cleanup(srv.Close)
	policy, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1"}, true)
	a, b := netpolicy.NewTransport(policy), netpolicy.NewTransport(policy)
	ca := vaulttest.Client(t, srv.URL+"/api", contract.Options{Transport: a, HTTP: contract.NewHTTPClient(a)})
	cb := vaulttest.Client(t, srv.URL+"/api", contract.Options{Transport: b})
	for range 3 {
		if _, err := ca.GetItem(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if a.ConnectionsOpened() != 1 || b.ConnectionsOpened() != 0 {
		t.Fatalf("opened: a %d, b %d; want 1 and 0", a.ConnectionsOpened(), b.ConnectionsOpened())
	}
	if _, err := cb.GetItem(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	a.CloseIdleConnections()
	if _, err := ca.GetItem(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if a.ConnectionsOpened() != 2 || b.ConnectionsOpened() != 1 {
		t.Fatalf("opened: a %d, b %d; want 2 and 1", a.ConnectionsOpened(), b.ConnectionsOpened())
	}
}
