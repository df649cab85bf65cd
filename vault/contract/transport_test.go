package contract_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/credvault/credvault/internal/testcred"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
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
	t.Cleanup(tr.CloseIdleConnections)
	clients := make([]*contract.Client, hosts)
	for i := range clients {
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		clients[i] = testcred.Client(t, srv.URL+"/api", contract.Options{Transport: tr})
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
	before := netpolicy.ConnectionsOpened()
	for range 3 {
		round()
	}
	perThousand := float64(netpolicy.ConnectionsOpened()-before) / 3
	t.Logf("new connections per 1,000 requests over %d hosts: %.1f", hosts, perThousand)
	if perThousand > 50 {
		t.Fatalf("%.1f new connections per 1,000 requests, want at most 50", perThousand)
	}
}
