package vault_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
)

func TestDialerRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, token)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(svc.URL, "http://"))
	// "localhost" is a name, not an IP literal: only the dialer, after
	// resolution, can see that it is 127.0.0.1.
	base := &url.URL{Scheme: "http", Host: "localhost:" + port, Path: "/api/v1/credentials"}

	blocked, _ := vault.NewAddressPolicy(nil, true)
	c, _ := vault.NewClient(base, vault.NewSecret(token), vault.ClientOptions{Transport: vault.NewTransport(blocked), MaxAttempts: 1})
	_, err := c.Get(context.Background(), "o", vault.ItemRef{ID: "x"})
	if !errors.Is(err, vault.ErrAddressNotAllowed) || !errors.Is(err, vault.ErrUpstream) {
		t.Fatalf("dial to localhost: %v, want ErrAddressNotAllowed", err)
	}
	if !strings.Contains(err.Error(), "CREDVAULT_ALLOWED_HOSTS") {
		t.Fatalf("error does not say how to allow it: %v", err)
	}
	if svc.Requests.Load() != 0 {
		t.Fatal("the blocked service received a request")
	}

	for _, allow := range []string{"localhost", "127.0.0.0/8", "::1/128,127.0.0.1"} {
		p, err := vault.NewAddressPolicy(strings.Split(allow, ","), true)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := vault.NewClient(base, vault.NewSecret(token), vault.ClientOptions{Transport: vault.NewTransport(p)})
		if _, err := c.Get(context.Background(), "o", vault.ItemRef{ID: "x"}); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("allowed %q: %v, want the service's 404", allow, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	open, _ := vault.NewAddressPolicy([]string{"creds.internal", "10.1.0.0/16"}, false)
	org, _ := vault.NewAddressPolicy([]string{"creds.internal", "10.1.0.0/16"}, true)
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
		{"https://example.com/x?token=1", false, false},
		{"/relative", false, false},
		{"", false, false},
		{"not a url", false, false},
	}
	for _, tc := range cases {
		if _, err := open.CheckURL("api_base_url", tc.raw); (err == nil) != tc.open {
			t.Errorf("env policy %q: err=%v, want accepted=%v", tc.raw, err, tc.open)
		} else if err != nil && !errors.Is(err, vault.ErrInvalid) {
			t.Errorf("env policy %q: %v is not ErrInvalid", tc.raw, err)
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
