package loopback

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFreeAddr(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("FreeAddr = %q", addr)
	}
}

func TestWaitHTTP(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	if err := WaitHTTP(srv.URL, 5*time.Second); err != nil || asked.Load() != 2 {
		t.Fatalf("a server answering 503 then 200: %v after %d requests", err, asked.Load())
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	err = WaitHTTP("http://127.0.0.1:"+strconv.Itoa(port), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not answer 200") {
		t.Fatalf("nothing listening: %v", err)
	}
}
