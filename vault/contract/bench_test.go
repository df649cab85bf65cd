package contract_test

import (
	"context"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/vaulttest"
	"github.com/credvault/credvault/vault/wire"
)

func BenchmarkEncodeWire(b *testing.B) {
	c := vaulttest.Card()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.Encode(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWire(b *testing.B) {
	body, _ := wire.Encode(vaulttest.Card())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientGet is one GET round trip to a loopback service over the
// shared keep-alive transport.
func BenchmarkClientGet(b *testing.B) {
	svc := fakeservice.New(b, vaulttest.Token)
	c := vaulttest.Client(b, svc.Base(), contract.Options{})
	ref, err := c.Create(context.Background(), "o", vaulttest.Password())
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
