package credvault_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

// TestCloseLeavesNothingRunning: three rounds of Open, a credential
// created and read through a service (keep-alive connections to it), and
// Close leave no goroutine behind: the listener, the worker and the idle
// connections to the service all end. Not parallel: it counts the
// process's goroutines.
func TestCloseLeavesNothingRunning(t *testing.T) {
	svc := fakeservice.New(t, "close-token-0123456789")
	ctx := context.Background()
	cfgs := make(chan config.Config, 4)
	for range 4 { // the test databases' helpers stay open until the test ends: made first
		cfgs <- testConfig(t, testdb.Postgres)
	}
	round := func() {
		cfg := <-cfgs
		cfg.AllowedHosts = []string{"127.0.0.1"}
		p, err := credvault.Open(ctx, cfg, credvault.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Organizations.Create(ctx, "Closer")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Configs.Save(ctx, org.Principal{OrganizationID: c.OrganizationID},
			org.ServiceConfig{APIBaseURL: svc.Base(), APIToken: vault.NewSecret("close-token-0123456789")}); err != nil {
			t.Fatal(err)
		}
		v, err := p.Credentials.Create(ctx, c.OrganizationID, vault.Credential{Name: "c", Type: vault.TypeSecret,
			Secret: &vault.SecretValue{Value: vault.NewSecret("close-secret")}}, credentials.Patch{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Credentials.GetWithSecret(ctx, c.OrganizationID, v.CredentialID); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	round() // warms what the process keeps for good (pools of the runtime, the test database helper)
	base := settled(runtime.NumGoroutine())
	for range 3 {
		round()
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := runtime.NumGoroutine(); n > base; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after 3 Open/Close rounds, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// settled waits until the goroutine count stops falling (connections of
// the warm-up round closing) and returns it.
func settled(n int) int {
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return n
		}
		n = m
	}
	return n
}
