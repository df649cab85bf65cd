package main

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestGracefulStopUnderLoad: SIGTERM while 64 connections keep sending,
// and a poller plays the load balancer: it watches /readyz and, once it
// answers 503, sends no new request. Readiness turns 503 first while the
// server keeps serving (the drain), so every request sent is answered:
// none is reset, none refused.
func TestGracefulStopUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	cv, _ := buildCommands(t)
	srv := startServe(t, cv, []string{"CREDVAULT_DATA_DIR=" + t.TempDir(), "CREDVAULT_SHUTDOWN_DRAIN=1s"})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 65}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var answered, broken atomic.Int64
	var firstBroken atomic.Value
	var drained atomic.Bool // the balancer took the instance out
	var wg sync.WaitGroup
	wg.Go(func() { // the balancer's health check
		for !drained.Load() {
			resp, err := client.Get("http://" + srv.addr + "/readyz")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					drained.Store(true)
				}
			}
			time.Sleep(50 * time.Millisecond) // the balancer's interval
		}
	})
	for range 64 {
		wg.Go(func() {
			for !drained.Load() {
				resp, err := client.Get("http://" + srv.addr + "/healthz")
				if err != nil {
					broken.Add(1)
					firstBroken.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() < 500 {
		if time.Now().After(deadline) {
			t.Fatal("the load never got going")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
	drained.Store(true)
	wg.Wait()
	t.Logf("answered %d, failed %d", answered.Load(), broken.Load())
	if n := broken.Load(); n > 0 {
		t.Fatalf("%d requests failed (first: %v)", n, firstBroken.Load())
	}
}
