package netpolicy_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/vaulttest"
)

func TestDialerRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(svc.URL, "http://"))
	// "localhost" is a name, not an IP literal: only the dialer, after
	// resolution, can see that it is 127.0.0.1.
	base := &url.URL{Scheme: "http", Host: "localhost:" + port, Path: "/api/v1/credentials"}

	blocked, _ := netpolicy.NewAddressPolicy(nil, true)
	c, _ := contract.New(base, vault.NewSecret(vaulttest.Token), contract.Options{Transport: netpolicy.NewTransport(blocked), MaxAttempts: 1})
	_, err := c.Get(context.Background(), "o", vault.ItemRef{ID: "x"})
	if !errors.Is(err, netpolicy.ErrAddressNotAllowed) || !errors.Is(err, vault.ErrUpstream) {
		t.Fatalf("dial to localhost: %v, want ErrAddressNotAllowed", err)
	}
	if !strings.Contains(err.Error(), "CREDVAULT_ALLOWED_HOSTS") {
		t.Fatalf("error does not say how to allow it: %v", err)
	}
	if svc.Requests.Load() != 0 {
		t.Fatal("the blocked service received a request")
	}

	for _, allow := range []string{"localhost", "127.0.0.0/8", "::1/128,127.0.0.1"} {
		p, err := netpolicy.NewAddressPolicy(strings.Split(allow, ","), true)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := contract.New(base, vault.NewSecret(vaulttest.Token), contract.Options{Transport: netpolicy.NewTransport(p)})
		if _, err := c.Get(context.Background(), "o", vault.ItemRef{ID: "x"}); !errors.Is(err, vault.ErrItemGone) {
			t.Fatalf("allowed %q: %v, want the service's 404", allow, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	open, _ := netpolicy.NewAddressPolicy([]string{"creds.internal", "10.1.0.0/16"}, false)
	org, _ := netpolicy.NewAddressPolicy([]string{"creds.internal", "10.1.0.0/16"}, true)
	cases := []struct {
		raw      string
		open, by bool // accepted by the env policy / the org policy
	}{
		{"https://credentials.example.com/api/v1/credentials", true, true},
		{"https://credentials.example.com/api/v1/credentials/", true, true},
		{"http://credentials.example.com/x", false, false},
		{"http://localhost:8081/x", true, false},
		{"http://127.0.0.1:8081/x", true, false},
		{"http://[::1]:8081/x", true, false},
		{"http://creds.internal/x", true, true},
		{"https://10.0.0.5/x", true, false},
		{"https://10.1.2.3/x", true, true},
		{"https://169.254.169.254/latest/meta-data", true, false},
		{"https://100.64.1.1/x", true, false},
		{"https://[fd00:ec2::254]/x", true, false},
		{"ftp://example.com/x", false, false},
		{"https://user:pw@example.com/x", false, false},
		{"https://example.com/x?vaulttest.Token=1", false, false},
		{"/relative", false, false},
		{"", false, false},
		{"not a url", false, false},
	}
	for _, tc := range cases {
		if _, err := open.CheckURL("api_base_url", tc.raw); (err == nil) != tc.open {
			t.Errorf("env policy %q: err=%v, want accepted=%v", tc.raw, err, tc.open)
		} else if err != nil && !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("env policy %q: %v is not problem.ErrInvalid", tc.raw, err)
		}
		if _, err := org.CheckURL("api_base_url", tc.raw); (err == nil) != tc.by {
			t.Errorf("org policy %q: err=%v, want accepted=%v", tc.raw, err, tc.by)
		}
	}
	u, _ := open.CheckURL("api_base_url", "https://user:hunter2@example.com/x")
	if u != nil {
		t.Fatal("URL with credentials accepted")
	}
	if _, err := open.CheckURL("api_base_url", "https://user:hunter2@example.com/x"); strings.Contains(err.Error(), "hunter2") {
		t.Fatal("error echoes the URL's password")
	}
}

// internalV6 are IPv6 forms that embed or reach internal IPv4 addresses,
// or are otherwise not global unicast.
var internalV6 = []string{
	"::7f00:1",                             // IPv4-compatible 127.0.0.1
	"::ffff:127.0.0.1",                     // IPv4-mapped
	"::ffff:0:7f00:1",                      // SIIT
	"64:ff9b::7f00:1",                      // NAT64 well-known prefix
	"64:ff9b::a9fe:a9fe",                   // NAT64 to the metadata address
	"64:ff9b:1:a00::1",                     // NAT64 local-use prefix
	"2002:7f00:1::1",                       // 6to4 of 127.0.0.1
	"2002:a00:1::1",                        // 6to4 of 10.0.0.1
	"2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo of 127.0.0.1
	"fec0::1",                              // site-local
	"fd00:ec2::254",                        // AWS metadata over IPv6 (ULA)
	"fe80::1",                              // link-local
	"::1",                                  // loopback
	"::",                                   // unspecified
}

func TestBlockedCoversIPv6TransitionForms(t *testing.T) {
	t.Parallel()
	org, _ := netpolicy.NewAddressPolicy(nil, true)
	for _, s := range internalV6 {
		ip := netip.MustParseAddr(s)
		if !netpolicy.Blocked(ip) {
			t.Errorf("%s is not blocked", s)
		}
		if _, err := org.CheckURL("api_base_url", "https://["+s+"]/api"); err == nil {
			t.Errorf("org policy accepted https://[%s]/api", s)
		}
		// The dialer's rule, fed by a fake resolver: an innocent-looking
		// name resolving to the address is refused. Nothing is dialled.
		err := org.CheckDial("creds.example.com", netip.AddrPortFrom(ip, 443))
		if !errors.Is(err, netpolicy.ErrAddressNotAllowed) {
			t.Errorf("name resolving to %s: %v, want ErrAddressNotAllowed", s, err)
		} else if strings.Contains(err.Error(), s) || strings.Contains(err.Error(), ip.Unmap().String()) {
			t.Errorf("the refusal reveals what the name resolves to: %v", err)
		}
	}
	for _, s := range []string{"8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "1.1.1.1"} {
		if netpolicy.Blocked(netip.MustParseAddr(s)) {
			t.Errorf("public address %s is blocked", s)
		}
	}
	for in, want := range map[string]string{
		"64:ff9b::a00:1": "10.0.0.1", "2002:a00:1::1": "10.0.0.1", "::7f00:1": "127.0.0.1",
		"2001:0:4136:e378:8000:63bf:80ff:fffe": "127.0.0.1", "64:ff9b:1:a00:0:100::": "10.0.0.1",
	} {
		if got, ok := netpolicy.EmbeddedIPv4(netip.MustParseAddr(in)); !ok || got.String() != want {
			t.Errorf("EmbeddedIPv4(%s) = %v %v, want %s", in, got, ok, want)
		}
	}
}

func TestAllowedHostsEntries(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"*", "*.com", "host:8081:x", "0.0.0.0/0", "::/0", "10.0.0.0/99", "a b", "host:0",
		"host:99999", "[::1", "[::1]x", "*.*.example.com", "ex*ample.com", ":80"} {
		_, err := netpolicy.NewAddressPolicy([]string{"ok.example.com", bad}, true)
		if err == nil || !strings.Contains(err.Error(), "CREDVAULT_ALLOWED_HOSTS") || !strings.Contains(err.Error(), bad) {
			t.Errorf("entry %q: %v, want an error naming the variable and the entry", bad, err)
		}
	}
	p, err := netpolicy.NewAddressPolicy([]string{"127.0.0.1:8081", "[::1]:9000", "creds.internal:8443", "*.corp.example.com", "10.2.0.0/16"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8081/api":         true,
		"http://127.0.0.1:8082/api":         false, // another port
		"http://127.0.0.1/api":              false,
		"http://localhost:8081/api":         true, // resolves to an allowed address and port
		"http://localhost:8082/api":         false,
		"http://[::1]:9000/api":             true,
		"http://localhost:9000/api":         true,
		"https://creds.internal:8443/api":   true,
		"https://creds.internal/api":        true, // a name is checked again in the dialer
		"http://creds.internal/api":         false,
		"http://vault.corp.example.com/api": true,
		"https://10.2.3.4/api":              true,
		"https://10.3.3.4/api":              false,
		"https://[::ffff:10.2.3.4]/api":     true,
		"https://[64:ff9b::a02:304]/api":    false, // NAT64 form of an allowed address stays blocked
	} {
		if _, err := p.CheckURL("api_base_url", raw); (err == nil) != ok {
			t.Errorf("%s: %v, want accepted=%v", raw, err, ok)
		}
	}
	// The dialer honours the port too.
	lo := netip.MustParseAddr("127.0.0.1")
	if err := p.CheckDial("localhost", netip.AddrPortFrom(lo, 8081)); err != nil {
		t.Errorf("localhost at the allowed port: %v", err)
	}
	if err := p.CheckDial("localhost", netip.AddrPortFrom(lo, 5432)); !errors.Is(err, netpolicy.ErrAddressNotAllowed) {
		t.Errorf("localhost at another port: %v, want refused", err)
	}
	if err := p.CheckDial("creds.internal", netip.AddrPortFrom(lo, 8443)); err != nil {
		t.Errorf("allowed name at its port: %v", err)
	}
	if err := p.CheckDial("creds.internal", netip.AddrPortFrom(lo, 22)); !errors.Is(err, netpolicy.ErrAddressNotAllowed) {
		t.Errorf("allowed name at another port, resolving to loopback: %v, want refused", err)
	}
}

// TestLocalhostNamesNeedNoLookup: "localhost" and "*.localhost" are
// dialled at 127.0.0.1 without any DNS query (RFC 6761), with and without
// the private-address rules; with them, foo.localhost is allowed only
// where 127.0.0.1 is, at that port.
func TestLocalhostNamesNeedNoLookup(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var lookups atomicCount
	d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		lookups.add()
		return nil, errors.New("no DNS in this test")
	}}}
	allowed, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1:" + port}, true)
	elsewhere, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1:1"}, true)
	open := netpolicy.AddressPolicy{}
	for _, host := range []string{"localhost", "foo.localhost", "A.B.LOCALHOST", "foo.localhost."} {
		for name, p := range map[string]netpolicy.AddressPolicy{"allowlisted": allowed, "no rules": open} {
			c, err := p.DialContext(d)(context.Background(), "tcp", net.JoinHostPort(host, port))
			if err != nil {
				t.Errorf("%s, %s: %v", host, name, err)
				continue
			}
			c.Close()
		}
		if _, err := elsewhere.DialContext(d)(context.Background(), "tcp", net.JoinHostPort(host, port)); !errors.Is(err, netpolicy.ErrAddressNotAllowed) {
			t.Errorf("%s with 127.0.0.1 allowed only on another port: %v, want refused", host, err)
		}
	}
	if n := lookups.get(); n != 0 {
		t.Fatalf("%d DNS lookups for localhost names, want none", n)
	}
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (a *atomicCount) add() { a.mu.Lock(); a.n++; a.mu.Unlock() }
func (a *atomicCount) get() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// TestRefusalsNameHostAndPort: a refusal says exactly which
// CREDVAULT_ALLOWED_HOSTS entry would allow the URL: host:port, since an
// entry with a port allows only that port.
func TestRefusalsNameHostAndPort(t *testing.T) {
	t.Parallel()
	p, _ := netpolicy.NewAddressPolicy([]string{"127.0.0.1:8081"}, true)
	for raw, want := range map[string]string{
		"http://127.0.0.1:9999/api": "add 127.0.0.1:9999 to CREDVAULT_ALLOWED_HOSTS",
		"http://localhost:9999/api": "add 127.0.0.1:9999 to CREDVAULT_ALLOWED_HOSTS",
		"https://10.0.0.5/api":      "add 10.0.0.5:443 to CREDVAULT_ALLOWED_HOSTS",
		"https://[fd00::5]:8443/x":  "add [fd00::5]:8443 to CREDVAULT_ALLOWED_HOSTS",
	} {
		if _, err := p.CheckURL("api_base_url", raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
	e := &netpolicy.AddressError{Host: "creds.internal", Port: 8443, IP: netip.MustParseAddr("10.1.2.3")}
	if !strings.Contains(e.Error(), "add creds.internal:8443 to") || strings.Contains(e.Error(), "10.1.2.3") {
		t.Errorf("dial refusal: %q", e.Error())
	}
}

// Hosts that look like numbers but are not dotted IP literals are refused
// at save, for every scheme and whatever the allowlist, before any
// resolver is asked; dotted literals and names are not.
func TestNumericLookingHostsAreRefused(t *testing.T) {
	open, _ := netpolicy.NewAddressPolicy([]string{"127.1", "2130706433"}, false)
	for _, raw := range []string{"https://127.1/api", "https://2130706433/api", "https://0x7f.1/api", "https://0177.0.0.1/api",
		"http://127.1:8081/api", "https://1.2.3.4.5/api", "https://example.123/api", "https://0x/api", "https://example.0X1F./api"} {
		_, err := open.CheckURL("api_base_url", raw)
		var inv *problem.InvalidError
		if !errors.As(err, &inv) || inv.Field != "api_base_url" || !strings.Contains(inv.Reason, "looks like a number") {
			t.Errorf("%s: %v, want refused as numeric-looking", raw, err)
		}
	}
	for _, raw := range []string{"https://203.0.113.7/api", "https://[2001:db8::1]/api", "https://creds.example.com/api", "https://x1.example/api",
		"https://example.com./api", "https://0xdeadbeef.example/api"} {
		if _, err := open.CheckURL("api_base_url", raw); err != nil {
			t.Errorf("%s: %v, want accepted", raw, err)
		}
	}
}
