package netpolicy_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault/netpolicy"
)

// FuzzCheckURL: whatever the URL, an accepted one is absolute http(s)
// without credentials, query or fragment; with private addresses blocked,
// no accepted IP literal is a blocked address. Nothing is dialled.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://creds.example.com/api/v1/credentials", "http://127.0.0.1:8081/api", "https://[::7f00:1]/x",
		"https://[64:ff9b::a00:1]/", "https://[2002:7f00:1::]/", "https://[2001::1]/", "https://[::ffff:10.0.0.1]/",
		"https://[fec0::1]/", "http://localhost/x", "https://user:pw@example.com/", "https://example.com/?q#f",
		"ftp://example.com", "https://169.254.169.254/latest", "https://0x7f.1/", "https://%31%32%37.0.0.1/", "\x00",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, block bool) {
		p, err := netpolicy.NewAddressPolicy(nil, block)
		if err != nil {
			t.Fatal(err)
		}
		u, err := p.CheckURL("api_base_url", raw)
		if err != nil {
			if !errors.Is(err, problem.ErrInvalid) {
				t.Fatalf("refusal is not a validation error: %v", err)
			}
			return
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
			t.Fatalf("accepted %q", u.Redacted())
		}
		if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && block && netpolicy.Blocked(ip) {
			t.Fatalf("accepted the blocked address %s", ip)
		}
	})
}
