package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTOTPCodeOverHop is REST totp-code against the bare hop — an
// httputil.ReverseProxy adding the Bearer token and nothing else — to the
// same item of the same loopback service, one request at a time from one
// client, in strict alternation: run with -cpu 1 and every part of both
// exchanges (client, front, service) shares one processor, so the time
// per request is their CPU and what credvault adds over a proxy is the
// difference, free of the wake-ups of idle cores that dominate a
// one-connection latency. It reports both times, their ratio and
// credvault's extra per request (scripts/bench.sh -hop).
func BenchmarkTOTPCodeOverHop(b *testing.B) {
	p, orgID, key, id := benchPlatform(b)
	ctx := context.Background()
	direct, itemID := directClient(b, p, orgID, id)
	upstream := mustParse(b, direct.BaseURL())
	hop := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Set("Authorization", "Bearer "+svcToken)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 8},
	})
	b.Cleanup(hop.Close)
	cv := httptest.NewServer(p.Handler())
	b.Cleanup(cv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func(url, apiKey string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if apiKey != "" {
			req.Header.Set("x-api-key", apiKey)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	hopURL := hop.URL + "/" + itemID // SetURL joins the base path
	totpURL := cv.URL + "/api/v1/credentials/" + id + "/totp-code"
	get(hopURL, "")
	get(totpURL, key)
	var hopNs, cvNs atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range 2 {
			t0 := time.Now()
			if (i+j)%2 == 0 {
				get(hopURL, "")
				hopNs.Add(int64(time.Since(t0)))
			} else {
				get(totpURL, key)
				cvNs.Add(int64(time.Since(t0)))
			}
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(hopNs.Load())/n, "hop-ns/op")
	b.ReportMetric(float64(cvNs.Load())/n, "totp-ns/op")
	b.ReportMetric(float64(cvNs.Load()-hopNs.Load())/n, "extra-ns/op")
	b.ReportMetric(float64(cvNs.Load())/float64(max(hopNs.Load(), 1)), "ratio/op")
}
