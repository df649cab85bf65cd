package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
)

func BenchmarkEncodeWire(b *testing.B) {
	c := cardCred()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vault.EncodeWire(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWire(b *testing.B) {
	body, _ := vault.EncodeWire(cardCred())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vault.DecodeWire(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOrgVaultResolveCached(b *testing.B) {
	src := &countingSource{cfgs: map[string]vault.OrgConfig{
		"org_a": {ID: "cfg_1", BaseURL: "https://creds.example.com/api", Token: vault.NewSecret(token)},
	}}
	v := vault.NewOrgVault(src, vault.OrgVaultOptions{TTL: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Resolve(ctx, "org_a"); err != nil {
				b.Fatal(err)
			}
		}
	})
	if src.calls.Load() != 1 {
		b.Fatalf("config loaded %d times", src.calls.Load())
	}
}

// BenchmarkClientGet is one GET round trip to a loopback service over the
// shared keep-alive transport.
func BenchmarkClientGet(b *testing.B) {
	svc := fakeservice.New(b, token)
	c := newClientB(b, svc.Base())
	ref, err := c.Create(context.Background(), "o", passwordCred())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetItem(context.Background(), ref.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func newClientB(b *testing.B, base string) *vault.Client {
	u := mustURLB(b, base)
	c, err := vault.NewClient(u, vault.NewSecret(token), vault.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
