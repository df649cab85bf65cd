package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
)

// benchPlatform is a PostgreSQL-backed platform with one organization
// configured against a loopback fake service and one stored credential.
func benchPlatform(b *testing.B, tweak ...func(*config.Config)) (p *credvault.Platform, orgID, key, credID string) {
	ctx := context.Background()
	cfg, _ := config.Parse(func(string) (string, bool) { return "", false })
	for _, f := range tweak {
		f(&cfg)
	}
	cfg.DataDir = b.TempDir()
	cfg.DatabaseURL = config.SecretURL(testdb.PostgresURL(b))
	ks, _ := keyring.Generate()
	cfg.Keyset = config.Secret(ks)
	cfg.AllowedHosts = []string{"127.0.0.1"}
	// The benchmarks measure the read path, not its budget.
	cfg.RateReads = config.Rate{PerSecond: 1e9, Burst: 1 << 30}
	p = openPlatform(b, cfg, credvault.Options{Migrate: true})
	svc := fakeservice.New(b, svcToken)
	created, err := p.Organizations.Create(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Configs.Save(ctx, org.Principal{OrganizationID: created.OrganizationID},
		org.ServiceConfig{APIBaseURL: svc.Base(), APIToken: vault.NewSecret(svcToken)}); err != nil {
		b.Fatal(err)
	}
	v, err := p.Credentials.Create(ctx, created.OrganizationID, vault.Credential{Name: "bench", Type: vault.TypePassword,
		Password: &vault.Password{Username: "u", Password: vault.NewSecret("p"), TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"),
			TOTPType: vault.TOTPAuthenticator}}, credentials.Patch{})
	if err != nil {
		b.Fatal(err)
	}
	return p, created.OrganizationID, created.APIKey, v.CredentialID
}

// BenchmarkGetWithSecret is the automation's hot path: the metadata row
// from PostgreSQL, the cached org client, one GET to the service.
func BenchmarkGetWithSecret(b *testing.B) {
	p, orgID, _, id := benchPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Credentials.GetWithSecret(ctx, orgID, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHotPath compares, in one run, GetWithSecret with its reference:
// the direct keep-alive GET of the same item from the same service (what
// the hot path cannot avoid). With -count N the two alternate, so the
// ratio of their medians is measured under the same conditions.
func BenchmarkHotPath(b *testing.B) {
	p, orgID, key, id := benchPlatform(b)
	ctx := context.Background()
	direct, itemID := directClient(b, p, orgID, id)
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := direct.GetItem(ctx, itemID); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("GetWithSecret", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Credentials.GetWithSecret(ctx, orgID, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	// The whole REST request: API key, row, GET to the service, the code.
	srv := newBenchServer(b, p)
	b.Run("REST-totp-code", func(b *testing.B) {
		benchGET(b, srv+"/api/v1/credentials/"+id+"/totp-code", key)
	})
}

// BenchmarkHotPathPaired measures GetWithSecret and its reference, the
// direct GET of the same item through a client of the same service, in
// strict alternation within every goroutine, so whatever else the machine
// runs weighs on both alike. It reports both times and their ratio
// (ratio/op: GetWithSecret / direct); scripts/bench.sh runs it quiet and
// beside a CPU-bound background load.
func BenchmarkHotPathPaired(b *testing.B) {
	p, orgID, _, id := benchPlatform(b)
	ctx := context.Background()
	direct, itemID := directClient(b, p, orgID, id)
	var directNs, hotNs atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var d, h time.Duration
		for i := 0; pb.Next(); i++ {
			// Alternate which goes first, so neither always follows the other.
			for j := range 2 {
				t0 := time.Now()
				if (i+j)%2 == 0 {
					if _, err := direct.GetItem(ctx, itemID); err != nil {
						b.Error(err)
						return
					}
					d += time.Since(t0)
				} else {
					if _, err := p.Credentials.GetWithSecret(ctx, orgID, id); err != nil {
						b.Error(err)
						return
					}
					h += time.Since(t0)
				}
			}
		}
		directNs.Add(int64(d))
		hotNs.Add(int64(h))
	})
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(directNs.Load())/n, "direct-ns/op")
	b.ReportMetric(float64(hotNs.Load())/n, "GetWithSecret-ns/op")
	b.ReportMetric(float64(hotNs.Load())/float64(max(directNs.Load(), 1)), "ratio/op")
}

// directClient is a client of the service storing credential id, of its
// own (the reference of the hot-path benchmarks), and the item's id.
func directClient(b *testing.B, p *credvault.Platform, orgID, id string) (*contract.Client, string) {
	ctx := context.Background()
	row, err := testStore(p).GetCredential(ctx, orgID, id)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := p.Vault.ResolveSource(ctx, orgID, row.VaultSource)
	if err != nil {
		b.Fatal(err)
	}
	direct, err := contract.New(mustParse(b, cl.BaseURL()), vault.NewSecret(svcToken), contract.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return direct, row.ItemID
}

func mustParse(b *testing.B, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkResolveUncached is the cost the cache saves: a PostgreSQL read
// and a Tink decryption per resolution.
func BenchmarkResolveUncached(b *testing.B) {
	p, orgID, _, _ := benchPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.Vault.Invalidate(orgID)
		if _, err := p.Vault.Resolve(ctx, orgID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTTP measures whole REST requests through echo (auth, routing,
// JSON), with a keep-alive client.
func BenchmarkHTTP(b *testing.B) {
	p, _, key, id := benchPlatform(b)
	srv := newBenchServer(b, p)
	for _, route := range []string{"/api/v1/credentials/" + id, "/api/v1/credentials?page_size=10", "/api/v1/credentials/" + id + "/totp-code"} {
		b.Run(route[len("/api/v1/credentials"):], func(b *testing.B) { benchGET(b, srv+route, key) })
	}
}

// benchGET measures parallel GETs of url with the API key; each must be 200.
func benchGET(b *testing.B, url, key string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("x-api-key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(fmt.Sprint(resp.StatusCode))
			}
		}
	})
}

func newBenchServer(b *testing.B, p *credvault.Platform) string {
	srv := httptest.NewServer(p.Handler())
	b.Cleanup(srv.Close)
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 64
	return srv.URL
}

// BenchmarkCreateReadBack is the cost of reading every created item back
// (the default) against the same create with CREDVAULT_READ_BACK=off, in
// one run: the ratio of "on" to "off" is what the guarantee costs a
// create (one GET on the warm connection the create used).
func BenchmarkCreateReadBack(b *testing.B) {
	cred := vault.Credential{Name: "bench", Type: vault.TypePassword, Password: &vault.Password{Username: "u",
		Password: vault.NewSecret("p"), TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator}}
	for _, mode := range []string{"on", "off"} {
		b.Run(mode, func(b *testing.B) {
			p, orgID, _, _ := benchPlatform(b, func(c *config.Config) { c.NoReadBack = mode == "off" })
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Credentials.Create(ctx, orgID, cred, credentials.Patch{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
