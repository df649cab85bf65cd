package e2e

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// tcpProxy forwards loopback connections to PostgreSQL until cut.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut refuses new connections and breaks every open one.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// TestDatabaseOutageIs503: with the database unreachable mid-operation, a
// request answers 503 with Retry-After (ours, temporary), not 500, leaves
// no item behind in the service, and service resumes when it is back.
func TestDatabaseOutageIs503(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	u, err := url.Parse(cfg.DatabaseURL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	cfg.DatabaseURL = config.SecretURL(u.String())
	h := newHarnessWithConfig(t, cfg)
	svc := fakeservice.New(t, svcToken)
	_, key := h.org("Acme")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure = %d", r.status)
	}
	if r := h.do("GET", "/api/v1/credentials", key, nil); r.status != 200 {
		t.Fatalf("list = %d", r.status)
	}
	items := svc.Items()

	proxy.cut()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/credentials"}, {"POST", "/api/v1/credentials"}, {"GET", "/readyz"},
	} {
		var body any
		if tc.method == "POST" {
			body = secretBody("during outage", "x")
		}
		r := h.do(tc.method, tc.path, key, body)
		if r.status != 503 || r.header.Get("Retry-After") == "" || r.detail() == "" {
			t.Errorf("%s %s during the outage = %d (Retry-After %q) %s, want 503 with Retry-After", tc.method, tc.path, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	if svc.Items() != items {
		t.Errorf("the failed create left %d item(s) in the service", svc.Items()-items)
	}
	if strings.Contains(h.logs.String(), `"status":500`) {
		t.Error("a request answered 500 during the outage")
	}

	proxy.restore()
	deadline := time.Now().Add(10 * time.Second)
	for h.do("GET", "/api/v1/credentials", key, nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("credvault did not recover once the database was back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
