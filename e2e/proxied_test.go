package e2e

import (
	"testing"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/tcpproxy"
	"github.com/credvault/credvault/internal/testdb"
)

// proxied is a harness whose PostgreSQL link runs through a TCP proxy
// the test can cut, refuse or black-hole, with one organization
// configured against a fake service and one password credential whose
// TOTP code has been read once (so it is cached).
type proxied struct {
	*harness
	proxy *tcpproxy.Proxy
	// direct is the database's own URL, around the proxy (another
	// replica's, an administrator's).
	direct string
	cfg    config.Config
	orgID  string
	key    string
	// code is the credential's totp-code path.
	code string
}

func newProxied(t *testing.T, name string, tweak func(*config.Config)) *proxied {
	t.Helper()
	cfg := testConfig(t, testdb.Postgres)
	direct := cfg.DatabaseURL.Reveal()
	viaProxy, proxy := testdb.ThroughProxy(t, direct)
	cfg.DatabaseURL = config.SecretURL(viaProxy)
	cfg.AllowedHosts = []string{"127.0.0.1"}
	if tweak != nil {
		tweak(&cfg)
	}
	h := newHarnessWithConfig(t, cfg)
	orgID, key := h.org(name)
	svc := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure: %d", r.status)
	}
	id := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	code := "/api/v1/credentials/" + id + "/totp-code"
	if r := h.do("GET", code, key, nil); r.status != 200 {
		t.Fatalf("warm read: %d %s", r.status, r.body)
	}
	return &proxied{harness: h, proxy: proxy, direct: direct, cfg: cfg, orgID: orgID, key: key, code: code}
}

// credentialID is the credential's id, from its totp-code path.
func (p *proxied) credentialID() string {
	const prefix, suffix = len("/api/v1/credentials/"), len("/totp-code")
	return p.code[prefix : len(p.code)-suffix]
}
