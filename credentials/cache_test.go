package credentials

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/store"
)

// TestRowCacheIsBounded: rows of many organizations never grow the cache
// nor its per-organization index past the size, a drop of "*" forgets an
// organization's rows, and a load that raced a change is not cached.
func TestRowCacheIsBounded(t *testing.T) {
	c := newRowCache(time.Hour, 10)
	loads := 0
	load := func(_ context.Context, org, id string) (store.Credential, error) {
		loads++
		return store.Credential{ID: id, OrganizationID: org}, nil
	}
	ctx := context.Background()
	for i := range 1000 {
		for j := range 2 {
			if _, err := c.get(ctx, fmt.Sprint("org_", i), fmt.Sprint("cred_", j), load); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.cache.Len() != 10 || len(c.loads) != 0 {
		t.Fatalf("%d rows cached, want 10; %d organizations' loads tracked, want none", c.cache.Len(), len(c.loads))
	}
	loads = 0
	_, _ = c.get(ctx, "org_999", "cred_1", load)
	if loads != 0 {
		t.Fatal("the most recent row was not cached")
	}
	c.drop("org_999", "*")
	if c.cache.Len() != 8 {
		t.Fatalf("after drop *: %d rows, want 8", c.cache.Len())
	}
	loads = 0
	_, _ = c.get(ctx, "org_999", "cred_0", load)
	_, _ = c.get(ctx, "org_998", "cred_0", load)
	if loads != 1 {
		t.Fatalf("drop * of one organization: %d loads, want 1 (its row only)", loads)
	}
	// Drops of organizations with nothing cached leave no trace.
	for i := range 100 {
		c.drop(fmt.Sprint("other_", i), "x")
	}
	if len(c.loads) != 0 {
		t.Fatalf("%d organizations tracked, want none", len(c.loads))
	}
	// A change while a row is read: the row read is not cached.
	racing := func(ctx context.Context, org, id string) (store.Credential, error) {
		c.drop(org, id)
		return load(ctx, org, id)
	}
	_, _ = c.get(ctx, "org_race", "cred", racing)
	loads = 0
	_, _ = c.get(ctx, "org_race", "cred", load)
	if loads != 1 {
		t.Fatal("a row read while it changed was cached")
	}
	// A failed load caches nothing and leaves no index entry.
	fail := func(context.Context, string, string) (store.Credential, error) {
		return store.Credential{}, errors.New("down")
	}
	if _, err := c.get(ctx, "org_fail", "x", fail); err == nil {
		t.Fatal("a failed load succeeded")
	}
	if len(c.loads) != 0 {
		t.Fatal("a failed load left its organization tracked")
	}
}

// TestRowCacheConcurrentLoadsOfOneRow: two loads of one row that both
// store it leave it indexed, so a change still drops it.
func TestRowCacheConcurrentLoadsOfOneRow(t *testing.T) {
	c := newRowCache(time.Hour, 10)
	ctx := context.Background()
	loads := 0
	var load func(context.Context, string, string) (store.Credential, error)
	load = func(ctx context.Context, org, id string) (store.Credential, error) {
		loads++
		if loads == 1 { // another reader loads and stores the row meanwhile
			if _, err := c.get(ctx, org, id, load); err != nil {
				return store.Credential{}, err
			}
		}
		return store.Credential{ID: id, OrganizationID: org, Name: "v1"}, nil
	}
	if _, err := c.get(ctx, "org", "cred", load); err != nil {
		t.Fatal(err)
	}
	c.drop("org", "cred")
	loads = 10
	if _, err := c.get(ctx, "org", "cred", load); err != nil || loads != 11 {
		t.Fatalf("the row was served from the cache after a change (%d loads)", loads-10)
	}
}

// TestRowCacheSlotIsCheckedAgainstTheRow: the cache is keyed by a hash,
// so a row found in a request's slot is served only if it is that row:
// another organization's row sharing the slot is never served.
func TestRowCacheSlotIsCheckedAgainstTheRow(t *testing.T) {
	c := newRowCache(time.Hour, 10)
	other, _ := pack(store.Credential{ID: "cred_2", OrganizationID: "org_b", Name: "theirs"})
	c.cache.Add(c.slot("org_a", "cred_1"), other, time.Hour)
	loads := 0
	got, err := c.get(context.Background(), "org_a", "cred_1", func(_ context.Context, org, id string) (store.Credential, error) {
		loads++
		return store.Credential{ID: id, OrganizationID: org, Name: "mine"}, nil
	})
	if err != nil || got.Name != "mine" || loads != 1 {
		t.Fatalf("a slot holding another row served %+v (%d loads, %v)", got, loads, err)
	}
	c.drop("org_a", "cred_1")
	if c.cache.Len() != 0 {
		t.Fatal("a dropped row stays cached")
	}
}

// A packed row gives back every column, with settings and without.
func TestPackKeepsEveryColumn(t *testing.T) {
	folder, loc, yes := "fld_1", `"RESIDENTIAL"`, true
	missing := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := store.Credential{ID: "cred_1", OrganizationID: "org_1", Name: "Bank", CredentialType: "password", VaultType: "custom",
		ItemID: "item", VaultSource: "cfg", Username: "u@example.com", TOTPType: "authenticator", TOTPIdentifier: "id",
		CardLastFour: "4242", CardBrand: "visa", SecretLabel: "", Version: 3, CreatedAt: missing, ModifiedAt: missing.Add(time.Hour)}
	full := r
	full.FolderID, full.ProxyLocation, full.AutoProfileDisabled, full.RunSequentially, full.ItemMissingAt = &folder, &loc, &yes, true, &missing
	for _, want := range []store.Credential{r, full} {
		p, ok := pack(want)
		if !ok {
			t.Fatal("a short row was not packed")
		}
		if got := p.unpack(); !reflect.DeepEqual(got, want) {
			t.Fatalf("pack changed the row:\n%+v\n%+v", got, want)
		}
		if p.org() != want.OrganizationID || p.id() != want.ID {
			t.Fatalf("ids %s/%s of row %s/%s", p.org(), p.id(), want.OrganizationID, want.ID)
		}
	}
	// Times keep their location and nanoseconds, the zero time stays zero.
	for _, times := range [][2]time.Time{{{}, {}}, {missing.In(time.Local), missing.Add(time.Nanosecond).In(time.Local)},
		{missing.In(time.FixedZone("X", 3600)), {}}} {
		want := r
		want.CreatedAt, want.ModifiedAt = times[0], times[1]
		want.ModifiedAt = want.ModifiedAt.In(want.CreatedAt.Location())
		if times[1].IsZero() {
			want.ModifiedAt = time.Time{}
		}
		p, ok := pack(want)
		if !ok {
			t.Fatalf("times %v were not packed", times)
		}
		if got := p.unpack(); !reflect.DeepEqual(got, want) {
			t.Fatalf("pack changed the times:\n%#v\n%#v", got.CreatedAt, want.CreatedAt)
		}
	}
	if p, _ := pack(r); p.settings != nil {
		t.Fatal("a row without settings holds a settings record")
	}
	long := r
	long.Name = strings.Repeat("n", math.MaxUint16)
	if _, ok := pack(long); ok {
		t.Fatal("a row longer than the offsets reach was packed")
	}
}

// BenchmarkRowCacheHit is what the row cache costs a read that finds its
// row (docs/BENCHMARKS.md, "What credvault does that a proxy does not").
func BenchmarkRowCacheHit(b *testing.B) {
	c := newRowCache(time.Hour, DefaultRowCacheSize)
	load := func(_ context.Context, org, id string) (store.Credential, error) {
		return store.Credential{ID: id, OrganizationID: org, Name: "Site 1", ItemID: "item_1"}, nil
	}
	ctx := context.Background()
	if _, err := c.get(ctx, "org_1", "cred_1", load); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.get(ctx, "org_1", "cred_1", load); err != nil {
			b.Fatal(err)
		}
	}
}
